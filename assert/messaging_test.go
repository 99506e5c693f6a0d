package assert

import (
	"strings"
	"testing"
	"time"

	"github.com/tracerig/tracerig/internal/record"
	"github.com/tracerig/tracerig/topology"
)

// msgRun builds the records of n orders published by checkout to billing
// (mode link: each consumer span a root of its own) and shipping (mode
// parent), every one processed and every consumer span in the backend with
// its link; change edits the records before the check. Every other
// producer's trace is sampled, every billing consumer's.
func msgRun(n int, change func(hops []record.Hop, backend []record.Span) []record.Span) Input {
	return msgRunSampled(n, func(i int) (bool, bool) { return i%2 == 0, true }, change)
}

// msgRunSampled is msgRun with the head sampling decisions of kept: of the
// producer's trace of order i (which shipping, its child, follows) and of
// billing's trace of its own.
func msgRunSampled(n int, kept func(i int) (producer, billing bool), change func(hops []record.Hop, backend []record.Span) []record.Span) Input {
	var in Input
	base := int64(1_700_000_000_000_000_000)
	for i := range n {
		prodKept, billingKept := kept(i)
		prod := record.Context{Trace: record.TraceID{1, byte(i)}, Span: record.SpanID{2, byte(i)}, Sampled: prodKept}
		sent := base + int64(i)*int64(time.Millisecond)
		if prod.Sampled {
			in.Backend = append(in.Backend, record.Span{Trace: prod.Trace, ID: prod.Span, Service: "checkout", Name: "send orders",
				Kind: record.KindProducer, Start: sent, End: sent + 5})
		}
		for g, group := range []string{"billing", "shipping"} {
			cons := record.Context{Trace: record.TraceID{3, byte(i), byte(g)}, Span: record.SpanID{4, byte(i), byte(g)}, Sampled: billingKept}
			parent := group == "shipping"
			if parent {
				cons.Trace, cons.Sampled = prod.Trace, prod.Sampled
			}
			in.Hops = append(in.Hops, record.Hop{
				ID: uint64(i*10 + g + 1), Request: uint64(i + 1), From: "checkout", To: group, Route: "process orders",
				Sent: prod, ClientSpan: true, SentAt: sent, AnsweredAt: sent + 100_000,
				Received: true, Got: prod, Server: cons, ServerSpan: true,
				Message: &record.Message{ID: uint64(i + 1), Topic: "orders", Group: group, Partition: 0, Offset: int64(i),
					PublishedAt: sent + 100_000, ProcessedAt: sent + int64(g+1)*int64(10*time.Millisecond), Batch: 1, Parent: parent},
			})
			if cons.Sampled {
				s := record.Span{Trace: cons.Trace, ID: cons.Span, Service: group, Name: "process orders", Kind: record.KindConsumer,
					Start: sent + 10, End: sent + 20, Links: []record.Link{{Trace: prod.Trace, Span: prod.Span}}}
				if parent {
					s.Parent = prod.Span
				}
				in.Backend = append(in.Backend, s)
			}
		}
	}
	in.ReadBack = true
	if change != nil {
		in.Backend = change(in.Hops, in.Backend)
	}
	return in
}

func TestMessagingCheck(t *testing.T) {
	tests := []struct {
		name     string
		exp      topology.MessagingExpect
		change   func(hops []record.Hop, backend []record.Span) []record.Span
		status   Status
		stats    map[string]float64
		finding  string // in a failing finding's message
		observed string // in the observed sentence
	}{{
		name:   "every message processed and linked",
		exp:    topology.MessagingExpect{Delivered: 1},
		status: StatusPass,
		stats: map[string]float64{"checkout -> billing | processed": 10, "checkout -> billing | links_found": 10, "checkout -> billing | links_expected": 10,
			"checkout -> shipping | links_found": 5, "checkout -> billing | sampled_consumer_only": 5, "checkout -> billing | lag_p50_ms": 10},
		observed: "sampling split across the link for 5: producer's trace kept and consumer's dropped 0, the reverse 5",
	}, {
		name: "a message never processed",
		exp:  topology.MessagingExpect{Delivered: 1},
		change: func(hops []record.Hop, b []record.Span) []record.Span {
			hops[2].Received, hops[2].Message.ProcessedAt = false, 0
			return b
		},
		status:  StatusFail,
		stats:   map[string]float64{"checkout -> billing | processed": 9},
		finding: "group billing processed 9 of 10 messages on orders (0 dead-lettered, 1 never processed)",
	}, {
		name: "a dead letter within the share allowed",
		exp:  topology.MessagingExpect{Delivered: 0.9},
		change: func(hops []record.Hop, b []record.Span) []record.Span {
			hops[2].CalleeError, hops[2].Message.DeadLetter = true, true
			return b
		},
		status: StatusPass,
		stats:  map[string]float64{"checkout -> billing | processed": 9, "checkout -> billing | dead_lettered": 1},
	}, {
		name:    "a consumer span without its link",
		exp:     topology.MessagingExpect{Delivered: 1},
		change:  unlinkFirst,
		status:  StatusFail,
		stats:   map[string]float64{"checkout -> billing | links_found": 9},
		finding: "consumer spans lack links the consumer made",
	}, {
		name:    "lag over its bound",
		exp:     topology.MessagingExpect{Delivered: 1, LagP99: 15 * time.Millisecond},
		status:  StatusFail,
		finding: "lag p99 20ms over its bound 15ms",
	}, {
		name:     "one edge",
		exp:      topology.MessagingExpect{Delivered: 1, Edge: "checkout -> shipping"},
		status:   StatusPass,
		stats:    map[string]float64{"checkout -> shipping | processed": 10},
		observed: "checkout -> shipping (orders, group shipping): 10 of 10 processed",
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := Messaging(msgRun(10, tt.change), tt.exp)
			if v.Status != tt.status {
				t.Errorf("status %s, want %s: %s", v.Status, tt.status, v.Observed)
			}
			for k, want := range tt.stats {
				if got := v.Stats[k]; got != want {
					t.Errorf("%s = %v, want %v", k, got, want)
				}
			}
			if tt.exp.Edge != "" {
				for k := range v.Stats {
					if !strings.HasPrefix(k, tt.exp.Edge) {
						t.Errorf("stat %s of another edge", k)
					}
				}
			}
			if tt.finding != "" && !hasFinding(v, tt.finding) {
				t.Errorf("no failing finding %q in %+v", tt.finding, v.Findings)
			}
			if !strings.Contains(v.Observed, tt.observed) {
				t.Errorf("observed %q, want it to say %q", v.Observed, tt.observed)
			}
		})
	}
	if v := Messaging(Input{}, topology.MessagingExpect{Delivered: 1}); v.Status != StatusNotRun {
		t.Errorf("without messages: %s, want not-run", v.Status)
	}
}

func hasFinding(v Verdict, msg string) bool {
	for _, f := range v.Findings {
		if f.Status == FindingFailing && strings.Contains(f.Message, msg) {
			return true
		}
	}
	return false
}

// TestPropagationFollowsLinks: a consumer that links is judged by its link,
// not its parent: a root span linking to the producer continues the trace;
// one that lost its link breaks it, on the edge, with the message named.
func TestPropagationFollowsLinks(t *testing.T) {
	exp := topology.PropagationExpect{Connected: true}
	if v := Propagation(msgRun(6, nil), exp); v.Status != StatusPass {
		t.Fatalf("linked consumers: %s: %s %+v", v.Status, v.Observed, v.Findings)
	}
	in := msgRun(6, unlinkFirst)
	v := Propagation(in, exp)
	if v.Status != StatusFail {
		t.Fatalf("a consumer span without its link: %s, want fail", v.Status)
	}
	found := false
	for _, f := range v.Findings {
		if f.Subject == "checkout -> billing" && strings.Contains(f.Message, "does not link to the message's producer span") &&
			len(f.Examples) > 0 && strings.Contains(f.Examples[0], "on orders to group billing") {
			found = true
		}
	}
	if !found {
		t.Errorf("findings %+v, want the break on checkout -> billing naming the message", v.Findings)
	}
}

// unlinkFirst drops the links of billing's first consumer span.
func unlinkFirst(_ []record.Hop, b []record.Span) []record.Span {
	for i := range b {
		if b[i].Service == "billing" {
			b[i].Links = nil
			break
		}
	}
	return b
}
