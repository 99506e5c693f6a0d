package scenarios

import (
	"errors"
	"fmt"
	"os"
	"sync"

	"github.com/tracerig/tracerig/internal/otlpfile"
	"github.com/tracerig/tracerig/internal/record"
)

// spanFile is where a run saves the spans that reached its backend
// (Options.SaveSpans), as OTLP protobuf. The spans are written as the run
// receives them for judging, once each: a run verified as it goes writes
// each group's as the group is judged (verifier.add), one judged at its
// end writes all of them then (gather). A nil spanFile saves nothing. Its
// methods are safe for concurrent use.
type spanFile struct {
	path string
	f    *os.File
	w    *otlpfile.Writer

	mu     sync.Mutex
	err    error // the first failure to write; later spans are not written
	closed bool
}

// createSpanFile creates (or truncates) the file at path.
func createSpanFile(path string) (*spanFile, error) {
	f, err := os.Create(path)
	if err != nil {
		return nil, fmt.Errorf("save spans: %w", err)
	}
	return &spanFile{path: path, f: f, w: otlpfile.NewWriter(f)}, nil
}

// save writes spans, unless an earlier write failed or the file is closed.
func (s *spanFile) save(spans []record.Span) {
	if s == nil || len(spans) == 0 {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.err != nil || s.closed {
		return
	}
	if err := s.w.Write(spans); err != nil {
		s.err = err
	}
}

// close closes the file and returns the first failure to write or to
// close it, naming the file; later calls return nil.
func (s *spanFile) close() error {
	if s == nil {
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil
	}
	s.closed = true
	if err := errors.Join(s.err, s.f.Close()); err != nil {
		return fmt.Errorf("save spans to %s: %w", s.path, err)
	}
	return nil
}

// note says what was saved, for the report.
func (s *spanFile) note() string {
	spans, bytes := s.w.Written()
	return fmt.Sprintf("%d spans that reached the backend saved to %s (OTLP protobuf, %d bytes)", spans, s.path, bytes)
}
