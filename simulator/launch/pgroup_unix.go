//go:build unix

package launch

import (
	"errors"
	"syscall"
)

// signalGroup sends sig to the process group pgid (a node's process and
// the processes it started); a group already gone is not an error.
func signalGroup(pgid int, sig syscall.Signal) error {
	if err := syscall.Kill(-pgid, sig); err != nil && !errors.Is(err, syscall.ESRCH) {
		return err
	}
	return nil
}

// groupEmpty reports whether the process group pgid has no process left,
// a zombie (ended, not yet reaped by its parent) counting as one.
func groupEmpty(pgid int) bool {
	return errors.Is(syscall.Kill(-pgid, 0), syscall.ESRCH)
}
