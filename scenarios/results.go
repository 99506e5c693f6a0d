package scenarios

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/url"
	"strings"

	vegeta "github.com/tsenart/vegeta/v12/lib"

	"github.com/tracerig/tracerig/report"
)

// resultCollector is the writer the load encodes its results to (beside
// results.bin): it decodes them as they come into the report's samples.
type resultCollector struct {
	pw      *io.PipeWriter
	done    chan struct{}
	samples *sampleReservoir
	err     error
}

// newResultCollector returns a collector keeping at most keep samples (see
// sampleReservoir), chosen by seed.
func newResultCollector(keep int, seed uint64) *resultCollector {
	pr, pw := io.Pipe()
	c := &resultCollector{pw: pw, done: make(chan struct{}), samples: newSampleReservoir(keep, seed)}
	go func() {
		defer close(c.done)
		c.err = decodeResults(pr, c.samples.add)
		// Whatever could not be decoded is still read, so that the load
		// and results.bin go on.
		_, _ = io.Copy(io.Discard, pr)
	}()
	return c
}

func (c *resultCollector) Write(p []byte) (int, error) { return c.pw.Write(p) }

// close ends the stream and returns the samples kept, how many results
// there were, and why they are incomplete if they are.
func (c *resultCollector) close() ([]report.LoadSample, int, error) {
	c.pw.Close()
	<-c.done
	return c.samples.kept, c.samples.seen, c.err
}

// decodeResults decodes load results in vegeta's encoding (as in
// results.bin) into samples, naming each by its load and entry route, and
// hands each to add.
func decodeResults(r io.Reader, add func(report.LoadSample)) error {
	dec := vegeta.NewDecoder(bufio.NewReader(r))
	type names struct{ load, route string }
	known := map[string]names{} // attack + method + URL
	for {
		var res vegeta.Result // fresh: gob leaves fields absent from a message as they were
		if err := dec.Decode(&res); err != nil {
			if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
				return nil
			}
			return fmt.Errorf("decode load results: %w", err)
		}
		key := res.Attack + "\x00" + res.Method + "\x00" + res.URL
		n, ok := known[key]
		if !ok {
			n = names{load: res.Attack, route: entryRoute(res.Attack, res.Method, res.URL)}
			known[key] = n
		}
		add(report.LoadSample{Load: n.load, Route: n.route, At: res.Timestamp.UnixNano(), Latency: res.Latency, Code: res.Code})
	}
}

// maxLoadSamples is how many load results a run keeps for its latency
// figures: every result of a run of up to 2^18 requests (about 15 MB), a
// uniform sample of that many beyond.
const maxLoadSamples = 1 << 18

// sampleReservoir keeps every sample up to its size, then a uniform random
// sample of everything seen (Vitter's algorithm R, its choices drawn from
// the run's seed): a long run's latency figures come from a sample of
// fixed size instead of one record per request.
type sampleReservoir struct {
	kept []report.LoadSample
	size int
	seen int
	rng  *rand.Rand
}

func newSampleReservoir(size int, seed uint64) *sampleReservoir {
	return &sampleReservoir{size: size, rng: rand.New(rand.NewPCG(seed, 0x6c6f6164))}
}

// add offers one sample.
func (r *sampleReservoir) add(s report.LoadSample) {
	r.seen++
	if len(r.kept) < r.size {
		r.kept = append(r.kept, s)
		return
	}
	if i := r.rng.IntN(r.seen); i < r.size {
		r.kept[i] = s
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
