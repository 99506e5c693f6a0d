package main

import (
	"context"
	"encoding/json"
	"io"

	"github.com/spf13/cobra"
)

// Output formats of the commands that print a result.
const (
	outputText = "text"
	outputJSON = "json"
)

// addOutputFlag defines --output (-o) on cmd: text for people, json for
// machines.
func addOutputFlag(cmd *cobra.Command, what string) *string {
	o := cmd.Flags().StringP("output", "o", outputText, "`FORMAT` of "+what+" on stdout: text or json")
	cmd.RegisterFlagCompletionFunc("output", fixedValues(outputText, outputJSON))
	return o
}

// checkOutputFormat refuses an --output other than text and json.
func checkOutputFormat(format string) error {
	if format != outputText && format != outputJSON {
		return usageError("--output must be text or json, not %q", format)
	}
	return nil
}

// writeJSON writes v to w as indented JSON and a newline.
func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

type commandLineKey struct{}

// withCommandLine returns ctx carrying the command line tracerig was
// started with, which reports record (masked).
func withCommandLine(ctx context.Context, args []string) context.Context {
	return context.WithValue(ctx, commandLineKey{}, append([]string{"tracerig"}, args...))
}

// commandLine returns the command line ctx carries; nil for none.
func commandLine(ctx context.Context) []string {
	cl, _ := ctx.Value(commandLineKey{}).([]string)
	return cl
}
