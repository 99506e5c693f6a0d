package simulator

import (
	"slices"
	"testing"
)

func TestChunks(t *testing.T) {
	for _, n := range []int{0, 1, chunkLen - 1, chunkLen, chunkLen + 1, 3*chunkLen + 7} {
		var c chunks[int]
		for i := range n {
			c.add(i)
		}
		if c.len() != n {
			t.Errorf("n=%d: len %d", n, c.len())
		}
		got := slices.Collect(c.all())
		if len(got) != n {
			t.Fatalf("n=%d: yielded %d", n, len(got))
		}
		for i, v := range got {
			if v != i {
				t.Fatalf("n=%d: record %d is %d", n, i, v)
			}
		}
		// Full chunks are never reallocated: each holds exactly chunkLen.
		for i, ch := range c.full {
			if len(ch) != chunkLen || cap(ch) != chunkLen {
				t.Errorf("n=%d: chunk %d len %d cap %d", n, i, len(ch), cap(ch))
			}
		}
	}
}

// Appending a record allocates nothing but a new chunk every chunkLen
// records: memory grows by the records themselves, without copies.
func TestChunksAllocateOnlyChunks(t *testing.T) {
	var c chunks[endRec]
	c.add(endRec{}) // the first chunk
	allocs := testing.AllocsPerRun(chunkLen-1, func() { c.add(endRec{}) })
	if allocs != 0 {
		t.Errorf("%v allocations per append within a chunk", allocs)
	}
}
