package simulator

import "iter"

// chunkLen is how many records one chunk of a ledger log holds.
const chunkLen = 1024

// chunks is an append-only log of records kept in fixed-size chunks:
// appending never copies what is already there, so a long run's ledger
// grows one chunk at a time, without the doubling and copying of a slice
// (and the moment it holds both copies). The zero value is empty.
type chunks[T any] struct {
	full [][]T // full chunks, in order
	cur  []T   // the chunk being filled
}

func (c *chunks[T]) add(v T) {
	if len(c.cur) == cap(c.cur) {
		if c.cur != nil {
			c.full = append(c.full, c.cur)
		}
		c.cur = make([]T, 0, chunkLen)
	}
	c.cur = append(c.cur, v)
}

func (c *chunks[T]) addAll(vs []T) {
	for _, v := range vs {
		c.add(v)
	}
}

func (c *chunks[T]) len() int { return len(c.full)*chunkLen + len(c.cur) }

// all yields the records in the order they were added.
func (c *chunks[T]) all() iter.Seq[T] {
	return func(yield func(T) bool) {
		for _, ch := range c.full {
			for _, v := range ch {
				if !yield(v) {
					return
				}
			}
		}
		for _, v := range c.cur {
			if !yield(v) {
				return
			}
		}
	}
}
