package scenarios

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/tracerig/tracerig/topology"
)

// clock is a time that moves only when told, by step at every reading.
type clock struct {
	t    time.Time
	step time.Duration
}

func (c *clock) now() time.Time {
	t := c.t
	c.t = c.t.Add(c.step)
	return t
}

// playProgress drives a progress through a load of ten updates and a
// settling of four, each a second apart, and returns what it wrote.
func playProgress(plain bool, loads []topology.Load) string {
	var out strings.Builder
	c := &clock{t: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC), step: time.Second}
	p := newProgress(&out, plain, loads)
	p.now, p.start = c.now, c.now()
	for i := range 10 {
		p.update(uint64(100 * (i + 1)))
	}
	p.done()
	s := newProgress(&out, plain, nil)
	s.now, s.start = c.now, c.now()
	for _, have := range []int64{10, 50, 99, 100} {
		s.settling(have, 100)
	}
	s.done()
	return out.String()
}

func TestProgressPlain(t *testing.T) {
	for _, tt := range []struct {
		name  string
		loads []topology.Load
		want  []string
	}{
		{
			name:  "share of a duration",
			loads: []topology.Load{{Duration: 10 * time.Second}},
			want: []string{
				"load 10%: 100 requests, 100/s, 1s",
				"load 60%: 600 requests, 100/s, 6s",
				"settling 10%: 10 of 100 exported spans in the backend",
				"settling 100%: 100 of 100 exported spans in the backend",
			},
		},
		{
			name:  "share of a request count",
			loads: []topology.Load{{Requests: 400}, {Requests: 600}},
			want: []string{
				"load 10%: 100 requests, 100/s, 1s",
				"load 60%: 600 requests, 100/s, 6s",
				"settling 10%: 10 of 100 exported spans in the backend",
				"settling 100%: 100 of 100 exported spans in the backend",
			},
		},
		{
			name: "share unknown",
			want: []string{
				"load: 100 requests, 100/s, 1s",
				"load: 600 requests, 100/s, 6s",
				"settling 10%: 10 of 100 exported spans in the backend",
				"settling 100%: 100 of 100 exported spans in the backend",
			},
		},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got := playProgress(true, tt.loads)
			if strings.Contains(got, "\r") {
				t.Errorf("plain progress wrote \\r: %q", got)
			}
			if want := strings.Join(tt.want, "\n") + "\n"; got != want {
				t.Errorf("got\n%s\nwant\n%s", got, want)
			}
		})
	}
}

// TestProgressRedraw checks the line a terminal sees: a frame per update,
// each starting with \r and padded to overwrite the one before, and a
// newline when a stage ends.
func TestProgressRedraw(t *testing.T) {
	got := playProgress(false, []topology.Load{{Requests: 1000}})
	stages := strings.Split(got, "\n")
	if len(stages) != 3 || stages[2] != "" {
		t.Fatalf("want two stages each ended by a newline, got %q", got)
	}
	load, settling := strings.Split(stages[0], "\r")[1:], strings.Split(stages[1], "\r")[1:]
	if len(load) != 10 || len(settling) != 4 {
		t.Fatalf("%d load frames and %d settling frames, want 10 and 4: %q", len(load), len(settling), got)
	}
	for _, tt := range []struct{ got, want string }{
		{load[0], "load     [==                      ]  10% 100 requests, 100/s, 1s"},
		{load[9], "load     [========================] 100% 1000 requests, 100/s, 10s"},
		{settling[0], "settling [==                      ]  10% 10 of 100 exported spans in the backend"},
		{settling[3], "settling [========================] 100% 100 of 100 exported spans in the backend"},
	} {
		if want := fmt.Sprintf("%-90s", tt.want); tt.got != want {
			t.Errorf("frame %q, want %q", tt.got, want)
		}
	}
}
