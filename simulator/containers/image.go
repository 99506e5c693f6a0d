package containers

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"

	"github.com/moby/moby/client"
	"github.com/testcontainers/testcontainers-go"
	tclog "github.com/testcontainers/testcontainers-go/log"
)

// Labels every container, network and image tracerig makes carries.
const (
	LabelKey   = "tracerig"
	RunLabel   = "tracerig.run"
	PIDLabel   = "tracerig.pid" // the process that owns the run, for the sweep
	ImageRepo  = "tracerig/service"
	modulePath = "github.com/tracerig/tracerig"
)

// RyukEnv is the environment variable that turns testcontainers' Ryuk off
// ("true"): a run removes what it makes itself, by label, and Ryuk's image
// would come from a registry. testcontainers reads it from the process
// environment (or ~/.testcontainers.properties) once, before its first
// container, so a program that runs containers sets it first, as
// cmd/tracerig's main does.
const RyukEnv = "TESTCONTAINERS_RYUK_DISABLED"

// quiet silences testcontainers, which logs every step to stderr; tracerig
// reports its own.
func quiet() {
	quietOnce.Do(func() {
		if os.Getenv("TRACERIG_CONTAINERS_DEBUG") == "" {
			tclog.SetDefault(tclog.NewNoopLogger())
		}
	})
}

var quietOnce sync.Once

// ErrNoDocker is returned when no Docker engine answers.
var ErrNoDocker = errors.New("runtime containers needs a Docker engine")

// Docker returns a client of the Docker engine, or an error wrapping
// ErrNoDocker that suggests the in-process runtime. Ryuk must be off
// (RyukEnv) unless the environment asks for it.
func Docker(ctx context.Context) (*testcontainers.DockerClient, error) {
	quiet()
	cli, err := testcontainers.NewDockerClientWithOpts(ctx)
	if err == nil {
		_, err = cli.Ping(ctx, client.PingOptions{})
		if err != nil {
			cli.Close()
		}
	}
	if err != nil {
		return nil, dockerError(err)
	}
	if os.Getenv(RyukEnv) == "" && !testcontainers.ReadConfig().RyukDisabled {
		cli.Close()
		return nil, fmt.Errorf("runtime containers needs testcontainers' Ryuk off (tracerig removes what it makes itself, and Ryuk's image would come from a registry): set %s=true", RyukEnv)
	}
	return cli, nil
}

func dockerError(err error) error {
	return fmt.Errorf("%w, and none answers (%v); start Docker, or use `runtime: inprocess`", ErrNoDocker, err)
}

var (
	buildMu    sync.Mutex
	builtImage string // tag of the image built by this process
)

// EnsureImage builds tracerig statically and the service image around it
// (FROM scratch), tagged tracerig/service:<hash of the binary>, unless that
// tag exists already. The binary is $TRACERIG_BINARY when set (a static
// Linux build), else built from the module found above the working directory.
func EnsureImage(ctx context.Context, cli *testcontainers.DockerClient) (string, error) {
	buildMu.Lock()
	defer buildMu.Unlock()
	if builtImage != "" {
		if _, err := cli.ImageInspect(ctx, builtImage); err == nil {
			return builtImage, nil
		}
	}
	dir, err := os.MkdirTemp("", "tracerig-image-")
	if err != nil {
		return "", err
	}
	defer os.RemoveAll(dir)
	bin := filepath.Join(dir, "tracerig")
	if pre := os.Getenv("TRACERIG_BINARY"); pre != "" {
		bin = pre
	} else if err := buildBinary(ctx, bin); err != nil {
		return "", err
	}
	data, err := os.ReadFile(bin)
	if err != nil {
		return "", err
	}
	sum := sha256.Sum256(data)
	tag := ImageRepo + ":" + hex.EncodeToString(sum[:6])
	if _, err := cli.ImageInspect(ctx, tag); err == nil {
		builtImage = tag
		return tag, nil
	}
	if err := buildScratchImage(ctx, cli, tag, "tracerig", data); err != nil {
		return "", err
	}
	builtImage = tag
	return tag, nil
}

// buildBinary builds tracerig statically for Linux into out.
func buildBinary(ctx context.Context, out string) error {
	root, err := moduleRoot()
	if err != nil {
		return err
	}
	cmd := exec.CommandContext(ctx, "go", "build", "-trimpath", "-o", out, "./cmd/tracerig")
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux")
	if b, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("build tracerig for the service image: %w\n%s", err, b)
	}
	return nil
}

// moduleRoot walks up from the working directory to tracerig's go.mod.
func moduleRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if b, err := os.ReadFile(filepath.Join(dir, "go.mod")); err == nil && strings.Contains(string(b), "module "+modulePath+"\n") {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", fmt.Errorf("no %s module above the working directory to build the service image from; set TRACERIG_BINARY to a static Linux build of tracerig", modulePath)
		}
		dir = parent
	}
}

// buildScratchImage builds an image FROM scratch holding one static binary
// at /name as its entry point, tagged tag and labelled as tracerig's.
func buildScratchImage(ctx context.Context, cli *testcontainers.DockerClient, tag, name string, data []byte) error {
	dockerfile := fmt.Sprintf("FROM scratch\nCOPY %[1]s /%[1]s\nENTRYPOINT [\"/%[1]s\"]\n", name)
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, f := range []struct {
		name string
		mode int64
		data []byte
	}{{"Dockerfile", 0o644, []byte(dockerfile)}, {name, 0o755, data}} {
		if err := tw.WriteHeader(&tar.Header{Name: f.name, Mode: f.mode, Size: int64(len(f.data))}); err != nil {
			return err
		}
		tw.Write(f.data)
	}
	tw.Close()
	res, err := cli.ImageBuild(ctx, &buf, client.ImageBuildOptions{
		Tags:        []string{tag},
		Dockerfile:  "Dockerfile",
		Labels:      map[string]string{LabelKey: "1"},
		Remove:      true,
		ForceRemove: true,
	})
	if err != nil {
		return fmt.Errorf("build image %s: %w", tag, err)
	}
	defer res.Body.Close()
	// The build reports its failure in the stream.
	dec := json.NewDecoder(res.Body)
	for {
		var msg struct {
			Error string `json:"error"`
		}
		if err := dec.Decode(&msg); err == io.EOF {
			break
		} else if err != nil {
			return fmt.Errorf("build image %s: %w", tag, err)
		}
		if msg.Error != "" {
			return fmt.Errorf("build image %s: %s", tag, msg.Error)
		}
	}
	return nil
}

// JaegerImageRepo is the repository of the Jaeger images tracerig builds.
const JaegerImageRepo = "tracerig/jaeger"

// EnsureJaegerImage builds an image FROM scratch around the static Jaeger
// binary bin (tools/jaeger/build.sh), tagged by the binary's hash, unless
// that tag exists already.
func EnsureJaegerImage(ctx context.Context, cli *testcontainers.DockerClient, bin string) (string, error) {
	buildMu.Lock()
	defer buildMu.Unlock()
	data, err := os.ReadFile(bin)
	if err != nil {
		return "", fmt.Errorf("read jaeger binary: %w", err)
	}
	sum := sha256.Sum256(data)
	tag := JaegerImageRepo + ":" + hex.EncodeToString(sum[:6])
	if _, err := cli.ImageInspect(ctx, tag); err == nil {
		return tag, nil
	}
	return tag, buildScratchImage(ctx, cli, tag, "jaeger", data)
}

// runImage builds the run's own image on top of base: the same content,
// labelled with the run's ID and tagged by it, so that everything a run
// leaves behind can be listed and removed by that label while the base
// image stays as a cache for later runs.
func runImage(ctx context.Context, cli *testcontainers.DockerClient, base, runID string) (string, error) {
	repo, _, _ := strings.Cut(base, ":")
	tag := repo + ":run-" + runID
	dockerfile := "FROM " + base + "\n"
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	if err := tw.WriteHeader(&tar.Header{Name: "Dockerfile", Mode: 0o644, Size: int64(len(dockerfile))}); err != nil {
		return "", err
	}
	tw.Write([]byte(dockerfile))
	tw.Close()
	res, err := cli.ImageBuild(ctx, &buf, client.ImageBuildOptions{
		Tags:        []string{tag},
		Dockerfile:  "Dockerfile",
		Labels:      map[string]string{LabelKey: "1", RunLabel: runID},
		Remove:      true,
		ForceRemove: true,
	})
	if err != nil {
		return "", fmt.Errorf("build image %s: %w", tag, err)
	}
	defer res.Body.Close()
	dec := json.NewDecoder(res.Body)
	for {
		var msg struct {
			Error string `json:"error"`
		}
		if err := dec.Decode(&msg); err == io.EOF {
			break
		} else if err != nil {
			return "", fmt.Errorf("build image %s: %w", tag, err)
		}
		if msg.Error != "" {
			return "", fmt.Errorf("build image %s: %s", tag, msg.Error)
		}
	}
	return tag, nil
}

// BuildBinaryImage builds an image FROM scratch around the static binary
// at bin (built with CGO_ENABLED=0), its entry point, tagged tag: a
// service of the user's as a test builds it for an image node. It is
// labelled as tracerig's; RemoveImage removes it.
func BuildBinaryImage(ctx context.Context, tag, bin string) error {
	data, err := os.ReadFile(bin)
	if err != nil {
		return fmt.Errorf("build image %s: %w", tag, err)
	}
	cli, err := Docker(ctx)
	if err != nil {
		return err
	}
	defer cli.Close()
	return buildScratchImage(ctx, cli, tag, filepath.Base(bin), data)
}

// RemoveImage removes the image tagged tag, if it exists.
func RemoveImage(ctx context.Context, tag string) error {
	cli, err := Docker(ctx)
	if err != nil {
		return err
	}
	defer cli.Close()
	if _, err := cli.ImageRemove(ctx, tag, client.ImageRemoveOptions{Force: true}); err != nil && !strings.Contains(err.Error(), "No such image") {
		return fmt.Errorf("remove image %s: %w", tag, err)
	}
	return nil
}
