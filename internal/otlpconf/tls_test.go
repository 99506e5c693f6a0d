package otlpconf

import (
	"crypto/tls"
	"errors"
	"io"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tracerig/tracerig/internal/testcerts"
)

func TestTLSFilesClientConfig(t *testing.T) {
	certs, err := testcerts.New(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name       string
		files      TLSFiles
		clientAuth bool
		wantErr    string // of ClientConfig
		wantDial   string // of the handshake; "" for success
	}{
		{"system roots refuse the test CA", TLSFiles{}, false, "", "certificate signed by unknown authority"},
		{"CA file", TLSFiles{CAFile: certs.CAFile}, false, "", ""},
		{"mTLS", TLSFiles{CAFile: certs.CAFile, CertFile: certs.ClientCert, KeyFile: certs.ClientKey}, true, "", ""},
		{"mTLS without a client certificate", TLSFiles{CAFile: certs.CAFile}, true, "", "certificate required"},
		{"missing CA file", TLSFiles{CAFile: filepath.Join(certs.Dir, "nope.pem")}, false, "read CA certificate", ""},
		{"CA file without PEM", TLSFiles{CAFile: certs.ClientKey}, false, "holds no PEM certificate", ""},
		{"certificate without key", TLSFiles{CertFile: certs.ClientCert}, false, "set both or neither", ""},
		{"mismatched key", TLSFiles{CertFile: certs.ClientCert, KeyFile: certs.ServerKey}, false, "load client certificate", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, err := tt.files.ClientConfig("localhost")
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("ClientConfig error = %v, want one containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			err = handshake(t, certs, tt.clientAuth, cfg)
			if tt.wantDial == "" && err != nil {
				t.Fatalf("handshake: %v", err)
			}
			if tt.wantDial != "" && (err == nil || !strings.Contains(err.Error(), tt.wantDial)) {
				t.Fatalf("handshake error = %v, want one containing %q", err, tt.wantDial)
			}
		})
	}
}

// handshake connects to a TLS listener with the test's server certificate
// and returns the handshake's error, as the client and server saw it.
func handshake(t *testing.T, certs *testcerts.Set, clientAuth bool, cfg *tls.Config) error {
	t.Helper()
	scfg, err := certs.ServerConfig(clientAuth)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := tls.Listen("tcp", "127.0.0.1:0", scfg)
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	done := make(chan error, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			done <- err
			return
		}
		defer c.Close()
		done <- c.(*tls.Conn).Handshake()
	}()
	c, err := tls.Dial("tcp", ln.Addr().String(), cfg)
	if err == nil {
		// TLS 1.3: a refused client certificate shows on the first read;
		// an accepted one reads the server's close.
		if _, err = c.Read(make([]byte, 1)); errors.Is(err, io.EOF) {
			err = nil
		}
		c.Close()
	}
	if serr := <-done; err == nil {
		err = serr
	}
	return err
}
