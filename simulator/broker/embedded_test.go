package broker

import (
	"context"
	"fmt"
	"net"
	"strconv"
	"strings"
	"testing"
)

// freePort returns a port free on 127.0.0.1 a moment ago.
func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// embedded is what the tests of both embedded brokers use.
type embedded interface {
	Stop()
	Start(ctx context.Context) error
	Close() error
}

func TestEmbeddedLifecycle(t *testing.T) {
	tests := []struct {
		name  string
		start func(ctx context.Context, opts ...EmbeddedOption) (embedded, string, error)
	}{
		{"nats", func(ctx context.Context, opts ...EmbeddedOption) (embedded, string, error) {
			n, err := StartNATS(ctx, opts...)
			if err != nil {
				return nil, "", err
			}
			return n, n.URL(), nil
		}},
		{"kafka", func(ctx context.Context, opts ...EmbeddedOption) (embedded, string, error) {
			k, err := StartKafka(ctx, opts...)
			if err != nil {
				return nil, "", err
			}
			return k, strings.Join(k.Seeds(), ","), nil
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			port := strconv.Itoa(freePort(t))
			b, addr, err := tt.start(testContext(t), WithListenAddr("127.0.0.1:"+port), WithServerUser(SASLPlain, "alice", rightPassword))
			if err != nil {
				t.Fatal(err)
			}
			if !strings.HasSuffix(addr, "127.0.0.1:"+port) {
				t.Errorf("address %s, want 127.0.0.1:%s", addr, port)
			}
			if s := fmt.Sprintf("%v %+v %#v", b, b, b); strings.Contains(s, rightPassword) {
				t.Errorf("the printed broker shows the password: %s", s)
			}
			b.Stop()
			b.Stop()
			if c, err := net.Dial("tcp", "127.0.0.1:"+port); err == nil {
				c.Close()
				t.Error("a stopped broker accepted a connection")
			}
			for range 2 {
				if err := b.Start(testContext(t)); err != nil {
					t.Fatal(err)
				}
			}
			c, err := net.Dial("tcp", "127.0.0.1:"+port)
			if err != nil {
				t.Fatalf("a restarted broker: %v", err)
			}
			c.Close()
			for range 2 {
				if err := b.Close(); err != nil {
					t.Fatal(err)
				}
			}
			if err := b.Start(testContext(t)); err == nil {
				t.Error("a closed broker started again")
			}
		})
	}
}

func TestEmbeddedBadOptions(t *testing.T) {
	tests := []struct {
		name string
		opts []EmbeddedOption
		want string
	}{
		{"no port", []EmbeddedOption{WithListenAddr("127.0.0.1")}, `listen address "127.0.0.1"`},
		{"unknown mechanism", []EmbeddedOption{WithServerUser("gssapi", "alice", rightPassword)}, `user "alice": sasl mechanism "gssapi"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := StartNATS(testContext(t), tt.opts...); err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("nats: %v, want %q", err, tt.want)
			}
			if _, err := StartKafka(testContext(t), tt.opts...); err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("kafka: %v, want %q", err, tt.want)
			}
		})
	}
	_, err := StartNATS(testContext(t), WithServerUser(SASLScramSHA256, "alice", rightPassword))
	if err == nil || strings.Contains(err.Error(), rightPassword) {
		t.Errorf("nats with a scram user: %v, want an error without the password", err)
	}
}
