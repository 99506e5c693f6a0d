package infer

import (
	"bytes"
	"testing"
	"time"

	"github.com/tracerig/tracerig/internal/record"
)

// slowTrace writes a request of front GET /f calling slow GET /s: the
// client span lasts client µs, the callee's span callee µs; failed marks
// both as failed.
func slowTrace(n uint64, client, callee int64, failed bool) []record.Span {
	tr, id, base := requestIDs(n)
	status := record.StatusUnset
	if failed {
		status = record.StatusError
	}
	return []record.Span{
		{Trace: tr, ID: id(1), Start: base, End: base + (client+20)*us, Service: "front", Name: "GET /f", Kind: record.KindServer},
		{Trace: tr, ID: id(2), Parent: id(1), Start: base + 10*us, End: base + (10+client)*us, Service: "front", Name: "GET", Kind: record.KindClient, Status: status},
		{Trace: tr, ID: id(3), Parent: id(2), Start: base + 11*us, End: base + (11+callee)*us, Service: "slow", Name: "GET /s", Kind: record.KindServer, Status: status},
	}
}

// TestTimeoutEvident: attempts that fail while their callee goes on are a
// timeout of the length they lasted; failures the callee answered are not.
func TestTimeoutEvident(t *testing.T) {
	tests := []struct {
		name  string
		slow  func(n uint64) []record.Span // one request in four
		want  time.Duration
		wrote bool
	}{
		{"caller gives up", func(n uint64) []record.Span { return slowTrace(n, 50_000, 80_000, true) }, 50 * time.Millisecond, true},
		{"callee answers an error", func(n uint64) []record.Span { return slowTrace(n, 30_000, 28_000, true) }, 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := NewBuilder(Options{})
			for n := uint64(1); n <= 40; n++ {
				spans := slowTrace(n, 20_000, 18_000, false)
				if n%4 == 0 {
					spans = tt.slow(n)
				}
				for i := range spans {
					b.Add(&spans[i])
				}
				b.FlushTrace(spans[0].Trace)
			}
			res, err := b.Result()
			if err != nil {
				t.Fatal(err)
			}
			if tt.wrote && bytes.Contains(res.Topology, []byte("errors:")) {
				t.Errorf("the callee's failures its caller gave up on are written as its own errors:\n%s", res.Topology)
			}
			var c *Callee
			for _, s := range res.Model.Services {
				if s.Name == "front" {
					c = s.Routes[0].Callees[0]
				}
			}
			if d := c.Timeout - tt.want; d < -tt.want/50 || d > tt.want/50 {
				t.Errorf("timeout %s after %d timed-out attempts, want %s", c.Timeout, c.TimedOut, tt.want)
			}
			if got := bytes.Contains(res.Topology, []byte("timeout: ")); got != tt.wrote {
				t.Errorf("topology writes the timeout: %v, want %v:\n%s", got, tt.wrote, res.Topology)
			}
		})
	}
}
