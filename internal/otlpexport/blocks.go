package otlpexport

import (
	"sync"

	"go.opentelemetry.io/otel/sdk/instrumentation"
	"go.opentelemetry.io/otel/sdk/resource"
)

// maxCachedBlocks bounds each map of a blockCache: when it is full it is
// emptied, so that short-lived resources or scopes are not kept forever.
const maxCachedBlocks = 256

// A blockCache holds the encoded ResourceSpans.resource field of each
// *resource.Resource (resources are immutable) and the encoded
// ScopeSpans.scope field of each instrumentation.Scope. A block is never
// modified once made, so it may be used after the lock is released.
type blockCache struct {
	mu        sync.Mutex
	resources map[*resource.Resource][]byte
	scopes    map[instrumentation.Scope][]byte
}

func newBlockCache() *blockCache {
	return &blockCache{
		resources: make(map[*resource.Resource][]byte),
		scopes:    make(map[instrumentation.Scope][]byte),
	}
}

// resource returns the ResourceSpans.resource field of r: nothing for a
// nil resource, else a Resource with r's attributes (even when it has
// none).
func (c *blockCache) resource(r *resource.Resource) []byte {
	if r == nil {
		return nil
	}
	return cachedBlock(&c.mu, c.resources, r, encodeResource)
}

// scope returns the ScopeSpans.scope field of s: nothing for the zero
// Scope, else an InstrumentationScope with s's name, version and
// attributes. The scope's schema URL is not part of it: it is
// ScopeSpans.schema_url.
func (c *blockCache) scope(s instrumentation.Scope) []byte {
	if s == (instrumentation.Scope{}) {
		return nil
	}
	return cachedBlock(&c.mu, c.scopes, s, encodeScope)
}

// cachedBlock returns the block of k in m, encoding and keeping it the
// first time; a full map is emptied first.
func cachedBlock[K comparable](mu *sync.Mutex, m map[K][]byte, k K, encode func(K) []byte) []byte {
	mu.Lock()
	defer mu.Unlock()
	if b, ok := m[k]; ok {
		return b
	}
	if len(m) >= maxCachedBlocks {
		clear(m)
	}
	b := encode(k)
	m[k] = b
	return b
}

func encodeResource(r *resource.Resource) []byte {
	b, start := openMessage(nil, fieldResourceSpansResource, 1)
	b = appendAttributeSet(b, fieldResourceAttributes, r.Set())
	return closeMessage(b, start, 1)
}

func encodeScope(s instrumentation.Scope) []byte {
	b, start := openMessage(nil, fieldScopeSpansScope, 1)
	if s.Name != "" {
		b = appendStringField(b, fieldScopeName, s.Name)
	}
	if s.Version != "" {
		b = appendStringField(b, fieldScopeVersion, s.Version)
	}
	b = appendAttributeSet(b, fieldScopeAttributes, &s.Attributes)
	return closeMessage(b, start, 1)
}
