package scenarios

// This file merges the figures of a sharded blast's shards into one run's:
// totals that are the exact sums, and one series per second from the
// barrier on.

import (
	"fmt"
	"time"

	"github.com/tracerig/tracerig/report"
	"github.com/tracerig/tracerig/simulator/synthetic"
)

// shardOutcome is what the host learned of one shard: its result, or why
// it has none.
type shardOutcome struct {
	Index  int
	Pod    string
	Result *ShardResult // nil when the shard died or never answered
	Err    string       // why Result is nil: its pod's end, the failed request
}

// mergeSlack is how far past a whole second from the barrier a sample may
// end and still count in that second: the shards start a few milliseconds
// after the barrier, and a run's last, short sample joins the second
// before it.
const mergeSlack = 250 * time.Millisecond

// mergeShards merges the shards of a run whose barrier was t0 into one
// measurement, with the shards as the report lists them and the cores
// they ran on. A shard without a result counts nothing: what it sent is
// unknown, and none of it as delivered.
func mergeShards(t0 time.Time, outs []shardOutcome) (synthetic.Measurement, []report.BlastShard, int) {
	m := synthetic.Measurement{Started: t0}
	st := &m.Stats
	shards := make([]report.BlastShard, len(outs))
	var end time.Time
	var latencyWeight, living, cores int64
	for i, o := range outs {
		shards[i] = report.BlastShard{Name: o.Pod, Index: o.Index, Error: o.Err}
		r := o.Result
		if r == nil {
			continue
		}
		s := r.Stats
		shards[i].Traces, shards[i].Linked = s.Traces, s.Linked
		shards[i].Sent, shards[i].Delivered, shards[i].Failed, shards[i].Rejected = s.Sent, s.Delivered, s.Failed, s.Rejected
		st.Traces += s.Traces
		st.Linked += s.Linked
		st.Sent += s.Sent
		st.Delivered += s.Delivered
		st.Failed += s.Failed
		st.Rejected += s.Rejected
		st.Requests += s.Requests
		st.FailedReq += s.FailedReq
		st.Retries += s.Retries
		if st.FirstErr == "" && s.FirstErr != "" {
			st.FirstErr = fmt.Sprintf("shard %d: %s", o.Index, s.FirstErr)
		}
		if e := r.Started.Add(s.Elapsed); e.After(end) {
			end = e
		}
		st.Workers += s.Workers
		st.QueueCap += s.QueueCap
		st.Queued += s.Queued
		st.Busy += s.Busy
		st.QueueFull += s.QueueFull
		st.ExportLatency += s.ExportLatency * time.Duration(s.Requests)
		latencyWeight += s.Requests
		m.CPU += r.CPU
		m.PeakRSS = max(m.PeakRSS, r.PeakRSS)
		cores += int64(r.Cores)
		living++
	}
	if living > 0 {
		st.QueueFull /= float64(living)
		st.Elapsed = max(end.Sub(t0), 0)
	}
	if latencyWeight > 0 {
		st.ExportLatency /= time.Duration(latencyWeight)
	}
	st.Samples = mergeSamples(t0, outs)
	return m, shards, int(cores)
}

// mergedSecond accumulates the samples of one second of the merged run.
type mergedSecond struct {
	s       synthetic.Sample
	end     time.Duration // the latest end of its samples, from t0
	n       int           // samples merged
	latency time.Duration // export latency weighted by requests
}

// mergeSamples merges the shards' samples per second from t0: the counts
// add up, so do the queue and busy workers (each shard has its own),
// QueueFull is the mean of the shards', and the export latency the mean
// weighted by requests.
func mergeSamples(t0 time.Time, outs []shardOutcome) []synthetic.Sample {
	var secs []mergedSecond
	for _, o := range outs {
		if o.Result == nil {
			continue
		}
		for _, s := range o.Result.Stats.Samples {
			end := o.Result.Started.Add(s.At).Sub(t0)
			i := max(int((end-mergeSlack+time.Second-1)/time.Second)-1, 0)
			for len(secs) <= i {
				secs = append(secs, mergedSecond{end: time.Duration(len(secs)+1) * time.Second})
			}
			m := &secs[i]
			if m.n == 0 || end > m.end {
				m.end = end
			}
			m.n++
			m.s.Built += s.Built
			m.s.Delivered += s.Delivered
			m.s.Failed += s.Failed
			m.s.Rejected += s.Rejected
			m.s.Requests += s.Requests
			m.s.Retries += s.Retries
			m.s.Queued += s.Queued
			m.s.Busy += s.Busy
			m.s.QueueFull += s.QueueFull
			m.latency += s.ExportLatency * time.Duration(s.Requests)
		}
	}
	out := make([]synthetic.Sample, len(secs))
	prev := time.Duration(0)
	for i, m := range secs {
		s := m.s
		s.At, s.Interval = m.end, m.end-prev
		if m.n > 0 {
			s.QueueFull /= float64(m.n)
		}
		if s.Requests > 0 {
			s.ExportLatency = m.latency / time.Duration(s.Requests)
		}
		out[i], prev = s, m.end
	}
	return out
}
