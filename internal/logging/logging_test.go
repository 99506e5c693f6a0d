package logging

import (
	"bytes"
	"context"
	"errors"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracegrpc"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"google.golang.org/grpc/grpclog"
)

func TestSetup(t *testing.T) {
	for _, tt := range []struct {
		level   string
		logged  []string // of debug, info, warn, error
		wantErr string
	}{
		{level: "debug", logged: []string{"debug", "info", "warn", "error"}},
		{level: "info", logged: []string{"info", "warn", "error"}},
		{level: "", logged: []string{"info", "warn", "error"}},
		{level: "warn", logged: []string{"warn", "error"}},
		{level: "WARN", logged: []string{"warn", "error"}},
		{level: "error", logged: []string{"error"}},
		{level: "verbose", wantErr: `parse log level "verbose": want one of debug, info, warn, error`},
	} {
		t.Run(tt.level, func(t *testing.T) {
			var buf bytes.Buffer
			l, err := Setup(tt.level, &buf)
			if tt.wantErr != "" {
				if err == nil || err.Error() != tt.wantErr {
					t.Fatalf("error %v, want %s", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			l.Debug("debug")
			l.Info("info")
			l.Warn("warn")
			l.Error("error")
			var got []string
			for _, line := range strings.Split(strings.TrimSpace(buf.String()), "\n") {
				if _, msg, ok := strings.Cut(line, " msg="); ok {
					got = append(got, msg)
				}
			}
			if strings.Join(got, " ") != strings.Join(tt.logged, " ") {
				t.Errorf("logged %q, want %q", got, tt.logged)
			}
		})
	}
}

// syncBuffer is a buffer the SDK's and gRPC's goroutines may write to while
// the test reads it.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// TestInstall exports a span through the SDK's OTLP/gRPC exporter to a port
// nothing listens on: the SDK's export error and gRPC's failure to connect
// reach the log at warn, and so does a warning logged through a gRPC
// component's logger, while gRPC's information stays below info.
func TestInstall(t *testing.T) {
	var buf syncBuffer
	logger, err := Setup("info", &buf)
	if err != nil {
		t.Fatal(err)
	}
	Install(logger)

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close() // nothing listens there now

	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	exp, err := otlptracegrpc.New(ctx, otlptracegrpc.WithEndpoint(addr), otlptracegrpc.WithInsecure(),
		otlptracegrpc.WithRetry(otlptracegrpc.RetryConfig{Enabled: false}), otlptracegrpc.WithTimeout(10*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(exp)) // exports as each span ends
	_, span := tp.Tracer("logging-test").Start(ctx, "lost")
	span.End()
	if err := tp.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}

	grpclog.Component("core").Warningf("a warning of %s", "grpc")
	grpclog.Component("core").Infof("some information of %s", "grpc")

	out := buf.String()
	var otelLine, grpcLine, grpcDial bool
	for _, line := range strings.Split(out, "\n") {
		switch {
		case strings.Contains(line, "logger=otel"):
			otelLine = otelLine || strings.Contains(line, "level=WARN") && strings.Contains(line, addr)
		case strings.Contains(line, "logger=grpc") && strings.Contains(line, addr):
			grpcDial = grpcDial || strings.Contains(line, "level=WARN")
		case strings.Contains(line, "information of grpc"):
			t.Errorf("gRPC information logged at info: %s", line)
		case strings.Contains(line, "a warning of grpc"):
			grpcLine = strings.Contains(line, "level=WARN") && strings.Contains(line, "logger=grpc")
		}
	}
	if !otelLine {
		t.Errorf("no warning naming %s from the SDK's export in:\n%s", addr, out)
	}
	if !grpcDial {
		t.Errorf("no warning of gRPC's failure to connect to %s in:\n%s", addr, out)
	}
	if !grpcLine {
		t.Errorf("no gRPC warning at warn in:\n%s", out)
	}
	t.Logf("log:\n%s", out)
}

// TestOtelRepeats feeds the SDK's error handler errors at given seconds of
// a clock of its own and checks which lines it logs.
func TestOtelRepeats(t *testing.T) {
	for _, tt := range []struct {
		name   string
		errors []string // "SECONDS ERROR"
		want   []string // the lines' error and repeated attributes
	}{
		{
			name:   "distinct errors each logged",
			errors: []string{"0 a", "1 b", "2 c"},
			want:   []string{"error=a", "error=b", "error=c"},
		},
		{
			name:   "a repeat within 10s left out, then counted",
			errors: []string{"0 a", "1 a", "5 a", "9 a", "10 a", "11 a", "25 a"},
			want:   []string{"error=a", "error=a repeated=3", "error=a repeated=1"},
		},
		{
			name:   "repeats counted per error",
			errors: []string{"0 a", "0 b", "3 a", "4 b", "4 b", "12 b", "12 a"},
			want:   []string{"error=a", "error=b", "error=b repeated=2", "error=a repeated=1"},
		},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var buf bytes.Buffer
			l, err := Setup("info", &buf)
			if err != nil {
				t.Fatal(err)
			}
			var at time.Time
			h := newOtelHandler(l, func() time.Time { return at })
			start := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
			for _, e := range tt.errors {
				sec, msg, _ := strings.Cut(e, " ")
				d, err := time.ParseDuration(sec + "s")
				if err != nil {
					t.Fatal(err)
				}
				at = start.Add(d)
				h.Handle(errors.New(msg))
			}
			var got []string
			for _, line := range strings.Split(strings.TrimSpace(buf.String()), "\n") {
				if !strings.Contains(line, "level=WARN") || !strings.Contains(line, "logger=otel") {
					t.Errorf("line %q, want it at warn from logger otel", line)
				}
				_, attrs, _ := strings.Cut(line, " logger=otel ")
				got = append(got, attrs)
			}
			if strings.Join(got, "\n") != strings.Join(tt.want, "\n") {
				t.Errorf("logged\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(tt.want, "\n"))
			}
		})
	}
}
