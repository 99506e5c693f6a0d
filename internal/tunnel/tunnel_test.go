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

// echo serves an echo server on loopback: what it reads it writes back.
func echo(t *testing.T) string {
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
			wg.Go(func() { io.Copy(c, c); c.Close() })
		}
	})
	return lis.Addr().String()
}

// relay starts a relay on loopback and returns the address connections are
// carried from and the address the host dials.
func relay(t *testing.T) (addr, tunAddr string) {
	t.Helper()
	lis, tun, err := Listen("127.0.0.1:0", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { Serve(ctx, lis, tun); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	return lis.Addr().String(), tun.Addr().String()
}

func TestCarriesConnections(t *testing.T) {
	target := echo(t)
	addr, tunAddr := relay(t)
	cl := Dial(tunAddr, func() string { return target }, 2)
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
	cl := Dial(tunAddr, func() string { return dead }, 1)
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
	cl := Dial(tunAddr, func() string {
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
	old := Dial(tunAddr, func() string { return target }, 3)
	time.Sleep(200 * time.Millisecond) // let the old ones reach the relay
	old.Close()
	cl := Dial(tunAddr, func() string { return target }, 1)
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
