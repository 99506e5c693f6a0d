// Package cmdline prepares a command line for a report: every value that
// may carry a secret is replaced with "***", so that a report can record
// how a run was started without recording a credential.
package cmdline

import (
	"regexp"
	"strings"
)

// Masked is what a secret value becomes.
const Masked = "***"

// secretWords are the words that mark a flag or key as carrying a secret.
var secretWords = []string{"token", "key", "secret", "password", "passwd", "auth", "credential", "cookie"}

var (
	// userinfo matches the password of a URL's user information.
	userinfo = regexp.MustCompile(`(?i)([a-z][a-z0-9+.-]*://[^/?#@\s:]*):[^/?#@\s]*@`)
	// secretQuery matches a URL query parameter with a secret-bearing name.
	secretQuery = regexp.MustCompile(`(?i)([?&][^=&#\s]*(?:token|key|secret|password|passwd|auth|credential|signature|sig)[^=&#\s]*=)[^&#\s]*`)
)

// kind is what a flag or key says its value holds.
type kind int

const (
	plain  kind = iota
	secret      // the whole value is secret
	header      // key=value pairs, comma-separated, whose values are secret
)

// classify says what the value of a flag or key named name holds: headers
// when the name says header, a secret when it has a secret word (but a
// file or a path, which are not secrets themselves), else plain.
func classify(name string) kind {
	n := strings.ToLower(name)
	switch {
	case strings.Contains(n, "header"):
		return header
	case strings.HasSuffix(n, "file"), strings.HasSuffix(n, "path"), strings.HasSuffix(n, "dir"):
		return plain
	}
	for _, w := range secretWords {
		if strings.Contains(n, w) {
			return secret
		}
	}
	return plain
}

// Mask returns a copy of args with every secret value replaced with
// Masked:
//   - the value of a flag whose name has token, key, secret, password,
//     auth, credential or cookie in it (--api-key=V, --api-key V), but not
//     of one naming a file, a path or a folder (--tls-key-file);
//   - the value of every key=value pair given to a flag whose name has
//     header in it (--otlp-header authorization=V, --headers a=V,b=V);
//   - the value of an argument key=value whose key is such a name
//     (OTEL_EXPORTER_OTLP_HEADERS=a=V, x-api-key=V);
//   - the password of a URL (https://user:V@host) and the value of a URL's
//     query parameter with a secret name (?api_key=V), anywhere.
//
// Masking a masked command line changes nothing.
func Mask(args []string) []string {
	if args == nil {
		return nil
	}
	out := make([]string, len(args))
	pending := plain // the kind of the flag before, when its value follows
	for i, a := range args {
		if pending != plain && !isFlag(a) {
			out[i], pending = maskValue(pending, a), plain
			continue
		}
		pending = plain
		out[i] = maskURLs(a)
		if isFlag(a) {
			name, value, hasValue := strings.Cut(a, "=")
			switch k := classify(strings.TrimLeft(name, "-")); {
			case k == plain:
			case hasValue:
				out[i] = name + "=" + maskValue(k, value)
			default:
				pending = k
			}
			continue
		}
		if key, value, ok := strings.Cut(a, "="); ok && isKey(key) {
			if k := classify(key); k != plain {
				out[i] = key + "=" + maskValue(k, value)
			}
		}
	}
	return out
}

// isFlag reports whether a is a flag: "-x", "--name" or "--name=value",
// not "-" or "--".
func isFlag(a string) bool {
	return len(a) > 1 && a[0] == '-' && a != "--"
}

// isKey reports whether s reads as the key of a key=value argument rather
// than as part of a URL or a path.
func isKey(s string) bool {
	return s != "" && !strings.ContainsAny(s, "/:?&@ ")
}

// maskValue masks the value of a flag or key of kind k.
func maskValue(k kind, v string) string {
	switch k {
	case secret:
		return Masked
	case header:
		pairs := strings.Split(v, ",")
		for i, p := range pairs {
			if key, _, ok := strings.Cut(p, "="); ok {
				pairs[i] = key + "=" + Masked
			} else {
				pairs[i] = Masked
			}
		}
		return strings.Join(pairs, ",")
	}
	return maskURLs(v)
}

// maskURLs masks the passwords and secret query parameters of the URLs in
// s.
func maskURLs(s string) string {
	s = userinfo.ReplaceAllString(s, "${1}:"+Masked+"@")
	return secretQuery.ReplaceAllString(s, "${1}"+Masked)
}

// Join writes args as one line a POSIX shell reads back as args: an
// argument with a character the shell would interpret is single-quoted.
func Join(args []string) string {
	quoted := make([]string, len(args))
	for i, a := range args {
		quoted[i] = quote(a)
	}
	return strings.Join(quoted, " ")
}

// quote single-quotes a for a POSIX shell when it needs quoting.
func quote(a string) string {
	if a != "" && strings.IndexFunc(a, needsQuote) < 0 {
		return a
	}
	return "'" + strings.ReplaceAll(a, "'", `'\''`) + "'"
}

// needsQuote reports whether r means something to a shell unquoted.
func needsQuote(r rune) bool {
	switch {
	case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9':
		return false
	}
	return !strings.ContainsRune("-_./:=,@%+", r)
}
