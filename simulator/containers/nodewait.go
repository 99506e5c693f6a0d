package containers

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"
	"time"

	"github.com/moby/moby/api/types/container"
	"github.com/testcontainers/testcontainers-go/wait"

	"github.com/tracerig/tracerig/topology"
)

// nodeWait is an image node's readiness check (topology.Wait): an HTTP
// path on its service port, a port that accepts connections, or a text in
// its output; by default its service port accepting connections. It
// gives up when the container exits or Timeout passes, and keeps why in
// err for the node's StartError.
type nodeWait struct {
	what    string
	timeout time.Duration
	check   func(ctx context.Context, target wait.StrategyTarget) error
	err     error
}

// pollEvery is how often a node's readiness and state are looked at.
const pollEvery = 100 * time.Millisecond

func newNodeWait(l *topology.Launch, n *node) *nodeWait {
	w := &nodeWait{timeout: l.Wait.Timeout}
	if w.timeout <= 0 {
		w.timeout = topology.DefaultWaitTimeout
	}
	port := strconv.Itoa(l.Port)
	switch {
	case l.Wait.HTTP != "":
		w.what = fmt.Sprintf("wait http %s on port %s", l.Wait.HTTP, port)
		s := onLoopback(wait.ForHTTP(l.Wait.HTTP).WithPort(port + "/tcp").WithStartupTimeout(w.timeout).
			WithPollInterval(pollEvery).WithStatusCodeMatcher(func(code int) bool { return code >= 200 && code < 400 }))
		w.check = s.WaitUntilReady
	case l.Wait.Log != "":
		w.what = fmt.Sprintf("wait log %q", l.Wait.Log)
		w.check = wait.ForLog(l.Wait.Log).WithStartupTimeout(w.timeout).WithPollInterval(pollEvery).WaitUntilReady
	case l.Wait.Port != 0 && n.waitAddr != "":
		w.what = fmt.Sprintf("wait port %d", l.Wait.Port)
		w.check = dialCheck(n.waitAddr)
	default:
		w.what = "wait port " + port
		w.check = dialCheck(n.addr)
	}
	return w
}

// WaitUntilReady runs the check until it passes, the container exits or
// the timeout passes.
func (w *nodeWait) WaitUntilReady(ctx context.Context, target wait.StrategyTarget) error {
	ctx, cancel := context.WithTimeout(ctx, w.timeout)
	defer cancel()
	ready := make(chan error, 1)
	go func() { ready <- w.check(ctx, target) }()
	tick := time.NewTicker(pollEvery)
	defer tick.Stop()
	for {
		select {
		case err := <-ready:
			if err != nil {
				w.err = w.notReady(ctx, target, err)
			}
			return w.err
		case <-tick.C:
			if code, ok := exited(ctx, target); ok {
				cancel()
				<-ready
				w.err = fmt.Errorf("exited with code %d before it was ready (%s)", code, w.what)
				return w.err
			}
		}
	}
}

// notReady says why a check that failed did.
func (w *nodeWait) notReady(ctx context.Context, target wait.StrategyTarget, err error) error {
	if code, ok := exited(context.WithoutCancel(ctx), target); ok {
		return fmt.Errorf("exited with code %d before it was ready (%s)", code, w.what)
	}
	if ctx.Err() != nil || errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("not ready within %s (%s)", w.timeout, w.what)
	}
	return fmt.Errorf("not ready (%s): %w", w.what, err)
}

// exited reports whether the container has stopped, and its exit code.
func exited(ctx context.Context, target wait.StrategyTarget) (int, bool) {
	st, err := target.State(ctx)
	if err != nil || st == nil {
		return 0, false
	}
	return st.ExitCode, st.Status == container.StateExited || st.Status == container.StateDead
}

// dialCheck waits until addr, a port published on 127.0.0.1, leads to
// something listening in the container. It dials from the host, since an
// image FROM scratch has no shell to look from inside.
func dialCheck(addr string) func(context.Context, wait.StrategyTarget) error {
	return func(ctx context.Context, _ wait.StrategyTarget) error {
		for {
			if accepts(addr) {
				return nil
			}
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(pollEvery):
			}
		}
	}
}

// accepts reports whether a connection to addr is taken and kept. Docker's
// proxy accepts on a published port whatever the container does, and
// closes the connection at once when nothing listens behind it: a
// connection that stays open (or that the server speaks on) is one a
// server took.
func accepts(addr string) bool {
	c, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		return false
	}
	defer c.Close()
	c.SetReadDeadline(time.Now().Add(200 * time.Millisecond))
	_, err = c.Read(make([]byte, 1))
	var ne net.Error
	return err == nil || errors.As(err, &ne) && ne.Timeout()
}
