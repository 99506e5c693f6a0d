package topology

import (
	"path/filepath"

	"go.yaml.in/yaml/v3"
)

// backend decodes the backend: field, a type name or a mapping.
func (d *decoder) backend(n *yaml.Node, b *Backend) {
	n = resolve(n)
	if isNull(n) {
		return
	}
	b.Pos = d.pos(n)
	if n.Kind == yaml.ScalarNode {
		d.fields["backend.type"] = b.Pos
		b.Type = BackendType(n.Value)
		return
	}
	m, ok := d.mapping(n, "backend")
	if !ok {
		return
	}
	var typ string
	if d.str(m.take("type"), "backend.type", &typ) {
		b.Type = BackendType(typ)
	}
	d.str(m.take("endpoint"), "backend.endpoint", &b.Endpoint)
	d.str(m.take("protocol"), "backend.protocol", &b.Protocol)
	d.tls(m.take("tls"), "backend.tls", "insecure", &b.TLS)
	b.Headers = d.headers(m.take("headers"), "backend.headers")
	d.str(m.take("compression"), "backend.compression", &b.Compression)
	d.duration(m.take("timeout"), "backend.timeout", &b.Timeout)
	d.str(m.take("config"), "backend.config", &b.Config)
	if n := m.take("max-traces"); n != nil {
		d.fields["backend.max-traces"] = d.pos(n)
		d.integer(n, "backend.max-traces", &b.MaxTraces)
	}
	if n := m.take("query"); n != nil {
		d.fields["backend.query"] = d.pos(n)
		d.backendQuery(n, &b.Query)
	}
	m.done()
}

func (d *decoder) backendQuery(n *yaml.Node, q *BackendQuery) {
	m, ok := d.mapping(n, "backend.query")
	if !ok {
		return
	}
	d.str(m.take("type"), "backend.query.type", &q.Type)
	d.str(m.take("url"), "backend.query.url", &q.URL)
	d.tls(m.take("tls"), "backend.query.tls", "insecure-skip-verify", &q.TLS)
	q.Headers = d.headers(m.take("headers"), "backend.query.headers")
	if n := m.take("basic-auth"); n != nil {
		d.fields["backend.query.basic-auth"] = d.pos(n)
		if ba, ok := d.mapping(n, "backend.query.basic-auth"); ok {
			q.BasicAuth = &BasicAuth{}
			d.str(ba.take("username"), "backend.query.basic-auth.username", &q.BasicAuth.Username)
			d.str(ba.take("password"), "backend.query.basic-auth.password", &q.BasicAuth.Password)
			ba.done()
		}
	}
	m.done()
}

// tls decodes a tls: mapping at path: ca, cert and key (files relative to
// the scenario's folder) and the switch named skip, "insecure" for the
// export or "insecure-skip-verify" for the query.
func (d *decoder) tls(n *yaml.Node, path, skip string, t *TLS) {
	if n == nil {
		return
	}
	m, ok := d.mapping(n, path)
	if !ok {
		return
	}
	d.path(m.take("ca"), field(path, "ca"), &t.CA)
	d.path(m.take("cert"), field(path, "cert"), &t.Cert)
	d.path(m.take("key"), field(path, "key"), &t.Key)
	dst := &t.Insecure
	if skip == "insecure-skip-verify" {
		dst = &t.InsecureSkipVerify
	}
	d.boolean(m.take(skip), field(path, skip), dst)
	m.done()
}

// file decodes a file path, joined to the folder of the file being decoded
// unless absolute.
func (d *decoder) path(n *yaml.Node, path string, dst *string) {
	if !d.str(n, path, dst) || *dst == "" || filepath.IsAbs(*dst) {
		return
	}
	*dst = filepath.Join(filepath.Dir(d.file), *dst)
}

// headers decodes a mapping of header names to value templates, in file
// order.
func (d *decoder) headers(n *yaml.Node, path string) []Header {
	if n == nil {
		return nil
	}
	m, ok := d.mapping(n, path)
	if !ok {
		return nil
	}
	var out []Header
	for _, p := range m.rest() {
		h := Header{Key: p.key.Value, Pos: d.pos(p.key)}
		if isNull(resolve(p.value)) {
			d.errorf(p.key, field(path, h.Key), "needs a value: literal text or a ${VARIABLE} reference")
			continue
		}
		if d.str(p.value, field(path, h.Key), &h.Value) {
			out = append(out, h)
		}
	}
	return out
}
