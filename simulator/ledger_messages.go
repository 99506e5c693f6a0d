package simulator

import "github.com/tracerig/tracerig/internal/record"

// A message to a consumer group is a hop (see record.Message): the
// producer records a send (before the publish) and, once the broker
// answered, an answer and a msgRec for each group; the consumer records a
// receive and a delivRec for each delivery. A redelivery is a hop of its
// own, whose send the consumer records from the envelope the producer
// sealed in the message (see envelope). With the send's 96, the receive's
// 80 and the answer's 24 bytes, a message costs 272 bytes per group and
// delivery.
//
// A run with asynchronous edges is judged from Snapshot: Drain does not
// join messages yet, as a message may wait in its broker for longer than
// any quiet time.

// msgRec is where the broker stored the message an asynchronous send
// carried: 48 bytes.
type msgRec struct {
	hop       uint64 // the send's
	msg       uint64 // the message's ID
	at        int64  // the broker's acknowledgement (unix ns); 0: refused
	offset    int64
	topic     uint32
	group     uint32
	partition int32
}

// delivRec is the consumer's side of a delivery beyond its receive: 24
// bytes.
type delivRec struct {
	hop        uint64
	at         int64 // processing started (unix ns)
	toInst     uint16
	batch      uint16
	redelivery uint8
	parent     bool
	dead       bool
}

func (s *shard) addMessages(rs []msgRec) {
	s.mu.Lock()
	s.msgs.addAll(rs)
	s.mu.Unlock()
}

func (s *shard) addDeliveries(rs []delivRec) {
	s.mu.Lock()
	s.delivs.addAll(rs)
	s.mu.Unlock()
	if m := s.l.meter.Load(); m != nil {
		for _, r := range rs {
			m.delivered(r.hop, r.at)
		}
	}
}

// messageRecs indexes the message records of a ledger by hop.
type messageRecs struct {
	msgs   map[uint64]msgRec
	delivs map[uint64]delivRec
}

// collect adds the message records of lg; the caller holds its shard's
// lock.
func (m *messageRecs) collect(lg *logs) {
	if lg.msgs.len() == 0 && lg.delivs.len() == 0 {
		return
	}
	if m.msgs == nil {
		m.msgs, m.delivs = make(map[uint64]msgRec), make(map[uint64]delivRec)
	}
	for r := range lg.msgs.all() {
		m.msgs[r.hop] = r
	}
	for r := range lg.delivs.all() {
		m.delivs[r.hop] = r
	}
}

// message fills in what h, an asynchronous hop, carried.
func (l *Ledger) message(h *record.Hop, m messageRecs) {
	msg := &record.Message{Partition: -1, Offset: -1}
	if r, ok := m.msgs[h.ID]; ok {
		msg.ID, msg.PublishedAt = r.msg, r.at
		msg.Topic, msg.Group = l.syms.name(r.topic), l.syms.name(r.group)
		if r.at != 0 {
			msg.Partition, msg.Offset = r.partition, r.offset
		}
	}
	if d, ok := m.delivs[h.ID]; ok {
		h.ToInstance = int(d.toInst)
		msg.ProcessedAt, msg.Batch, msg.Redelivery = d.at, int(d.batch), int(d.redelivery)
		msg.Parent, msg.DeadLetter = d.parent, d.dead
	}
	h.Message = msg
}
