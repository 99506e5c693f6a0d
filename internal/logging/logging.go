// Package logging sets up tracerig's log: log/slog at a level the user
// chooses (--log-level), into which the OpenTelemetry SDK's errors and
// gRPC's own log are routed, so that an export the SDK gives up on or a
// connection gRPC cannot make shows as a warning instead of being
// discarded or printed in a format of its own.
package logging

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"
	"time"

	"go.opentelemetry.io/otel"
	"google.golang.org/grpc/grpclog"
)

// Levels are the names --log-level takes, from the most to the least
// verbose.
var Levels = []string{"debug", "info", "warn", "error"}

// ParseLevel returns the slog level named name, one of Levels in any case;
// "" is info.
func ParseLevel(name string) (slog.Level, error) {
	switch strings.ToLower(name) {
	case "debug":
		return slog.LevelDebug, nil
	case "", "info":
		return slog.LevelInfo, nil
	case "warn", "warning":
		return slog.LevelWarn, nil
	case "error":
		return slog.LevelError, nil
	}
	return 0, fmt.Errorf("parse log level %q: want one of %s", name, strings.Join(Levels, ", "))
}

// Setup returns a logger writing text lines (slog's key=value format) to w
// at level and above, level being one of Levels.
func Setup(level string, w io.Writer) (*slog.Logger, error) {
	l, err := ParseLevel(level)
	if err != nil {
		return nil, err
	}
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: l})), nil
}

// Install routes the OpenTelemetry SDK's errors (otel.Handle) and gRPC's
// log (grpclog) into logger: the SDK's errors, and gRPC's warnings and
// errors, at warn; gRPC's information at debug. Each line carries
// logger=otel or logger=grpc. An SDK error the same as one logged less
// than RepeatEvery before is not logged again: the next line that is says
// how many were left out (repeated=N). Install sets process-wide state:
// call it once, before any span is exported and any gRPC connection made.
func Install(logger *slog.Logger) {
	otel.SetErrorHandler(newOtelHandler(logger, time.Now))
	grpclog.SetLoggerV2(&grpcLogger{l: logger.With("logger", "grpc")})
}

// RepeatEvery is how often Install logs one SDK error again when it
// recurs: an endpoint that is down fails every export of every service.
const RepeatEvery = 10 * time.Second

// otelHandler logs the SDK's errors at warn, each distinct one at most
// every RepeatEvery.
type otelHandler struct {
	l   *slog.Logger
	now func() time.Time
	mu  sync.Mutex
	// seen holds, per error text, when it was last logged and how many
	// times it recurred since.
	seen map[string]*repeat
}

type repeat struct {
	at      time.Time
	skipped int
}

// maxSeen bounds the error texts otelHandler remembers.
const maxSeen = 1024

func newOtelHandler(l *slog.Logger, now func() time.Time) *otelHandler {
	return &otelHandler{l: l.With("logger", "otel"), now: now, seen: map[string]*repeat{}}
}

// Handle logs err unless it was logged less than RepeatEvery ago.
func (h *otelHandler) Handle(err error) {
	h.mu.Lock()
	now, key := h.now(), err.Error()
	r := h.seen[key]
	if r != nil && now.Sub(r.at) < RepeatEvery {
		r.skipped++
		h.mu.Unlock()
		return
	}
	if r == nil {
		if len(h.seen) >= maxSeen {
			clear(h.seen)
		}
		r = &repeat{}
		h.seen[key] = r
	}
	skipped := r.skipped
	r.at, r.skipped = now, 0
	h.mu.Unlock()
	if skipped > 0 {
		h.l.Warn("opentelemetry error", "error", err, "repeated", skipped)
		return
	}
	h.l.Warn("opentelemetry error", "error", err)
}

// grpcLogger is grpclog.LoggerV2 over slog: gRPC's warnings and errors at
// warn, its fatal errors at error (gRPC exits after them), the rest at
// debug.
type grpcLogger struct{ l *slog.Logger }

var _ grpclog.LoggerV2 = (*grpcLogger)(nil)

func (g *grpcLogger) log(level slog.Level, msg string) {
	g.l.Log(context.Background(), level, strings.TrimSuffix(msg, "\n"))
}

// The methods of grpclog.LoggerV2; gRPC exits after Fatal itself.

func (g *grpcLogger) Info(args ...any)            { g.log(slog.LevelDebug, fmt.Sprint(args...)) }
func (g *grpcLogger) Infoln(args ...any)          { g.log(slog.LevelDebug, fmt.Sprintln(args...)) }
func (g *grpcLogger) Infof(f string, args ...any) { g.log(slog.LevelDebug, fmt.Sprintf(f, args...)) }
func (g *grpcLogger) Warning(args ...any)         { g.log(slog.LevelWarn, fmt.Sprint(args...)) }
func (g *grpcLogger) Warningln(args ...any)       { g.log(slog.LevelWarn, fmt.Sprintln(args...)) }
func (g *grpcLogger) Warningf(f string, args ...any) {
	g.log(slog.LevelWarn, fmt.Sprintf(f, args...))
}
func (g *grpcLogger) Error(args ...any)            { g.log(slog.LevelWarn, fmt.Sprint(args...)) }
func (g *grpcLogger) Errorln(args ...any)          { g.log(slog.LevelWarn, fmt.Sprintln(args...)) }
func (g *grpcLogger) Errorf(f string, args ...any) { g.log(slog.LevelWarn, fmt.Sprintf(f, args...)) }
func (g *grpcLogger) Fatal(args ...any)            { g.log(slog.LevelError, fmt.Sprint(args...)) }
func (g *grpcLogger) Fatalln(args ...any)          { g.log(slog.LevelError, fmt.Sprintln(args...)) }
func (g *grpcLogger) Fatalf(f string, args ...any) { g.log(slog.LevelError, fmt.Sprintf(f, args...)) }

// V reports whether gRPC's verbose information at verbosity l is wanted:
// always at 0, and at any verbosity when the logger logs debug.
func (g *grpcLogger) V(l int) bool {
	return l <= 0 || g.l.Enabled(context.Background(), slog.LevelDebug)
}
