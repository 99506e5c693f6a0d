package main

import (
	"context"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

var (
	blastSentRE      = regexp.MustCompile(`(?m)^  sent +(\d+) spans in (\d+) traces`)
	blastDeliveredRE = regexp.MustCompile(`(?m)^  delivered +(\d+) spans = (\d+) spans/s$`)
)

// TestBlastEmbedded blasts the shop for a second into the embedded backend:
// every span sent is delivered, the backend holds exactly those, and the
// sampled traces are complete.
func TestBlastEmbedded(t *testing.T) {
	var stdout, stderr strings.Builder
	code := run(context.Background(), []string{"blast", "--duration", "1s", "--workers", "2", "--conns", "1", "--batch", "512", "shop"}, &stdout, &stderr)
	out := stdout.String()
	if code != exitOK {
		t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", code, out, stderr.String())
	}
	sent, delivered := blastSentRE.FindStringSubmatch(out), blastDeliveredRE.FindStringSubmatch(out)
	if sent == nil || delivered == nil {
		t.Fatalf("no sent/delivered lines:\n%s", out)
	}
	if n, _ := strconv.Atoi(sent[1]); n == 0 || sent[1] != delivered[1] {
		t.Fatalf("sent %s, delivered %s:\n%s", sent[1], delivered[1], out)
	}
	if !strings.Contains(out, "read-back  OK: backend holds "+sent[1]+" spans in "+sent[2]+" traces") {
		t.Fatalf("read-back does not confirm %s spans in %s traces:\n%s", sent[1], sent[2], out)
	}
	for _, want := range []string{"undelivered 0 spans", "CPU-s per 1M spans", "peak RSS"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
}

// TestBlastUnreachable: every span to a sink that is not there is counted
// as undelivered, and the exit code is 1.
func TestBlastUnreachable(t *testing.T) {
	var stdout, stderr strings.Builder
	code := run(context.Background(), []string{"blast", "--duration", "300ms", "--otlp-endpoint", "127.0.0.1:1", "quickstart"}, &stdout, &stderr)
	if code != exitCheckFailed {
		t.Fatalf("exit %d, want 1\n%s%s", code, stdout.String(), stderr.String())
	}
	if !strings.Contains(stdout.String(), "delivered  0 spans") || !strings.Contains(stderr.String(), "not delivered") {
		t.Fatalf("stdout:\n%s\nstderr:\n%s", stdout.String(), stderr.String())
	}
}

func TestBlastBenchUsage(t *testing.T) {
	for _, args := range [][]string{
		{"blast"},
		{"blast", "--duration", "0s", "shop"},
		{"blast", "--workers", "0", "shop"},
		{"blast", "no-such-scenario"},
		{"bench", "--sink", "nope"},
		{"bench", "a", "b"},
	} {
		var stdout, stderr strings.Builder
		if code := run(context.Background(), args, &stdout, &stderr); code != exitUsage {
			t.Errorf("%q: exit %d, want 2\n%s", args, code, stderr.String())
		}
	}
}
