package broker

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
	"github.com/twmb/franz-go/pkg/sasl"
	"github.com/twmb/franz-go/pkg/sasl/plain"
	"github.com/twmb/franz-go/pkg/sasl/scram"
)

// kafkaClient is a Client over the Kafka protocol: one franz-go client
// producing and creating topics, and one more per running consumer.
type kafkaClient struct {
	cl    *kgo.Client
	base  []kgo.Opt // the options every franz-go client of this Client takes
	cfg   config
	seeds string // for errors
	life  *lifecycle
}

var _ Client = (*kafkaClient)(nil)

// DialKafka connects to the Kafka-protocol brokers seeds (host:port) and
// checks that one answers, as long as ctx allows. Options: WithTLS,
// WithSASL, WithLogger, WithName.
//
// Publish is idempotent, but gives up on a record still in flight when
// its ctx ends (franz-go's AllowIdempotentProduceCancellation), so that it
// returns during an outage: a message whose Publish failed may still be
// stored, and publishing it again can store it twice.
func DialKafka(ctx context.Context, seeds []string, opts ...Option) (Client, error) {
	cfg := newConfig(opts)
	shown := strings.Join(seeds, ",")
	if len(seeds) == 0 {
		return nil, errors.New("dial kafka: no seed brokers")
	}
	base, err := kafkaOpts(cfg, seeds)
	if err != nil {
		return nil, fmt.Errorf("dial kafka %s: %w", shown, err)
	}
	cl, err := kgo.NewClient(append(base[:len(base):len(base)],
		kgo.AllowIdempotentProduceCancellation(),
		kgo.ProducerLinger(0),
	)...)
	if err != nil {
		return nil, fmt.Errorf("dial kafka %s: %w", shown, err)
	}
	if err := cl.Ping(ctx); err != nil {
		cl.Close()
		if cfg.password != nil {
			// kfake closes the connection on bad credentials, and the
			// error is then a bare EOF: say who tried.
			return nil, fmt.Errorf("dial kafka %s as %q by %s: %w", shown, cfg.user, cfg.mechanism, err)
		}
		return nil, fmt.Errorf("dial kafka %s: %w", shown, err)
	}
	return &kafkaClient{cl: cl, base: base, cfg: cfg, seeds: shown, life: newLifecycle()}, nil
}

// kafkaOpts returns the franz-go options of cfg.
func kafkaOpts(cfg config, seeds []string) ([]kgo.Opt, error) {
	if err := cfg.checkMechanism(SASLPlain, SASLScramSHA256, SASLScramSHA512); err != nil {
		return nil, err
	}
	opts := []kgo.Opt{
		kgo.SeedBrokers(seeds...),
		kgo.ClientID(cfg.name),
		kgo.RetryBackoffFn(backoff),
		// Metadata is refreshed after a failed request; within 250ms,
		// not franz-go's 5s, so that clients are back soon after an
		// outage.
		kgo.MetadataMinAge(250 * time.Millisecond),
	}
	if cfg.tls != nil {
		opts = append(opts, kgo.DialTLSConfig(cfg.tls))
	}
	if m := saslMechanism(cfg); m != nil {
		opts = append(opts, kgo.SASL(m))
	}
	return opts, nil
}

// backoff is how long a franz-go client waits before retrying after fails
// failures: from 50ms doubling to 500ms, jittered by a fifth, so that it
// is back within half a second of an outage's end.
func backoff(fails int) time.Duration {
	d := 50 * time.Millisecond << min(max(fails-1, 0), 4)
	d = min(d, 500*time.Millisecond)
	return d - time.Duration(rand.Int64N(int64(d/5)))
}

// saslMechanism is the franz-go mechanism of cfg, nil without one. The
// password is read when authenticating, so that no value holds it.
func saslMechanism(cfg config) sasl.Mechanism {
	if cfg.password == nil {
		return nil
	}
	user, password := cfg.user, cfg.password
	switch cfg.mechanism {
	case SASLPlain:
		return plain.Plain(func(context.Context) (plain.Auth, error) {
			return plain.Auth{User: user, Pass: password()}, nil
		})
	case SASLScramSHA256:
		return scram.Sha256(func(context.Context) (scram.Auth, error) {
			return scram.Auth{User: user, Pass: password()}, nil
		})
	default:
		return scram.Sha512(func(context.Context) (scram.Auth, error) {
			return scram.Auth{User: user, Pass: password()}, nil
		})
	}
}

// EnsureTopic creates topic with partitions partitions (1 if fewer), the
// broker's replication factor and message.timestamp.type LogAppendTime,
// unless it exists.
func (c *kafkaClient) EnsureTopic(ctx context.Context, topic string, partitions int) error {
	req := kmsg.NewPtrCreateTopicsRequest()
	t := kmsg.NewCreateTopicsRequestTopic()
	t.Topic = topic
	t.NumPartitions = int32(max(partitions, 1))
	t.ReplicationFactor = -1
	cfg := kmsg.NewCreateTopicsRequestTopicConfig()
	cfg.Name, cfg.Value = "message.timestamp.type", kmsg.StringPtr("LogAppendTime")
	t.Configs = append(t.Configs, cfg)
	req.Topics = append(req.Topics, t)
	req.TimeoutMillis = 10_000
	if d, ok := ctx.Deadline(); ok {
		req.TimeoutMillis = int32(max(time.Until(d).Milliseconds(), 1))
	}
	resp, err := req.RequestWith(ctx, c.cl)
	if err == nil && len(resp.Topics) != 1 {
		err = fmt.Errorf("%d topics in the answer", len(resp.Topics))
	}
	if err == nil {
		err = kerr.ErrorForCode(resp.Topics[0].ErrorCode)
		if msg := resp.Topics[0].ErrorMessage; err != nil && msg != nil {
			err = fmt.Errorf("%w: %s", err, *msg)
		}
	}
	if err != nil && !errors.Is(err, kerr.TopicAlreadyExists) {
		return fmt.Errorf("ensure topic %q on %s: %w", topic, c.seeds, err)
	}
	return nil
}

// Publish produces m, partitioned by its key, and waits until every
// in-sync replica has it, or ctx ends: franz-go checks a record's context
// only now and then (not while it waits for metadata), so Publish stops
// waiting itself, and the record fails at franz-go's next check.
func (c *kafkaClient) Publish(ctx context.Context, m Message) (Published, error) {
	ctx, cancel := publishContext(ctx)
	defer cancel()
	r := &kgo.Record{Topic: m.Topic, Key: m.Key, Value: m.Value, Headers: toKafka(m.Headers)}
	done := make(chan error, 1)
	c.cl.Produce(ctx, r, func(_ *kgo.Record, err error) { done <- err })
	var err error
	select {
	case err = <-done:
	case <-ctx.Done():
		err = ctx.Err()
	}
	if err != nil {
		return Published{}, fmt.Errorf("publish to %q on %s: %w", m.Topic, c.seeds, err)
	}
	return Published{Partition: r.Partition, Offset: r.Offset}, nil
}

// Close ends the consumers, then the producer.
func (c *kafkaClient) Close() error {
	if c.life.close() {
		c.cl.Close()
	}
	return nil
}
