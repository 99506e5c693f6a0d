package scenarios

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/tracerig/tracerig/fixtures/embedded"
	"github.com/tracerig/tracerig/internal/otlpfile"
	"github.com/tracerig/tracerig/internal/record"
)

// TestSaveSpans runs quickstart for a second with SaveSpans, verified as
// it goes and judged at its end, and reads the file back: it holds each
// span the embedded backend received, once.
func TestSaveSpans(t *testing.T) {
	for name, keep := range map[string]bool{"verified as it goes": false, "judged at its end": true} {
		t.Run(name, func(t *testing.T) {
			sc, err := Open("quickstart")
			if err != nil {
				t.Fatal(err)
			}
			d, path := time.Second, filepath.Join(t.TempDir(), "spans.pb")
			s, err := Start(t.Context(), sc, Options{Duration: &d, KeepRecords: keep, SaveSpans: path})
			if err != nil {
				t.Fatal(err)
			}
			be := s.up.snk.backend.(*embedded.Backend)
			if err := s.Drive(t.Context()); err != nil {
				t.Fatal(err)
			}
			rep, err := s.Finish(t.Context())
			if err != nil {
				t.Fatal(err)
			}
			if len(rep.Errors) > 0 {
				t.Errorf("report errors: %v", rep.Errors)
			}
			saved := readSaved(t, path)
			received := be.Stats().Received
			if received == 0 || int64(len(saved)) != received {
				t.Errorf("saved %d spans, the backend received %d", len(saved), received)
			}
			if keep {
				in := rep.Evidence.Input.Backend
				if len(in) != len(saved) {
					t.Errorf("saved %d spans, judged %d", len(saved), len(in))
				}
				for _, sp := range in {
					if !saved[spanKey{sp.Trace, sp.ID}] {
						t.Errorf("span %s of trace %s judged, not saved", sp.ID, sp.Trace)
					}
				}
			}
			t.Logf("%d spans saved; notes: %v", len(saved), rep.Evidence.BackendNotes)
		})
	}
}

// readSaved reads a file SaveSpans wrote and returns its spans' IDs,
// failing t for one read twice.
func readSaved(t *testing.T, path string) map[spanKey]bool {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	saved := make(map[spanKey]bool)
	if _, err := otlpfile.Read(f, func(sp *record.Span) error {
		k := spanKey{sp.Trace, sp.ID}
		if saved[k] {
			t.Errorf("span %s of trace %s saved twice", sp.ID, sp.Trace)
		}
		saved[k] = true
		return nil
	}); err != nil {
		t.Fatalf("read %s: %v", path, err)
	}
	return saved
}

// TestSaveSpansUnwritable fails the run before it starts when the file
// cannot be created.
func TestSaveSpansUnwritable(t *testing.T) {
	sc, err := Open("quickstart")
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "no-such-folder", "spans.pb")
	_, err = Start(t.Context(), sc, Options{SaveSpans: path})
	var rerr *RuntimeError
	if !errors.As(err, &rerr) || !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("err = %v, want a RuntimeError for the missing folder", err)
	}
}
