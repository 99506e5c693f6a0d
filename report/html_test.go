package report

import (
	"bytes"
	"context"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/html"

	"github.com/tracerig/tracerig/internal/browsertest"
	"github.com/tracerig/tracerig/topology"
)

// checkSelfContained fails unless page fetches nothing: no http(s) URL in
// any attribute or style sheet (text may mention one), no <script src>, no
// <link href>, no <img>, <iframe>, <object> or <embed> source.
func checkSelfContained(t *testing.T, page []byte) {
	t.Helper()
	z := html.NewTokenizer(bytes.NewReader(page))
	inStyle := false
	for {
		tt := z.Next()
		switch tt {
		case html.ErrorToken:
			if z.Err() != io.EOF {
				t.Fatalf("report.html does not tokenize: %v", z.Err())
			}
			return
		case html.TextToken:
			if inStyle {
				css := strings.ToLower(string(z.Text()))
				for _, bad := range []string{"http://", "https://", "@import", "url("} {
					if strings.Contains(css, bad) {
						t.Errorf("style sheet refers outside the file: contains %q", bad)
					}
				}
			}
		case html.StartTagToken, html.SelfClosingTagToken, html.EndTagToken:
			tok := z.Token()
			if tok.Data == "style" {
				inStyle = tt == html.StartTagToken
			}
			for _, a := range tok.Attr {
				v := strings.ToLower(a.Val)
				if strings.Contains(v, "http://") || strings.Contains(v, "https://") {
					t.Errorf("<%s %s=%q> refers to the network", tok.Data, a.Key, a.Val)
				}
				switch {
				case tok.Data == "script" && a.Key == "src",
					tok.Data == "link" && a.Key == "href",
					(tok.Data == "img" || tok.Data == "iframe" || tok.Data == "embed" || tok.Data == "source") && a.Key == "src",
					tok.Data == "object" && a.Key == "data",
					a.Key == "href" && !strings.HasPrefix(a.Val, "#"),
					a.Key == "xlink:href" && !strings.HasPrefix(a.Val, "#"):
					t.Errorf("<%s %s=%q> loads a resource", tok.Data, a.Key, a.Val)
				}
				if a.Key == "style" && strings.Contains(v, "url(") && !strings.Contains(v, "url(#") {
					t.Errorf("<%s style=%q> loads a resource", tok.Data, a.Val)
				}
			}
		}
	}
}

func TestHTMLReportSample(t *testing.T) {
	rep := sampleReport(t)
	var buf bytes.Buffer
	if err := rep.WriteHTML(&buf); err != nil {
		t.Fatal(err)
	}
	page := buf.String()
	checkSelfContained(t, buf.Bytes())
	for _, want := range []string{
		"<!DOCTYPE html>", "fault-strip-headers", "seed <b>11</b>", `class="badge FAIL"`,
		"2 breaks on 1 edge (api -&gt; store) &lt;&amp;&gt; &#34;quoted&#34;", // escaped
		"explained by fault #1", `class="unexplained"`, "not run: no read-back",
		`class="topology"`, "2 of 10 broken", edgeBroken, edgeFine, edgeUnseen,
		"Latency of gateway GET /order", "Requests per second", "Spans per second", "Export queues", "Loss over time", "Sampling:",
		"#1 strip-headers api -&gt; store", // the fault band's label
	} {
		if !strings.Contains(page, want) {
			t.Errorf("report.html lacks %q", want)
		}
	}
	if strings.Contains(page, "<script") {
		t.Error("report.html has a script")
	}
	if dir := os.Getenv("TRACERIG_REPORT_KEEP"); dir != "" {
		_ = os.WriteFile(filepath.Join(dir, "sample.html"), buf.Bytes(), 0o644)
	}
	if n := strings.Count(page, "<svg"); n != 7 {
		t.Errorf("%d inline SVGs, want the topology and 6 plots", n)
	}

	// Without a topology, samples or spans the page still renders and
	// says what is missing.
	rep.Evidence = &Evidence{}
	buf.Reset()
	if err := rep.WriteHTML(&buf); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"no topology graph", "no latency histograms", "no span plots"} {
		if !strings.Contains(buf.String(), want) {
			t.Errorf("bare report.html lacks %q", want)
		}
	}
}

func TestHTMLTopologyLayers(t *testing.T) {
	sc, err := topology.LoadScenario("testdata/golden/scenarios/shop.yaml")
	if err != nil {
		t.Fatal(err)
	}
	nodes, byName := layoutNodes(sc.Topology, nil)
	if len(nodes) != len(sc.Topology.Services) {
		t.Fatalf("%d nodes for %d services", len(nodes), len(sc.Topology.Services))
	}
	for _, e := range sc.Topology.Edges() {
		a, z := byName[e.From], byName[e.To]
		if z.layer <= a.layer {
			t.Errorf("edge %s -> %s goes from layer %d to %d: want callees below their callers in an acyclic topology", e.From, e.To, a.layer, z.layer)
		}
	}
	// No two nodes overlap.
	for i, a := range nodes {
		for _, b := range nodes[i+1:] {
			if a.layer == b.layer && a.x-a.w/2 < b.x+b.w/2 && b.x-b.w/2 < a.x+a.w/2 {
				t.Errorf("%s and %s overlap", a.name, b.name)
			}
		}
	}
}

// TestHTMLReportChromium renders the report.html of a real run (the
// payment-brownout golden) in headless Chromium: the screenshot must be a
// real page, not a blank or flat image.
func TestHTMLReportChromium(t *testing.T) {
	chromium := requireTool(t, "chromium", "chromium", "chromium-browser")
	out := t.TempDir()
	page, err := os.ReadFile("testdata/golden/payment-brownout/report.html")
	if err != nil {
		t.Fatal(err)
	}
	checkSelfContained(t, page)
	if err := os.WriteFile(filepath.Join(out, "report.html"), page, 0o644); err != nil {
		t.Fatal(err)
	}
	shot := filepath.Join(out, "report.png")
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	start := time.Now()
	cmd := exec.CommandContext(ctx, chromium, "--headless", "--no-sandbox", "--disable-gpu",
		"--hide-scrollbars", "--no-first-run", "--no-default-browser-check",
		"--user-data-dir="+filepath.Join(out, "chromium-profile"),
		"--screenshot="+shot, "--window-size=1400,2400", "file://"+filepath.Join(out, "report.html"))
	cmd.Env = append(os.Environ(), "HOME="+out)
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("chromium: %v\n%s", err, b)
	}
	t.Logf("chromium took %s", time.Since(start).Round(time.Millisecond))
	data, err := os.ReadFile(shot)
	if err != nil {
		t.Fatalf("no screenshot: %v", err)
	}
	browsertest.CheckPNG(t, "report.png", data, 1400, 2400)
	if dir := os.Getenv("TRACERIG_REPORT_KEEP"); dir != "" {
		if b, err := os.ReadFile(shot); err == nil {
			_ = os.WriteFile(filepath.Join(dir, "report.png"), b, 0o644)
		}
	}
}

// TestHTMLReportInterrupted requires the page of an interrupted run to say
// so and to stay self-contained.
func TestHTMLReportInterrupted(t *testing.T) {
	ev := sampleEvidence(t)
	ev.Interrupted = true
	rep := New(ev)
	rep.SetVerdicts(sampleVerdicts())
	var buf bytes.Buffer
	if err := rep.WriteHTML(&buf); err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(buf.Bytes(), []byte(`class="badge INTERRUPTED"`)) {
		t.Error("report.html of an interrupted run is not marked INTERRUPTED")
	}
	checkSelfContained(t, buf.Bytes())
}
