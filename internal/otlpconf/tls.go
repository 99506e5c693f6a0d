package otlpconf

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"os"
)

// TLSFiles are the PEM files of a TLS client: the CA that signed the
// server's certificate (the system's roots when empty), and the client's
// own certificate and key for mutual TLS (both or neither).
type TLSFiles struct {
	CAFile   string
	CertFile string
	KeyFile  string
}

// Empty reports whether no file is named.
func (f TLSFiles) Empty() bool { return f == TLSFiles{} }

// ClientConfig returns the TLS configuration the files describe, for a
// connection to serverName (a host name or address, without port; "" to
// take it from the address dialed). Errors name the file that failed.
func (f TLSFiles) ClientConfig(serverName string) (*tls.Config, error) {
	cfg := &tls.Config{ServerName: serverName, MinVersion: tls.VersionTLS12}
	if f.CAFile != "" {
		pem, err := os.ReadFile(f.CAFile)
		if err != nil {
			return nil, fmt.Errorf("read CA certificate: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("CA certificate %s holds no PEM certificate", f.CAFile)
		}
		cfg.RootCAs = pool
	}
	switch {
	case f.CertFile != "" && f.KeyFile != "":
		cert, err := tls.LoadX509KeyPair(f.CertFile, f.KeyFile)
		if err != nil {
			// LoadX509KeyPair's errors name no file: say which pair.
			return nil, fmt.Errorf("load client certificate %s with key %s: %w", f.CertFile, f.KeyFile, err)
		}
		cfg.Certificates = []tls.Certificate{cert}
	case f.CertFile != "" || f.KeyFile != "":
		return nil, errors.New("a client certificate and its key go together: set both or neither")
	}
	return cfg, nil
}
