package broker

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// leaveTimeout bounds how long a Kafka consumer waits to leave its group
// when it ends, as during an outage.
const leaveTimeout = 2 * time.Second

// Consume joins the consumer group c.Group on c.Topic (a new group starts
// at the topic's first offset) and polls until ctx ends or the client
// closes. After each batch it commits, for each partition, the offset
// after the last record, or the first failed one; it then rewinds the
// partition to its first failed offset, so that the broker sends the
// failed record again, and the records after it.
//
// Redelivery is counted by this consumer, per partition and offset,
// counting the times the record was handed to the handler: a record
// acknowledged after a failed one of its partition, which the broker
// sends again after the rewind, is not handed again to the handler. So the
// handler sees each record until it acknowledges it, as on NATS. That
// memory is this consumer's: if its partition moves to another member of
// the group, that member starts again from the committed offset, at
// Redelivery 0.
func (c *kafkaClient) Consume(ctx context.Context, cc Consume, h Handler) error {
	cc = cc.withDefaults()
	if err := cc.validate(); err != nil {
		return fmt.Errorf("consume on %s: %w", c.seeds, err)
	}
	ctx, end, err := c.life.begin(ctx)
	if err != nil {
		return fmt.Errorf("consume %q as %q on %s: %w", cc.Topic, cc.Group, c.seeds, err)
	}
	defer end()
	t := newTracker()
	forget := func(_ context.Context, _ *kgo.Client, lost map[string][]int32) { t.drop(lost[cc.Topic]) }
	cl, err := kgo.NewClient(append(slices.Clone(c.base),
		kgo.ConsumerGroup(cc.Group),
		kgo.ConsumeTopics(cc.Topic),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
		kgo.DisableAutoCommit(),
		kgo.BlockRebalanceOnPoll(),
		kgo.FetchMaxWait(max(cc.MaxWait, 10*time.Millisecond)),
		kgo.OnPartitionsRevoked(forget),
		kgo.OnPartitionsLost(forget),
	)...)
	if err != nil {
		return fmt.Errorf("consume %q as %q on %s: %w", cc.Topic, cc.Group, c.seeds, err)
	}
	defer leave(cl)
	kc := kafkaConsumer{cl: cl, cc: cc, h: h, t: t, dl: deadLetters{cl: c, topic: cc.DeadLetter},
		log: c.cfg.logger.With("broker", "kafka", "topic", cc.Topic, "group", cc.Group)}
	for ctx.Err() == nil {
		kc.round(ctx)
		cl.AllowRebalance()
	}
	return nil
}

// leave leaves the group, waiting at most leaveTimeout, and closes cl.
func leave(cl *kgo.Client) {
	cl.AllowRebalance()
	ctx, cancel := context.WithTimeout(context.Background(), leaveTimeout)
	defer cancel()
	_ = cl.LeaveGroupContext(ctx) // the group notices a member gone anyway
	cl.Close()
}

// kafkaConsumer is one running Consume.
type kafkaConsumer struct {
	cl  *kgo.Client
	cc  Consume
	h   Handler
	t   *tracker
	dl  deadLetters
	log *slog.Logger
}

// handed is a record handed to the handler, and what became of it.
type handed struct {
	rec *kgo.Record
	d   Delivery
	ok  bool
}

// round polls one batch, hands the records not acknowledged before to the
// handler, and settles each partition.
func (k *kafkaConsumer) round(ctx context.Context) {
	recs := k.poll(ctx)
	if len(recs) == 0 {
		return
	}
	var batch []Delivery
	var hs []handed
	oks := map[*kgo.Record]bool{}
	for _, r := range recs {
		redelivery, hand := k.t.admit(r.Partition, r.Offset)
		if !hand {
			oks[r] = true
			continue
		}
		d := kafkaDelivery(r, redelivery)
		batch = append(batch, d)
		hs = append(hs, handed{rec: r, d: d})
	}
	if len(batch) > 0 {
		errs := k.h(ctx, batch)
		for i := range hs {
			oks[hs[i].rec] = k.outcome(ctx, hs[i].d, errAt(errs, i))
		}
	}
	k.settle(ctx, recs, oks)
}

// outcome says whether a handled delivery is done with: acknowledged, or
// failed for the last time and sent to the dead-letter topic.
func (k *kafkaConsumer) outcome(ctx context.Context, d Delivery, herr error) bool {
	deliveries := d.Redelivery + 1
	if herr == nil {
		return true
	}
	if deliveries < k.cc.MaxDeliveries {
		return false
	}
	if err := k.dl.send(ctx, d, deliveries, herr); err != nil {
		k.log.Warn("dead letter failed", "partition", d.Partition, "offset", d.Offset, "err", err)
		return false
	}
	return true
}

// settle commits each partition of recs and rewinds those with a failed
// record.
func (k *kafkaConsumer) settle(ctx context.Context, recs []*kgo.Record, oks map[*kgo.Record]bool) {
	byPart := map[int32][]outcome{}
	for _, r := range recs {
		byPart[r.Partition] = append(byPart[r.Partition], outcome{offset: r.Offset, ok: oks[r]})
	}
	commits := map[int32]kgo.EpochOffset{}
	rewinds := map[int32]kgo.EpochOffset{}
	for p, outs := range byPart {
		commit, rewind := k.t.settle(p, outs)
		commits[p] = kgo.EpochOffset{Epoch: -1, Offset: commit}
		if rewind {
			rewinds[p] = kgo.EpochOffset{Epoch: -1, Offset: commit}
		}
	}
	if len(rewinds) > 0 {
		k.cl.SetOffsets(map[string]map[int32]kgo.EpochOffset{k.cc.Topic: rewinds})
	}
	k.cl.CommitOffsetsSync(ctx, map[string]map[int32]kgo.EpochOffset{k.cc.Topic: commits}, k.committed)
}

// committed logs a commit that failed, as during an outage: the next
// commit covers it.
func (k *kafkaConsumer) committed(_ *kgo.Client, _ *kmsg.OffsetCommitRequest, resp *kmsg.OffsetCommitResponse, err error) {
	if err == nil {
		for _, t := range resp.Topics {
			for _, p := range t.Partitions {
				if err = kerr.ErrorForCode(p.ErrorCode); err != nil {
					break
				}
			}
		}
	}
	if err != nil && !errors.Is(err, context.Canceled) {
		k.log.Debug("commit failed", "err", err)
	}
}

// poll returns up to Batch records, waiting up to MaxWait after the first
// for the batch to fill.
func (k *kafkaConsumer) poll(ctx context.Context) []*kgo.Record {
	recs := k.records(ctx, k.cl.PollRecords(ctx, k.cc.Batch))
	if len(recs) == 0 || len(recs) >= k.cc.Batch {
		return recs
	}
	wctx, cancel := context.WithTimeout(ctx, k.cc.MaxWait)
	defer cancel()
	for len(recs) < k.cc.Batch {
		more := k.records(wctx, k.cl.PollRecords(wctx, k.cc.Batch-len(recs)))
		if len(more) == 0 {
			break
		}
		recs = append(recs, more...)
	}
	return recs
}

// records returns the records of fs, logging its errors. Polling again
// after an error waits a little, so that an outage does not spin.
func (k *kafkaConsumer) records(ctx context.Context, fs kgo.Fetches) []*kgo.Record {
	var failed bool
	fs.EachError(func(topic string, p int32, err error) {
		if ctx.Err() != nil && (errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded)) {
			return
		}
		failed = true
		k.log.Debug("fetch failed", "partition", p, "err", err)
	})
	recs := fs.Records()
	if failed && len(recs) == 0 {
		sleep(ctx, retryWait)
	}
	return recs
}

// kafkaDelivery is the Delivery of r.
func kafkaDelivery(r *kgo.Record, redelivery int) Delivery {
	return Delivery{
		Message:    Message{Topic: r.Topic, Key: r.Key, Headers: fromKafka(r.Headers), Value: r.Value},
		Partition:  r.Partition,
		Offset:     r.Offset,
		Redelivery: redelivery,
		Timestamp:  r.Timestamp.UnixNano(),
	}
}
