package otlpconf

import (
	"errors"
	"fmt"
	"net/url"
	"strings"

	"go.opentelemetry.io/otel/attribute"
)

// ParseResourceAttributes parses the OTEL_RESOURCE_ATTRIBUTES format:
// key=value members separated by commas, keys and values percent-encoded
// (',' and '=' must be, any other character may be), surrounding spaces
// trimmed, every value a string. Empty members are skipped. A member that
// is not key=value, has an empty key or is not percent-encoded correctly is
// an error naming its position (1-based); every such member is reported
// and none of the attributes is returned then. A key given twice keeps its
// last value.
func ParseResourceAttributes(s string) ([]attribute.KeyValue, error) {
	var (
		out  []attribute.KeyValue
		errs []error
		n    int
	)
	for member := range strings.SplitSeq(s, ",") {
		if strings.TrimSpace(member) == "" {
			continue
		}
		n++
		rk, rv, ok := strings.Cut(member, "=")
		if !ok {
			errs = append(errs, fmt.Errorf("member %d is not key=value", n))
			continue
		}
		k, kerr := url.PathUnescape(strings.TrimSpace(rk))
		v, verr := url.PathUnescape(strings.TrimSpace(rv))
		switch {
		case kerr != nil:
			errs = append(errs, fmt.Errorf("member %d: the key is not percent-encoded correctly", n))
		case k == "":
			errs = append(errs, fmt.Errorf("member %d has an empty key", n))
		case verr != nil:
			errs = append(errs, fmt.Errorf("member %d, key %q: the value is not percent-encoded correctly", n, k))
		default:
			out = append(out, attribute.String(k, v))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("parse resource attributes: %w", err)
	}
	return dedupLast(out), nil
}

// dedupLast keeps, of attributes sharing a key, the last one, in the
// position of the first.
func dedupLast(kvs []attribute.KeyValue) []attribute.KeyValue {
	at := make(map[attribute.Key]int, len(kvs))
	out := kvs[:0]
	for _, kv := range kvs {
		if i, ok := at[kv.Key]; ok {
			out[i] = kv
			continue
		}
		at[kv.Key] = len(out)
		out = append(out, kv)
	}
	if len(out) == 0 {
		return nil
	}
	return out
}

// FormatResourceAttributes writes kvs in the OTEL_RESOURCE_ATTRIBUTES
// format, each value as its string form, keys and values percent-encoded
// where they must be; ParseResourceAttributes reads it back.
func FormatResourceAttributes(kvs []attribute.KeyValue) string {
	var b strings.Builder
	for i, kv := range kvs {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(escapeMember(string(kv.Key)))
		b.WriteByte('=')
		b.WriteString(escapeMember(kv.Value.Emit()))
	}
	return b.String()
}

// escapeMember percent-encodes s for a member of OTEL_RESOURCE_ATTRIBUTES:
// as a URL path segment, '=' too.
func escapeMember(s string) string {
	return strings.ReplaceAll(url.PathEscape(s), "=", "%3D")
}
