package synthetic

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"math/rand/v2"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"

	"github.com/tracerig/tracerig/internal/otlpconf"
)

// Protocol is the OTLP transport of a run.
type Protocol string

// The OTLP transports Run exports over.
const (
	ProtocolGRPC Protocol = "grpc" // OTLP/gRPC, the default
	ProtocolHTTP Protocol = "http" // OTLP/HTTP with protobuf bodies
)

// RunOptions configure Run.
type RunOptions struct {
	// Protocol is the OTLP transport; "" means ProtocolGRPC.
	Protocol Protocol
	// Endpoint is where to export: host:port for gRPC; for HTTP host:port
	// (traces are posted to /v1/traces) or an http:// or https:// URL (its
	// path as given, /v1/traces when it has none).
	Endpoint string
	// TLS, when not nil, secures every connection (for HTTP, a host:port
	// endpoint then means https); nil sends in plaintext.
	TLS *tls.Config
	// Headers go with every export request, as gRPC metadata or HTTP
	// headers. Their values are credentials: nothing prints them.
	Headers []otlpconf.Header
	// Gzip compresses every request.
	Gzip     bool
	Duration time.Duration // 0: until ctx ends or MaxTraces are sent
	// MaxTraces stops the run after this many traces; 0 means no limit.
	MaxTraces uint64
	// Rate is spans/s of the whole run; 0 = flat out. A shard paces at
	// its share, Shard.Rate(Rate).
	Rate float64
	// Shard, when its Count is above 1, makes the run one shard of a
	// sharded run: it sends only its slice of the sequence numbers
	// (Shard.Seq), and Stats.Traces counts the traces of that slice.
	Shard   Shard
	Workers int // goroutines exporting batches (requests in flight); default 8
	// Conns is the number of connections; default 4. gRPC multiplexes the
	// workers' requests over them; HTTP/1.1 carries one request at a time
	// on each, so more workers than connections wait for one.
	Conns int
	Batch int // spans per export request (whole traces, at least one); default 1024
	// Queue is how many built batches may wait for a worker; default
	// Workers. When it is full the builders wait: the export sets the pace.
	Queue int
	// Retries is how many times a batch is sent again after a failure the
	// OTLP specification calls transient (gRPC UNAVAILABLE and the like,
	// HTTP 429, 502, 503 and 504, a connection that failed), after the
	// delay the sink asked for (gRPC RetryInfo, HTTP Retry-After) or an
	// exponential backoff. 0: never.
	Retries int
	// ExportTimeout bounds one export request; default 10s.
	ExportTimeout time.Duration
	// SampleEvery is the interval of Stats.Samples; default 1s.
	SampleEvery time.Duration
	// OnSample, when set, is called with each sample as it is cut, for a
	// progress line: on the sampling goroutine, so it must not block.
	OnSample func(Sample)
}

// QueueCap returns how many built batches the run's queue holds: Queue,
// or its default.
func (o RunOptions) QueueCap() int { return o.withDefaults().Queue }

func (o RunOptions) withDefaults() RunOptions {
	if o.Protocol == "" {
		o.Protocol = ProtocolGRPC
	}
	if o.Workers <= 0 {
		o.Workers = 8
	}
	if o.Conns <= 0 {
		o.Conns = 4
	}
	if o.Batch <= 0 {
		o.Batch = 1024
	}
	if o.Queue <= 0 {
		o.Queue = o.Workers
	}
	if o.Retries < 0 {
		o.Retries = 0
	}
	if o.ExportTimeout <= 0 {
		o.ExportTimeout = 10 * time.Second
	}
	if o.SampleEvery <= 0 {
		o.SampleEvery = time.Second
	}
	return o
}

// Retry delays without one from the sink: exponential from retryBase,
// at most retryMax, drawn in [d/2, d]. A sink asking for more than
// maxRetryWait is not retried.
const (
	retryBase    = 100 * time.Millisecond
	retryMax     = 5 * time.Second
	maxRetryWait = 30 * time.Second
)

// Stats count what a run sent and what became of it. Sent = Delivered +
// Failed + Rejected: no span goes uncounted.
type Stats struct {
	// Traces are the requests whose traces were built and handed to the
	// exporter: seqs [0, Traces), or of a shard RunOptions.Shard.Seq(k)
	// for k in [0, Traces).
	Traces uint64
	// Linked are the traces of their own that consumers in mode link
	// started beside them (Generator.ExpectSent lists them by request):
	// the run sent Traces + Linked traces.
	Linked    uint64
	Sent      int64  // spans built and handed to the exporter
	Delivered int64  // spans the sink accepted
	Failed    int64  // spans of export requests that failed, retries included
	Rejected  int64  // spans the sink refused through partial success
	Requests  int64  // export requests made, each batch once
	FailedReq int64  // export requests that failed, retries included
	Retries   int64  // export requests sent again after a transient failure
	FirstErr  string // the first export error or partial-success message
	Elapsed   time.Duration

	Workers  int // workers exporting, as run
	QueueCap int // batches the queue holds, as run
	// Queued is the mean number of built batches waiting for a worker.
	Queued float64
	// QueueFull is the fraction of the run in which a builder waited for
	// room in the queue: the export, not the generator, set the pace.
	QueueFull float64
	// Busy is the mean number of workers exporting or waiting to retry.
	Busy float64
	// ExportLatency is the mean duration of one export attempt.
	ExportLatency time.Duration
	// Samples are the run's figures per RunOptions.SampleEvery, the last
	// one covering what remained (Sample.Interval says how long).
	Samples []Sample
}

// Undelivered returns the spans that did not reach the sink.
func (s Stats) Undelivered() int64 { return s.Failed + s.Rejected }

// Sample is what happened in one interval of a run.
type Sample struct {
	At       time.Duration // end of the interval, from the start of the run
	Interval time.Duration
	// The spans built (and queued for export), delivered, failed and
	// rejected, export requests started and sent again, in the interval.
	Built, Delivered, Failed, Rejected, Requests, Retries int64
	// Queued, QueueFull and Busy are as in Stats, over the interval.
	Queued    float64
	QueueFull float64
	Busy      float64
	// ExportLatency is the mean duration of the export attempts that
	// ended in the interval; 0 when none did.
	ExportLatency time.Duration
}

// counters are a run's running totals.
type counters struct {
	seq       atomic.Uint64 // traces claimed, in the shard's slice
	linked    atomic.Uint64
	sent      atomic.Int64
	delivered atomic.Int64
	failed    atomic.Int64
	rejected  atomic.Int64
	requests  atomic.Int64
	failedReq atomic.Int64
	retries   atomic.Int64
	attempts  atomic.Int64 // export attempts ended
	latency   atomic.Int64 // their total duration, ns
	scheduled atomic.Int64 // spans reserved by the pacer
	blocked   atomic.Int64 // builders waiting for room in the queue
	busy      atomic.Int64 // workers with a batch
	errOnce   sync.Once
	firstErr  string
}

func (c *counters) noteErr(msg string) { c.errOnce.Do(func() { c.firstErr = msg }) }

// batch is one encoded export request and the encoder that owns its bytes.
type batch struct {
	enc    *Builder
	req    []byte
	spans  int
	linked int // traces of their own that consumers started
}

// run is one Run: builders encode batches into queue, workers export
// them, and the batches go back to free.
type run struct {
	g     *Generator
	o     RunOptions
	ctx   context.Context // the caller's: when it ends, no retry starts
	snd   sender
	start time.Time
	queue chan *batch
	free  chan *batch
	c     counters
}

// Run builds traces and exports them to o.Endpoint until o.Duration has
// passed, o.MaxTraces traces are built, or ctx ends. Builders (one per CPU,
// at most o.Workers) claim consecutive traces of the shard (whole consumer
// batches at once), encode batches of whole traces, paced to o.Rate when
// it is set, into a queue of o.Queue batches; o.Workers workers take them
// and export each, retrying transient failures. Traces claimed, and
// batches built or in flight, when the run stops are still sent and
// counted, and then the consumer batches the last trace left incomplete
// (Builder.Flush). The error is for a run that could not start; what the
// sink did is in Stats.
func (g *Generator) Run(ctx context.Context, o RunOptions) (Stats, error) {
	o = o.withDefaults()
	if err := o.Shard.Validate(); err != nil {
		return Stats{}, fmt.Errorf("synthetic run: %w", err)
	}
	snd, err := newSender(o)
	if err != nil {
		return Stats{}, err
	}
	defer snd.close()
	nb := max(1, min(o.Workers, runtime.GOMAXPROCS(0)))
	r := &run{g: g, o: o, ctx: ctx, snd: snd,
		queue: make(chan *batch, o.Queue), free: make(chan *batch, o.Queue+o.Workers+nb)}
	for range cap(r.free) {
		enc := g.NewEncoder()
		enc.setStride(o.Shard.shards())
		r.free <- &batch{enc: enc}
	}

	runCtx := ctx
	cancel := context.CancelFunc(func() {})
	if o.Duration > 0 {
		runCtx, cancel = context.WithTimeout(ctx, o.Duration)
	}
	defer cancel()
	r.start = time.Now()
	smp := newSampler(r)
	done := make(chan struct{})
	var sw sync.WaitGroup
	sw.Go(func() { smp.loop(done) })
	var builders, workers sync.WaitGroup
	for range nb {
		builders.Go(func() { r.build(runCtx) })
	}
	for w := range o.Workers {
		workers.Go(func() { r.work(w) })
	}
	builders.Wait()
	r.flush(min(r.c.seq.Load(), maxTraces(o)))
	close(r.queue)
	workers.Wait()
	close(done)
	sw.Wait()
	end := time.Now()
	smp.observe()
	smp.cut(end)

	c := &r.c
	return Stats{
		Traces: min(c.seq.Load(), maxTraces(o)), Linked: c.linked.Load(), Sent: c.sent.Load(), Delivered: c.delivered.Load(),
		Failed: c.failed.Load(), Rejected: c.rejected.Load(), Requests: c.requests.Load(),
		FailedReq: c.failedReq.Load(), Retries: c.retries.Load(), FirstErr: c.firstErr,
		Elapsed: end.Sub(r.start), Workers: o.Workers, QueueCap: o.Queue,
		Queued: smp.all.queued(), QueueFull: smp.all.full(), Busy: smp.all.busy(),
		ExportLatency: meanLatency(c.latency.Load(), c.attempts.Load()),
		Samples:       smp.samples,
	}, nil
}

func maxTraces(o RunOptions) uint64 {
	if o.MaxTraces == 0 {
		return ^uint64(0)
	}
	return o.MaxTraces
}

// work exports batches from the queue until it is closed and empty.
func (r *run) work(w int) {
	for bt := range r.queue {
		r.c.busy.Add(1)
		r.export(w, bt)
		r.c.busy.Add(-1)
		r.free <- bt
	}
}

// export sends one batch, again after each transient failure while
// retries remain, and counts its spans as delivered, rejected or failed.
func (r *run) export(w int, bt *batch) {
	n := int64(bt.spans)
	r.c.requests.Add(1)
	for attempt := 0; ; attempt++ {
		// A batch that was built is sent even when the run ends meanwhile.
		ctx, cancel := context.WithTimeout(context.WithoutCancel(r.ctx), r.o.ExportTimeout)
		t0 := time.Now()
		resp, err := r.snd.send(ctx, w, bt.req)
		cancel()
		r.c.latency.Add(int64(time.Since(t0)))
		r.c.attempts.Add(1)
		if err == nil {
			rej, msg := rejectedSpans(resp, n)
			if msg != "" {
				r.c.noteErr(msg)
			}
			r.c.rejected.Add(rej)
			r.c.delivered.Add(n - rej)
			return
		}
		if d, ok := r.retryDelay(err, attempt); ok && sleep(r.ctx, d) {
			r.c.retries.Add(1)
			continue
		}
		r.c.failed.Add(n)
		r.c.failedReq.Add(1)
		r.c.noteErr(err.Error())
		return
	}
}

// retryDelay says whether a failed attempt may be made again and after
// how long: the sink's delay when it gave one, else an exponential
// backoff with jitter.
func (r *run) retryDelay(err error, attempt int) (time.Duration, bool) {
	var ee *exportError
	if attempt >= r.o.Retries || !errors.As(err, &ee) || !ee.retryable {
		return 0, false
	}
	if ee.after > 0 {
		return ee.after, ee.after <= maxRetryWait
	}
	d := min(retryBase<<min(attempt, 16), retryMax)
	return d/2 + rand.N(d/2+1), true
}

// sleep waits for d and returns true, or returns false when ctx ends first.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// sender makes export requests over one transport.
type sender interface {
	// send makes one export request for worker w and returns the
	// response body, an encoded ExportTraceServiceResponse (possibly
	// empty), valid until the worker's next send. A failure is an
	// *exportError.
	send(ctx context.Context, w int, req []byte) ([]byte, error)
	close()
}

func newSender(o RunOptions) (sender, error) {
	switch o.Protocol {
	case ProtocolGRPC:
		return newGRPCSender(o)
	case ProtocolHTTP:
		return newHTTPSender(o)
	}
	return nil, fmt.Errorf("unknown OTLP protocol %q: want grpc or http", o.Protocol)
}

// exportError is a failed export attempt: no span of it was accepted.
type exportError struct {
	err error
	// retryable is true for the failures the OTLP specification calls
	// transient.
	retryable bool
	// after is the delay the sink asked for before sending again; 0 when
	// it named none.
	after time.Duration
}

func (e *exportError) Error() string {
	if e.after > 0 {
		return fmt.Sprintf("%v (retry after %v)", e.err, e.after)
	}
	return e.err.Error()
}

func (e *exportError) Unwrap() error { return e.err }

// rejectedSpans reads the partial success of an export response for a
// request of n spans: the spans the sink refused and its message, "" when
// it refused none.
func rejectedSpans(resp []byte, n int64) (int64, string) {
	if len(resp) == 0 {
		return 0, ""
	}
	r := ptraceotlp.NewExportResponse()
	if err := r.UnmarshalProto(resp); err != nil {
		// The sink took the request; an answer we cannot read may hide
		// rejected spans, so count them all as rejected.
		return n, "unreadable export response: " + err.Error()
	}
	rej := r.PartialSuccess().RejectedSpans()
	if rej <= 0 {
		return 0, ""
	}
	msg := r.PartialSuccess().ErrorMessage()
	if msg == "" {
		msg = "partial success without message"
	}
	return min(rej, n), "rejected: " + msg
}

// Preflight sends one empty export request as o configures a run and
// returns the sink's refusal, if any: it proves that the endpoint accepts
// the connection, the TLS settings and the credentials before any load.
func Preflight(ctx context.Context, o RunOptions) error {
	o = o.withDefaults()
	o.Conns, o.Workers = 1, 1
	snd, err := newSender(o)
	if err != nil {
		return err
	}
	defer snd.close()
	ctx, cancel := context.WithTimeout(ctx, o.ExportTimeout)
	defer cancel()
	if _, err := snd.send(ctx, 0, nil); err != nil {
		var e *exportError
		if errors.As(err, &e) {
			return e.err
		}
		return err
	}
	return nil
}
