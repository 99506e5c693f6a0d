package scenarios

import (
	"testing"
	"time"

	"github.com/tracerig/tracerig/simulator/synthetic"
)

// shardRun is a shard's result: started off after t0, one sample per
// second with built and delivered spans as given, a last short one.
func shardRun(index int, t0 time.Time, off time.Duration, delivered ...int64) *ShardResult {
	r := &ShardResult{Index: index, Started: t0.Add(off), Cores: 2, CPU: time.Second, PeakRSS: int64(10 + index)}
	st := &r.Stats
	for i, d := range delivered {
		iv := time.Second
		if i == len(delivered)-1 {
			iv = 100 * time.Millisecond
		}
		at := time.Duration(i)*time.Second + iv
		st.Samples = append(st.Samples, synthetic.Sample{At: at, Interval: iv, Built: d, Delivered: d, Requests: 1,
			ExportLatency: time.Duration(index+1) * time.Millisecond, Busy: 1, QueueFull: float64(index)})
		st.Sent += d
		st.Delivered += d
		st.Requests++
		st.Traces += uint64(d / 10)
		st.Elapsed = at
	}
	st.Workers, st.QueueCap, st.Busy, st.ExportLatency = 4, 4, 1, time.Duration(index+1)*time.Millisecond
	return r
}

// TestMergeShards merges shards' figures: totals are the exact sums,
// samples fall into the second from the barrier they end in (a shard that
// started late included), and a dead shard counts nothing but is listed
// with its reason.
func TestMergeShards(t *testing.T) {
	t0 := time.Date(2026, 12, 3, 10, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		name      string
		outs      []shardOutcome
		sent      int64
		delivered []int64 // per merged second
		elapsed   time.Duration
		errs      []string
	}{
		{"one shard", []shardOutcome{{Index: 0, Pod: "blast-0-a", Result: shardRun(0, t0, 3*time.Millisecond, 100, 100, 10)}},
			210, []int64{100, 110}, 2100*time.Millisecond + 3*time.Millisecond, []string{""}},
		{"two aligned", []shardOutcome{
			{Index: 0, Pod: "blast-0-a", Result: shardRun(0, t0, 2*time.Millisecond, 100, 100, 5)},
			{Index: 1, Pod: "blast-1-b", Result: shardRun(1, t0, 40*time.Millisecond, 200, 200, 7)}},
			612, []int64{300, 312}, 2140 * time.Millisecond, []string{"", ""}},
		{"one late by a second", []shardOutcome{
			{Index: 0, Pod: "blast-0-a", Result: shardRun(0, t0, 0, 100, 100, 100, 1)},
			{Index: 1, Pod: "blast-1-b", Result: shardRun(1, t0, time.Second, 50, 2)}},
			353, []int64{100, 152, 101}, 3100 * time.Millisecond, []string{"", ""}},
		{"a dead shard", []shardOutcome{
			{Index: 0, Pod: "blast-0-a", Result: shardRun(0, t0, 0, 100, 1)},
			{Index: 1, Pod: "blast-1-b", Err: "Error (exit code 2)"}},
			101, []int64{101}, 1100 * time.Millisecond, []string{"", "Error (exit code 2)"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m, shards, cores := mergeShards(t0, tc.outs)
			st := m.Stats
			var sum, sumDelivered int64
			var traces uint64
			for i, s := range shards {
				if s.Name != tc.outs[i].Pod || s.Index != tc.outs[i].Index || s.Error != tc.errs[i] {
					t.Errorf("shard %d: %+v", i, s)
				}
				sum += s.Sent
				sumDelivered += s.Delivered
				traces += s.Traces
			}
			if st.Sent != tc.sent || sum != st.Sent || sumDelivered != st.Delivered || traces != st.Traces || st.Undelivered() != 0 {
				t.Errorf("totals %+v; shards' sums: sent %d, delivered %d, traces %d; want sent %d", st, sum, sumDelivered, traces, tc.sent)
			}
			if st.Elapsed != tc.elapsed || !m.Started.Equal(t0) {
				t.Errorf("elapsed %v from %v, want %v from %v", st.Elapsed, m.Started, tc.elapsed, t0)
			}
			var got []int64
			var inSeries int64
			prev := time.Duration(0)
			for _, s := range st.Samples {
				got = append(got, s.Delivered)
				inSeries += s.Built
				if s.Interval != s.At-prev || s.At <= prev {
					t.Errorf("sample %+v after %v", s, prev)
				}
				prev = s.At
			}
			if len(got) != len(tc.delivered) || inSeries != st.Sent {
				t.Fatalf("delivered per second %v, want %v (series built %d, sent %d)", got, tc.delivered, inSeries, st.Sent)
			}
			for i := range got {
				if got[i] != tc.delivered[i] {
					t.Errorf("delivered per second %v, want %v", got, tc.delivered)
				}
			}
			living := 0
			for _, o := range tc.outs {
				if o.Result != nil {
					living++
				}
			}
			if cores != 2*living || st.Workers != 4*living || m.CPU != time.Duration(living)*time.Second {
				t.Errorf("cores %d, workers %d, cpu %v for %d living shards", cores, st.Workers, m.CPU, living)
			}
		})
	}
}

// TestMergeLatencyWeighted checks that the merged export latency weighs
// each shard's by its requests.
func TestMergeLatencyWeighted(t *testing.T) {
	t0 := time.Now()
	a, b := shardRun(0, t0, 0, 10, 10, 1), shardRun(1, t0, 0, 10, 1) // 3 requests of 1ms, 2 of 2ms
	m, _, _ := mergeShards(t0, []shardOutcome{{Result: a}, {Index: 1, Result: b}})
	if want := (3*time.Millisecond + 2*2*time.Millisecond) / 5; m.Stats.ExportLatency != want {
		t.Errorf("export latency %v, want %v", m.Stats.ExportLatency, want)
	}
	// The first second: a's first sample (1 request, 1ms), both of b's (its
	// short last one joins it: 2 requests, 2ms).
	if s := m.Stats.Samples[0]; s.ExportLatency != 5*time.Millisecond/3 || s.Busy != 3 || s.Requests != 3 {
		t.Errorf("first second %+v", s)
	}
}
