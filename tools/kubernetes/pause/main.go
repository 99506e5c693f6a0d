// Command pause is the pod sandbox image's only program: it holds the pod's namespaces open, reaps
// the children a shared PID namespace hands it, and exits 0 on SIGINT or SIGTERM. build.sh puts it
// alone in a FROM scratch image, since no registry is reachable to pull the usual one from.
package main

import (
	"os"
	"os/signal"
	"syscall"
)

func main() {
	sigs := make(chan os.Signal, 8)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM, syscall.SIGCHLD)
	for s := range sigs {
		if s != syscall.SIGCHLD {
			os.Exit(0)
		}
		for {
			var ws syscall.WaitStatus
			pid, err := syscall.Wait4(-1, &ws, syscall.WNOHANG, nil)
			if pid <= 0 || err != nil {
				break
			}
		}
	}
}
