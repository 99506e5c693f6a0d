package otlpexport

import (
	"compress/gzip"
	"fmt"
	"sync"

	"google.golang.org/grpc/mem"
)

// A gzipper compresses requests into pooled buffers with a reusable
// gzip.Writer.
type gzipper struct {
	w   *gzip.Writer
	out *[]byte
}

var gzippers = sync.Pool{New: func() any {
	z := &gzipper{}
	z.w = gzip.NewWriter(z)
	return z
}}

// Write appends p to the output buffer.
func (z *gzipper) Write(p []byte) (int, error) {
	*z.out = append(*z.out, p...)
	return len(p), nil
}

// compress returns data gzipped, in a buffer of the request pool.
func compress(data []byte) (mem.Buffer, error) {
	z := gzippers.Get().(*gzipper)
	defer gzippers.Put(z)
	z.out = buffers.Get(0)
	z.w.Reset(z)
	_, err := z.w.Write(data)
	if err == nil {
		err = z.w.Close()
	}
	out := z.out
	z.out = nil
	if err != nil {
		buffers.Put(out)
		return nil, fmt.Errorf("gzip request: %w", err)
	}
	return mem.NewBuffer(out, &buffers), nil
}
