package infer

import (
	"bytes"
	"fmt"
	"math"
	"strconv"
	"time"

	"github.com/tracerig/tracerig/topology"
)

// writer writes YAML text with comments, one indented line at a time.
type writer struct{ bytes.Buffer }

func (w *writer) line(indent int, format string, args ...any) {
	for range indent {
		w.WriteString("  ")
	}
	fmt.Fprintf(w, format, args...)
	w.WriteByte('\n')
}

// q quotes a route name for YAML: a double-quoted scalar (Go's escapes
// are a subset of YAML's for these strings).
func q(s string) string { return strconv.Quote(s) }

// topologyYAML writes the topology file of m.
func (b *Builder) topologyYAML(m *Model) []byte {
	var w writer
	w.line(0, "# Inferred by tracerig infer from %d spans in %d traces; the numbers below", b.unused.Spans, b.unused.Traces)
	w.line(0, "# say what they were derived from and from how many samples.")
	w.line(0, "# Propagators and samplers do not show in spans: every service has the defaults")
	w.line(0, "# (W3C trace context and baggage; every trace sampled).")
	w.line(0, "name: %s", b.opts.Name)
	if m.MaxSpans > b.opts.MaxSpansPerRequest {
		w.line(0, "# The traces' largest request is expected to produce %d spans, more than the limit", m.MaxSpans)
		w.line(0, "# of %d: the limit is raised to it rather than calls left out.", b.opts.MaxSpansPerRequest)
		w.line(0, "limits:")
		w.line(1, "max-spans-per-request: %d", m.MaxSpans)
	}
	writeBrokers(&w, m)
	w.line(0, "services:")
	for _, s := range m.Services {
		if !written(s) {
			w.line(1, "# not written: service %s, whose consume routes are all left out:", s.Name)
			for _, r := range s.Routes {
				w.line(1, "#   %s: %s", q(r.Name), r.Consume.Why)
			}
			continue
		}
		w.line(1, "%s:", s.Name)
		if s.ServerSpans > 0 {
			w.line(2, "# %s from the server spans' attributes; instances: distinct service.instance.id", s.Protocol)
		} else {
			w.line(2, "# %s, the default: no server spans, only consumer spans; instances: distinct service.instance.id", s.Protocol)
		}
		w.line(2, "protocol: %s", s.Protocol)
		w.line(2, "instances: %d", max(s.Instances, 1))
		w.line(2, "routes:")
		for _, r := range s.Routes {
			writeRoute(&w, s, r)
		}
	}
	return w.Bytes()
}

func writeRoute(w *writer, s *Service, r *Route) {
	switch {
	case r.Consume == nil:
		w.line(3, "%s:", q(r.Name))
		w.line(4, "# %d server spans", r.Requests)
	case !r.Consume.Written:
		w.line(3, "# not written: route %s, %s", q(r.Name), r.Consume.Why)
		return
	default:
		w.line(3, "%s:", q(r.Name))
		w.line(4, "# %d consumer spans, each a run of the route", r.Requests)
		writeConsume(w, r.Consume)
	}
	writeLatency(w, r.Own)
	if r.ErrorRate > 0 {
		w.line(4, "# own errors: %.4g%% of the %d requests whose calls all succeeded (status error, HTTP >= 500 or a gRPC code)", 100*r.ErrorRate, r.Clean)
		if s.Protocol == topology.ProtocolGRPC {
			code := r.Status
			if code < 1 || code > 16 {
				code = 13
			}
			w.line(4, "errors: {rate: %s, code: %s}", rate(r.ErrorRate), topology.GRPCCodeName(uint32(code)))
		} else {
			status := r.Status
			if status < 500 || status > 599 {
				status = 500
			}
			w.line(4, "errors: {rate: %s, status: %d}", rate(r.ErrorRate), status)
		}
	}
	if len(r.Steps) > 0 {
		w.line(4, "calls:")
	}
	for _, st := range r.Steps {
		if len(st) == 1 {
			writeCall(w, 5, st[0])
			continue
		}
		w.line(5, "# in parallel: they overlapped in most requests calling them")
		w.line(5, "- parallel:")
		for _, c := range st {
			writeCall(w, 7, c)
		}
	}
	for _, c := range r.Callees {
		switch {
		case c.Written:
		case c.Topic != "":
			w.line(4, "# not written: publish to %s, %s", c.Topic, c.Why)
		default:
			w.line(4, "# not written: %s %s, %s", c.Service, c.Route, c.Why)
		}
	}
}

func rate(v float64) string { return strconv.FormatFloat(v, 'g', 4, 64) }

func writeLatency(w *writer, f Fit) {
	if f.P50 <= 0 {
		w.line(4, "# own latency (duration minus calls) under a microsecond in most of %d spans (p99 %s)", f.Samples, f.P99)
		w.line(4, "latency: 0s")
		return
	}
	w.line(4, "# own latency (duration minus the union of its calls) from %d spans: lognormal", f.Samples)
	w.line(4, "# through the observed p50 and p99, off by at most %.1f%% at p10, p25, p75, p90, p95", 100*f.Error)
	w.line(4, "latency: {p50: %s, p99: %s}", f.P50, max(f.P99, f.P50))
}

// writeCall writes one call item at indent (the dash's), once per time it
// is made in a request.
func writeCall(w *writer, indent int, c *Callee) {
	if c.Topic != "" {
		writePublish(w, indent, c)
		return
	}
	w.line(indent, "# in %.0f%% of requests, %.2f per request calling it", 100*c.Share, c.PerRequest)
	if c.Retries > 0 {
		w.line(indent, "# %.1f%% of calls retried, at most %d retry(s), %s apart on average", 100*c.RetriedShare, c.Retries, c.Backoff)
	}
	if c.Timeout > 0 {
		w.line(indent, "# timeout: %d attempts failed after %s (median) while the callee went on", c.TimedOut, c.Timeout)
	}
	for range c.Times {
		w.line(indent, "- %s: %s", c.Service, q(c.Route))
		if c.Timeout > 0 {
			w.line(indent+1, "timeout: %s", c.Timeout)
		}
		if c.Retries > 0 {
			w.line(indent+1, "retries: %d", c.Retries)
			w.line(indent+1, "backoff: %s", max(c.Backoff, time.Microsecond))
		}
	}
}

// scenarioYAML writes the scenario file: the topology by file name, and
// the entry routes' load.
func (b *Builder) scenarioYAML(m *Model) ([]byte, error) {
	var loadable []Entry
	var total int64
	for _, e := range m.Entries {
		if e.Loadable {
			loadable = append(loadable, e)
			total += e.Roots
		}
	}
	if len(loadable) == 0 {
		return nil, fmt.Errorf("write scenario: no http entry route (root server span) to drive load at")
	}
	window := max(m.Window, time.Second).Round(time.Second)
	var w writer
	w.line(0, "# Inferred by tracerig infer: the load of the recorded traces.")
	w.line(0, "name: %s", b.opts.Name)
	w.line(0, "topology: %s", q(b.opts.TopologyFile))
	w.line(0, "load:")
	w.line(1, "# %d root server spans over %s: %.4g requests/s; weights: root spans per route", total, window, float64(total)/window.Seconds())
	w.line(1, "# (the traces that reached the backend: what head sampling dropped does not show)")
	if len(loadable) == 1 {
		w.line(1, "- route: %s", q(loadable[0].Service+" "+loadable[0].Route))
	} else {
		w.line(1, "- routes:")
		for _, e := range loadable {
			w.line(3, "%s: %d", q(e.Service+" "+e.Route), e.Roots)
		}
	}
	w.line(2, "rate: %s", rateString(float64(total)/window.Seconds()))
	w.line(2, "duration: %s", window)
	for _, e := range m.Entries {
		if !e.Loadable {
			w.line(0, "# not loaded: %s %s, %d root spans: a grpc entry route (load drives http routes only)", e.Service, e.Route, e.Roots)
		}
	}
	return w.Bytes(), nil
}

// rateString writes a rate as requests per second, or per minute when
// that keeps it from rounding to a coarse or zero figure.
func rateString(perSec float64) string {
	if perSec >= 100 {
		return fmt.Sprintf("%d/s", int(math.Round(perSec)))
	}
	return fmt.Sprintf("%d/1m", max(1, int(math.Round(perSec*60))))
}
