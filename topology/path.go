package topology

import (
	"strconv"
	"strings"
)

// fieldPos holds the position of every decoded field, keyed by field path.
// It lets Validate point at the exact value it objects to.
type fieldPos map[string]Pos

// field returns the path of key under parent. Keys that are not plain
// identifiers (spaces, slashes, dots) are written as ["..."].
func field(parent, key string) string {
	if !plainKey(key) {
		return parent + "[" + strconv.Quote(key) + "]"
	}
	if parent == "" {
		return key
	}
	return parent + "." + key
}

// index returns the path of the i-th item of the list at parent.
func index(parent string, i int) string {
	return parent + "[" + strconv.Itoa(i) + "]"
}

// prefixed returns path as seen from a document that holds it under prefix.
func prefixed(prefix, path string) string {
	switch {
	case prefix == "":
		return path
	case path == "":
		return prefix
	case strings.HasPrefix(path, "["):
		return prefix + path
	}
	return prefix + "." + path
}

// under reports whether path is anc or lies inside it.
func under(path, anc string) bool {
	if !strings.HasPrefix(path, anc) {
		return false
	}
	rest := path[len(anc):]
	return anc == "" || rest == "" || rest[0] == '.' || rest[0] == '['
}

func plainKey(key string) bool {
	if key == "" {
		return false
	}
	for _, r := range key {
		ok := r == '_' || r == '-' || r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z'
		if !ok {
			return false
		}
	}
	return true
}

// servicePath, routePath: paths of model elements, shared by decode and validate.
func servicePath(service string) string { return field("services", service) }

func routePath(service, route string) string {
	return field(field(servicePath(service), "routes"), route)
}
