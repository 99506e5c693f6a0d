package simulator

import "math/rand/v2"

// mix derives a 64-bit key from a parent key and an index with the
// SplitMix64 finaliser. Every decision in a run hangs off keys derived this
// way from the seed, so the same seed and topology reproduce the same hop IDs,
// trace IDs, latencies, errors and instance picks whatever the scheduling.
func mix(key, index uint64) uint64 {
	z := key + 0x9e3779b97f4a7c15*(index+1)
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	return z ^ (z >> 31)
}

// requestHop returns the hop ID of load request seq.
func requestHop(seed, seq uint64) uint64 { return mix(mix(seed, 0x10ad), seq) }

// callHop returns the hop ID of attempt of the call at index in the handler
// of hop parent.
func callHop(parent uint64, index, attempt int) uint64 {
	return mix(mix(parent, uint64(index)), uint64(attempt))
}

// hopRand returns the decision source of the handler serving hop.
func hopRand(seed, hop uint64) *rand.Rand {
	return rand.New(rand.NewPCG(seed, hop))
}
