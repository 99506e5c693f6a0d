package assert

import (
	"encoding/binary"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/tracerig/tracerig/internal/record"
)

// The OpenTelemetry consistent probability sampling fields of tracestate's
// "ot" member: th, the rejection threshold (up to 14 hex digits, right-padded
// with zeros to 56 bits), and rv, the trace's explicit randomness (exactly
// 14 hex digits). A span is sampled iff its randomness is at least th.
const randomnessBits = 56

// otValue returns the value of the "ot" member of a W3C tracestate.
func otValue(tracestate string) (string, bool) {
	for member := range strings.SplitSeq(tracestate, ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(member), "=")
		if ok && k == "ot" {
			return v, true
		}
	}
	return "", false
}

// otField returns the value of key in an ot value "k:v;k:v".
func otField(ot, key string) (string, bool) {
	for kv := range strings.SplitSeq(ot, ";") {
		if k, v, ok := strings.Cut(kv, ":"); ok && k == key {
			return v, true
		}
	}
	return "", false
}

// parseThreshold decodes th: 1 to 14 hex digits, right-padded to 56 bits.
func parseThreshold(th string) (uint64, bool) {
	if len(th) == 0 || len(th) > randomnessBits/4 {
		return 0, false
	}
	v, err := strconv.ParseUint(th, 16, 64)
	if err != nil {
		return 0, false
	}
	return v << (4 * (randomnessBits/4 - len(th))), true
}

// parseRandomness decodes rv: exactly 14 hex digits.
func parseRandomness(rv string) (uint64, bool) {
	if len(rv) != randomnessBits/4 {
		return 0, false
	}
	v, err := strconv.ParseUint(rv, 16, 64)
	return v, err == nil
}

// traceRandomness is the trace ID's lowest 56 bits.
func traceRandomness(id record.TraceID) uint64 {
	return binary.BigEndian.Uint64(id[8:]) & (1<<randomnessBits - 1)
}

// spanThreshold is what a span's tracestate says about consistent
// probability sampling.
type spanThreshold struct {
	th, rv  uint64
	hasTh   bool
	thText  string
	badText string // a malformed th or rv, as written
}

func readThreshold(sp *record.Span) spanThreshold {
	var st spanThreshold
	ot, ok := otValue(sp.TraceState)
	if !ok {
		st.rv = traceRandomness(sp.Trace)
		return st
	}
	if th, ok := otField(ot, "th"); ok {
		if v, ok := parseThreshold(th); ok {
			st.th, st.hasTh, st.thText = v, true, th
		} else {
			st.badText = "th:" + th
		}
	}
	st.rv = traceRandomness(sp.Trace)
	if rv, ok := otField(ot, "rv"); ok {
		if v, ok := parseRandomness(rv); ok {
			st.rv = v
		} else {
			st.badText = "rv:" + rv
		}
	}
	return st
}

// probability messages; the first three fail the check.
const (
	msgBelowThreshold = "sampled below its threshold (randomness < th)"
	msgMissingTh      = "no threshold (ot=th) in a trace whose root has one"
	msgMalformedOT    = "malformed ot tracestate"
	msgThRaised       = "threshold raised below the root (a descendant lowered the probability)"
	msgThLowered      = "threshold lowered below the root (a descendant raised the probability)"
)

// probTally is the consistent probability part of the sampling check,
// judged group by group over the backend's spans: every span with a
// threshold has randomness at least the threshold, and every span of a
// trace whose root carries a threshold carries one too. Threshold changes
// along a trace are reported without failing: a descendant may sample at a
// lower probability. A trace's spans are in one group, so its root is
// found there; what it keeps across groups are counters and the
// thresholds seen, as many as the run's samplers write.
type probTally struct {
	thresholds map[string]int // spans per threshold, as written
	checked    int            // spans with a threshold
	failing    int            // findings that fail the check
	changes    int            // spans whose threshold is not their root's
	rootless   int            // traces without a root span
	spans      int            // distinct spans in the backend
}

// add checks the backend spans of one group, trace by trace.
func (c *probTally) add(idx *spanIndex, found *findings) {
	for t := range int32(idx.numTraces()) {
		lo, hi := idx.segment(t)
		root := rootThreshold(idx, lo, hi)
		if root == nil {
			c.rootless++
		}
		for e := lo; e < hi; e++ {
			c.span(idx.span(e), root, found)
		}
	}
	c.spans += len(idx.ents)
}

// rootThreshold returns what the root span among the index entries lo to
// hi says of probability sampling; nil without a root.
func rootThreshold(idx *spanIndex, lo, hi int32) *spanThreshold {
	for e := lo; e < hi; e++ {
		if sp := idx.span(e); !sp.Parent.IsValid() {
			st := readThreshold(sp)
			return &st
		}
	}
	return nil
}

// span checks the threshold of sp against its randomness and against
// root's threshold (root is nil without a root).
func (c *probTally) span(sp *record.Span, root *spanThreshold, found *findings) {
	st := readThreshold(sp)
	example := func() string {
		return fmt.Sprintf("trace %s span %s (%s %s) tracestate %q", sp.Trace, sp.ID, sp.Service, sp.Name, sp.TraceState)
	}
	if st.badText != "" {
		found.add(sp.Service, msgMalformedOT+": "+st.badText, attrNone, example)
		c.failing++
		return
	}
	if !st.hasTh {
		if root != nil && root.hasTh {
			found.add(sp.Service, msgMissingTh, attrNone, example)
			c.failing++
		}
		return
	}
	c.checked++
	c.thresholds[st.thText]++
	if st.rv < st.th {
		found.add(sp.Service, msgBelowThreshold, attrNone, func() string {
			return fmt.Sprintf("%s: rv %014x < th %014x", example(), st.rv, st.th)
		})
		c.failing++
	}
	if root != nil && root.hasTh && st.th != root.th {
		c.changes++
		msg := msgThRaised
		if st.th < root.th {
			msg = msgThLowered
		}
		found.add(sp.Service, msg, attrNone, func() string {
			return fmt.Sprintf("%s: th %s, root th %s", example(), st.thText, root.thText)
		})
	}
}

// describe fills stats and the part's outcome; without read-back (why
// says why) the part does not run.
func (c *probTally) describe(readBack bool, why string, stats map[string]float64) samplingPart {
	part := samplingPart{measured: "the ot=th thresholds and randomness in the backend's spans, trace by trace"}
	if !readBack {
		part.status = StatusNotRun
		part.observed = "consistent probability needs the backend's spans: " + why
		return part
	}
	stats["spans_checked"] = float64(c.checked)
	stats["thresholds_seen"] = float64(len(c.thresholds))
	stats["threshold_changes"] = float64(c.changes)
	stats["probability_violations"] = float64(c.failing)
	seen := make([]string, 0, len(c.thresholds))
	for th, n := range c.thresholds {
		seen = append(seen, fmt.Sprintf("th:%s ×%d", th, n))
	}
	slices.Sort(seen)
	switch {
	case c.checked == 0 && c.failing == 0:
		part.status = StatusFail
		part.observed = fmt.Sprintf("no span of the %d in the backend carries an ot=th threshold: consistent probability sampling is not in effect", c.spans)
		return part
	case c.failing > 0:
		part.status = StatusFail
	default:
		part.status = StatusPass
	}
	part.observed = fmt.Sprintf("%d spans with a threshold (%s), %d violations, %d threshold changes along traces",
		c.checked, strings.Join(seen, ", "), c.failing, c.changes)
	if c.rootless > 0 {
		part.observed += fmt.Sprintf("; %d %s without a root span in the backend (thresholds not compared)", c.rootless, plural(c.rootless, "trace", "traces"))
	}
	return part
}
