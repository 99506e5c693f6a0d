package simulator

import (
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"go.opentelemetry.io/otel/attribute"

	"github.com/tracerig/tracerig/internal/record"
)

// RunIDKey is the resource attribute naming the run a span came from.
const RunIDKey = attribute.Key(record.RunIDKey)

// RunID identifies one run: 64 random bits, written as 16 lowercase hex
// digits. Every simulated service's resource carries it (RunIDKey), so
// spans of one run can be told from another's in a backend they share.
// The zero RunID means none.
type RunID uint64

// NewRunID returns a random, non-zero run ID.
func NewRunID() (RunID, error) {
	var b [8]byte
	for {
		if _, err := rand.Read(b[:]); err != nil {
			return 0, fmt.Errorf("new run id: %w", err)
		}
		if id := RunID(binary.BigEndian.Uint64(b[:])); id != 0 {
			return id, nil
		}
	}
}

// ParseRunID parses a run ID written as String writes it: 16 hex digits,
// not all zero.
func ParseRunID(s string) (RunID, error) {
	if len(s) != 16 {
		return 0, fmt.Errorf("run id %q: want 16 hex digits, got %d characters", s, len(s))
	}
	v, err := strconv.ParseUint(strings.ToLower(s), 16, 64)
	if err != nil {
		return 0, fmt.Errorf("run id %q: want 16 hex digits", s)
	}
	if v == 0 {
		return 0, errors.New("run id 0000000000000000: must not be zero")
	}
	return RunID(v), nil
}

// String returns the run ID as 16 lowercase hex digits; "" for the zero
// RunID.
func (r RunID) String() string {
	if r == 0 {
		return ""
	}
	return fmt.Sprintf("%016x", uint64(r))
}

// WithRunID sets the run's ID, which every instance's resource carries as
// RunIDKey. Default none: the resources carry no run ID.
func WithRunID(id RunID) Option { return func(c *config) { c.runID = id } }

// WithIsolatedIDs derives trace and span IDs from the run ID as well as the
// seed, so that no two runs with one seed share an ID in a backend they
// both export to; the same seed and run ID give the same IDs again. Without
// it (the default) IDs derive from the seed alone. It needs WithRunID.
func WithIsolatedIDs() Option { return func(c *config) { c.isolate = true } }

// WithResourceAttributes adds attributes to every instance's resource (the
// attributes of OTEL_RESOURCE_ATTRIBUTES, for one). The attributes tracerig
// sets itself win over them: service.name, service.instance.id,
// service.version, telemetry.sdk.*, and every tracerig.* key, which is
// tracerig's alone.
func WithResourceAttributes(kvs ...attribute.KeyValue) Option {
	return func(c *config) { c.resource = append(c.resource, kvs...) }
}

// idSeed is the seed trace and span IDs derive from.
func (c config) idSeed() uint64 {
	if c.isolate {
		return mix(c.seed, uint64(c.runID))
	}
	return c.seed
}
