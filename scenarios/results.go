package scenarios

import (
	"bufio"
	"errors"
	"fmt"
	"io"
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
	samples []report.LoadSample
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
func (c *resultCollector) close() ([]report.LoadSample, error) {
	c.pw.Close()
	<-c.done
	return c.samples, c.err
}

// decodeResults decodes load results in vegeta's encoding (as in
// results.bin) into samples, naming each by its load and entry route.
func decodeResults(r io.Reader) ([]report.LoadSample, error) {
	dec := vegeta.NewDecoder(bufio.NewReader(r))
	type names struct{ load, route string }
	var (
		out   []report.LoadSample
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
		out = append(out, report.LoadSample{Load: n.load, Route: n.route, At: res.Timestamp.UnixNano(), Latency: res.Latency, Code: res.Code})
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
