package containers

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strconv"
	"syscall"

	"github.com/moby/moby/client"
	"github.com/testcontainers/testcontainers-go"
)

// CleanOptions choose what Clean removes.
type CleanOptions struct {
	// Run, when set, removes only what is labelled with this run ID.
	Run string
	// Orphans removes only what belongs to processes no longer alive
	// (label tracerig.pid): the sweep at the start of a run, which leaves
	// concurrent runs alone.
	Orphans bool
	// Images also removes tracerig's service images.
	Images bool
}

// Removed counts what Clean removed.
type Removed struct {
	Containers, Networks, Images int
}

// Clean removes the containers and networks labelled tracerig=1 (and the
// images, with Images).
func Clean(ctx context.Context, opts CleanOptions) (Removed, error) {
	cli, err := Docker(ctx)
	if err != nil {
		return Removed{}, err
	}
	defer cli.Close()
	return clean(ctx, cli, opts)
}

func clean(ctx context.Context, cli *testcontainers.DockerClient, opts CleanOptions) (Removed, error) {
	var out Removed
	var errs []error
	f := client.Filters{}.Add("label", LabelKey+"=1")
	if opts.Run != "" {
		f = f.Add("label", RunLabel+"="+opts.Run)
	}
	keep := func(labels map[string]string) bool {
		if !opts.Orphans {
			return false
		}
		pid, err := strconv.Atoi(labels[PIDLabel])
		return err != nil || alive(pid)
	}
	cs, err := cli.ContainerList(ctx, client.ContainerListOptions{All: true, Filters: f})
	if err != nil {
		return out, fmt.Errorf("list containers: %w", err)
	}
	for _, c := range cs.Items {
		if keep(c.Labels) {
			continue
		}
		if _, err := cli.ContainerRemove(ctx, c.ID, client.ContainerRemoveOptions{Force: true, RemoveVolumes: true}); err != nil {
			errs = append(errs, fmt.Errorf("remove container %s: %w", c.ID[:12], err))
			continue
		}
		out.Containers++
	}
	ns, err := cli.NetworkList(ctx, client.NetworkListOptions{Filters: f})
	if err != nil {
		return out, errors.Join(append(errs, fmt.Errorf("list networks: %w", err))...)
	}
	for _, n := range ns.Items {
		if keep(n.Labels) {
			continue
		}
		if _, err := cli.NetworkRemove(ctx, n.ID, client.NetworkRemoveOptions{}); err != nil {
			errs = append(errs, fmt.Errorf("remove network %s: %w", n.Name, err))
			continue
		}
		out.Networks++
	}
	if opts.Run != "" {
		// The run's own images (a label on top of the shared, cached base
		// image) go with it.
		is, err := cli.ImageList(ctx, client.ImageListOptions{Filters: f})
		if err != nil {
			return out, errors.Join(append(errs, fmt.Errorf("list images: %w", err))...)
		}
		for _, im := range is.Items {
			if _, err := cli.ImageRemove(ctx, im.ID, client.ImageRemoveOptions{Force: true}); err != nil {
				errs = append(errs, fmt.Errorf("remove image %s: %w", im.ID, err))
				continue
			}
			out.Images++
		}
	}
	if opts.Images {
		is, err := cli.ImageList(ctx, client.ImageListOptions{Filters: client.Filters{}.Add("label", LabelKey+"=1")})
		if err != nil {
			return out, errors.Join(append(errs, fmt.Errorf("list images: %w", err))...)
		}
		for _, im := range is.Items {
			if _, err := cli.ImageRemove(ctx, im.ID, client.ImageRemoveOptions{Force: true, PruneChildren: true}); err != nil {
				errs = append(errs, fmt.Errorf("remove image %s: %w", im.ID, err))
				continue
			}
			out.Images++
		}
		buildMu.Lock()
		builtImage = ""
		buildMu.Unlock()
	}
	return out, errors.Join(errs...)
}

// alive reports whether a process with this ID runs on this machine.
func alive(pid int) bool {
	if pid <= 0 {
		return false
	}
	p, err := os.FindProcess(pid)
	if err != nil {
		return false
	}
	return p.Signal(syscall.Signal(0)) == nil
}
