package simulator

import (
	"context"
	"encoding/binary"
	"hash/fnv"
	"sync/atomic"

	"go.opentelemetry.io/otel/trace"
)

type hopKey struct{}

// withHop returns ctx carrying the harness hop ID being served, so trace IDs
// started under it are derived from it.
func withHop(ctx context.Context, hop uint64) context.Context {
	return context.WithValue(ctx, hopKey{}, hop)
}

func hopFrom(ctx context.Context) (uint64, bool) {
	h, ok := ctx.Value(hopKey{}).(uint64)
	return h, ok
}

// idGenerator derives trace IDs from the seed and the hop being served, so a
// seeded run starts the same traces (and so makes the same trace-ID-ratio
// sampling decisions) every time. Span IDs come from a counter per instance,
// mixed, which keeps them unique without a lock.
type idGenerator struct {
	seed uint64
	salt uint64
	next atomic.Uint64
}

// instanceSalt is the salt of the span IDs of instance id ("svc-0"): a
// hash of its name, the same in every process, so that instances run in
// processes of their own (containers, pods) never share a sequence, as
// they would with salts from each process's own symbol numbers.
func instanceSalt(id string) uint64 {
	h := fnv.New64a()
	h.Write([]byte(id))
	return h.Sum64()
}

func newIDGenerator(seed, salt uint64) *idGenerator {
	return &idGenerator{seed: seed, salt: mix(seed, salt)}
}

// NewIDs implements sdktrace.IDGenerator.
func (g *idGenerator) NewIDs(ctx context.Context) (trace.TraceID, trace.SpanID) {
	var tid trace.TraceID
	key := g.salt ^ g.next.Add(1)<<1
	if hop, ok := hopFrom(ctx); ok {
		key = mix(g.seed, hop)
	}
	binary.BigEndian.PutUint64(tid[:8], mix(key, 1))
	binary.BigEndian.PutUint64(tid[8:], mix(key, 2))
	return tid, g.NewSpanID(ctx, tid)
}

// NewSpanID implements sdktrace.IDGenerator.
func (g *idGenerator) NewSpanID(context.Context, trace.TraceID) trace.SpanID {
	var sid trace.SpanID
	for {
		binary.BigEndian.PutUint64(sid[:], mix(g.salt, g.next.Add(1)))
		if sid.IsValid() {
			return sid
		}
	}
}
