// Package tunnel carries TCP connections opened inside a Docker network to an
// address on the host's loopback, without anything in the network reaching
// the host: the host dials into the relay (through a port published on
// 127.0.0.1) ahead of time, and the relay hands every connection it accepts
// to one of those waiting connections.
//
// A relay may listen on several addresses, each carried to a target of its
// own. On a waiting connection the relay writes one byte when it has a
// connection for it: the number of the listener it came in on, from 1; the
// host dials that listener's target and answers with one byte, connected
// or unreachable, then both ends copy bytes until either side closes. A
// waiting connection the host closed is skipped.
package tunnel

import (
	"context"
	"fmt"
	"io"
	"net"
	"sync"
	"time"
)

// The host's answers on a waiting connection the relay signalled.
const (
	connected   byte = 0x01 // the target answered, copy
	unreachable byte = 0x02 // the target did not answer
)

// MaxListeners is how many addresses one relay carries.
const MaxListeners = 255

// handshakeTimeout bounds each step of the handshake.
const handshakeTimeout = 10 * time.Second

// Relay is the network side: it accepts the connections to carry on its
// listeners and the host's waiting connections on another.
type Relay struct {
	idle chan *waiting

	mu     sync.Mutex
	conns  map[net.Conn]struct{}
	closed bool
	wg     sync.WaitGroup
}

// waiting is a host connection waiting for a connection to carry. ack
// receives the host's answer byte, or 0 when the host closed it.
type waiting struct {
	c   net.Conn
	ack chan byte
}

// Serve relays connections accepted on each of lis through the host's
// connections accepted on tun, until ctx is done; it then closes every
// listener and connection, and returns once all its goroutines have.
func Serve(ctx context.Context, tun net.Listener, lis ...net.Listener) error {
	if len(lis) == 0 || len(lis) > MaxListeners {
		return fmt.Errorf("relay: %d listeners, want 1 to %d", len(lis), MaxListeners)
	}
	r := &Relay{idle: make(chan *waiting, 64), conns: map[net.Conn]struct{}{}}
	r.wg.Go(func() { r.acceptHosts(tun) })
	for i, l := range lis {
		r.wg.Go(func() { r.acceptConns(l, byte(i+1)) })
	}
	<-ctx.Done()
	r.mu.Lock()
	r.closed = true
	for c := range r.conns {
		c.Close()
	}
	r.mu.Unlock()
	for _, l := range lis {
		l.Close()
	}
	tun.Close()
	r.wg.Wait()
	return nil
}

func (r *Relay) track(c net.Conn) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		c.Close()
		return false
	}
	r.conns[c] = struct{}{}
	return true
}

func (r *Relay) untrack(c net.Conn) {
	r.mu.Lock()
	delete(r.conns, c)
	r.mu.Unlock()
	c.Close()
}

func (r *Relay) acceptHosts(tun net.Listener) {
	for {
		c, err := tun.Accept()
		if err != nil {
			return
		}
		if !r.track(c) {
			continue
		}
		w := &waiting{c: c, ack: make(chan byte, 1)}
		// The host writes nothing until it is signalled, so the one read
		// returns the answer to a signal or reports the host gone.
		r.wg.Go(func() {
			var b [1]byte
			if _, err := io.ReadFull(c, b[:]); err != nil {
				w.ack <- 0
				return
			}
			w.ack <- b[0]
		})
		select {
		case r.idle <- w:
		default: // more waiting than needed: let this one go
			r.untrack(c)
		}
	}
}

func (r *Relay) acceptConns(lis net.Listener, signal byte) {
	for {
		c, err := lis.Accept()
		if err != nil {
			return
		}
		if !r.track(c) {
			continue
		}
		r.wg.Go(func() { r.carry(c, signal) })
	}
}

// carry pairs c, accepted on listener number signal, with a waiting host
// connection and copies between them.
func (r *Relay) carry(c net.Conn, signal byte) {
	defer r.untrack(c)
	timeout := time.NewTimer(handshakeTimeout)
	defer timeout.Stop()
	for {
		var w *waiting
		select {
		case w = <-r.idle:
		case <-timeout.C:
			return // no host connection came: drop c
		}
		select {
		case <-w.ack: // the host closed it while it waited
			r.untrack(w.c)
			continue
		default:
		}
		w.c.SetWriteDeadline(time.Now().Add(handshakeTimeout))
		if _, err := w.c.Write([]byte{signal}); err != nil {
			r.untrack(w.c)
			continue
		}
		w.c.SetWriteDeadline(time.Time{})
		var ack byte
		select {
		case ack = <-w.ack:
		case <-time.After(handshakeTimeout):
		}
		switch ack {
		case connected:
			defer r.untrack(w.c)
			splice(c, w.c)
			return
		case unreachable:
			r.untrack(w.c)
			return
		default: // the host went away under the signal: try the next
			r.untrack(w.c)
		}
	}
}

// splice copies between a and b until either direction ends, then closes
// both.
func splice(a, b net.Conn) {
	done := make(chan struct{}, 2)
	go func() { io.Copy(a, b); done <- struct{}{} }()
	go func() { io.Copy(b, a); done <- struct{}{} }()
	<-done
	a.Close()
	b.Close()
	<-done
}

// Client is the host side: it keeps connections waiting at a relay and
// connects each one the relay signals to the target of the listener it
// names.
type Client struct {
	relay  string
	target func(listener int) string
	cancel context.CancelFunc
	ctx    context.Context

	mu    sync.Mutex
	conns map[net.Conn]struct{}
	wg    sync.WaitGroup
}

// Dial keeps idle connections waiting at the relay at relayAddr (host:port)
// until Close, connecting each connection the relay carries to
// target(listener), listener being the relay's listener it came in on
// (from 0), asked afresh for every connection; "" refuses it. It returns
// at once; a relay that is not up yet is dialled again until it is.
func Dial(relayAddr string, target func(listener int) string, idle int) *Client {
	ctx, cancel := context.WithCancel(context.Background())
	c := &Client{relay: relayAddr, target: target, ctx: ctx, cancel: cancel, conns: map[net.Conn]struct{}{}}
	for range max(idle, 1) {
		c.wg.Go(c.wait)
	}
	return c
}

// Close cuts every connection and waits for the client's goroutines.
func (c *Client) Close() error {
	c.cancel()
	c.mu.Lock()
	for conn := range c.conns {
		conn.Close()
	}
	c.mu.Unlock()
	c.wg.Wait()
	return nil
}

func (c *Client) track(conn net.Conn) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.ctx.Err() != nil {
		conn.Close()
		return false
	}
	c.conns[conn] = struct{}{}
	return true
}

func (c *Client) untrack(conn net.Conn) {
	c.mu.Lock()
	delete(c.conns, conn)
	c.mu.Unlock()
	conn.Close()
}

// wait keeps one connection waiting at the relay; when it is signalled it
// hands it over and waits again on a new one.
func (c *Client) wait() {
	backoff := 50 * time.Millisecond
	for c.ctx.Err() == nil {
		var d net.Dialer
		conn, err := d.DialContext(c.ctx, "tcp", c.relay)
		if err != nil {
			select {
			case <-c.ctx.Done():
			case <-time.After(backoff):
			}
			backoff = min(2*backoff, time.Second)
			continue
		}
		backoff = 50 * time.Millisecond
		if !c.track(conn) {
			return
		}
		var b [1]byte
		if _, err := io.ReadFull(conn, b[:]); err != nil || b[0] == 0 {
			c.untrack(conn)
			continue
		}
		c.wg.Go(func() { c.connect(conn, int(b[0])-1) })
	}
}

// connect dials the target of listener for a signalled connection and
// copies between them.
func (c *Client) connect(conn net.Conn, listener int) {
	defer c.untrack(conn)
	target := c.target(listener)
	if target == "" {
		conn.Write([]byte{unreachable})
		return
	}
	d := net.Dialer{Timeout: 5 * time.Second}
	up, err := d.DialContext(c.ctx, "tcp", target)
	if err != nil {
		conn.Write([]byte{unreachable})
		return
	}
	if !c.track(up) {
		return
	}
	defer c.untrack(up)
	if _, err := conn.Write([]byte{connected}); err != nil {
		return
	}
	splice(conn, up)
}

// Listen opens the relay's listener for the host on tunAddr and one on
// each of addrs, for Serve.
func Listen(tunAddr string, addrs ...string) (tun net.Listener, lis []net.Listener, err error) {
	closeAll := func() {
		for _, l := range lis {
			l.Close()
		}
		if tun != nil {
			tun.Close()
		}
	}
	if tun, err = net.Listen("tcp", tunAddr); err != nil {
		return nil, nil, fmt.Errorf("relay: listen for the host on %s: %w", tunAddr, err)
	}
	for _, a := range addrs {
		l, err := net.Listen("tcp", a)
		if err != nil {
			closeAll()
			return nil, nil, fmt.Errorf("relay: listen on %s: %w", a, err)
		}
		lis = append(lis, l)
	}
	return tun, lis, nil
}
