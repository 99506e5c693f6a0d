package synthetic

import "fmt"

// Shard is one of Count generators that share a run: shard Index sends the
// traces of sequence numbers Index, Index+Count, Index+2*Count, ..., a
// slice of the seed's sequence space no other shard touches, at its share
// of the run's rate. The zero Shard is the whole run (one shard).
type Shard struct {
	Index int // 0 <= Index < Count
	Count int // 0 or 1: not sharded
}

// shards returns the number of shards, at least 1.
func (s Shard) shards() uint64 { return uint64(max(s.Count, 1)) }

// Seq returns the sequence number of the k-th trace the shard sends: what
// Generator.Expect and TraceID take.
func (s Shard) Seq(k uint64) uint64 { return k*s.shards() + uint64(s.Index) }

// Owns reports whether seq is in the shard's slice, and which of its
// traces it is.
func (s Shard) Owns(seq uint64) (k uint64, ok bool) {
	n := s.shards()
	return seq / n, seq%n == uint64(s.Index)
}

// Rate returns the shard's share of a run's rate (spans/s; 0 stays flat
// out).
func (s Shard) Rate(total float64) float64 { return total / float64(s.shards()) }

// Validate says what is wrong with the shard, if anything.
func (s Shard) Validate() error {
	if s.Count < 0 || s.Index < 0 || (s.Index > 0 && s.Index >= s.Count) {
		return fmt.Errorf("shard %d of %d: want 0 <= index < count", s.Index, s.Count)
	}
	return nil
}

// String names the shard as "shard 1 of 4".
func (s Shard) String() string { return fmt.Sprintf("shard %d of %d", s.Index, s.shards()) }
