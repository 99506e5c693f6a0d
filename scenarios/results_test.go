package scenarios

import (
	"bytes"
	"io"
	"slices"
	"testing"
	"time"

	vegeta "github.com/tsenart/vegeta/v12/lib"

	"github.com/tracerig/tracerig/report"
)

// TestResultCollector requires the results the load encodes to reach the
// report as samples, each named by its load and entry route (a mix's by the
// request's method and path).
func TestResultCollector(t *testing.T) {
	const mix = "web GET /a ×2, web POST /b ×1"
	at := time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)
	results := []vegeta.Result{
		{Attack: "web GET /order", Code: 200, Timestamp: at, Latency: 3 * time.Millisecond, Method: "GET", URL: "http://h/order"},
		{Attack: mix, Code: 503, Timestamp: at.Add(time.Second), Latency: 9 * time.Millisecond, Method: "POST", URL: "http://h/b?x=1"},
		{Attack: mix, Timestamp: at.Add(2 * time.Second), Latency: time.Second, Method: "GET", URL: "http://h/a"},
	}
	var enc bytes.Buffer
	encode := vegeta.NewEncoder(&enc)
	for i := range results {
		if err := encode(&results[i]); err != nil {
			t.Fatal(err)
		}
	}
	col := newResultCollector()
	if _, err := io.Copy(col, &enc); err != nil {
		t.Fatal(err)
	}
	got, err := col.close()
	if err != nil {
		t.Fatal(err)
	}
	want := []report.LoadSample{
		{Load: "web GET /order", Route: "web GET /order", At: at.UnixNano(), Latency: 3 * time.Millisecond, Code: 200},
		{Load: mix, Route: "web POST /b", At: at.Add(time.Second).UnixNano(), Latency: 9 * time.Millisecond, Code: 503},
		{Load: mix, Route: "web GET /a", At: at.Add(2 * time.Second).UnixNano(), Latency: time.Second},
	}
	if !slices.Equal(got, want) {
		t.Errorf("samples %+v, want %+v", got, want)
	}
}

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
