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
	col := newResultCollector(maxLoadSamples, 1)
	if _, err := io.Copy(col, &enc); err != nil {
		t.Fatal(err)
	}
	got, of, err := col.close()
	if err != nil || of != 3 {
		t.Fatalf("%d results, err %v", of, err)
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
	col := newResultCollector(maxLoadSamples, 1)
	for _, chunk := range [][]byte{enc.Bytes(), {0x07, 0xff, 0x81, 0x03, 0x00, 0x42, 0x42}, bytes.Repeat([]byte{0x42}, 64<<10)} {
		if _, err := col.Write(chunk); err != nil {
			t.Fatalf("write: %v", err)
		}
	}
	samples, _, err := col.close()
	if err == nil || len(samples) != 3 {
		t.Errorf("%d samples, err %v: want the 3 good ones and an error", len(samples), err)
	}
}

// TestSampleReservoir: up to its size a reservoir keeps every sample in
// order; beyond, a fixed-size sample in which every result is about equally
// likely (each tenth of the stream holds about a tenth of the sample), the
// same for the same seed.
func TestSampleReservoir(t *testing.T) {
	fill := func(seed uint64, n int) *sampleReservoir {
		r := newSampleReservoir(1000, seed)
		for i := range n {
			r.add(report.LoadSample{At: int64(i)})
		}
		return r
	}
	small := fill(1, 700)
	for i, s := range small.kept {
		if s.At != int64(i) {
			t.Fatalf("below its size the reservoir reordered or dropped samples: %d at %d", s.At, i)
		}
	}
	const n = 100_000
	big := fill(1, n)
	if len(big.kept) != 1000 || big.seen != n {
		t.Fatalf("kept %d of %d, want 1000 of %d", len(big.kept), big.seen, n)
	}
	var tenths [10]int
	for _, s := range big.kept {
		tenths[s.At*10/n]++
	}
	for i, c := range tenths {
		// 100 expected per tenth; 5 standard deviations is about 47.
		if c < 53 || c > 147 {
			t.Errorf("tenth %d of the stream holds %d of 1000 samples, want about 100", i, c)
		}
	}
	if again := fill(1, n); !slices.Equal(again.kept, big.kept) {
		t.Error("the same seed chose another sample")
	}
}
