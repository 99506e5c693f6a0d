//go:build !unix

package launch

import (
	"os"
	"syscall"
)

// Without Unix process groups a node is one process: stopping it kills it
// and what it started is left to the system.

func procAttr() *syscall.SysProcAttr { return nil }

func signalGroup(pid int, _ syscall.Signal) error {
	if p, err := os.FindProcess(pid); err == nil {
		_ = p.Kill() // an error: it has ended
	}
	return nil
}

func groupGone(int) bool { return true }
