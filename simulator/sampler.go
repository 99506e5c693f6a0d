package simulator

import (
	"encoding/binary"
	"fmt"
	"math"
	"strconv"
	"strings"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
)

// maxThreshold is 2^56: randomness and thresholds are 56-bit numbers.
const maxThreshold = uint64(1) << 56

// consistentSampler is OpenTelemetry's consistent probability sampler
// (tracestate "ot" entry, th and rv): a root samples its trace iff the
// trace's randomness is at least the rejection threshold of the ratio, and
// records the threshold as ot=th:T; descendants follow their parent and
// carry its tracestate on.
type consistentSampler struct {
	ratio     float64
	threshold uint64 // (1 - ratio) * 2^56
}

func newConsistentSampler(ratio float64) consistentSampler {
	// ratio·2^56 is exact in floating point (a power-of-two scale), so the
	// threshold is exact too.
	keep := math.Round(max(0, min(ratio, 1)) * float64(maxThreshold))
	return consistentSampler{ratio: ratio, threshold: maxThreshold - uint64(keep)}
}

func (s consistentSampler) ShouldSample(p sdktrace.SamplingParameters) sdktrace.SamplingResult {
	parent := trace.SpanContextFromContext(p.ParentContext)
	if parent.IsValid() {
		d := sdktrace.Drop
		if parent.IsSampled() {
			d = sdktrace.RecordAndSample
		}
		return sdktrace.SamplingResult{Decision: d, Tracestate: parent.TraceState()}
	}
	ts := parent.TraceState()
	if s.threshold >= maxThreshold || randomness(ts, p.TraceID) < s.threshold {
		return sdktrace.SamplingResult{Decision: sdktrace.Drop, Tracestate: ts}
	}
	ot := setOT(ts.Get("ot"), "th", encodeThreshold(s.threshold))
	if next, err := ts.Insert("ot", ot); err == nil {
		ts = next
	}
	return sdktrace.SamplingResult{Decision: sdktrace.RecordAndSample, Tracestate: ts}
}

func (s consistentSampler) Description() string {
	return fmt.Sprintf("ConsistentProbability{%g}", s.ratio)
}

// randomness is the trace's 56-bit randomness: ot's rv when present, else
// the trace ID's lowest 56 bits.
func randomness(ts trace.TraceState, id trace.TraceID) uint64 {
	if rv, ok := otField(ts.Get("ot"), "rv"); ok && len(rv) == 14 {
		if v, err := strconv.ParseUint(rv, 16, 64); err == nil {
			return v
		}
	}
	return binary.BigEndian.Uint64(id[8:]) & (maxThreshold - 1)
}

// encodeThreshold writes a threshold as up to 14 hex digits without
// trailing zeros ("0" samples everything).
func encodeThreshold(t uint64) string {
	s := strings.TrimRight(fmt.Sprintf("%014x", t), "0")
	if s == "" {
		return "0"
	}
	return s
}

// otField returns the value of key in an ot tracestate value "k:v;k:v".
func otField(ot, key string) (string, bool) {
	for _, kv := range strings.Split(ot, ";") {
		if k, v, ok := strings.Cut(kv, ":"); ok && k == key {
			return v, true
		}
	}
	return "", false
}

// setOT sets key to value in an ot tracestate value, keeping other fields.
func setOT(ot, key, value string) string {
	var out []string
	for _, kv := range strings.Split(ot, ";") {
		if k, _, _ := strings.Cut(kv, ":"); kv != "" && k != key {
			out = append(out, kv)
		}
	}
	return strings.Join(append([]string{key + ":" + value}, out...), ";")
}
