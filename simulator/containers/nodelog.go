package containers

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"time"

	"github.com/moby/moby/api/pkg/stdcopy"
	"github.com/moby/moby/client"
	"github.com/testcontainers/testcontainers-go"
)

// nodeLog follows a node container's stdout and stderr into a file for
// the whole run.
type nodeLog struct {
	f      *os.File
	cancel context.CancelFunc
	done   chan struct{}
}

// openNodeLog creates the file at path, and its directories.
func openNodeLog(path string) (*nodeLog, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, err
	}
	f, err := os.Create(path)
	if err != nil {
		return nil, err
	}
	return &nodeLog{f: f}, nil
}

// follow copies the container's output, from its start, into the file
// until the container stops or is removed, or close gives up on it. It
// follows with a context of its own: the output is the run's, not the
// start's.
func (l *nodeLog) follow(cli *testcontainers.DockerClient, id string) {
	ctx, cancel := context.WithCancel(context.Background())
	l.cancel, l.done = cancel, make(chan struct{})
	go func() {
		defer close(l.done)
		rc, err := cli.ContainerLogs(ctx, id, client.ContainerLogsOptions{ShowStdout: true, ShowStderr: true, Follow: true})
		if err != nil {
			return
		}
		defer rc.Close()
		stdcopy.StdCopy(l.f, l.f, rc)
	}()
}

// logDrain bounds how long close waits for the rest of a removed
// container's output.
const logDrain = 5 * time.Second

// close waits for the output to end (the container is removed first),
// then closes the file.
func (l *nodeLog) close() error {
	if l == nil {
		return nil
	}
	if l.done != nil {
		select {
		case <-l.done:
		case <-time.After(logDrain):
			l.cancel()
			<-l.done
		}
		l.cancel()
	}
	return l.f.Close()
}

// containerOutput returns what the container wrote so far, stdout and
// stderr interleaved.
func containerOutput(ctx context.Context, cli *testcontainers.DockerClient, id string) ([]byte, error) {
	rc, err := cli.ContainerLogs(ctx, id, client.ContainerLogsOptions{ShowStdout: true, ShowStderr: true})
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	var buf bytes.Buffer
	_, err = stdcopy.StdCopy(&buf, &buf, rc)
	return buf.Bytes(), err
}

// writeNodeLog writes the output of a node that did not come up to path.
func writeNodeLog(path string, out []byte) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	return os.WriteFile(path, out, 0o644)
}
