package otlpexport

import (
	"context"
	"crypto/tls"
	"errors"
	"net"
	"sync/atomic"
	"time"

	"google.golang.org/grpc/credentials"
)

// confirmTimeout bounds the wait for the endpoint's first bytes after a
// TLS 1.3 handshake in which it asked for a client certificate.
const confirmTimeout = 500 * time.Millisecond

// TLSCredentials returns gRPC's TLS credentials for tc that report an
// endpoint refusing the client certificate as a failed handshake.
//
// Over TLS 1.3 the server checks the client's certificate after the
// client's side of the handshake is done: its refusal (an alert) may
// arrive after gRPC has started writing, which then fails with a broken
// pipe that says nothing of the certificate. When the endpoint asked
// for a certificate, these credentials wait for its first bytes (an
// HTTP/2 server sends its SETTINGS at once) and so read the refusal
// before gRPC writes.
func TLSCredentials(tc *tls.Config) credentials.TransportCredentials {
	return confirmingCredentials{TransportCredentials: credentials.NewTLS(tc), config: tc}
}

type confirmingCredentials struct {
	credentials.TransportCredentials
	config *tls.Config
}

// ClientHandshake performs the TLS handshake, and then waits for the
// endpoint's first bytes if it asked for a client certificate over TLS
// 1.3.
func (c confirmingCredentials) ClientHandshake(ctx context.Context, authority string, raw net.Conn) (net.Conn, credentials.AuthInfo, error) {
	// The handshake's own configuration tells whether the endpoint
	// asked for a certificate.
	var asked atomic.Bool
	cfg := c.config.Clone()
	certs := cfg.Certificates
	cfg.Certificates = nil
	cfg.GetClientCertificate = func(cri *tls.CertificateRequestInfo) (*tls.Certificate, error) {
		asked.Store(true)
		// As crypto/tls chooses among Certificates.
		for i := range certs {
			if cri.SupportsCertificate(&certs[i]) == nil {
				return &certs[i], nil
			}
		}
		return &tls.Certificate{}, nil
	}
	conn, info, err := credentials.NewTLS(cfg).ClientHandshake(ctx, authority, raw)
	if err != nil || !asked.Load() {
		return conn, info, err
	}
	if ti, ok := info.(credentials.TLSInfo); !ok || ti.State.Version != tls.VersionTLS13 {
		return conn, info, nil
	}
	confirmed, err := confirm(ctx, conn)
	if err != nil {
		_ = conn.Close()
		return nil, nil, err
	}
	return confirmed, info, nil
}

// Clone returns a copy of c.
func (c confirmingCredentials) Clone() credentials.TransportCredentials {
	return TLSCredentials(c.config.Clone())
}

// confirm reads the first byte conn receives, within confirmTimeout and
// ctx's deadline, and returns conn with that byte still to be read, or
// the error reading it (a TLS alert). An endpoint that sends nothing by
// then is taken to have accepted the handshake.
func confirm(ctx context.Context, conn net.Conn) (net.Conn, error) {
	deadline := time.Now().Add(confirmTimeout)
	if d, ok := ctx.Deadline(); ok && d.Before(deadline) {
		deadline = d
	}
	if err := conn.SetReadDeadline(deadline); err != nil {
		return nil, err
	}
	var b [1]byte
	n, err := conn.Read(b[:])
	if rerr := conn.SetReadDeadline(time.Time{}); rerr != nil && err == nil {
		err = rerr
	}
	var ne net.Error
	switch {
	case n == 1:
		return &prefixedConn{Conn: conn, first: b[0], pending: true}, nil
	case err == nil, errors.As(err, &ne) && ne.Timeout():
		return conn, nil
	}
	return nil, err
}

// prefixedConn is a connection of which one byte was read ahead.
type prefixedConn struct {
	net.Conn
	first   byte
	pending bool
}

func (c *prefixedConn) Read(p []byte) (int, error) {
	if c.pending && len(p) > 0 {
		p[0], c.pending = c.first, false
		return 1, nil
	}
	return c.Conn.Read(p)
}
