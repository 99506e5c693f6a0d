package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/tracerig/tracerig/scenarios"
	"github.com/tracerig/tracerig/scenarios/recorded"
	"github.com/tracerig/tracerig/topology"
	"github.com/tracerig/tracerig/topology/infer"
)

// inferFlags are the infer command's settings.
type inferFlags struct {
	from, out, name    string
	window, checkFor   time.Duration
	check              bool
	headers            []string
	ca                 string
	insecureSkipVerify bool
}

// newInferCmd returns the infer command.
func newInferCmd() *cobra.Command {
	var f inferFlags
	cmd := &cobra.Command{
		Use:   "infer [flags]",
		Short: "Write a topology and a scenario derived from recorded traces",
		Long: `Derive a topology and a scenario from recorded traces and write them as
OUT/topology.yaml and OUT/scenario.yaml, with comments saying what each number
was derived from and from how many samples; 'tracerig run OUT/scenario.yaml'
runs them as they are. Spans that could not be used are summed up by reason.

--from names the source:
  FILE or -                      OTLP protobuf or JSON (an ExportTraceServiceRequest),
                                 or the Collector file exporter's JSON lines; gzip or not
  jaeger+http(s)://HOST:PORT     a Jaeger query API
  tempo+http(s)://HOST:PORT      a Tempo HTTP API
  tracerig+http(s)://HOST:PORT   the query API of 'tracerig backend' (the default)
A query API is read for the last --window. Header values are templates:
'Authorization=Bearer ${TOKEN}' sends the value of $TOKEN, so credentials never
show on a command line.

--check then runs the written scenario (its load capped at --check-duration),
infers again from the spans that reached its backend, and prints, per route,
whether the call tree is the source's, the own latency's p50 and p99 and the
error rate of both, and per entry route the spans per trace.`,
		Example: `  tracerig run --save-spans spans.pb shop && tracerig infer --from spans.pb --out shop-copy
  tracerig infer --from otel-export.jsonl --name checkout --check
  tracerig infer --from jaeger+https://jaeger.example:16686 --window 30m --header 'Authorization=Bearer ${JAEGER_TOKEN}'`,
		Args: args(0, 0, ""),
		RunE: action(func(ctx context.Context, cmd *cobra.Command, _ []string) error {
			return inferCmd(ctx, f, cmd.OutOrStdout(), cmd.ErrOrStderr())
		}),
	}
	fs := cmd.Flags()
	fs.StringVar(&f.from, "from", recorded.DefaultFrom, "where the traces are read: `SOURCE` (a file, - for stdin, or jaeger+URL, tempo+URL, tracerig+URL)")
	fs.DurationVar(&f.window, "window", time.Hour, "how far back a query API is read")
	fs.StringVar(&f.out, "out", "", "the `DIR` the files are written to (default: the name)")
	fs.StringVar(&f.name, "name", "inferred", "the topology's and the scenario's name")
	fs.BoolVar(&f.check, "check", false, "run the written scenario and compare what it sends with the source, route by route")
	fs.DurationVar(&f.checkFor, "check-duration", recorded.DefaultCheckDuration, "the longest load of the --check run")
	fs.StringArrayVar(&f.headers, "header", nil, "`NAME=VALUE` sent to a query API; ${VAR} in VALUE is read from the environment (repeatable)")
	fs.StringVar(&f.ca, "ca", "", "PEM `FILE` of the CA that signed the query API's certificate")
	fs.BoolVar(&f.insecureSkipVerify, "insecure-skip-verify", false, "accept any certificate from the query API")
	return cmd
}

// inferCmd reads the source, writes the files, prints what could not be
// used, and runs the fidelity check when asked.
func inferCmd(ctx context.Context, f inferFlags, stdout, stderr io.Writer) error {
	if f.name == "" || strings.ContainsAny(f.name, "/\\") {
		return usageError("--name must be a plain name, got %q", f.name)
	}
	if f.out == "" {
		f.out = f.name
	}
	acc := recorded.Access{TLS: topology.TLS{CA: f.ca, InsecureSkipVerify: f.insecureSkipVerify}, Getenv: os.Getenv, Window: f.window}
	for _, h := range f.headers {
		k, v, ok := strings.Cut(h, "=")
		if !ok || k == "" {
			return usageError("--header must be NAME=VALUE, got a value without '='")
		}
		acc.Headers = append(acc.Headers, topology.Header{Key: k, Value: v})
	}
	src, err := recorded.Open(f.from, acc)
	if err != nil {
		return inferError(err)
	}
	opts := infer.Options{Name: f.name}
	res, st, err := recorded.Infer(ctx, src, opts)
	if err != nil {
		return inferError(err)
	}
	if err := recorded.Write(f.out, res); err != nil {
		return err
	}
	fmt.Fprintf(stderr, "read %d spans from %s\n", st.Spans, src)
	printInferred(stderr, res)
	fmt.Fprintf(stdout, "%s\n%s\n", filepath.Join(f.out, recorded.TopologyFile), filepath.Join(f.out, recorded.ScenarioFile))
	if !f.check {
		return nil
	}
	out, err := os.MkdirTemp("", "tracerig-infer-check-")
	if err != nil {
		return fmt.Errorf("check: %w", err)
	}
	defer os.RemoveAll(out)
	cr, err := recorded.Check(ctx, f.out, res.Model, recorded.CheckOptions{Duration: f.checkFor, OutDir: out, Progress: stderr, Infer: opts})
	if err != nil {
		return inferError(err)
	}
	fmt.Fprintln(stdout)
	if err := cr.Fidelity.Write(stdout); err != nil {
		return err
	}
	verdict := "pass"
	if cr.Report.Failed() {
		verdict = "fail"
	}
	fmt.Fprintf(stdout, "\nthe inferred scenario's own checks: %s\n", verdict)
	return nil
}

// printInferred sums up what was derived and what could not be used.
func printInferred(w io.Writer, res *infer.Result) {
	routes := 0
	for _, s := range res.Model.Services {
		routes += len(s.Routes)
	}
	fmt.Fprintf(w, "inferred %d services, %d routes, %d entry routes over %s\n",
		len(res.Model.Services), routes, len(res.Model.Entries), res.Model.Window.Round(time.Millisecond))
	if len(res.Unused.Reasons) > 0 {
		fmt.Fprintf(w, "not used, or used with a caveat:\n%s", indent(res.Unused.String()))
	}
}

func indent(s string) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	return "  " + strings.Join(lines, "\n  ") + "\n"
}

// inferError gives an error its exit code: unusable input or a bad setting
// exits 2, a source or run that failed exits 3.
func inferError(err error) error {
	var in *recorded.InputError
	var rerr *scenarios.RuntimeError
	switch {
	case errors.As(err, &rerr):
		return &exitError{code: exitRuntime, err: err}
	case errors.As(err, &in):
		return &exitError{code: exitUsage, err: err}
	}
	return &exitError{code: exitRuntime, err: err}
}
