package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"strconv"
	"time"

	"github.com/spf13/cobra"

	"github.com/tracerig/tracerig/scenarios"
)

// newBlastShardCmd returns the hidden command a shard's pod of blast
// --kubernetes runs.
func newBlastShardCmd() *cobra.Command {
	var f *blastFlags
	var spec, listen *string
	var index *int
	cmd := &cobra.Command{
		Use:    "blast-shard --spec FILE [flags]",
		Short:  "One generator of a sharded blast (blast --kubernetes runs it in each pod)",
		Hidden: true,
		Example: `  # what each pod of blast --kubernetes runs, its index from the Indexed Job:
  tracerig blast-shard --spec=/etc/tracerig/shard.json --listen=0.0.0.0:7070 --otlp-endpoint=10.96.0.20:4317 --rate=100000`,
		Args: args(0, 0, ""),
		RunE: action(func(ctx context.Context, cmd *cobra.Command, _ []string) error {
			return blastShardCmd(ctx, cmd, f, *spec, *listen, *index)
		}),
	}
	f = addBlastFlags(cmd.Flags(), 10*time.Second)
	spec = cmd.Flags().String("spec", "", "the shards' spec `FILE` (JSON) the host wrote")
	listen = cmd.Flags().String("listen", "127.0.0.1:7070", "serve the shard's API (ready, start, stop, result, done) on `ADDR`")
	index = cmd.Flags().Int("index", -1, "the shard's index (default: $JOB_COMPLETION_INDEX, an Indexed Job's)")
	return cmd
}

// blastShardCmd runs one shard until the host says it is done.
func blastShardCmd(ctx context.Context, cmd *cobra.Command, f *blastFlags, specFile, listen string, index int) error {
	x, err := f.resolveExport(os.Getenv)
	if err != nil {
		return err
	}
	if err := f.check(x); err != nil {
		return err
	}
	if index < 0 {
		if index, err = strconv.Atoi(os.Getenv("JOB_COMPLETION_INDEX")); err != nil {
			return usageError("no --index and no JOB_COMPLETION_INDEX: %v", err)
		}
	}
	data, err := os.ReadFile(specFile)
	if err != nil {
		return usageError("--spec: %v", err)
	}
	var spec scenarios.ShardSpec
	if err := json.Unmarshal(data, &spec); err != nil {
		return usageError("--spec %s: %v", specFile, err)
	}
	ln, err := net.Listen("tcp", listen)
	if err != nil {
		return &exitError{code: exitRuntime, err: fmt.Errorf("listen on %s: %w", listen, err)}
	}
	pod, _ := os.Hostname()
	run := f.options(x)
	run.OnSample = nil
	err = scenarios.RunShard(ctx, spec, scenarios.ShardOptions{Index: index, Pod: pod, Run: run, Listener: ln, Log: cmd.ErrOrStderr()})
	if err != nil {
		return &exitError{code: exitRuntime, err: err}
	}
	return nil
}
