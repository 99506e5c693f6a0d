package kube

// This file reaches pods from the host through the API server's
// port-forward subresource: the host never needs a route to a pod IP.

import (
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/httpstream"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/portforward"
	"k8s.io/client-go/transport/spdy"
)

// forward serves local ports on 127.0.0.1 that lead to ports of one pod,
// named: every local connection is one stream pair of a port-forward
// connection to the pod, dialed when the first is needed and again after
// it closes (the pod was deleted and replaced, the API server dropped it).
// Unlike client-go's PortForwarder, a connection the pod refuses fails
// alone, and the local ports stay when the pod changes: a caller sees a
// refused or reset connection while the pod is gone, as it would from a
// crashed process.
type forward struct {
	dial func() (httpstream.Connection, error)
	pod  string

	mu   sync.Mutex
	conn httpstream.Connection
	lns  []net.Listener
	wg   sync.WaitGroup
	req  atomic.Int64
}

// newForward returns a forward to pod ns/name through the API server of
// cfg; listen adds its ports.
func newForward(cs kubernetes.Interface, cfg *rest.Config, ns, name string) (*forward, error) {
	u := cs.CoreV1().RESTClient().Post().Resource("pods").Namespace(ns).Name(name).SubResource("portforward").URL()
	ws, err := portforward.NewSPDYOverWebsocketDialer(u, cfg)
	if err != nil {
		return nil, fmt.Errorf("port-forward to %s: %w", name, err)
	}
	rt, up, err := spdy.RoundTripperFor(cfg)
	if err != nil {
		return nil, fmt.Errorf("port-forward to %s: %w", name, err)
	}
	d := portforward.NewFallbackDialer(ws, spdy.NewDialer(up, &http.Client{Transport: rt}, http.MethodPost, u),
		func(err error) bool { return httpstream.IsUpgradeFailure(err) || httpstream.IsHTTPSProxyError(err) })
	return &forward{pod: name, dial: func() (httpstream.Connection, error) {
		c, _, err := d.Dial(portforward.PortForwardProtocolV1Name)
		return c, err
	}}, nil
}

// listen serves a local port (on 127.0.0.1, picked free) that leads to
// the pod's port, and returns its address.
func (f *forward) listen(port int) (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", fmt.Errorf("port-forward to %s: %w", f.pod, err)
	}
	f.mu.Lock()
	f.lns = append(f.lns, ln)
	f.mu.Unlock()
	f.wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			f.wg.Go(func() { f.handle(c, port) })
		}
	})
	return ln.Addr().String(), nil
}

// connection returns the port-forward connection, dialing one when there
// is none or the last closed.
func (f *forward) connection() (httpstream.Connection, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.conn != nil {
		select {
		case <-f.conn.CloseChan():
			f.conn = nil
		default:
			return f.conn, nil
		}
	}
	c, err := f.dial()
	if err != nil {
		return nil, err
	}
	f.conn = c
	return c, nil
}

// drop closes conn and forgets it if it is still the current connection:
// the pod behind it is gone or cannot be reached.
func (f *forward) drop(conn httpstream.Connection) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.conn == conn {
		f.conn = nil
	}
	conn.Close()
}

// reset drops the current connection, if any: its pod was deleted.
func (f *forward) reset() {
	f.mu.Lock()
	c := f.conn
	f.mu.Unlock()
	if c != nil {
		f.drop(c)
	}
}

// handle copies between local connection c and the pod's port.
func (f *forward) handle(c net.Conn, port int) {
	defer c.Close()
	conn, err := f.connection()
	if err != nil {
		return
	}
	h := http.Header{}
	h.Set(corev1.StreamType, corev1.StreamTypeError)
	h.Set(corev1.PortHeader, strconv.Itoa(port))
	h.Set(corev1.PortForwardRequestIDHeader, strconv.FormatInt(f.req.Add(1), 10))
	errStream, err := conn.CreateStream(h)
	if err != nil {
		conn.Close()
		return
	}
	errStream.Close()
	defer conn.RemoveStreams(errStream)
	h.Set(corev1.StreamType, corev1.StreamTypeData)
	data, err := conn.CreateStream(h)
	if err != nil {
		conn.Close()
		return
	}
	defer conn.RemoveStreams(data)
	done := make(chan struct{})
	go func() {
		io.Copy(c, data)
		close(done)
	}()
	go func() {
		io.Copy(data, c)
		data.Close()
	}()
	go func() {
		// The kubelet writes here when it cannot reach the port: the local
		// connection fails. The pod may be gone, its connection left open:
		// the next local connection dials afresh, to whichever pod has the
		// name by then.
		if msg, _ := io.ReadAll(errStream); len(msg) > 0 {
			data.Reset()
			f.drop(conn)
		}
	}()
	<-done
	data.Reset()
}

// close stops serving the local ports and closes the connection; it waits
// for the copies under way to end.
func (f *forward) close() error {
	f.mu.Lock()
	var errs []error
	for _, ln := range f.lns {
		if err := ln.Close(); err != nil && !errors.Is(err, net.ErrClosed) {
			errs = append(errs, err)
		}
	}
	if f.conn != nil {
		f.conn.Close()
	}
	f.mu.Unlock()
	f.wg.Wait()
	return errors.Join(errs...)
}

// PortForward serves a local port on 127.0.0.1 that leads to port of pod
// ns/name through the API server, until the returned close is called; a
// pod replaced under the same name is reached again.
func PortForward(cs kubernetes.Interface, cfg *rest.Config, ns, name string, port int) (addr string, close func() error, err error) {
	f, err := newForward(cs, cfg, ns, name)
	if err != nil {
		return "", nil, err
	}
	if addr, err = f.listen(port); err != nil {
		f.close()
		return "", nil, err
	}
	return addr, f.close, nil
}
