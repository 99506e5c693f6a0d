package scenarios

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"math"
	"net/url"
	"slices"
	"strings"
	"time"

	vegeta "github.com/tsenart/vegeta/v12/lib"
)

// latencyPercentile is the one definition of every request-latency figure
// the reports show (report.json's latency_p50_ns, latency_p99_ns and
// latency_max_ns, the text summary, the load verdict in junit.xml,
// report.html's load table and the marks on its latency histograms, and
// what `bench --hops` prints): the nearest rank over every request's
// latency, that is the smallest recorded latency that at least a share q of
// the requests did not exceed, sorted[⌈q·n⌉−1]. It is always a latency some
// request had; q = 1 is the maximum. sorted must be in ascending order;
// with no request it is 0.
//
// vegeta's own Metrics estimate their percentiles with a t-digest, which
// interpolates between samples; those estimates are not used.
func latencyPercentile(sorted []time.Duration, q float64) time.Duration {
	n := len(sorted)
	if n == 0 {
		return 0
	}
	// ⌈q·n⌉ in integers (q to a millionth), so that 0.99 of 100 is rank
	// 99 and not 100 through a rounding error.
	const per = 1_000_000
	k := int64(math.Round(min(max(q, 0), 1) * per))
	rank := int((k*int64(n) + per - 1) / per)
	return sorted[min(max(rank, 1), n)-1]
}

// latencySummary is what the reports show of a set of request latencies.
type latencySummary struct{ P50, P99, Max time.Duration }

// summarize sorts latencies in place and returns their percentiles.
func summarize(latencies []time.Duration) latencySummary {
	slices.Sort(latencies)
	return latencySummary{
		P50: latencyPercentile(latencies, 0.50),
		P99: latencyPercentile(latencies, 0.99),
		Max: latencyPercentile(latencies, 1),
	}
}

// loadSample is one load request as vegeta recorded it: the source of
// every latency figure of the report.
type loadSample struct {
	load    string // the load entry: its route, or its mix of routes
	route   string // the entry route: "frontend GET /checkout"
	at      int64  // unix ns the request was sent
	latency time.Duration
	code    uint16 // 0: no response
}

// resultCollector is the writer the load encodes its results to (beside
// results.bin): it decodes them as they come into samples.
type resultCollector struct {
	pw      *io.PipeWriter
	done    chan struct{}
	samples []loadSample
	err     error
}

func newResultCollector() *resultCollector {
	pr, pw := io.Pipe()
	c := &resultCollector{pw: pw, done: make(chan struct{})}
	go func() {
		defer close(c.done)
		c.samples, c.err = decodeResults(pr)
		// Whatever could not be decoded is still read, so that the load
		// and results.bin go on.
		_, _ = io.Copy(io.Discard, pr)
	}()
	return c
}

func (c *resultCollector) Write(p []byte) (int, error) { return c.pw.Write(p) }

// close ends the stream and returns the samples, and why they are
// incomplete if they are.
func (c *resultCollector) close() ([]loadSample, error) {
	c.pw.Close()
	<-c.done
	return c.samples, c.err
}

// decodeResults decodes load results in vegeta's encoding (as in
// results.bin) into samples, naming each by its load and entry route.
func decodeResults(r io.Reader) ([]loadSample, error) {
	dec := vegeta.NewDecoder(bufio.NewReader(r))
	type names struct{ load, route string }
	var (
		out   []loadSample
		known = map[string]names{} // attack + method + URL
	)
	for {
		var res vegeta.Result // fresh: gob leaves fields absent from a message as they were
		if err := dec.Decode(&res); err != nil {
			if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
				return out, nil
			}
			return out, fmt.Errorf("decode load results: %w", err)
		}
		key := res.Attack + "\x00" + res.Method + "\x00" + res.URL
		n, ok := known[key]
		if !ok {
			n = names{load: res.Attack, route: entryRoute(res.Attack, res.Method, res.URL)}
			known[key] = n
		}
		out = append(out, loadSample{load: n.load, route: n.route, at: res.Timestamp.UnixNano(), latency: res.Latency, code: res.Code})
	}
}

// entryRoute names the route a result went to. A load of one route is named
// after it; a mix ("frontend GET /a ×2, frontend GET /b ×1") is resolved by
// the request's method and path.
func entryRoute(attack, method, rawURL string) string {
	if !strings.Contains(attack, " ×") {
		return attack
	}
	path := rawURL
	if u, err := url.Parse(rawURL); err == nil {
		path = u.Path
	}
	want := " " + method + " " + path
	for part := range strings.SplitSeq(attack, ", ") {
		name, _, _ := strings.Cut(part, " ×")
		if strings.HasSuffix(name, want) {
			return name
		}
	}
	return strings.TrimSpace(method + " " + path)
}
