package broker

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// natsReconnectWait is how long the NATS client waits between attempts to
// reconnect: short, since an outage in a run lasts seconds.
const natsReconnectWait = 100 * time.Millisecond

// natsClient is a Client over NATS JetStream.
type natsClient struct {
	nc   *nats.Conn
	js   jetstream.JetStream
	cfg  config
	url  string // redacted
	life *lifecycle
}

var _ Client = (*natsClient)(nil)

// DialNATS connects to the NATS server at url (a comma-separated list for a
// cluster) with JetStream, as long as ctx allows. Once connected, the
// client reconnects forever, every 100ms, and a Publish while it is
// disconnected fails at once: nothing is buffered for later. Options:
// WithTLS, WithSASL (SASLPlain only), WithAckWait, WithLogger, WithName.
func DialNATS(ctx context.Context, url string, opts ...Option) (Client, error) {
	cfg := newConfig(opts)
	shown := redactURLs(url)
	if err := cfg.checkMechanism(SASLPlain); err != nil {
		return nil, fmt.Errorf("dial nats %s: %w", shown, err)
	}
	nopts := []nats.Option{
		nats.Name(cfg.name),
		nats.MaxReconnects(-1),
		nats.ReconnectWait(natsReconnectWait),
		nats.ReconnectJitter(natsReconnectWait/5, natsReconnectWait/5),
		// No buffering while disconnected: a publish fails at once rather
		// than waiting to be flushed after an outage.
		nats.ReconnectBufSize(-1),
		nats.NoCallbacksAfterClientClose(),
	}
	if d, ok := ctx.Deadline(); ok {
		nopts = append(nopts, nats.Timeout(max(time.Until(d), time.Millisecond)))
	}
	if cfg.tls != nil {
		nopts = append(nopts, nats.Secure(cfg.tls))
	}
	if cfg.password != nil {
		user, password := cfg.user, cfg.password
		nopts = append(nopts, nats.UserInfoHandler(func() (string, string) { return user, password() }))
	}
	nc, err := connectNATS(ctx, url, nopts)
	if err != nil {
		return nil, fmt.Errorf("dial nats %s: %w", shown, err)
	}
	js, err := jetstream.New(nc)
	if err != nil {
		nc.Close()
		return nil, fmt.Errorf("dial nats %s: jetstream: %w", shown, err)
	}
	return &natsClient{nc: nc, js: js, cfg: cfg, url: shown, life: newLifecycle()}, nil
}

// connectNATS connects, giving up when ctx ends.
func connectNATS(ctx context.Context, url string, opts []nats.Option) (*nats.Conn, error) {
	type result struct {
		nc  *nats.Conn
		err error
	}
	ch := make(chan result, 1)
	go func() {
		nc, err := nats.Connect(url, opts...)
		ch <- result{nc, err}
	}()
	select {
	case r := <-ch:
		return r.nc, r.err
	case <-ctx.Done():
		go func() {
			if r := <-ch; r.nc != nil {
				r.nc.Close()
			}
		}()
		return nil, ctx.Err()
	}
}

// redactURLs returns the comma-separated urls with their passwords hidden.
func redactURLs(urls string) string {
	parts := strings.Split(urls, ",")
	for i, p := range parts {
		if u, err := url.Parse(strings.TrimSpace(p)); err == nil {
			parts[i] = u.Redacted()
		} else if strings.Contains(p, "@") {
			parts[i] = "(unparsable url)"
		}
	}
	return strings.Join(parts, ",")
}

// streamName is the JetStream stream holding topic: the topic with the
// characters a stream name cannot hold ('.', '*', '>', '/', '\\' and
// whitespace) replaced by '_'. Topics "a.b" and "a_b" therefore share a
// name, and the second EnsureTopic fails.
func streamName(topic string) string {
	return strings.Map(func(r rune) rune {
		switch r {
		case '.', '*', '>', '/', '\\', ' ', '\t', '\n', '\r':
			return '_'
		}
		return r
	}, topic)
}

// EnsureTopic creates the stream of topic if it is missing; partitions is
// ignored.
func (c *natsClient) EnsureTopic(ctx context.Context, topic string, _ int) error {
	if topic == "" || strings.ContainsAny(topic, "*> \t\r\n") {
		return fmt.Errorf("ensure topic %q on %s: not a subject without wildcards", topic, c.url)
	}
	name := streamName(topic)
	s, err := c.js.Stream(ctx, name)
	if err == nil {
		if subj := s.CachedInfo().Config.Subjects; len(subj) != 1 || subj[0] != topic {
			return fmt.Errorf("ensure topic %q on %s: stream %s holds subjects %v", topic, c.url, name, subj)
		}
		return nil
	}
	if !errors.Is(err, jetstream.ErrStreamNotFound) {
		return fmt.Errorf("ensure topic %q on %s: %w", topic, c.url, err)
	}
	_, err = c.js.CreateStream(ctx, jetstream.StreamConfig{
		Name:     name,
		Subjects: []string{topic},
		Storage:  jetstream.FileStorage,
	})
	if err != nil && !errors.Is(err, jetstream.ErrStreamNameAlreadyInUse) {
		return fmt.Errorf("ensure topic %q on %s: create stream %s: %w", topic, c.url, name, err)
	}
	return nil
}

// Publish publishes m to the subject m.Topic and waits for JetStream's
// acknowledgement. While disconnected, it fails at once.
func (c *natsClient) Publish(ctx context.Context, m Message) (Published, error) {
	switch c.nc.Status() {
	case nats.CONNECTED:
	case nats.CLOSED:
		return Published{}, fmt.Errorf("publish to %q on %s: %w", m.Topic, c.url, nats.ErrConnectionClosed)
	default:
		return Published{}, fmt.Errorf("publish to %q on %s: %w", m.Topic, c.url, nats.ErrConnectionReconnecting)
	}
	ctx, cancel := publishContext(ctx)
	defer cancel()
	ack, err := c.js.PublishMsg(ctx, &nats.Msg{Subject: m.Topic, Header: toNATS(m.Headers), Data: m.Value})
	if err != nil {
		return Published{}, fmt.Errorf("publish to %q on %s: %w", m.Topic, c.url, err)
	}
	return Published{Partition: -1, Offset: int64(ack.Sequence)}, nil
}

// Close ends the connection after every consumer returned.
func (c *natsClient) Close() error {
	if c.life.close() {
		c.nc.Close()
	}
	return nil
}
