package launch

import (
	"context"
	"fmt"
	"syscall"
	"time"
)

const (
	// groupPoll is how often Stop looks for the processes of a node's
	// group that outlive it.
	groupPoll = 10 * time.Millisecond
	// killWait bounds the wait for a node's group to vanish after SIGKILL
	// (the kernel tears it down at once; its orphans are reaped by init).
	killWait = 2 * time.Second
)

// Stop ends the node and what it started: SIGTERM to its process group,
// then, after the node's grace period or when ctx ends first, SIGKILL to
// the group. It returns when the process has ended and its group is gone.
// An exit the signals caused is not an error, nor is a kill after the
// grace period. Stop may be called more than once, concurrently too, and
// after the process has ended of itself.
func (n *Node) Stop(ctx context.Context) error {
	n.termOnce.Do(func() { n.termErr = n.signal(syscall.SIGTERM) })
	grace := time.NewTimer(n.grace)
	defer grace.Stop()
	if n.waitGone(ctx, grace.C) {
		return n.termErr
	}
	if err := n.signal(syscall.SIGKILL); err != nil {
		return err
	}
	<-n.done // SIGKILL cannot be ignored
	killed := time.NewTimer(killWait)
	defer killed.Stop()
	if !n.waitGone(context.Background(), killed.C) {
		return fmt.Errorf("stop %s: processes of its group (%d) still there %s after SIGKILL", n.name, n.pid, killWait)
	}
	return nil
}

// signal sends sig to the node's process group, unless it is known gone
// (its ID could by now be another's).
func (n *Node) signal(sig syscall.Signal) error {
	if n.gone.Load() {
		return nil
	}
	if err := signalGroup(n.pid, sig); err != nil {
		return fmt.Errorf("stop %s: send %s: %w", n.name, sig, err)
	}
	return nil
}

// waitGone waits until the node's process has ended and no process of its
// group is left, and reports whether that came before ctx ended or
// timeout fired.
func (n *Node) waitGone(ctx context.Context, timeout <-chan time.Time) bool {
	select {
	case <-n.done:
	case <-ctx.Done():
		return false
	case <-timeout:
		return false
	}
	if n.gone.Load() {
		return true
	}
	tick := time.NewTicker(groupPoll)
	defer tick.Stop()
	for !groupGone(n.pid) {
		select {
		case <-ctx.Done():
			return false
		case <-timeout:
			return false
		case <-tick.C:
		}
	}
	n.gone.Store(true)
	return true
}
