package recorded

import (
	"bufio"
	"cmp"
	"context"
	"fmt"
	"io"
	"net/url"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/tracerig/tracerig/fixtures"
	"github.com/tracerig/tracerig/fixtures/embedded"
	"github.com/tracerig/tracerig/fixtures/jaeger"
	"github.com/tracerig/tracerig/fixtures/tempo"
	"github.com/tracerig/tracerig/internal/httpclient"
	"github.com/tracerig/tracerig/internal/otlpfile"
	"github.com/tracerig/tracerig/internal/record"
	"github.com/tracerig/tracerig/scenarios"
	"github.com/tracerig/tracerig/topology"
)

// DefaultFrom is the source read when none is named: the query API of a
// `tracerig backend` started with its defaults.
const DefaultFrom = "tracerig+http://127.0.0.1:4318"

// Sink takes the spans a Source reads: Add one span, FlushTrace once a
// trace is known to be whole. *infer.Builder is one.
type Sink interface {
	Add(*record.Span)
	FlushTrace(record.TraceID)
}

// Source is where recorded spans are read from.
type Source interface {
	// String names the source in messages, without credentials.
	String() string
	// Read feeds every span of the source to sink and returns what it
	// read. An error is an *InputError when the input itself is unusable.
	Read(ctx context.Context, sink Sink) (Stats, error)
}

// Stats is what a Source read.
type Stats struct {
	Spans  int64
	Traces int64 // traces flushed whole; 0 for a file, whose traces end where they end
	// From and To bound the spans' start times, in unix nanoseconds.
	From, To int64
}

func (s *Stats) add(sp *record.Span) {
	s.Spans++
	if s.From == 0 || sp.Start < s.From {
		s.From = sp.Start
	}
	s.To = max(s.To, sp.Start)
}

// InputError is input that cannot be used as it is: a missing, empty,
// truncated or malformed file, or a source without server spans. The CLI
// exits with its configuration code for it.
type InputError struct{ Err error }

func (e *InputError) Error() string { return e.Err.Error() }
func (e *InputError) Unwrap() error { return e.Err }

// Access is how a query API is reached: its TLS settings and its headers,
// whose values are templates expanded through Getenv (so a credential is
// named, never written, on a command line).
type Access struct {
	Headers []topology.Header
	TLS     topology.TLS
	Getenv  func(string) string
	// Window is how far back a query API is read, from now; 0 is an hour.
	Window time.Duration
}

// Open returns the source from names:
//
//	FILE or -                      an OTLP file (protobuf, JSON, the Collector's file exporter's JSON lines; gzip or not)
//	jaeger+http(s)://HOST:PORT     a Jaeger query API
//	tempo+http(s)://HOST:PORT      a Tempo HTTP API
//	tracerig+http(s)://HOST:PORT   the query API of `tracerig backend`
func Open(from string, acc Access) (Source, error) {
	if from == "" {
		from = DefaultFrom
	}
	kind, rawURL, isAPI := strings.Cut(from, "+")
	if !isAPI || !strings.HasPrefix(rawURL, "http://") && !strings.HasPrefix(rawURL, "https://") {
		return fileSource{path: from}, nil
	}
	u, err := url.Parse(rawURL)
	if err != nil || u.Host == "" {
		return nil, &InputError{fmt.Errorf("--from %s: not a URL with a host", httpclient.Redact(rawURL))}
	}
	if u.User != nil {
		return nil, &InputError{fmt.Errorf("--from %s: credentials in the URL would show in the process list; give them as --header values that name environment variables", httpclient.Redact(rawURL))}
	}
	if acc.Window <= 0 {
		acc.Window = time.Hour
	}
	base := strings.TrimRight(rawURL, "/")
	switch kind {
	case "jaeger", "tempo":
		getenv := acc.Getenv
		if getenv == nil {
			getenv = os.Getenv
		}
		client, err := scenarios.QueryClient(topology.BackendQuery{Type: kind, URL: base, TLS: acc.TLS, Headers: acc.Headers}, getenv)
		if err != nil {
			return nil, &InputError{fmt.Errorf("--from %s: %w", base, err)}
		}
		if kind == "tempo" {
			return apiSource{name: "tempo at " + base, window: acc.Window, reader: tempo.New("", base, tempo.WithHTTPClient(client))}, nil
		}
		return apiSource{name: "jaeger at " + base, window: acc.Window, reader: jaeger.New("", base, jaeger.WithHTTPClient(client))}, nil
	case "tracerig":
		return apiSource{name: "tracerig backend at " + base, window: acc.Window, reader: embedded.NewRemote("", base)}, nil
	}
	return nil, &InputError{fmt.Errorf("--from %s: unknown query API %q (jaeger+, tempo+ or tracerig+ before the URL)", httpclient.Redact(from), kind)}
}

// spanReader reads a backend's spans within a time range, whole traces.
type spanReader interface {
	Spans(ctx context.Context, from, to time.Time) ([]record.Span, fixtures.ReadStats, error)
	Shutdown(ctx context.Context) error
}

// apiSource reads the last window of a query API. The API answers with
// whole traces, so the spans are held in memory once, sorted by trace,
// and each trace is flushed as soon as it was given.
type apiSource struct {
	name   string
	window time.Duration
	reader spanReader
}

func (s apiSource) String() string { return s.name }

func (s apiSource) Read(ctx context.Context, sink Sink) (Stats, error) {
	defer s.reader.Shutdown(context.WithoutCancel(ctx))
	now := time.Now()
	spans, _, err := s.reader.Spans(ctx, now.Add(-s.window), now.Add(time.Minute))
	if err != nil {
		return Stats{}, fmt.Errorf("read %s: %w", s.name, err)
	}
	if len(spans) == 0 {
		return Stats{}, &InputError{fmt.Errorf("read %s: no spans in the last %s", s.name, s.window)}
	}
	slices.SortStableFunc(spans, func(a, b record.Span) int { return cmp.Compare(string(a.Trace[:]), string(b.Trace[:])) })
	var st Stats
	for i := range spans {
		sink.Add(&spans[i])
		st.add(&spans[i])
		if i+1 == len(spans) || spans[i+1].Trace != spans[i].Trace {
			sink.FlushTrace(spans[i].Trace)
			st.Traces++
		}
	}
	return st, nil
}

// fileSource reads an OTLP file, or standard input for "-".
type fileSource struct{ path string }

func (s fileSource) String() string {
	if s.path == "-" {
		return "standard input"
	}
	return s.path
}

func (s fileSource) Read(ctx context.Context, sink Sink) (Stats, error) {
	var r io.Reader = os.Stdin
	if s.path != "-" {
		f, err := os.Open(s.path)
		if err != nil {
			return Stats{}, &InputError{fmt.Errorf("read spans: %w", err)}
		}
		defer f.Close()
		r = f
	}
	var st Stats
	_, err := otlpfile.Read(bufio.NewReaderSize(r, 1<<16), func(sp *record.Span) error {
		if st.Spans%4096 == 0 {
			if err := ctx.Err(); err != nil {
				return err
			}
		}
		sink.Add(sp)
		st.add(sp)
		return nil
	})
	if err != nil && ctx.Err() == nil {
		return st, &InputError{fmt.Errorf("read %s: %w", s, err)}
	}
	return st, err
}
