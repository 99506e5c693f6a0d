package broker

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"fmt"
	"math/big"
	"net"
	"strings"
	"testing"
	"time"
)

// roundTrip publishes one message to a new topic and consumes it.
func roundTrip(t *testing.T, cl Client) {
	t.Helper()
	if err := cl.EnsureTopic(testContext(t), "auth", 1); err != nil {
		t.Fatal(err)
	}
	pubs := publish(t, cl, "auth", 0, 1)
	col := newCollector(nil)
	consume(t, cl, Consume{Topic: "auth", Group: "g"}, col.handle)
	col.waitFor(t, 10*time.Second, "the message delivered", hasAll(pubs))
}

// checkNoSecret fails t if err is nil or shows a password.
func checkNoSecret(t *testing.T, err error) {
	t.Helper()
	if err == nil {
		t.Fatal("no error")
	}
	for _, pw := range []string{rightPassword, wrongPassword} {
		if strings.Contains(err.Error(), pw) || strings.Contains(fmt.Sprintf("%+v %#v", err, err), pw) {
			t.Errorf("error shows a password: %v", err)
		}
	}
}

func TestKafkaSASL(t *testing.T) {
	for _, mech := range []string{SASLScramSHA256, SASLScramSHA512, SASLPlain} {
		t.Run(mech, func(t *testing.T) {
			k := startKafka(t, WithServerUser(mech, "alice", rightPassword))
			ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
			defer cancel()
			_, err := DialKafka(ctx, k.seeds(t), WithSASL(mech, "alice", wrongPassword))
			t.Logf("with a wrong password: %v", err)
			checkNoSecret(t, err)
			roundTrip(t, k.dial(t, WithSASL(strings.ToUpper(mech), "alice", rightPassword)))
		})
	}
}

func TestNATSUser(t *testing.T) {
	n := startNATS(t, WithServerUser(SASLPlain, "alice", rightPassword))
	_, err := DialNATS(testContext(t), n.url, WithSASL(SASLPlain, "alice", wrongPassword))
	t.Logf("with a wrong password: %v", err)
	checkNoSecret(t, err)
	_, err = DialNATS(testContext(t), strings.Replace(n.url, "://", "://alice:"+wrongPassword+"@", 1))
	t.Logf("with a wrong password in the URL: %v", err)
	checkNoSecret(t, err)
	_, err = DialNATS(testContext(t), n.url, WithSASL(SASLScramSHA256, "alice", rightPassword))
	if err == nil || !strings.Contains(err.Error(), `sasl mechanism "scram-sha-256"`) {
		t.Errorf("nats with scram: %v, want the mechanism refused", err)
	}
	roundTrip(t, n.dial(t, WithSASL(SASLPlain, "alice", rightPassword)))
}

func TestTLS(t *testing.T) {
	server, client := testTLS(t)
	for _, b := range []struct {
		name  string
		start func(t *testing.T, opts ...EmbeddedOption) testBroker
	}{{"nats", startNATS}, {"kafka", startKafka}} {
		t.Run(b.name, func(t *testing.T) {
			tb := b.start(t, WithServerTLS(server))
			roundTrip(t, tb.dial(t, WithTLS(client)))
			ctx, cancel := context.WithTimeout(context.Background(), time.Second)
			defer cancel()
			var err error
			if b.name == "nats" {
				_, err = DialNATS(ctx, tb.url)
			} else {
				_, err = DialKafka(ctx, tb.seeds(t))
			}
			if err == nil {
				t.Error("a plaintext client connected to a TLS broker")
			}
		})
	}
}

func TestSecretsNotPrinted(t *testing.T) {
	cfg := newConfig([]Option{WithSASL(SASLPlain, "alice", rightPassword)})
	ecfg, _ := newEmbeddedConfig([]EmbeddedOption{WithServerUser(SASLPlain, "alice", rightPassword)}, SASLPlain)
	for _, v := range []any{cfg, &cfg, ecfg, &ecfg} {
		for _, verb := range []string{"%v", "%+v", "%#v", "%s"} {
			if s := fmt.Sprintf(verb, v); strings.Contains(s, rightPassword) {
				t.Errorf("%s of %T shows the password: %s", verb, v, s)
			}
		}
	}
}

func TestRedactURLs(t *testing.T) {
	tests := []struct{ in, want string }{
		{"nats://127.0.0.1:4222", "nats://127.0.0.1:4222"},
		{"nats://alice:pw@127.0.0.1:4222", "nats://alice:xxxxx@127.0.0.1:4222"},
		{"nats://a:pw@h1:1,nats://b:pw@h2:2", "nats://a:xxxxx@h1:1,nats://b:xxxxx@h2:2"},
		{"nats://token@h:1", "nats://token@h:1"},
	}
	for _, tt := range tests {
		if got := redactURLs(tt.in); got != tt.want {
			t.Errorf("redactURLs(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

// testTLS returns a server configuration with a self-signed certificate
// for 127.0.0.1, and a client configuration trusting it.
func testTLS(t *testing.T) (server, client *tls.Config) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "tracerig test broker"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		IPAddresses:           []net.IP{net.IPv4(127, 0, 0, 1)},
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	server = &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key, Leaf: cert}}, MinVersion: tls.VersionTLS12}
	client = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
	return server, client
}
