package synthetic

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"time"

	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
)

// RunOptions configure Run.
type RunOptions struct {
	Endpoint string        // OTLP/gRPC host:port
	Duration time.Duration // 0: until ctx ends or MaxTraces are sent
	// MaxTraces stops the run after this many traces; 0 means no limit.
	MaxTraces uint64
	Rate      float64 // spans/s; 0 = flat out
	Workers   int     // goroutines building and exporting; default 8
	Conns     int     // gRPC connections; default 4
	Batch     int     // spans per export request (whole traces, at least one); default 1024
	// ExportTimeout bounds one export request; default 10s.
	ExportTimeout time.Duration
}

// Stats count what a run sent and what became of it. Sent = Delivered +
// Failed + Rejected: no span goes uncounted.
type Stats struct {
	Traces    uint64 // traces built and handed to the exporter, seqs [0, Traces)
	Sent      int64  // spans handed to the exporter
	Delivered int64  // spans the sink accepted
	Failed    int64  // spans of export requests that failed
	Rejected  int64  // spans the sink refused through partial success
	Requests  int64  // export requests made
	FailedReq int64  // export requests that failed
	FirstErr  string // the first export error or partial-success message
	Elapsed   time.Duration
}

// Undelivered returns the spans that did not reach the sink.
func (s Stats) Undelivered() int64 { return s.Failed + s.Rejected }

type counters struct {
	seq       atomic.Uint64
	sent      atomic.Int64
	delivered atomic.Int64
	failed    atomic.Int64
	rejected  atomic.Int64
	requests  atomic.Int64
	failedReq atomic.Int64
	scheduled atomic.Int64 // spans reserved by the pacer
	errOnce   sync.Once
	firstErr  string
}

func (c *counters) noteErr(msg string) { c.errOnce.Do(func() { c.firstErr = msg }) }

// Run builds traces and exports them to o.Endpoint until o.Duration has
// passed, o.MaxTraces traces are built, or ctx ends. Requests in flight
// when it stops are finished and counted. progress, when not nil, is
// called about every second with the stats so far.
func (g *Generator) Run(ctx context.Context, o RunOptions, progress func(Stats)) (Stats, error) {
	if o.Workers <= 0 {
		o.Workers = 8
	}
	if o.Conns <= 0 {
		o.Conns = 4
	}
	if o.Batch <= 0 {
		o.Batch = 1024
	}
	if o.ExportTimeout <= 0 {
		o.ExportTimeout = 10 * time.Second
	}
	conns := make([]*grpc.ClientConn, o.Conns)

	defer func() {
		for _, c := range conns {
			if c != nil {
				c.Close()
			}
		}
	}()
	for i := range conns {

		c, err := grpc.NewClient(o.Endpoint,
			grpc.WithTransportCredentials(insecure.NewCredentials()),
			grpc.WithDefaultCallOptions(grpc.MaxCallSendMsgSize(64<<20)),
		)
		if err != nil {
			return Stats{}, err
		}
		c.Connect()
		conns[i] = c
	}

	runCtx := ctx
	var cancel context.CancelFunc = func() {}
	if o.Duration > 0 {
		runCtx, cancel = context.WithTimeout(ctx, o.Duration)
	}
	defer cancel()
	var c counters
	start := time.Now()
	var wg sync.WaitGroup
	for w := range o.Workers {
		wg.Go(func() { g.worker(runCtx, o, conns[w%len(conns)], &c, start) })
	}
	snap := func() Stats {
		return Stats{
			Traces: min(c.seq.Load(), maxTraces(o)), Sent: c.sent.Load(), Delivered: c.delivered.Load(),
			Failed: c.failed.Load(), Rejected: c.rejected.Load(), Requests: c.requests.Load(),
			FailedReq: c.failedReq.Load(), Elapsed: time.Since(start),
		}
	}
	if progress != nil {
		done := make(chan struct{})
		var pw sync.WaitGroup
		pw.Go(func() {
			t := time.NewTicker(time.Second)
			defer t.Stop()
			for {
				select {
				case <-done:
					return
				case <-t.C:
					progress(snap())
				}
			}
		})
		defer func() { close(done); pw.Wait() }()
	}
	wg.Wait()
	s := snap()
	s.FirstErr = c.firstErr
	return s, nil
}

func maxTraces(o RunOptions) uint64 {
	if o.MaxTraces == 0 {
		return ^uint64(0)
	}
	return o.MaxTraces
}

func (g *Generator) worker(ctx context.Context, o RunOptions, client *grpc.ClientConn, c *counters, start time.Time) {
	b := g.NewEncoder()
	limit := maxTraces(o)
	for ctx.Err() == nil {
		b.Begin()
		now := time.Now().UnixNano()
		for b.Spans() < o.Batch {
			seq := c.seq.Add(1) - 1
			if seq >= limit {
				break
			}
			b.Add(seq, now)
		}
		n := b.Spans()
		if n == 0 {
			return
		}
		if o.Rate > 0 {
			due := start.Add(time.Duration(float64(c.scheduled.Add(int64(n))-int64(n)) / o.Rate * float64(time.Second)))
			if d := time.Until(due); d > 0 {
				t := time.NewTimer(d)
				select {
				case <-t.C:
				case <-ctx.Done():
					t.Stop()
					// The run is over, but these traces have their
					// seqs: send them so that every seq below
					// Stats.Traces was sent.
					g.export(context.WithoutCancel(ctx), o, client, b, n, c)
					return
				}
			}
		}
		g.export(context.WithoutCancel(ctx), o, client, b, n, c)
	}
}

// exportMethod is the OTLP/gRPC trace export method.
const exportMethod = "/opentelemetry.proto.collector.trace.v1.TraceService/Export"

func (g *Generator) export(ctx context.Context, o RunOptions, conn *grpc.ClientConn, b *Builder, n int, c *counters) {
	req := rawMessage(b.Bytes())
	c.sent.Add(int64(n))
	c.requests.Add(1)
	ctx, cancel := context.WithTimeout(ctx, o.ExportTimeout)
	var resp rawMessage
	err := conn.Invoke(ctx, exportMethod, &req, &resp, grpc.ForceCodec(rawCodec{}))
	cancel()
	if err != nil {
		c.failed.Add(int64(n))
		c.failedReq.Add(1)
		c.noteErr(err.Error())
		return
	}
	var rej int64
	if len(resp) > 0 {
		r := ptraceotlp.NewExportResponse()
		if err := r.UnmarshalProto(resp); err != nil {
			// The sink took the request; an answer we cannot read may
			// hide rejected spans, so count them all as rejected.
			rej = int64(n)
			c.noteErr("unreadable export response: " + err.Error())
		} else if rej = r.PartialSuccess().RejectedSpans(); rej > 0 {
			rej = min(rej, int64(n))
			msg := r.PartialSuccess().ErrorMessage()
			if msg == "" {
				msg = "partial success without message"
			}
			c.noteErr("rejected: " + msg)
		}
		c.rejected.Add(rej)
	}
	c.delivered.Add(int64(n) - rej)
}

// rawMessage is an already encoded protobuf message.
type rawMessage []byte

// rawCodec sends and receives rawMessages as they are. Its name is
// "proto" so that the request's content type is application/grpc+proto.
type rawCodec struct{}

func (rawCodec) Marshal(v any) ([]byte, error) { return *v.(*rawMessage), nil }
func (rawCodec) Unmarshal(data []byte, v any) error {
	*v.(*rawMessage) = append((*v.(*rawMessage))[:0], data...)
	return nil
}
func (rawCodec) Name() string { return "proto" }

// ErrUndelivered is returned by callers that treat undelivered spans as a
// failure.
var ErrUndelivered = errors.New("spans not delivered")
