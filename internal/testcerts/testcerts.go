// Package testcerts makes the certificates of a TLS test: a CA, a server
// certificate it signed for localhost and 127.0.0.1, and a client
// certificate it signed for mutual TLS, written as PEM files to a folder.
// Keys are ECDSA P-256; everything is valid for a day.
package testcerts

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"time"
)

// Set is one CA with a server and a client certificate, as files.
type Set struct {
	Dir string
	// CAFile is the CA's certificate; CAKeyFile its key.
	CAFile, CAKeyFile string
	// ServerCert and ServerKey are for localhost, 127.0.0.1 and ::1,
	// plus the extra names given to New.
	ServerCert, ServerKey string
	// ClientCert and ClientKey are a client certificate (CN "tracerig").
	ClientCert, ClientKey string

	caCert *x509.Certificate
}

// New makes a Set in dir. names are extra DNS names for the server
// certificate (a container's network alias, say).
func New(dir string, names ...string) (*Set, error) {
	s := &Set{
		Dir:        dir,
		CAFile:     filepath.Join(dir, "ca.pem"),
		CAKeyFile:  filepath.Join(dir, "ca-key.pem"),
		ServerCert: filepath.Join(dir, "server.pem"),
		ServerKey:  filepath.Join(dir, "server-key.pem"),
		ClientCert: filepath.Join(dir, "client.pem"),
		ClientKey:  filepath.Join(dir, "client-key.pem"),
	}
	now := time.Now()
	ca := &x509.Certificate{
		Subject:               pkix.Name{CommonName: "tracerig test CA"},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(24 * time.Hour),
		IsCA:                  true,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
	}
	caKey, err := s.write(ca, nil, nil, s.CAFile, s.CAKeyFile)
	if err != nil {
		return nil, err
	}
	s.caCert = ca
	server := &x509.Certificate{
		Subject:     pkix.Name{CommonName: "localhost"},
		DNSNames:    append([]string{"localhost"}, names...),
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback},
		NotBefore:   now.Add(-time.Hour),
		NotAfter:    now.Add(24 * time.Hour),
		KeyUsage:    x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	if _, err := s.write(server, ca, caKey, s.ServerCert, s.ServerKey); err != nil {
		return nil, err
	}
	client := &x509.Certificate{
		Subject:     pkix.Name{CommonName: "tracerig"},
		NotBefore:   now.Add(-time.Hour),
		NotAfter:    now.Add(24 * time.Hour),
		KeyUsage:    x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	}
	if _, err := s.write(client, ca, caKey, s.ClientCert, s.ClientKey); err != nil {
		return nil, err
	}
	return s, nil
}

// write signs tmpl with parent's key (self-signed when parent is nil) and
// writes the certificate and a new key to certFile and keyFile.
func (s *Set) write(tmpl, parent *x509.Certificate, parentKey *ecdsa.PrivateKey, certFile, keyFile string) (*ecdsa.PrivateKey, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("testcerts: generate key: %w", err)
	}
	sn, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 62))
	if err != nil {
		return nil, fmt.Errorf("testcerts: serial number: %w", err)
	}
	tmpl.SerialNumber = sn
	if parent == nil {
		parent, parentKey = tmpl, key
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, &key.PublicKey, parentKey)
	if err != nil {
		return nil, fmt.Errorf("testcerts: create certificate %s: %w", tmpl.Subject.CommonName, err)
	}
	if parent == tmpl {
		if c, err := x509.ParseCertificate(der); err == nil {
			*tmpl = *c
		}
	}
	kder, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		return nil, fmt.Errorf("testcerts: marshal key: %w", err)
	}
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644); err != nil {
		return nil, fmt.Errorf("testcerts: %w", err)
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder}), 0o600); err != nil {
		return nil, fmt.Errorf("testcerts: %w", err)
	}
	return key, nil
}

// ServerConfig is a TLS server configuration with the server certificate;
// with clientAuth it requires a client certificate signed by the CA.
func (s *Set) ServerConfig(clientAuth bool) (*tls.Config, error) {
	cert, err := tls.LoadX509KeyPair(s.ServerCert, s.ServerKey)
	if err != nil {
		return nil, fmt.Errorf("testcerts: %w", err)
	}
	cfg := &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	if clientAuth {
		pool := x509.NewCertPool()
		pool.AddCert(s.caCert)
		cfg.ClientCAs, cfg.ClientAuth = pool, tls.RequireAndVerifyClientCert
	}
	return cfg, nil
}
