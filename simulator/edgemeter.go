package simulator

import (
	"math"
	"sync"
	"time"

	"github.com/tracerig/tracerig/internal/record"
)

// EdgeMeter follows each edge of a running topology as the ledger records
// its hops: how many cross it, how many fail, how long they take (a call
// until its answer, a message until its consumer processed it), and
// whether the callee continued the trace the caller sent. It reads the
// send, receive, answer and delivery records of each hop as they are
// added, in this process or merged from instances elsewhere, and keeps a few seconds of
// per-second tallies per edge: what a live view shows, never what a check
// judges. Runtime.MeterEdges attaches one to a runtime's ledger.
type EdgeMeter struct {
	syms *symbols
	now  func() time.Time

	pending [meterShards]meterShard

	mu    sync.Mutex
	edges map[meterKey]*edgeTally
}

const (
	// meterShards spreads the hops in flight over locks.
	meterShards = 16
	// meterSeconds is how many one-second tallies an edge keeps.
	meterSeconds = 16
	// meterForget is how long a hop missing a record waits for it.
	meterForget = 30 * time.Second
	// latBuckets and latBase: latencies in quarter octaves from 50µs,
	// the last bucket holding everything past 52 s.
	latBuckets = 81
	latBase    = 50 * time.Microsecond
)

// meterKey is one edge: the caller and callee symbols, and whether the hop
// is a message through a broker.
type meterKey struct {
	from, to uint32
	async    bool
}

type meterShard struct {
	mu   sync.Mutex
	hops map[uint64]*meterHop
}

// meterHop is a hop whose records have not all been seen.
type meterHop struct {
	key          meterKey
	seen         time.Time // when its first record was
	sentAt, done int64     // done: answered at (calls), processed at (messages)
	sent, got    record.Context
	have         uint8
	external     bool
	failed       bool
}

// The records of a hop a meterHop has seen.
const (
	haveSend = 1 << iota
	haveRecv
	haveAnswer
	haveDeliv // a message's delivery to its consumer
)

// edgeTally is one edge's per-second tallies, a ring indexed by unix
// second.
type edgeTally struct {
	secs  [meterSeconds]secondTally
	hops  int64
	state EdgeState // the last state its hops showed
}

type secondTally struct {
	sec               int64
	hops, failed      int32
	continued, broken int32
	unchecked         int32
	lat               [latBuckets]uint32
}

// EdgeState is what an edge's hops show of the trace context.
type EdgeState string

// Edge states.
const (
	EdgeUnseen     EdgeState = "unseen"     // no hop crossed it yet
	EdgeContinuing EdgeState = "continuing" // the callee continued the caller's trace
	EdgeBreaking   EdgeState = "breaking"   // a callee did not
	EdgeUnchecked  EdgeState = "unchecked"  // hops crossed it, but the callee is not tracerig's to see
)

// EdgeStat is one edge as EdgeMeter.Read finds it.
type EdgeStat struct {
	From, To string
	Async    bool
	// Rate is hops per second, Errors the share of them that failed, P99
	// their latency's 99th percentile (the answer's for a call, the
	// delivery's for a message; 0: none), over the last whole seconds.
	Rate   float64
	Errors float64
	P99    time.Duration
	// State is what the hops of the last seconds showed; before any, what
	// the last hops showed; EdgeUnseen before the first.
	State EdgeState
	Hops  int64 // hops in all
}

// newEdgeMeter returns a meter that names edges by syms.
func newEdgeMeter(syms *symbols) *EdgeMeter {
	m := &EdgeMeter{syms: syms, now: time.Now, edges: make(map[meterKey]*edgeTally)}
	for i := range m.pending {
		m.pending[i].hops = make(map[uint64]*meterHop)
	}
	return m
}

// MeterEdges attaches an edge meter to the runtime's ledger and returns
// it; a second call returns the same one. It meters the hops whose records
// are added from then on: attached before the load, every hop of it.
func (rt *Runtime) MeterEdges() *EdgeMeter {
	if m := rt.ledger.meter.Load(); m != nil {
		return m
	}
	m := newEdgeMeter(&rt.ledger.syms)
	if !rt.ledger.meter.CompareAndSwap(nil, m) {
		return rt.ledger.meter.Load() // attached meanwhile
	}
	return m
}

// hop runs fn on the hop's entry, made when missing, and settles it once
// its records are in.
func (m *EdgeMeter) hop(id uint64, fn func(h *meterHop)) {
	s := &m.pending[id%meterShards]
	s.mu.Lock()
	h := s.hops[id]
	if h == nil {
		h = &meterHop{seen: m.now()}
		s.hops[id] = h
	}
	fn(h)
	whole := h.have&haveSend != 0 && h.have&haveAnswer != 0 &&
		(h.external || h.have&haveRecv != 0 && (!h.key.async || h.have&haveDeliv != 0))
	if whole {
		delete(s.hops, id)
	}
	s.mu.Unlock()
	if whole {
		m.settle(h)
	}
}

func (m *EdgeMeter) send(r *sendRec) {
	m.hop(r.hop, func(h *meterHop) {
		h.have |= haveSend
		h.key = meterKey{from: r.from, to: r.to, async: r.async}
		h.sentAt, h.sent, h.external = r.sentAt, r.sent, r.external
	})
}

func (m *EdgeMeter) recv(r *recvRec) {
	m.hop(r.hop, func(h *meterHop) {
		h.have |= haveRecv
		h.got = r.got
		h.failed = h.failed || r.calleeError
	})
}

// delivered records when a message's consumer processed it.
func (m *EdgeMeter) delivered(hop uint64, at int64) {
	m.hop(hop, func(h *meterHop) {
		h.have |= haveDeliv
		h.done = at
	})
}

func (m *EdgeMeter) answer(hop uint64, at int64) {
	m.hop(hop, func(h *meterHop) {
		h.have |= haveAnswer
		if h.have&haveDeliv == 0 {
			h.done = at // a message's processing, when it comes, wins
		}
	})
}

// failed marks that the caller of hop got an error, or gave up.
func (m *EdgeMeter) failed(hop uint64) {
	m.hop(hop, func(h *meterHop) { h.failed = true })
}

// settle tallies a hop whose records are all in.
func (m *EdgeMeter) settle(h *meterHop) {
	m.mu.Lock()
	defer m.mu.Unlock()
	e := m.edges[h.key]
	if e == nil {
		e = &edgeTally{state: EdgeUnseen}
		m.edges[h.key] = e
	}
	sec := h.sentAt / int64(time.Second)
	t := &e.secs[uint64(sec)%meterSeconds]
	if t.sec != sec {
		*t = secondTally{sec: sec}
	}
	e.hops++
	t.hops++
	if h.failed {
		t.failed++
	}
	switch {
	case h.external:
		t.unchecked++
	case h.got.IsValid() && h.got == h.sent:
		t.continued++
	default:
		t.broken++
	}
	if h.done >= h.sentAt {
		t.lat[latBucket(time.Duration(h.done-h.sentAt))]++
	}
}

// latBucket is the latency bucket of d.
func latBucket(d time.Duration) int {
	if d <= latBase {
		return 0
	}
	i := int(math.Ceil(4 * math.Log2(float64(d)/float64(latBase))))
	return min(i, latBuckets-1)
}

// latUpper is the upper bound of latency bucket i.
func latUpper(i int) time.Duration {
	return time.Duration(float64(latBase) * math.Exp2(float64(i)/4))
}

// Read returns every edge a hop crossed, with its rate, error share and
// p99 over the window whole seconds before now's, and its state over the
// last two seconds and the current one. Hops missing a record for long are
// forgotten.
func (m *EdgeMeter) Read(window time.Duration) []EdgeStat {
	now := m.now()
	m.forget(now)
	secs := max(1, min(int64(window/time.Second), meterSeconds-2))
	cur := now.Unix()
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make([]EdgeStat, 0, len(m.edges))
	for k, e := range m.edges {
		st := EdgeStat{From: m.syms.name(k.from), To: m.syms.name(k.to), Async: k.async, Hops: e.hops}
		var hops, failed int64
		var lat [latBuckets]uint32
		var cont, broken, unchecked int32
		for i := range e.secs {
			t := &e.secs[i]
			if t.sec >= cur-secs && t.sec < cur {
				hops += int64(t.hops)
				failed += int64(t.failed)
				for j, n := range t.lat {
					lat[j] += n
				}
			}
			if t.sec >= cur-2 && t.sec <= cur {
				cont, broken, unchecked = cont+t.continued, broken+t.broken, unchecked+t.unchecked
			}
		}
		switch {
		case broken > 0:
			e.state = EdgeBreaking
		case cont > 0:
			e.state = EdgeContinuing
		case unchecked > 0:
			e.state = EdgeUnchecked
		}
		st.State = e.state
		st.Rate = float64(hops) / float64(secs)
		if hops > 0 {
			st.Errors = float64(failed) / float64(hops)
		}
		st.P99 = percentile(&lat, 0.99)
		out = append(out, st)
	}
	return out
}

// percentile is the upper bound of the bucket that holds quantile q of
// lat; 0 when it is empty.
func percentile(lat *[latBuckets]uint32, q float64) time.Duration {
	var n uint64
	for _, c := range lat {
		n += uint64(c)
	}
	if n == 0 {
		return 0
	}
	rank := uint64(math.Ceil(q * float64(n)))
	var seen uint64
	for i, c := range lat {
		if seen += uint64(c); seen >= rank {
			return latUpper(i)
		}
	}
	return latUpper(latBuckets - 1)
}

// forget drops hops that have waited for a record longer than
// meterForget: a caller that never finished, a message redelivered.
func (m *EdgeMeter) forget(now time.Time) {
	for i := range m.pending {
		s := &m.pending[i]
		s.mu.Lock()
		for id, h := range s.hops {
			if now.Sub(h.seen) > meterForget {
				delete(s.hops, id)
			}
		}
		s.mu.Unlock()
	}
}

// inFlight counts the hops waiting for a record, for tests.
func (m *EdgeMeter) inFlight() int {
	n := 0
	for i := range m.pending {
		s := &m.pending[i]
		s.mu.Lock()
		n += len(s.hops)
		s.mu.Unlock()
	}
	return n
}
