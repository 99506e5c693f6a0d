package main

import (
	"errors"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestRunSIGINT starts the real command as a child process (this test
// binary re-executed into main, see TestMain), sends it SIGINT while load
// flows, and checks that it exits 130 within 10s with a report marked
// interrupted.
func TestRunSIGINT(t *testing.T) {
	exe, err := os.Executable()
	if err != nil {
		t.Skipf("cannot find the test binary: %v", err)
	}
	out := t.TempDir()
	var stdout, stderr syncBuffer
	cmd := exec.Command(exe, "run", "--out", out, "testdata/long.yaml")
	cmd.Env = append(os.Environ(), execMainEnv+"=1")
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	start := time.Now()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	waited := false
	t.Cleanup(func() {
		if !waited {
			cmd.Process.Kill()
			<-exited
		}
	})

	waitFor(t, 30*time.Second, "load to start", func() bool {
		select {
		case err := <-exited:
			waited = true
			t.Fatalf("exited before load started: %v\nstdout:\n%s\nstderr:\n%s", err, stdout.String(), stderr.String())
		default:
		}
		return strings.Contains(stderr.String(), "load ")
	})
	time.Sleep(max(0, 1500*time.Millisecond-time.Since(start)))
	if err := cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	signalled := time.Now()
	select {
	case err = <-exited:
		waited = true
	case <-time.After(10 * time.Second):
		t.Fatalf("still running 10s after SIGINT\nstdout:\n%s\nstderr:\n%s", stdout.String(), stderr.String())
	}
	t.Logf("exited %s after SIGINT", time.Since(signalled).Round(time.Millisecond))
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != exitInterrupted {
		t.Fatalf("exit: %v, want exit status %d\nstdout:\n%s\nstderr:\n%s", err, exitInterrupted, stdout.String(), stderr.String())
	}
	if !strings.Contains(stdout.String(), "\nINTERRUPTED\n") {
		t.Errorf("stdout does not end in INTERRUPTED:\n%s", stdout.String())
	}
	rep := readReport(t, out)
	if !rep.Interrupted || rep.Passed {
		t.Errorf("report: interrupted %v, passed %v; want interrupted, not passed", rep.Interrupted, rep.Passed)
	}
}
