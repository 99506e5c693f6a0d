//go:build unix && !linux

package launch

import "syscall"

// procAttr puts a node in a process group of its own, so that stopping it
// reaches what it started.
func procAttr() *syscall.SysProcAttr { return &syscall.SysProcAttr{Setpgid: true} }

// groupGone reports whether no process of group pgid is left.
func groupGone(pgid int) bool { return groupEmpty(pgid) }
