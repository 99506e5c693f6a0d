package tunnel

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// serve runs handle on every connection to a listener on loopback until
// the test ends, and returns its address.
func serve(t *testing.T, handle func(net.Conn)) string {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	t.Cleanup(func() { lis.Close(); wg.Wait() })
	wg.Go(func() {
		for {
			c, err := lis.Accept()
			if err != nil {
				return
			}
			wg.Go(func() { handle(c); c.Close() })
		}
	})
	return lis.Addr().String()
}

// echo serves an echo server on loopback: what it reads it writes back.
func echo(t *testing.T) string {
	return serve(t, func(c net.Conn) { io.Copy(c, c) })
}

// relay starts a relay on loopback and returns the address connections are
// carried from and the address the host dials.
func relay(t *testing.T) (addr, tunAddr string) {
	t.Helper()
	addrs, tunAddr := relayN(t, 1)
	return addrs[0], tunAddr
}

// relayN starts a relay with n listeners.
func relayN(t *testing.T, n int) (addrs []string, tunAddr string) {
	t.Helper()
	want := make([]string, n)
	for i := range want {
		want[i] = "127.0.0.1:0"
	}
	tun, lis, err := Listen("127.0.0.1:0", want...)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { Serve(ctx, tun, lis...); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	for _, l := range lis {
		addrs = append(addrs, l.Addr().String())
	}
	return addrs, tun.Addr().String()
}

// to returns a target function sending every listener to addr.
func to(addr string) func(int) string { return func(int) string { return addr } }

func TestCarriesConnections(t *testing.T) {
	target := echo(t)
	addr, tunAddr := relay(t)
	cl := Dial(tunAddr, to(target), 2)
	defer cl.Close()

	// More connections at once than waiting ones, each with its own
	// exchange.
	const n = 20
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := range n {
		wg.Go(func() {
			c, err := net.DialTimeout("tcp", addr, 5*time.Second)
			if err != nil {
				errs <- err
				return
			}
			defer c.Close()
			c.SetDeadline(time.Now().Add(10 * time.Second))
			r := bufio.NewReader(c)
			for j := range 50 {
				msg := fmt.Sprintf("conn %d line %d\n", i, j)
				if _, err := io.WriteString(c, msg); err != nil {
					errs <- err
					return
				}
				got, err := r.ReadString('\n')
				if err != nil {
					errs <- fmt.Errorf("conn %d: %w", i, err)
					return
				}
				if got != msg {
					errs <- fmt.Errorf("conn %d: got %q, want %q", i, got, msg)
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

func TestUnreachableTargetClosesTheConnection(t *testing.T) {
	lis, _ := net.Listen("tcp", "127.0.0.1:0")
	dead := lis.Addr().String()
	lis.Close()
	addr, tunAddr := relay(t)
	cl := Dial(tunAddr, to(dead), 1)
	defer cl.Close()

	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(8 * time.Second))
	if _, err := c.Read(make([]byte, 1)); err == nil {
		t.Fatal("read from a connection to an unreachable target succeeded")
	}
}

func TestTargetIsAskedPerConnection(t *testing.T) {
	a, b := echo(t), echo(t)
	addr, tunAddr := relay(t)
	var mu sync.Mutex
	current := a
	var asked []string
	cl := Dial(tunAddr, func(int) string {
		mu.Lock()
		defer mu.Unlock()
		asked = append(asked, current)
		return current
	}, 1)
	defer cl.Close()

	roundTrip := func() {
		t.Helper()
		c, err := net.DialTimeout("tcp", addr, 5*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(8 * time.Second))
		io.WriteString(c, "x\n")
		if _, err := bufio.NewReader(c).ReadString('\n'); err != nil {
			t.Fatal(err)
		}
	}
	roundTrip()
	mu.Lock()
	current = b
	mu.Unlock()
	roundTrip()
	mu.Lock()
	defer mu.Unlock()
	if len(asked) != 2 || asked[0] != a || asked[1] != b {
		t.Fatalf("targets asked: %v, want [%s %s]", asked, a, b)
	}
}

// A host that restarts (its waiting connections closed, new ones dialled)
// must not lose the next connection to a dead waiting one.
func TestSkipsClosedWaitingConnections(t *testing.T) {
	target := echo(t)
	addr, tunAddr := relay(t)
	old := Dial(tunAddr, to(target), 3)
	time.Sleep(200 * time.Millisecond) // let the old ones reach the relay
	old.Close()
	cl := Dial(tunAddr, to(target), 1)
	defer cl.Close()

	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(8 * time.Second))
	io.WriteString(c, "still here\n")
	got, err := bufio.NewReader(c).ReadString('\n')
	if err != nil || got != "still here\n" {
		t.Fatalf("got %q, %v", got, err)
	}
}

// Each listener is carried to its own target; a listener without one is
// refused.
func TestListenersHaveTheirOwnTargets(t *testing.T) {
	tag := func(name string) string {
		return serve(t, func(c net.Conn) { io.WriteString(c, name+"\n") })
	}
	targets := []string{tag("first"), tag("second"), ""}
	addrs, tunAddr := relayN(t, 3)
	cl := Dial(tunAddr, func(i int) string { return targets[i] }, 2)
	defer cl.Close()
	for i, want := range []string{"first\n", "second\n", ""} {
		c, err := net.DialTimeout("tcp", addrs[i], 5*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		c.SetDeadline(time.Now().Add(8 * time.Second))
		got, _ := bufio.NewReader(c).ReadString('\n')
		c.Close()
		if got != want {
			t.Errorf("listener %d: got %q, want %q", i, got, want)
		}
	}
}
