package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
	"go.yaml.in/yaml/v3"

	"github.com/tracerig/tracerig/simulator"
	"github.com/tracerig/tracerig/simulator/control"
)

// controlEnv names the environment variable --control defaults to.
const controlEnv = "TRACERIG_CONTROL"

const faultLong = `Add, list and clear faults in a running scenario through its control API.

The run must be going with 'tracerig run --control ADDR'; --control defaults to
$TRACERIG_CONTROL. A fault added here starts now (its 'at' is ignored) and
lasts for its 'for', or until cleared or the load ends.`

// newFaultCmd returns the fault command and its subcommands add, list and
// clear, the clients of the control API that ` + "`tracerig run --control`" + ` serves.
func newFaultCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "fault add|list|clear",
		Short: "Add, list and clear faults in a run going with --control",
		Long:  faultLong,
		Example: `  tracerig run --control 127.0.0.1:7000 shop &
  export TRACERIG_CONTROL=127.0.0.1:7000
  tracerig fault add 'strip-headers: {from: cart, to: inventory}' --for 30s
  tracerig fault list
  tracerig fault clear 1`,
		Args:                       unknownCommand,
		SuggestionsMinimumDistance: 2,
		RunE: func(cmd *cobra.Command, _ []string) error {
			fmt.Fprint(cmd.ErrOrStderr(), cmd.UsageString())
			return commandLineError("want a subcommand: add, list or clear")
		},
	}
	cmd.AddCommand(newFaultAddCmd(), newFaultListCmd(), newFaultClearCmd())
	return cmd
}

// controlFlag defines --control on cmd.
func controlFlag(cmd *cobra.Command) *string {
	return cmd.Flags().String("control", os.Getenv(controlEnv), "`HOST:PORT` of the control API of a run started with --control (default $"+controlEnv+")")
}

// newFaultAddCmd returns fault add.
func newFaultAddCmd() *cobra.Command {
	var addr *string
	var forD time.Duration
	cmd := &cobra.Command{
		Use:   "add [flags] FILE|-|'FAULT'",
		Short: "Add a fault to a running scenario",
		Long: `Add a fault to a running scenario: one item of a scenario's faults list, from
FILE, standard input (-) or the argument itself. It starts now and lasts for
its 'for' (or --for, a Go duration such as 30s or 2m), or until cleared or the
load ends. Exits 2 when the run rejects it, with every problem on stderr.`,
		Example: `  tracerig fault add 'strip-headers: {from: cart, to: inventory}'
  tracerig fault add --for 1m outage.yaml
  echo 'latency: {service: cart, add: 200ms}' | tracerig fault add -`,
		Args: args(1, 1, "fault"),
		RunE: action(func(ctx context.Context, cmd *cobra.Command, args []string) error {
			return faultAdd(ctx, *addr, forD, cmd.Flags().Changed("for"), args[0], cmd.OutOrStdout(), cmd.ErrOrStderr())
		}),
	}
	addr = controlFlag(cmd)
	cmd.Flags().DurationVar(&forD, "for", 0, "how long the fault lasts, e.g. 30s; adds or overrides the fault's for:")
	return cmd
}

// newFaultListCmd returns fault list.
func newFaultListCmd() *cobra.Command {
	var addr *string
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "list [flags]",
		Short: "List the active faults, then the past fault windows",
		Long:  "List the active faults of a running scenario, then its past fault windows.",
		Example: `  tracerig fault list --control 127.0.0.1:7000
  tracerig fault list --json | jq '.active'`,
		Args: args(0, 0, ""),
		RunE: action(func(ctx context.Context, cmd *cobra.Command, _ []string) error {
			return faultList(ctx, *addr, asJSON, cmd.OutOrStdout())
		}),
	}
	addr = controlFlag(cmd)
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the control API's state as JSON, as it answers it")
	return cmd
}

// newFaultClearCmd returns fault clear.
func newFaultClearCmd() *cobra.Command {
	var addr *string
	cmd := &cobra.Command{
		Use:   "clear [flags] [ID]",
		Short: "Clear fault ID, or every active fault",
		Long:  "Clear the active fault ID ('tracerig fault list' gives them), or every active fault.",
		Example: `  tracerig fault clear 2
  tracerig fault clear`,
		Args: args(0, 1, "fault ID"),
		RunE: action(func(ctx context.Context, cmd *cobra.Command, args []string) error {
			return faultClear(ctx, *addr, args, cmd.OutOrStdout())
		}),
	}
	addr = controlFlag(cmd)
	return cmd
}

// faultAdd adds the fault arg names to the run at addr; forSet: --for
// forD was given.
func faultAdd(ctx context.Context, addr string, forD time.Duration, forSet bool, arg string, stdout, stderr io.Writer) error {
	c, err := newControlClient(addr)
	if err != nil {
		return err
	}
	if forSet && forD <= 0 {
		return usageError("--for must be positive, got %s", forD)
	}
	body, label, err := readFault(arg, os.Stdin)
	if err != nil {
		return &exitError{code: exitUsage, err: err}
	}
	if forSet {
		var same bool
		if body, same = withFor(body, forD); !same {
			// Positions in the server's errors are in the rewritten body.
			label = "request"
		}
	}
	ctx, cancel := context.WithTimeout(ctx, controlTimeout)
	defer cancel()
	id, err := c.Add(ctx, body)
	var ae *control.AnswerError
	if errors.As(err, &ae) && (ae.Status == http.StatusBadRequest || ae.Status == http.StatusConflict) {
		if msg, ok := ae.Message(); ok {
			return rejected(msg, label, stderr)
		}
	}
	if err != nil {
		return controlError(c, err)
	}
	fmt.Fprintf(stdout, "added fault %d\n", id)
	return nil
}

// rejected prints the problems the control API found in a fault, one a
// line, positions in label's text.
func rejected(msg, label string, stderr io.Writer) error {
	lines := strings.Split(strings.TrimRight(msg, "\n"), "\n")
	for _, l := range lines {
		if label != "request" {
			if rest, ok := strings.CutPrefix(l, "request:"); ok {
				l = label + ":" + rest
			}
		}
		fmt.Fprintln(stderr, l)
	}
	if len(lines) == 1 {
		return &exitError{code: exitUsage, err: errors.New("the fault was rejected")}
	}
	return &exitError{code: exitUsage, err: fmt.Errorf("the fault was rejected: %d problems", len(lines))}
}

// readFault reads the fault argument: a file, - for stdin, or else the
// argument itself as YAML. It returns the fault and the name the server's
// errors should carry in place of "request".
func readFault(arg string, stdin io.Reader) ([]byte, string, error) {
	if arg == "-" {
		data, err := io.ReadAll(stdin)
		if err != nil {
			return nil, "", fmt.Errorf("read the fault from stdin: %w", err)
		}
		return data, "stdin", nil
	}
	if fi, err := os.Stat(arg); err == nil && !fi.IsDir() {
		data, err := os.ReadFile(arg)
		if err != nil {
			return nil, "", fmt.Errorf("%s: cannot read: %w", arg, err)
		}
		return data, arg, nil
	}
	// A fault is a mapping, so inline YAML has a colon; an argument without
	// one is a file name that is not there.
	if !strings.Contains(arg, ":") {
		return nil, "", fmt.Errorf("%s: no such file (and not a fault written inline, like 'strip-headers: {from: cart, to: inventory}')", arg)
	}
	return []byte(arg), "argument", nil
}

// withFor returns the fault with its for: set to d, and whether the rest of
// it kept its place (so that the server's line:col still point into the
// original). A fault that does not parse is returned as it is, for the
// server to report.
func withFor(body []byte, d time.Duration) ([]byte, bool) {
	root := faultRoot(body)
	if root == nil {
		return body, true
	}
	val := d.String()
	if root.Style&yaml.FlowStyle == 0 && root.Column == 1 && !hasYAMLKey(root, "for") {
		// A block mapping: append a line, which leaves every position as
		// it was.
		out := append(bytes.TrimRight(slices.Clone(body), " \t\r\n"), "\nfor: "+val+"\n"...)
		if r := faultRoot(out); r != nil && yamlValue(r, "for") == val {
			return out, true
		}
	}
	doc := &yaml.Node{Kind: yaml.DocumentNode, Content: []*yaml.Node{root}}
	if v := yamlNode(root, "for"); v != nil {
		*v = yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: val}
	} else {
		root.Content = append(root.Content,
			&yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: "for"},
			&yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: val})
	}
	out, err := yaml.Marshal(doc)
	if err != nil {
		return body, true
	}
	return out, false
}

// faultRoot returns the mapping at the root of a one-document fault, or nil.
func faultRoot(body []byte) *yaml.Node {
	var doc yaml.Node
	if err := yaml.Unmarshal(body, &doc); err != nil || doc.Kind != yaml.DocumentNode || len(doc.Content) != 1 {
		return nil
	}
	if root := doc.Content[0]; root.Kind == yaml.MappingNode {
		return root
	}
	return nil
}

func yamlNode(m *yaml.Node, key string) *yaml.Node {
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			return m.Content[i+1]
		}
	}
	return nil
}

func hasYAMLKey(m *yaml.Node, key string) bool { return yamlNode(m, key) != nil }

func yamlValue(m *yaml.Node, key string) string {
	if v := yamlNode(m, key); v != nil {
		return v.Value
	}
	return ""
}

// faultList prints the faults of the run at addr.
func faultList(ctx context.Context, addr string, asJSON bool, stdout io.Writer) error {
	c, err := newControlClient(addr)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, controlTimeout)
	defer cancel()
	st, resp, err := c.Faults(ctx)
	if err != nil {
		return controlError(c, err)
	}
	if asJSON {
		var buf bytes.Buffer
		if json.Indent(&buf, resp, "", "  ") != nil {
			return unexpected(c, http.StatusOK, resp)
		}
		buf.WriteByte('\n')
		_, err := stdout.Write(buf.Bytes())
		return err
	}
	now := time.Now()
	tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', 0)
	if len(st.Active) == 0 {
		fmt.Fprintln(tw, "no active faults")
	} else {
		fmt.Fprintln(tw, "ID\tFAULT\tLIVE\tSINCE")
		for _, f := range st.Active {
			desc := f.Desc
			if f.Number > 0 {
				desc = fmt.Sprintf("#%d %s", f.Number, desc)
			}
			fmt.Fprintf(tw, "%d\t%s\t%s\t%s (%s ago)\n", f.ID, desc, yesNo(f.Live), f.Since.Local().Format("15:04:05"), roundAge(now.Sub(f.Since)))
		}
	}
	var past []int
	for i, w := range st.Windows {
		if !slices.ContainsFunc(st.Active, func(a simulator.FaultInfo) bool { return a.ID == w.ID }) {
			past = append(past, i)
		}
	}
	if len(past) > 0 {
		fmt.Fprintln(tw, "\npast windows:")
		fmt.Fprintln(tw, "ID\tFAULT\tLIVE\tFROM\tUNTIL\tLASTED")
		for _, i := range past {
			w := st.Windows[i]
			desc := w.Desc
			if w.Number > 0 {
				desc = fmt.Sprintf("#%d %s", w.Number, desc)
			}
			start, end := time.Unix(0, w.Start), time.Unix(0, w.End)
			fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\n", w.ID, desc, yesNo(w.Live),
				start.Local().Format("15:04:05.0"), end.Local().Format("15:04:05.0"), roundAge(end.Sub(start)))
		}
	}
	return tw.Flush()
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

func roundAge(d time.Duration) time.Duration {
	if d >= time.Minute {
		return d.Round(time.Second)
	}
	return d.Round(100 * time.Millisecond)
}

// faultClear clears the fault args names in the run at addr, or every
// active one.
func faultClear(ctx context.Context, addr string, args []string, stdout io.Writer) error {
	id := 0
	if len(args) == 1 {
		n, err := strconv.Atoi(args[0])
		if err != nil || n <= 0 {
			return usageError("fault ID must be a positive number, got %q (see 'tracerig fault list')", args[0])
		}
		id = n
	}
	c, err := newControlClient(addr)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, controlTimeout)
	defer cancel()
	if id == 0 {
		if err := c.ClearAll(ctx); err != nil {
			return controlError(c, err)
		}
		fmt.Fprintln(stdout, "cleared every active fault")
		return nil
	}
	err = c.Clear(ctx, id)
	var ae *control.AnswerError
	if errors.As(err, &ae) && ae.Status == http.StatusNotFound {
		if _, ok := ae.Message(); ok {
			return &exitError{code: exitUsage, err: fmt.Errorf("no active fault %d (see 'tracerig fault list')", id)}
		}
	}
	if err != nil {
		return controlError(c, err)
	}
	fmt.Fprintf(stdout, "cleared fault %d\n", id)
	return nil
}

// controlTimeout bounds the one request a fault subcommand sends.
const controlTimeout = 10 * time.Second

// newControlClient returns the client of the control API at addr, as
// --control or $TRACERIG_CONTROL gives it.
func newControlClient(addr string) (*control.Client, error) {
	if strings.TrimSpace(addr) == "" {
		return nil, usageError("no control address: pass --control HOST:PORT (printed by 'tracerig run --control') or set %s", controlEnv)
	}
	addr, err := control.ParseAddr(addr)
	if err != nil {
		return nil, usageError("--control: %v", err)
	}
	// No keep-alive and no proxy: one request, straight to the run.
	return &control.Client{Addr: addr, HTTP: &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}}, nil
}

// controlError is the CLI's error for a failed request to the control API:
// an interruption, an API that does not answer (and what to check), or an
// answer that is not the control API's.
func controlError(c *control.Client, err error) error {
	var ae *control.AnswerError
	switch {
	case errors.As(err, &ae):
		return unexpected(c, ae.Status, ae.Body)
	case errors.Is(err, control.ErrUnreachable) && errors.Is(err, context.Canceled):
		return &exitError{code: exitInterrupted, err: errors.New("interrupted")}
	case errors.Is(err, control.ErrUnreachable):
		return &exitError{code: exitRuntime, err: fmt.Errorf(
			"cannot reach the control API at %s: %v\n(a run must be going with --control %s, as in: tracerig run --control %s SCENARIO)",
			c.Addr, unwrapURLError(err), c.Addr, c.Addr)}
	}
	return &exitError{code: exitRuntime, err: err}
}

// unexpected is the error for an answer the control API does not give.
func unexpected(c *control.Client, status int, body []byte) error {
	msg, ok := (&control.AnswerError{Body: body}).Message()
	if !ok {
		msg = strings.TrimSpace(string(body))
		if len(msg) > 200 {
			msg = msg[:200] + "…"
		}
	}
	return &exitError{code: exitRuntime, err: fmt.Errorf("unexpected answer from %s (is it a tracerig run's control API?): %s: %s", c.Addr, http.StatusText(status), msg)}
}

// unwrapURLError drops the "Post \"http://...\": " prefix of a client
// error, which repeats the address.
func unwrapURLError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}
