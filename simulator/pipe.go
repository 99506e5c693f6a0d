package simulator

import (
	"fmt"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"time"
)

// Pipe is a TCP relay between the services' exporters and the backend, on
// loopback. Pipeline faults act on it: an outage refuses and cuts every
// connection, a slow backend delays every answer. Exports through it are real
// OTLP over real connections; only the relay misbehaves.
type Pipe struct {
	lis    net.Listener
	target string
	outage atomic.Bool
	delay  atomic.Int64

	mu     sync.Mutex
	conns  map[net.Conn]struct{}
	closed bool
	wg     sync.WaitGroup
}

// NewPipe starts a relay on 127.0.0.1 to target (host:port).
func NewPipe(target string) (*Pipe, error) {
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("start export pipe: %w", err)
	}
	p := &Pipe{lis: lis, target: target, conns: map[net.Conn]struct{}{}}
	p.wg.Go(p.accept)
	return p, nil
}

// Addr is where exporters should send.
func (p *Pipe) Addr() string { return p.lis.Addr().String() }

// Close stops the relay and cuts every connection.
func (p *Pipe) Close() error {
	p.mu.Lock()
	p.closed = true
	p.mu.Unlock()
	err := p.lis.Close()
	p.cut()
	p.wg.Wait()
	return err
}

func (p *Pipe) setOutage(on bool) {
	p.outage.Store(on)
	if on {
		p.cut()
	}
}

func (p *Pipe) setDelay(d time.Duration) { p.delay.Store(int64(d)) }

func (p *Pipe) cut() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for c := range p.conns {
		c.Close()
	}
}

func (p *Pipe) track(c net.Conn) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return false
	}
	p.conns[c] = struct{}{}
	return true
}

func (p *Pipe) untrack(c net.Conn) {
	p.mu.Lock()
	delete(p.conns, c)
	p.mu.Unlock()
	c.Close()
}

func (p *Pipe) accept() {
	for {
		c, err := p.lis.Accept()
		if err != nil {
			return
		}
		if p.outage.Load() {
			c.Close()
			continue
		}
		p.wg.Go(func() { p.relay(c) })
	}
}

func (p *Pipe) relay(client net.Conn) {
	server, err := net.DialTimeout("tcp", p.target, 5*time.Second)
	if err != nil {
		client.Close()
		return
	}
	if !p.track(client) || !p.track(server) {
		client.Close()
		server.Close()
		return
	}
	defer p.untrack(client)
	defer p.untrack(server)
	done := make(chan struct{}, 2)
	go func() { io.Copy(server, client); done <- struct{}{} }()
	go func() { p.copyDelayed(client, server); done <- struct{}{} }()
	<-done
	client.Close()
	server.Close()
	<-done
}

// copyDelayed copies the backend's answers, each read held back by the
// current delay: a slow backend acknowledges late.
func (p *Pipe) copyDelayed(dst io.Writer, src io.Reader) {
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		if n > 0 {
			if d := time.Duration(p.delay.Load()); d > 0 {
				time.Sleep(d)
			}
			if _, werr := dst.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			return
		}
	}
}
