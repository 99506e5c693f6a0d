package pbwire

import (
	"bytes"
	"math"
	"testing"

	"google.golang.org/protobuf/encoding/protowire"
)

func TestAppendVarint(t *testing.T) {
	for _, v := range []uint64{0, 1, 0x7f, 0x80, 300, 1<<14 - 1, 1 << 14, 1 << 35, math.MaxUint64} {
		prefix := []byte{0xff}
		got := AppendVarint(prefix, v)
		want := protowire.AppendVarint([]byte{0xff}, v)
		if !bytes.Equal(got, want) {
			t.Errorf("AppendVarint(%d) = %x, want %x", v, got, want)
		}
	}
}
