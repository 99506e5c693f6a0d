package launch

import (
	"strconv"
	"syscall"
)

// alive reports whether process pid exists and is not a zombie: the
// node's orphaned children are reaped by PID 1, which may do it seconds
// later (this sandbox's does).
func alive(pid int) bool {
	if syscall.Kill(pid, 0) != nil {
		return false
	}
	state, _, ok := procStat(strconv.Itoa(pid))
	return !ok || state != 'Z' && state != 'X'
}
