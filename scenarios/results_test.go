package scenarios

import (
	"bytes"
	"testing"
	"time"

	vegeta "github.com/tsenart/vegeta/v12/lib"
)

// TestResultCollectorBadStream requires a stream that stops decoding to
// keep the results decoded so far, say why, and never hold up the load
// that writes into it.
func TestResultCollectorBadStream(t *testing.T) {
	var enc bytes.Buffer
	encode := vegeta.NewEncoder(&enc)
	for i := range 3 {
		if err := encode(&vegeta.Result{Attack: "a GET /", Code: 200, Latency: time.Duration(i+1) * time.Millisecond, Method: "GET", URL: "http://h/"}); err != nil {
			t.Fatal(err)
		}
	}
	col := newResultCollector()
	for _, chunk := range [][]byte{enc.Bytes(), {0x07, 0xff, 0x81, 0x03, 0x00, 0x42, 0x42}, bytes.Repeat([]byte{0x42}, 64<<10)} {
		if _, err := col.Write(chunk); err != nil {
			t.Fatalf("write: %v", err)
		}
	}
	samples, err := col.close()
	if err == nil || len(samples) != 3 {
		t.Errorf("%d samples, err %v: want the 3 good ones and an error", len(samples), err)
	}
}
