package launch

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strconv"
	"time"

	"github.com/tracerig/tracerig/topology"
)

const (
	pollEvery      = 50 * time.Millisecond  // between readiness attempts
	attemptTimeout = 500 * time.Millisecond // bounds one HTTP request or dial
)

var (
	errExited   = errors.New("the process ended")
	errNotReady = errors.New("not ready in time")
)

// await returns once n is ready by p.Wait. When it is not, it stops n and
// returns why: a *StartError when n ended or was not ready in time, ctx's
// error (wrapped) when ctx ended first.
func (n *Node) await(ctx context.Context, p Process, from int64) error {
	timeout := p.Wait.Timeout
	if timeout <= 0 {
		timeout = topology.DefaultWaitTimeout
	}
	pr := newProbe(p.Wait, p.Port, p.LogPath, from)
	defer pr.close()

	wctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	go func() { // attempts end when the process does
		select {
		case <-n.done:
			cancel(errExited)
		case <-wctx.Done():
		}
	}()
	tctx, tcancel := context.WithTimeoutCause(wctx, timeout, errNotReady)
	defer tcancel()
	ok, last := pr.poll(tctx)
	if ok {
		return nil
	}

	stopErr := n.Stop(context.WithoutCancel(ctx))
	var cause error
	switch c := context.Cause(tctx); {
	case errors.Is(c, errExited):
		cause = n.exitCause()
	case errors.Is(c, errNotReady):
		cause = fmt.Errorf("not ready after %s (waiting for %s)", timeout, pr.desc)
		if last != nil {
			cause = fmt.Errorf("not ready after %s (waiting for %s; last attempt: %w)", timeout, pr.desc, last)
		}
	default:
		return errors.Join(fmt.Errorf("start %s: %w", p.Name, c), stopErr)
	}
	return errors.Join(&StartError{Node: p.Name, Cause: cause, Log: p.LogPath, Lines: lastLinesFrom(p.LogPath, from, TailLines)}, stopErr)
}

// exitCause says how the process ended before it was ready.
func (n *Node) exitCause() error {
	err := n.exitErr
	if err == nil {
		err = errors.New("exit status 0")
	}
	ran := n.ended.Sub(n.started)
	if ran < time.Second {
		return fmt.Errorf("exited at once (%w)", err)
	}
	return fmt.Errorf("exited after %s, before it was ready (%w)", ran.Round(100*time.Millisecond), err)
}

// probe is one readiness check, tried until it passes.
type probe struct {
	desc string // what is waited for: "http GET /healthz"
	// try makes one attempt: whether it passed, else what it met, if
	// anything worth saying.
	try   func(ctx context.Context) (bool, error)
	close func()
}

// newProbe returns the check w asks for, of a node serving on port with
// its output in logPath from offset from.
func newProbe(w topology.Wait, port int, logPath string, from int64) *probe {
	switch {
	case w.HTTP != "":
		return httpProbe(w.HTTP, port)
	case w.Log != "":
		return logProbe(w.Log, logPath, from)
	case w.Port != 0:
		return portProbe(w.Port)
	}
	return portProbe(port)
}

// poll tries pr every pollEvery until it passes or ctx ends, and returns
// whether it passed, else what the last attempt met.
func (pr *probe) poll(ctx context.Context) (bool, error) {
	tick := time.NewTicker(pollEvery)
	defer tick.Stop()
	for {
		ok, err := pr.try(ctx)
		if ok {
			return true, nil
		}
		select {
		case <-ctx.Done():
			return false, err
		case <-tick.C:
		}
	}
}

// loopback returns 127.0.0.1:port.
func loopback(port int) string { return net.JoinHostPort("127.0.0.1", strconv.Itoa(port)) }

// httpProbe passes when GET path on the port answers 2xx or 3xx.
func httpProbe(path string, port int) *probe {
	tr := &http.Transport{DisableKeepAlives: true} // no proxy, no idle connection left behind
	client := &http.Client{
		Transport:     tr,
		Timeout:       attemptTimeout,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	url := "http://" + loopback(port) + path
	try := func(ctx context.Context) (bool, error) {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if err != nil {
			return false, err
		}
		resp, err := client.Do(req)
		if err != nil {
			return false, err
		}
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
		resp.Body.Close()
		if resp.StatusCode >= 200 && resp.StatusCode < 400 {
			return true, nil
		}
		return false, fmt.Errorf("answered %s", resp.Status)
	}
	return &probe{desc: "http GET " + path, try: try, close: tr.CloseIdleConnections}
}

// portProbe passes when the loopback port accepts a connection.
func portProbe(port int) *probe {
	d := net.Dialer{Timeout: attemptTimeout}
	addr := loopback(port)
	try := func(ctx context.Context) (bool, error) {
		c, err := d.DialContext(ctx, "tcp", addr)
		if err != nil {
			return false, err
		}
		c.Close()
		return true, nil
	}
	return &probe{desc: "port " + strconv.Itoa(port) + " to accept connections", try: try, close: func() {}}
}

// logProbe passes when text appears in the log at path after offset from,
// whole or split across writes.
func logProbe(text, path string, from int64) *probe {
	w := &logWatch{text: []byte(text), path: path, off: from}
	return &probe{desc: fmt.Sprintf("%q in its output", text), try: w.try, close: w.close}
}

// logWatch reads a log as it grows, looking for a text.
type logWatch struct {
	text []byte
	path string
	f    *os.File
	off  int64  // read up to here
	tail []byte // the end of what was read, too short to hold text
}

func (w *logWatch) try(context.Context) (bool, error) {
	if w.f == nil {
		f, err := os.Open(w.path)
		if err != nil {
			return false, err
		}
		w.f = f
	}
	buf := make([]byte, 32<<10)
	for {
		k, err := w.f.ReadAt(buf, w.off)
		w.off += int64(k)
		data := append(w.tail, buf[:k]...)
		if bytes.Contains(data, w.text) {
			return true, nil
		}
		keep := min(len(data), len(w.text)-1)
		w.tail = append(w.tail[:0:0], data[len(data)-keep:]...)
		if err == io.EOF || k == 0 {
			return false, nil
		}
		if err != nil {
			return false, err
		}
	}
}

func (w *logWatch) close() {
	if w.f != nil {
		w.f.Close()
	}
}
