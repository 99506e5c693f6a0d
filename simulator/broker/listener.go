package broker

import (
	"net"
	"sync"
)

// switchListener is a net.Listener that can be switched off and on again
// on the same address: off, its socket is closed, so connecting is
// refused, and the connections it accepted are closed; Accept waits until
// it is on again. It gives an in-memory broker (kfake) a real outage
// without shutting the broker down.
type switchListener struct {
	addr net.Addr // the same while off
	// shown, when set, is the address Addr returns, which the broker
	// advertises to its clients (WithAdvertisedAddr).
	shown net.Addr

	mu     sync.Mutex
	ln     net.Listener  // nil while off
	on     chan struct{} // closed when switched on or closed
	conns  map[*trackedConn]struct{}
	closed bool
}

// listenSwitch listens on addr, switched on.
func listenSwitch(network, addr string) (*switchListener, error) {
	ln, err := net.Listen(network, addr)
	if err != nil {
		return nil, err
	}
	on := make(chan struct{})
	close(on)
	return &switchListener{addr: ln.Addr(), ln: ln, on: on, conns: map[*trackedConn]struct{}{}}, nil
}

// Accept waits for a connection while the listener is on.
func (l *switchListener) Accept() (net.Conn, error) {
	for {
		l.mu.Lock()
		ln, on, closed := l.ln, l.on, l.closed
		l.mu.Unlock()
		if closed {
			return nil, net.ErrClosed
		}
		if ln == nil {
			<-on
			continue
		}
		c, err := ln.Accept()
		l.mu.Lock()
		if l.ln != ln || l.closed { // switched off (or closed) meanwhile
			l.mu.Unlock()
			if c != nil {
				c.Close()
			}
			continue
		}
		if err != nil {
			l.mu.Unlock()
			return nil, err
		}
		tc := &trackedConn{Conn: c, l: l}
		l.conns[tc] = struct{}{}
		l.mu.Unlock()
		return tc, nil
	}
}

// Addr is the address listened on, also while off.
func (l *switchListener) Addr() net.Addr {
	if l.shown != nil {
		return l.shown
	}
	return l.addr
}

// hostPort is an address given as host:port, the host perhaps a name.
type hostPort string

func (h hostPort) Network() string { return "tcp" }
func (h hostPort) String() string  { return string(h) }

// Close closes the listener for good, and its connections.
func (l *switchListener) Close() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return nil
	}
	l.closed = true
	l.off()
	select {
	case <-l.on: // on already
	default:
		close(l.on)
	}
	return nil
}

// switchOff closes the socket and every connection accepted.
func (l *switchListener) switchOff() {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.ln == nil || l.closed {
		return
	}
	l.off()
	l.on = make(chan struct{})
}

// off closes the socket and the connections; l.mu is held.
func (l *switchListener) off() {
	if l.ln != nil {
		l.ln.Close()
		l.ln = nil
	}
	for c := range l.conns {
		c.Conn.Close()
	}
	clear(l.conns)
}

// switchOn listens again on the same address.
func (l *switchListener) switchOn() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return net.ErrClosed
	}
	if l.ln != nil {
		return nil
	}
	ln, err := net.Listen(l.addr.Network(), l.addr.String())
	if err != nil {
		return err
	}
	l.ln = ln
	close(l.on)
	return nil
}

// trackedConn is a connection a switchListener closes when switched off.
type trackedConn struct {
	net.Conn
	l *switchListener
}

func (c *trackedConn) Close() error {
	c.l.mu.Lock()
	delete(c.l.conns, c)
	c.l.mu.Unlock()
	return c.Conn.Close()
}
