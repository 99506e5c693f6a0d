package scenarios

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tracerig/tracerig/fixtures"
	"github.com/tracerig/tracerig/internal/record"
	"github.com/tracerig/tracerig/topology"
)

// fakeReader is a backend read back by time range only, as Jaeger and
// Tempo are; each read returns spans, or fails with err.
type fakeReader struct {
	name  string
	spans []record.Span
	err   error
	reads int
}

func (f *fakeReader) Name() string     { return f.name }
func (f *fakeReader) Endpoint() string { return "127.0.0.1:4317" }
func (f *fakeReader) Shutdown(context.Context) error {
	return nil
}
func (f *fakeReader) Spans(context.Context, time.Time, time.Time) ([]record.Span, fixtures.ReadStats, error) {
	f.reads++
	return f.spans, fixtures.ReadStats{}, f.err
}

// fakeStore keeps only its newest max traces, as Jaeger's memory store does.
type fakeStore struct {
	fakeReader
	max int
}

func (f *fakeStore) MaxTraces() int { return f.max }

// fakeCounter can count its spans, as the embedded backend can.
type fakeCounter struct {
	fakeReader
	n int64
}

func (f *fakeCounter) Count(context.Context) (int64, error) { return f.n, nil }

// fakeSampler is behind a stage that may drop spans, as a collector is.
type fakeSampler struct {
	fakeCounter
	wait time.Duration
}

func (f *fakeSampler) DecisionWait() time.Duration { return f.wait }

// TestSinkByBackend: what the run asks of the backend follows from the
// optional interfaces it has.
func TestSinkByBackend(t *testing.T) {
	twoSpans := []record.Span{{Trace: record.TraceID{1}}, {Trace: record.TraceID{1}}}
	for _, tc := range []struct {
		name      string
		be        backend
		count     int64
		quiet     time.Duration
		samples   bool
		maxTraces int
		reason    string
	}{
		{"export only", exportOnly{endpoint: "x:1", reason: "cannot read"}, -1, 100 * time.Millisecond, false, 0, "cannot read"},
		{"read back", &fakeReader{name: "tempo", spans: twoSpans}, 2, 2 * time.Second, false, 0, ""},
		{"counts", &fakeCounter{n: 7}, 7, 100 * time.Millisecond, false, 0, ""},
		{"evicts", &fakeStore{fakeReader{name: "jaeger", spans: twoSpans}, 50}, 2, 2 * time.Second, false, 50, ""},
		{"samples", &fakeSampler{fakeCounter{n: 3}, 4 * time.Second}, 3, 9 * time.Second, true, 0, ""},
		{"samples without tail sampling", &fakeSampler{fakeCounter{n: 3}, 0}, 3, 3 * time.Second, true, 0, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := &sink{backend: tc.be, opened: time.Now()}
			if got := s.count(); got != tc.count {
				t.Errorf("count = %d, want %d", got, tc.count)
			}
			if got := s.quiet(); got != tc.quiet {
				t.Errorf("quiet = %s, want %s", got, tc.quiet)
			}
			if got := s.samples(); got != tc.samples {
				t.Errorf("samples = %v, want %v", got, tc.samples)
			}
			if got := s.maxTraces(); got != tc.maxTraces {
				t.Errorf("maxTraces = %d, want %d", got, tc.maxTraces)
			}
			if got := s.noReadBack(); got != tc.reason {
				t.Errorf("noReadBack = %q, want %q", got, tc.reason)
			}
		})
	}
}

// TestSinkReadBack: a backend without a cheap count is read at most once a
// second to be counted; a failed read keeps the spans of the last that
// succeeded, and the notes of an evicting store tell of it and of evictions.
func TestSinkReadBack(t *testing.T) {
	store := &fakeStore{fakeReader{name: "jaeger", spans: []record.Span{{}, {}, {}}}, 2}
	s := &sink{backend: store, opened: time.Now()}
	s.count()
	s.count()
	if store.reads != 1 {
		t.Errorf("%d reads for two counts within a second, want 1", store.reads)
	}
	store.err = errors.New("query timed out")
	if got := s.spans(); len(got) != 3 {
		t.Errorf("a failed read gave %d spans, want the 3 of the last read", len(got))
	}
	want := []string{
		"jaeger keeps only its newest 2 traces; 5 traces were started: 3 traces evicted (raise backend.max-traces to keep them)",
		"jaeger read-back failed: query timed out",
	}
	if got := s.notes(5); !slices.Equal(got, want) {
		t.Errorf("notes = %q, want %q", got, want)
	}
	if !s.evicts(3) || s.evicts(2) {
		t.Error("evicts: want true above the store's size only")
	}
	if got := (&sink{backend: &fakeReader{name: "tempo", err: store.err}}).notes(5); got != nil {
		t.Errorf("notes of a store that does not evict: %q", got)
	}
}

// TestDescribeBackend: an endpoint given on the command line reports as
// otlp, without read-back.
func TestDescribeBackend(t *testing.T) {
	override := &sink{backend: exportOnly{endpoint: "x:1", reason: "spans were exported to x:1"}}
	got := describeBackend(topology.Backend{Type: topology.BackendEmbedded}, override)
	if got.Type != "otlp" || got.Endpoint != "x:1" || got.ReadBack || !strings.Contains(got.Reason, "x:1") {
		t.Errorf("override: %+v", got)
	}
	got = describeBackend(topology.Backend{Type: topology.BackendJaeger}, &sink{backend: &fakeStore{max: 1}})
	if got.Type != "jaeger" || !got.ReadBack || got.Reason != "" {
		t.Errorf("jaeger: %+v", got)
	}
}
