package infer

import (
	"strings"

	"github.com/tracerig/tracerig/internal/record"
	"github.com/tracerig/tracerig/topology"
)

// routeName names the route a server span served: gRPC "service/method",
// HTTP "METHOD route". The name is made to fit the topology's route forms.
func routeName(s *record.Span, grpc bool) string {
	if grpc {
		svc, _ := s.Attr("rpc.service")
		m, _ := s.Attr("rpc.method")
		if svc == "" && strings.Contains(m, "/") {
			// The stable RPC conventions: rpc.method is "service/method".
			svc, m, _ = strings.Cut(m, "/")
		}
		if svc == "" || m == "" {
			svc, m, _ = strings.Cut(strings.TrimPrefix(s.Name, "/"), "/")
		}
		return grpcRoute(svc, m)
	}
	if topology.IsHTTPRoute(s.Name) {
		return s.Name
	}
	method := attrOr(s, "GET", "http.request.method", "http.method")
	path := attrOr(s, "", "http.route", "url.path", "http.target")
	if path == "" {
		m, p, ok := strings.Cut(s.Name, " ")
		if ok && strings.HasPrefix(p, "/") {
			method, path = m, p
		} else {
			path = "/" + s.Name
		}
	}
	return httpRoute(method, path)
}

// peerName names what a client span called, for spans whose callee left
// no span: peer.service, server.address, or the span's name.
func peerName(s *record.Span) string {
	return attrOr(s, s.Name, "peer.service", "server.address", "net.peer.name")
}

func attrOr(s *record.Span, def string, keys ...string) string {
	for _, k := range keys {
		if v, ok := s.Attr(k); ok && v != "" {
			return v
		}
	}
	return def
}

var httpMethods = []string{"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"}

// httpRoute writes "METHOD /path": an unknown method becomes GET, spaces in
// the path become '-', the path starts with '/'. (The method is lost only
// for methods the topology cannot serve, like CONNECT.)
func httpRoute(method, path string) string {
	method = strings.ToUpper(method)
	known := false
	for _, m := range httpMethods {
		known = known || m == method
	}
	if !known {
		method = "GET"
	}
	path = strings.Join(strings.Fields(path), "-")
	if !strings.HasPrefix(path, "/") {
		path = "/" + path
	}
	return method + " " + path
}

// grpcRoute writes "pkg.Service/Method" with every part an identifier.
func grpcRoute(svc, method string) string {
	parts := strings.Split(svc, ".")
	for i, p := range parts {
		parts[i] = ident(p)
	}
	return strings.Join(parts, ".") + "/" + ident(method)
}

// ident turns s into [A-Za-z_][A-Za-z0-9_]*.
func ident(s string) string {
	var b strings.Builder
	for i, r := range s {
		switch {
		case r == '_' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z':
			b.WriteRune(r)
		case r >= '0' && r <= '9':
			if i == 0 {
				b.WriteByte('_')
			}
			b.WriteRune(r)
		default:
			b.WriteByte('_')
		}
	}
	if b.Len() == 0 {
		return "_"
	}
	return b.String()
}

// reserved are the keys a calls step takes: a service cannot be named so.
var reserved = map[string]bool{"parallel": true, "sequence": true, "publish": true,
	"timeout": true, "retries": true, "backoff": true}

// serviceName turns a service.name into a topology service name:
// lowercase letters, digits, '-', '_' and '.', starting with a letter or
// digit, and not a calls keyword.
func serviceName(s string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(s) {
		switch {
		case r >= 'a' && r <= 'z' || r >= '0' && r <= '9':
			b.WriteRune(r)
		case r == '-' || r == '_' || r == '.':
			if b.Len() > 0 {
				b.WriteRune(r)
			}
		default:
			if b.Len() > 0 {
				b.WriteByte('-')
			}
		}
	}
	out := b.String()
	if out == "" {
		out = "service"
	}
	if reserved[out] {
		out += "-svc"
	}
	return out
}
