package infer

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"testing"
	"time"

	"github.com/tracerig/tracerig/internal/record"
)

// wideSystem writes requests through 1 + mids + mids×leaves services: a
// gateway calling every mid in parallel, each mid calling its own leaves
// one after another.
type wideSystem struct {
	mids, leaves int
	n            uint64
	spans        []record.Span
}

func (w *wideSystem) id() record.SpanID {
	w.n++
	var id record.SpanID
	binary.BigEndian.PutUint64(id[:], w.n)
	return id
}

func (w *wideSystem) span(tr record.TraceID, parent record.SpanID, svc, name string, kind record.Kind, start, end int64) record.SpanID {
	id := w.id()
	w.spans = append(w.spans, record.Span{Trace: tr, ID: id, Parent: parent, Start: start, End: end,
		Service: svc, Instance: svc + "-0", Name: name, Kind: kind})
	return id
}

// request writes one trace starting at start.
func (w *wideSystem) request(k int, start int64) {
	var tr record.TraceID
	binary.BigEndian.PutUint64(tr[:], uint64(k+1))
	us := int64(time.Microsecond)
	end := start + int64(w.leaves)*20*us + 100*us
	root := w.span(tr, record.SpanID{}, "gateway", "GET /", record.KindServer, start, end)
	for m := range w.mids {
		mid := fmt.Sprintf("mid-%d", m)
		t := start + 10*us
		c := w.span(tr, root, "gateway", "GET", record.KindClient, t, end-10*us)
		s := w.span(tr, c, mid, "GET /m", record.KindServer, t+us, end-11*us)
		for l := range w.leaves {
			at := t + 5*us + int64(l)*20*us
			lc := w.span(tr, s, mid, "GET", record.KindClient, at, at+15*us)
			w.span(tr, lc, fmt.Sprintf("leaf-%d-%d", m, l), "GET /l", record.KindServer, at+us, at+14*us)
		}
	}
}

// TestThousandsOfServices: a source with 3,101 services and a route
// calling 100 of them yields a topology that validates, the fan-out limit
// respected and said where it was hit.
func TestThousandsOfServices(t *testing.T) {
	w := &wideSystem{mids: 100, leaves: 30}
	start := time.Now().UnixNano()
	for k := range 4 {
		w.request(k, start+int64(k)*int64(time.Second))
	}
	b := NewBuilder(Options{})
	for i := range w.spans {
		b.Add(&w.spans[i])
	}
	res, err := b.Result()
	if err != nil {
		t.Fatalf("result: %v", err)
	}
	if got, want := len(res.Model.Services), 1+w.mids+w.mids*w.leaves; got != want {
		t.Errorf("%d services, want %d", got, want)
	}
	var gateway *Route
	for _, s := range res.Model.Services {
		if s.Name == "gateway" {
			gateway = s.Routes[0]
		}
	}
	written := 0
	for _, c := range gateway.Callees {
		if c.Written {
			written++
		}
	}
	if written != 64 || len(gateway.Callees) != w.mids {
		t.Errorf("gateway writes %d of %d callees, want 64 of %d", written, len(gateway.Callees), w.mids)
	}
	if n := bytes.Count(res.Topology, []byte("over the fan-out limit of 64")); n != w.mids-64 {
		t.Errorf("%d notes of the fan-out limit in the topology, want %d", n, w.mids-64)
	}
}
