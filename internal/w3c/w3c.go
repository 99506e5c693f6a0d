// Package w3c implements W3C Trace Context (Level 2) header parsing and
// propagation for a conformance participant: a service that the
// specification's test suite (w3c/trace-context, test/test.py) drives
// through its test-harness protocol.
//
// Rules (Level 2):
//
//   - traceparent, version 00: exactly 55 characters after trimming
//     optional whitespace (space, tab), lowercase hex only,
//     version-traceid-parentid-flags with 2, 32, 16 and 2 hex digits, trace
//     ID and parent ID not all zeros. Version ff is invalid. A future
//     version (not 00, not ff) is parsed by the version 00 layout of its
//     first 55 characters, and anything after them must begin with '-'.
//     More than one traceparent header makes the traceparent invalid.
//   - Flags: only the flags this version knows are propagated, sampled
//     (0x01) and random (0x02); the other bits are zeroed on the way out.
//   - tracestate: every tracestate header is combined, in order, into one
//     list; empty list members and optional whitespace around members are
//     allowed. A key is 1 to 256 characters, [a-z0-9][a-z0-9_-*/@]{0,255}:
//     it begins with a lowercase letter or a digit and may hold '@'
//     anywhere after the first character, any number of times (the key
//     grammar of the specification since 2020; the test suite follows it
//     since w3c/trace-context #584, 2026). Values are 1 to 256 characters
//     of 0x20-0x7e except ',' and '=', not ending in a space. A list with
//     an invalid member (a key beginning with '@' or longer than 256
//     characters included) or with more than 32 members as received is
//     discarded whole. A duplicated key keeps its first (left-most)
//     member; the later ones are dropped, which the specification allows
//     for keys this participant did not write.
//   - A valid traceparent continues the trace: same trace ID, a new
//     parent ID per outgoing request, sampled and random flags kept. An
//     invalid or missing traceparent starts a new trace: a random trace
//     ID with the random flag set (and the sampled flag: a participant
//     records), a new parent ID, and the tracestate is dropped.
//   - This participant does not add a tracestate entry of its own: a valid
//     tracestate is propagated unchanged but for the duplicates dropped
//     (the specification allows that as well as adding an entry at the
//     front; unchanged keeps a 32-member list at 32 members, which the
//     test suite checks).
package w3c

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"strings"
)

// Header names.
const (
	TraceparentHeader = "traceparent"
	TracestateHeader  = "tracestate"
)

// Trace flags known to Level 2.
const (
	FlagSampled byte = 0x01
	FlagRandom  byte = 0x02
	knownFlags       = FlagSampled | FlagRandom
)

// Tracestate limits.
const (
	MaxMembers      = 32
	maxKey          = 256
	maxValue        = 256
	traceparentSize = 55
)

// TraceParent is a parsed traceparent header.
type TraceParent struct {
	Version  byte
	TraceID  [16]byte
	ParentID [8]byte
	Flags    byte
}

// String is the version 00 form of tp: the version this participant
// writes, whatever version it read. Unknown flags are zeroed.
func (tp TraceParent) String() string {
	return fmt.Sprintf("00-%x-%x-%02x", tp.TraceID[:], tp.ParentID[:], tp.Flags&knownFlags)
}

// Sampled reports the sampled flag.
func (tp TraceParent) Sampled() bool { return tp.Flags&FlagSampled != 0 }

// Random reports the Level 2 random flag.
func (tp TraceParent) Random() bool { return tp.Flags&FlagRandom != 0 }

// ErrInvalid is wrapped by every parse error.
var ErrInvalid = errors.New("invalid")

func invalid(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrInvalid}, args...)...)
}

// ParseTraceParent parses one traceparent header value.
func ParseTraceParent(s string) (TraceParent, error) {
	var tp TraceParent
	s = trimOWS(s)
	if len(s) < traceparentSize {
		return tp, invalid("traceparent: %d characters, want %d", len(s), traceparentSize)
	}
	if !isLowerHex(s[0:2]) || s[2] != '-' {
		return tp, invalid("traceparent: version is not 2 lowercase hex digits")
	}
	v, _ := hex.DecodeString(s[0:2])
	tp.Version = v[0]
	switch {
	case tp.Version == 0xff:
		return tp, invalid("traceparent: version ff")
	case tp.Version == 0 && len(s) != traceparentSize:
		return tp, invalid("traceparent: version 00 with %d characters, want %d", len(s), traceparentSize)
	case len(s) > traceparentSize && s[traceparentSize] != '-':
		return tp, invalid("traceparent: version %02x: characters after the flags do not begin with '-'", tp.Version)
	}
	if s[35] != '-' || s[52] != '-' {
		return tp, invalid("traceparent: fields not separated by '-' at 2, 35 and 52")
	}
	if !isLowerHex(s[3:35]) {
		return tp, invalid("traceparent: trace-id is not 32 lowercase hex digits")
	}
	if !isLowerHex(s[36:52]) {
		return tp, invalid("traceparent: parent-id is not 16 lowercase hex digits")
	}
	if !isLowerHex(s[53:55]) {
		return tp, invalid("traceparent: trace-flags is not 2 lowercase hex digits")
	}
	hex.Decode(tp.TraceID[:], []byte(s[3:35]))
	hex.Decode(tp.ParentID[:], []byte(s[36:52]))
	var f [1]byte
	hex.Decode(f[:], []byte(s[53:55]))
	tp.Flags = f[0]
	if tp.TraceID == [16]byte{} {
		return tp, invalid("traceparent: trace-id is all zeros")
	}
	if tp.ParentID == [8]byte{} {
		return tp, invalid("traceparent: parent-id is all zeros")
	}
	return tp, nil
}

// Member is one tracestate list member.
type Member struct{ Key, Value string }

// TraceState is a tracestate list, first member first.
type TraceState []Member

// String is the header value: members joined by ','.
func (ts TraceState) String() string {
	var b strings.Builder
	for i, m := range ts {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(m.Key)
		b.WriteByte('=')
		b.WriteString(m.Value)
	}
	return b.String()
}

// Get returns the value of key.
func (ts TraceState) Get(key string) (string, bool) {
	for _, m := range ts {
		if m.Key == key {
			return m.Value, true
		}
	}
	return "", false
}

// ParseTraceState combines the values of every tracestate header, in
// order, into one list and validates it. An error means the whole
// tracestate must be discarded: a member is invalid, or the list as
// received has more than MaxMembers members (duplicates counted). A key
// that is already in the list keeps its first member; later members
// with that key are dropped.
func ParseTraceState(values []string) (TraceState, error) {
	var ts TraceState
	seen := map[string]bool{}
	n := 0
	for _, v := range values {
		for raw := range strings.SplitSeq(v, ",") {
			m := trimOWS(raw)
			if m == "" {
				continue // empty list members are allowed
			}
			key, value, ok := strings.Cut(m, "=")
			if !ok {
				return nil, invalid("tracestate: member %q has no '='", m)
			}
			if err := validKey(key); err != nil {
				return nil, err
			}
			if err := validValue(value); err != nil {
				return nil, err
			}
			if n++; n > MaxMembers {
				return nil, invalid("tracestate: more than %d members", MaxMembers)
			}
			if seen[key] {
				continue // a duplicate: the first member of key is kept
			}
			seen[key] = true
			ts = append(ts, Member{key, value})
		}
	}
	return ts, nil
}

// validKey checks k against the key grammar:
// key = ( lcalpha / DIGIT ) 0*255( keychar ),
// keychar = lcalpha / DIGIT / "_" / "-" / "*" / "/" / "@".
func validKey(k string) error {
	if len(k) == 0 || len(k) > maxKey {
		return invalid("tracestate: key of %d characters, want 1 to %d", len(k), maxKey)
	}
	if !isLcalpha(k[0]) && !isDigit(k[0]) {
		return invalid("tracestate: key %q does not begin with [a-z0-9]", k)
	}
	if !keyChars(k[1:]) {
		return invalid("tracestate: key %q is not [a-z0-9][a-z0-9_-*/@]{0,255}", k)
	}
	return nil
}

func validValue(v string) error {
	if len(v) == 0 || len(v) > maxValue {
		return invalid("tracestate: value of %d characters, want 1 to %d", len(v), maxValue)
	}
	for i := 0; i < len(v); i++ {
		c := v[i]
		if c < 0x20 || c > 0x7e || c == ',' || c == '=' {
			return invalid("tracestate: value %q has an illegal character %q", v, c)
		}
	}
	if v[len(v)-1] == ' ' {
		return invalid("tracestate: value %q ends with a space", v)
	}
	return nil
}

// Incoming is the trace context read from a request's headers.
type Incoming struct {
	// Parent is the caller's traceparent; valid only when Valid.
	Parent TraceParent
	Valid  bool
	// State is the tracestate to propagate: nil when it was absent,
	// invalid, or discarded because the traceparent was.
	State TraceState
	// ParentErr and StateErr say why either was rejected (nil when
	// absent or valid).
	ParentErr, StateErr error
}

// Extract reads the trace context from h (header names are matched case
// insensitively, as net/http canonicalises them).
func Extract(h http.Header) Incoming {
	var in Incoming
	tps := h.Values(TraceparentHeader)
	switch len(tps) {
	case 0:
	case 1:
		in.Parent, in.ParentErr = ParseTraceParent(tps[0])
		in.Valid = in.ParentErr == nil
	default:
		in.ParentErr = invalid("traceparent: %d headers", len(tps))
	}
	if !in.Valid {
		return in // a new trace: the tracestate is dropped
	}
	in.State, in.StateErr = ParseTraceState(h.Values(TracestateHeader))
	return in
}

// Context is the trace context of one incoming request as this
// participant continues (or starts) it.
type Context struct {
	TraceID [16]byte
	Flags   byte
	State   TraceState
	// Continued is true when the trace came from a valid traceparent.
	Continued bool
}

// Continue returns the context this participant works in for in:
// the caller's trace when its traceparent was valid, else a new one.
func Continue(in Incoming) Context {
	if in.Valid {
		return Context{TraceID: in.Parent.TraceID, Flags: in.Parent.Flags & knownFlags, State: in.State, Continued: true}
	}
	return Context{TraceID: NewTraceID(), Flags: FlagSampled | FlagRandom}
}

// Child returns the traceparent of one outgoing request: this
// participant's new span as the parent.
func (c Context) Child() TraceParent {
	return TraceParent{TraceID: c.TraceID, ParentID: NewSpanID(), Flags: c.Flags}
}

// Inject sets exactly one traceparent header, a new child of c, and at
// most one tracestate header on h, removing whatever trace headers h
// had. It returns the traceparent written.
func (c Context) Inject(h http.Header) TraceParent {
	h.Del(TraceparentHeader)
	h.Del(TracestateHeader)
	tp := c.Child()
	h.Set(TraceparentHeader, tp.String())
	if len(c.State) > 0 {
		h.Set(TracestateHeader, c.State.String())
	}
	return tp
}

// NewTraceID returns a random, non-zero trace ID.
func NewTraceID() [16]byte {
	var id [16]byte
	for id == ([16]byte{}) {
		rand.Read(id[:])
	}
	return id
}

// NewSpanID returns a random, non-zero span ID.
func NewSpanID() [8]byte {
	var id [8]byte
	for id == ([8]byte{}) {
		rand.Read(id[:])
	}
	return id
}

func trimOWS(s string) string { return strings.Trim(s, " \t") }

func isLowerHex(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; !isDigit(c) && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}

func isDigit(c byte) bool   { return c >= '0' && c <= '9' }
func isLcalpha(c byte) bool { return c >= 'a' && c <= 'z' }

func keyChars(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !isLcalpha(c) && !isDigit(c) && c != '_' && c != '-' && c != '*' && c != '/' && c != '@' {
			return false
		}
	}
	return true
}
