package broker

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"strconv"
	"sync"
	"time"

	"github.com/nats-io/nats-server/v2/server"
)

// defaultReadyWait bounds the wait for an embedded broker to be ready when
// the context has no deadline.
const defaultReadyWait = 10 * time.Second

// NATSServer is the NATS server with JetStream, embedded in this process,
// storing its streams in files under a directory of its own. Its methods
// are safe for concurrent use.
type NATSServer struct {
	mu   sync.Mutex
	opts *server.Options // the options of every start; Port is fixed after the first
	srv  *server.Server  // nil while stopped
	dir  string
	url  string
}

// StartNATS starts a NATS server with JetStream on a free port of
// 127.0.0.1 (or WithListenAddr's), storing in a new temporary directory,
// logging nothing, and returns once it accepts clients or ctx ends.
// Options: WithListenAddr, WithServerTLS, WithServerUser (SASLPlain only).
func StartNATS(ctx context.Context, opts ...EmbeddedOption) (*NATSServer, error) {
	cfg, err := newEmbeddedConfig(opts, SASLPlain)
	if err != nil {
		return nil, fmt.Errorf("start nats: %w", err)
	}
	host, port, err := cfg.listenHostPort()
	if err != nil {
		return nil, fmt.Errorf("start nats: %w", err)
	}
	if port == 0 {
		port = server.RANDOM_PORT
	}
	parent := cfg.storeDir
	if parent != "" {
		if err := os.MkdirAll(parent, 0o700); err != nil {
			return nil, fmt.Errorf("start nats: %w", err)
		}
	}
	dir, err := os.MkdirTemp(parent, "tracerig-nats-")
	if err != nil {
		return nil, fmt.Errorf("start nats: %w", err)
	}
	o := &server.Options{
		ServerName:             "tracerig",
		Host:                   host,
		Port:                   port,
		JetStream:              true,
		StoreDir:               dir,
		NoLog:                  true,
		NoSigs:                 true,
		DisableJetStreamBanner: true,
	}
	if cfg.tls != nil {
		o.TLS, o.TLSConfig, o.TLSTimeout = true, cfg.tls, 2
	}
	for _, u := range cfg.users {
		o.Users = append(o.Users, &server.User{Username: u.user, Password: u.password()})
	}
	n := &NATSServer{opts: o, dir: dir}
	if err := n.start(ctx); err != nil {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("start nats: %w", err)
	}
	return n, nil
}

// start runs a server with n.opts; n.mu is held or n not shared yet.
func (n *NATSServer) start(ctx context.Context) error {
	srv, err := server.NewServer(n.opts.Clone())
	if err != nil {
		return err
	}
	srv.Start()
	if err := waitReady(ctx, srv); err != nil {
		srv.Shutdown()
		srv.WaitForShutdown()
		return err
	}
	addr := srv.Addr()
	if n.url == "" {
		tcp, _ := addr.(*net.TCPAddr)
		if tcp == nil {
			srv.Shutdown()
			srv.WaitForShutdown()
			return fmt.Errorf("listening on %v, not tcp", addr)
		}
		n.opts.Port = tcp.Port
		n.url = "nats://" + net.JoinHostPort(dialHost(addr), strconv.Itoa(tcp.Port))
	}
	n.srv = srv
	return nil
}

// waitReady waits for srv to accept clients with JetStream enabled, until
// ctx ends or for defaultReadyWait if ctx has no deadline.
func waitReady(ctx context.Context, srv *server.Server) error {
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, defaultReadyWait)
		defer cancel()
	}
	for !srv.ReadyForConnections(100 * time.Millisecond) {
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("not ready for clients: %w", err)
		}
	}
	if !srv.JetStreamEnabled() {
		return errors.New("jetstream not enabled")
	}
	return nil
}

// URL is the server's client URL, nats://127.0.0.1:port; the same after a
// restart.
func (n *NATSServer) URL() string {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.url
}

// Stop shuts the server down, an outage, keeping its store: connections
// are closed and further ones refused until Start. Stopping a stopped
// server does nothing.
func (n *NATSServer) Stop() {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.stop()
}

func (n *NATSServer) stop() {
	if n.srv == nil {
		return
	}
	n.srv.Shutdown()
	n.srv.WaitForShutdown()
	n.srv = nil
}

// Start restarts a stopped server on the same port with the same store,
// so that streams, their messages and durable consumers survive, and
// returns once it accepts clients or ctx ends. Clients reconnect by
// themselves. Starting a running server does nothing.
func (n *NATSServer) Start(ctx context.Context) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.dir == "" {
		return errors.New("restart nats: closed")
	}
	if n.srv != nil {
		return nil
	}
	if err := n.start(ctx); err != nil {
		return fmt.Errorf("restart nats on %s: %w", n.url, err)
	}
	return nil
}

// Close shuts the server down and removes its store.
func (n *NATSServer) Close() error {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.stop()
	if n.dir == "" {
		return nil
	}
	dir := n.dir
	n.dir = ""
	if err := os.RemoveAll(dir); err != nil {
		return fmt.Errorf("close nats: %w", err)
	}
	return nil
}
