package kube

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"

	"sigs.k8s.io/yaml"
)

// List returns the objects in the order they are to be created: the
// namespace, what the pods read (ConfigMaps, Secrets), the Services (whose
// addresses the pods' environment carries, so they must exist first), then
// the workloads.
func (o Objects) List() []any {
	var out []any
	if o.Namespace != nil {
		out = append(out, o.Namespace)
	}
	for _, c := range o.ConfigMaps {
		out = append(out, c)
	}
	for _, s := range o.Secrets {
		out = append(out, s)
	}
	for _, s := range o.Services {
		out = append(out, s)
	}
	for _, d := range o.Deployments {
		out = append(out, d)
	}
	for _, s := range o.StatefulSets {
		out = append(out, s)
	}
	return out
}

// Render writes the objects as one YAML stream, in creation order, that
// `kubectl apply -f` takes.
func (o Objects) Render(w io.Writer) error {
	var b bytes.Buffer
	for i, obj := range o.List() {
		y, err := manifest(obj)
		if err != nil {
			return fmt.Errorf("render %T: %w", obj, err)
		}
		if i > 0 {
			b.WriteString("---\n")
		}
		b.Write(y)
	}
	_, err := w.Write(b.Bytes())
	return err
}

// manifest returns obj as YAML without what a client does not write: its
// status and the fields left null (creation timestamps).
func manifest(obj any) ([]byte, error) {
	j, err := json.Marshal(obj)
	if err != nil {
		return nil, err
	}
	var m map[string]any
	if err := json.Unmarshal(j, &m); err != nil {
		return nil, err
	}
	delete(m, "status")
	if spec, ok := m["spec"].(map[string]any); ok && len(spec) == 0 {
		delete(m, "spec")
	}
	dropNulls(m)
	return yaml.Marshal(m)
}

// dropNulls removes the keys of null value from m and the maps within it.
func dropNulls(v any) {
	switch v := v.(type) {
	case map[string]any:
		for k, e := range v {
			if e == nil {
				delete(v, k)
				continue
			}
			dropNulls(e)
		}
	case []any:
		for _, e := range v {
			dropNulls(e)
		}
	}
}
