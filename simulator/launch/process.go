package launch

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tracerig/tracerig/topology"
)

// Process is a command node to start.
type Process struct {
	Name string   // the service's name, in every error
	Argv []string // the program and its arguments, {port} replaced (see Args)
	// Env is added to os.Environ(), a later value of a name winning (see
	// Env). Its values appear in no error and no log: they may be secrets.
	Env  []string
	Dir  string // the working directory, "" for the current one; a relative program is found from it
	Port int    // the loopback port the node serves on (see FreePort)
	// Wait is how the node is known to be ready: Wait.HTTP answering 2xx
	// or 3xx on Port, Wait.Log appearing in its output, Wait.Port
	// accepting connections, or else Port accepting connections; within
	// Wait.Timeout (topology.DefaultWaitTimeout when 0).
	Wait topology.Wait
	// LogPath is the file that receives the node's stdout and stderr,
	// appended to, created (with its directories) when missing. Required.
	LogPath string
	Grace   time.Duration // how long Stop waits after SIGTERM before SIGKILL; 0 for DefaultGrace
}

// DefaultGrace is how long a node has to end after SIGTERM when
// Process.Grace is 0.
const DefaultGrace = 5 * time.Second

// FreePort returns a loopback TCP port that nothing listens on now.
func FreePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("pick a free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// Node is a started command node. Its methods are safe for concurrent use.
type Node struct {
	name  string
	addr  string
	log   string
	grace time.Duration
	pid   int // also its process group's ID

	started time.Time
	ended   time.Time     // set before done closes
	exitErr error         // set before done closes
	done    chan struct{} // closed when the process has ended

	termOnce sync.Once
	termErr  error
	gone     atomic.Bool // the process and its group are gone: signal no more
}

// StartProcess starts p and returns once it is ready. ctx bounds the wait
// for readiness, not the node's life: that ends with Stop.
//
// A node that cannot start, ends before it is ready or is not ready in
// time is a *StartError, with the last lines of its output; a node that is
// not ready, or whose wait ctx ends, is stopped first.
func StartProcess(ctx context.Context, p Process) (*Node, error) {
	if err := p.check(); err != nil {
		return nil, err
	}
	logf, from, err := openLog(p.LogPath)
	if err != nil {
		return nil, fmt.Errorf("start %s: %w", p.Name, err)
	}
	n, err := start(p, logf)
	logf.Close() // the process holds its own copy
	if err != nil {
		return nil, &StartError{Node: p.Name, Cause: err, Log: p.LogPath, Lines: lastLinesFrom(p.LogPath, from, TailLines)}
	}
	if err := n.await(ctx, p, from); err != nil {
		return nil, err
	}
	return n, nil
}

// check reports what makes p impossible to start.
func (p *Process) check() error {
	switch {
	case p.Name == "":
		return errors.New("start a process: no service name")
	case len(p.Argv) == 0 || p.Argv[0] == "":
		return fmt.Errorf("start %s: no program", p.Name)
	case p.LogPath == "":
		return fmt.Errorf("start %s: no log file", p.Name)
	case p.Port < 1 || p.Port > 65535:
		return fmt.Errorf("start %s: port must be between 1 and 65535, got %d", p.Name, p.Port)
	}
	return nil
}

// openLog opens the log at path for appending and returns its size, where
// this start's output begins.
func openLog(path string) (*os.File, int64, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, 0, fmt.Errorf("create the log directory: %w", err)
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
	if err != nil {
		return nil, 0, fmt.Errorf("open the log: %w", err)
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, 0, fmt.Errorf("open the log: %w", err)
	}
	return f, st.Size(), nil
}

// start runs the process with its output in logf. It starts and waits
// for it from a goroutine locked to its OS thread while it runs: the
// parent-death signal (Linux) is tied to the thread that started the
// process, which must not end before it.
func start(p Process, logf *os.File) (*Node, error) {
	cmd := exec.Command(p.Argv[0], p.Argv[1:]...)
	cmd.Dir = p.Dir
	cmd.Env = append(os.Environ(), p.Env...)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = procAttr()
	n := &Node{
		name:  p.Name,
		addr:  net.JoinHostPort("127.0.0.1", strconv.Itoa(p.Port)),
		log:   p.LogPath,
		grace: p.Grace,
		done:  make(chan struct{}),
	}
	if n.grace <= 0 {
		n.grace = DefaultGrace
	}
	started := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		if err := cmd.Start(); err != nil {
			started <- err
			return
		}
		n.pid, n.started = cmd.Process.Pid, time.Now()
		started <- nil
		n.exitErr = cmd.Wait()
		n.ended = time.Now()
		close(n.done)
	}()
	if err := <-started; err != nil {
		return nil, startCause(p, cmd.Path, err)
	}
	return n, nil
}

// startCause says why the program at path (Argv[0] as found) did not
// start.
func startCause(p Process, path string, err error) error {
	prog := p.Argv[0]
	var pe *fs.PathError
	if errors.As(err, &pe) {
		if pe.Op == "chdir" {
			return fmt.Errorf("working directory %s: %w", p.Dir, pe.Err)
		}
		err = pe.Err // the errno: the rest repeats prog
	}
	switch {
	case errors.Is(err, exec.ErrNotFound):
		return fmt.Errorf("program %s: %w", prog, exec.ErrNotFound)
	case errors.Is(err, fs.ErrNotExist):
		if !filepath.IsAbs(path) && p.Dir != "" {
			path = filepath.Join(p.Dir, path)
		}
		if _, serr := os.Stat(path); serr == nil {
			return fmt.Errorf("cannot run program %s: it exists but its interpreter (its #! line, or its loader) was not found: %w", prog, err)
		}
		where := ""
		if strings.ContainsRune(prog, filepath.Separator) && !filepath.IsAbs(prog) && p.Dir != "" {
			where = " in " + p.Dir
		}
		return fmt.Errorf("program %s not found%s: %w", prog, where, err)
	case errors.Is(err, fs.ErrPermission):
		return fmt.Errorf("program %s is not executable: %w", prog, err)
	}
	return fmt.Errorf("run program %s: %w", prog, err)
}

// Addr returns the address the node serves on, "127.0.0.1:PORT".
func (n *Node) Addr() string { return n.addr }

// LogPath returns the file holding the node's output.
func (n *Node) LogPath() string { return n.log }

// Exited returns a channel closed when the node's process has ended, of
// itself or stopped.
func (n *Node) Exited() <-chan struct{} { return n.done }

// ExitErr returns how the process ended once Exited is closed: nil for
// exit status 0, else an *exec.ExitError ("exit status 2", "signal:
// killed"). Before then it returns nil.
func (n *Node) ExitErr() error {
	select {
	case <-n.done:
		return n.exitErr
	default:
		return nil
	}
}
