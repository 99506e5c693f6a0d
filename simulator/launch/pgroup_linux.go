package launch

import (
	"bytes"
	"os"
	"strconv"
	"syscall"
)

// procAttr puts a node in a process group of its own, so that stopping it
// reaches what it started, and has the kernel kill it when the thread that
// started it dies, so that a crashed tracerig leaves no node behind.
func procAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}

// groupGone reports whether no process of group pgid runs. Zombies do not
// count: the node's orphaned children are reaped by init, or by whatever
// runs as PID 1, which may do it late (a container's) or never (tracerig
// itself as PID 1).
func groupGone(pgid int) bool {
	return groupEmpty(pgid) || !groupRunning(pgid)
}

// groupRunning reports whether /proc shows a process of group pgid that
// is not a zombie; true when /proc cannot be read.
func groupRunning(pgid int) bool {
	d, err := os.Open("/proc")
	if err != nil {
		return true
	}
	names, err := d.Readdirnames(-1)
	d.Close()
	if err != nil {
		return true
	}
	for _, name := range names {
		if name == "" || name[0] < '0' || name[0] > '9' {
			continue
		}
		state, pgrp, ok := procStat(name)
		if ok && pgrp == pgid && state != 'Z' && state != 'X' {
			return true
		}
	}
	return false
}

// procStat returns the state and process group of process pid from
// /proc/PID/stat: "PID (COMM) STATE PPID PGRP ...", COMM possibly holding
// spaces and parentheses.
func procStat(pid string) (state byte, pgrp int, ok bool) {
	b, err := os.ReadFile("/proc/" + pid + "/stat")
	if err != nil {
		return 0, 0, false
	}
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0, 0, false
	}
	f := bytes.Fields(b[i+1:])
	if len(f) < 3 || len(f[0]) != 1 {
		return 0, 0, false
	}
	pgrp, err = strconv.Atoi(string(f[2]))
	return f[0][0], pgrp, err == nil
}
