package simulator

import (
	"fmt"
	"net"
	"os"
	"strings"
	"syscall"

	"google.golang.org/grpc/metadata"

	"github.com/tracerig/tracerig/topology"
)

// errRefused is what a call across a refusing partition fails with.
var errRefused = &net.OpError{Op: "dial", Net: "tcp", Err: os.NewSyscallError("connect", syscall.ECONNREFUSED)}

// headers is the view of HTTP headers or gRPC metadata the header faults
// rewrite.
type headers interface {
	Get(key string) string
	Set(key, value string)
	Add(key, value string)
	Del(key string)
}

// mdHeaders adapts gRPC metadata to headers.
type mdHeaders metadata.MD

func (m mdHeaders) Get(k string) string {
	if v := metadata.MD(m).Get(k); len(v) > 0 {
		return v[0]
	}
	return ""
}
func (m mdHeaders) Set(k, v string) { metadata.MD(m).Set(k, v) }
func (m mdHeaders) Add(k, v string) { metadata.MD(m).Append(k, v) }
func (m mdHeaders) Del(k string)    { metadata.MD(m).Delete(k) }

// stripNames maps the names a strip-headers fault takes to the headers they
// remove.
var stripNames = map[string][]string{
	"traceparent":   {"Traceparent"},
	"tracestate":    {"Tracestate"},
	"baggage":       {"Baggage"},
	"b3":            {"B3"},
	"x-b3-traceid":  {"X-B3-Traceid", "X-B3-Spanid", "X-B3-Sampled", "X-B3-Parentspanid", "X-B3-Flags"},
	"uber-trace-id": {"Uber-Trace-Id"},
}

// applyHeaderFault rewrites h as the header fault f does in transit. hop
// seeds whatever the fault makes up, so a seed reproduces it.
func applyHeaderFault(h headers, f topology.Fault, hop uint64) {
	hf := f.Headers
	switch f.Kind {
	case topology.FaultStripHeaders:
		names := hf.Strip
		if len(names) == 0 {
			for _, th := range traceHeaders {
				h.Del(th.name)
			}
			return
		}
		for _, n := range names {
			for _, name := range stripNames[strings.ToLower(n)] {
				h.Del(name)
			}
		}
	case topology.FaultCorruptTraceparent:
		if tp := h.Get("Traceparent"); tp != "" {
			h.Set("Traceparent", corrupt(tp, hf.Corrupt))
		}
	case topology.FaultDuplicateHeader:
		name := hf.Duplicate
		if name == "" {
			name = "traceparent"
		}
		if v := h.Get(name); v != "" {
			h.Add(name, duplicateOf(name, v, hop))
		}
	case topology.FaultTracestateOverflow:
		h.Set("Tracestate", overflowList(h.Get("Tracestate"), max(hf.Members, 1), hf.Bytes, "t%d=v%d"))
	case topology.FaultBaggageOverflow:
		h.Set("Baggage", overflowList(h.Get("Baggage"), max(hf.Entries, 1), hf.Bytes, "k%d=v%d"))
	}
}

// corrupt rewrites a traceparent "00-<trace>-<parent>-<flags>" the given way.
func corrupt(tp string, how topology.Corruption) string {
	parts := strings.Split(tp, "-")
	if len(parts) != 4 {
		return tp[:len(tp)/2]
	}
	switch how {
	case topology.CorruptVersion:
		parts[0] = "ff"
	case topology.CorruptZeroTraceID:
		parts[1] = strings.Repeat("0", 32)
	case topology.CorruptZeroParentID:
		parts[2] = strings.Repeat("0", 16)
	case topology.CorruptFlags:
		parts[3] = "zz"
	case topology.CorruptLength:
		parts[1] = parts[1][:len(parts[1])-1]
	case topology.CorruptUpperCase:
		parts[1], parts[2] = strings.ToUpper(parts[1]), strings.ToUpper(parts[2])
	}
	return strings.Join(parts, "-")
}

// duplicateOf makes the second, different value of a duplicated header: for
// traceparent a valid one naming another trace.
func duplicateOf(name, v string, hop uint64) string {
	if strings.EqualFold(name, "traceparent") {
		return fmt.Sprintf("00-%016x%016x-%016x-01", mix(hop, 0xd1), mix(hop, 0xd2), mix(hop, 0xd3)|1)
	}
	return v + "-dup"
}

// overflowList extends a comma-separated list (tracestate, baggage) to at
// least members entries and bytes bytes.
func overflowList(cur string, members, bytes int, format string) string {
	var b strings.Builder
	b.WriteString(cur)
	n := 0
	if cur != "" {
		n = strings.Count(cur, ",") + 1
	}
	for i := 0; n < members || b.Len() < bytes; i++ {
		if b.Len() > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, format, i, i)
		n++
	}
	return b.String()
}
