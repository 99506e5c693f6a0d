// Command node is a program the launch tests start as a command node. It
// prints its pid, then does what its flags say, and runs until signalled.
package main

import (
	"flag"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"slices"
	"strings"
	"syscall"
	"time"
)

func main() {
	listen := flag.String("listen", "", "serve /healthz on this address")
	listenAfter := flag.Duration("listen-after", 0, "wait this long before listening")
	unhealthyFor := flag.Duration("unhealthy-for", 0, "/healthz answers 503 this long after the start")
	ready := flag.String("ready", "", "print this line once ready (listening, when -listen is given)")
	split := flag.Bool("split", false, "print the ready line in two writes, apart")
	exit := flag.Int("exit", -1, "exit at once with this code")
	ignoreTerm := flag.Bool("ignore-term", false, "ignore SIGTERM (the child too)")
	child := flag.Bool("child", false, "start a child that runs until signalled")
	childMode := flag.Bool("child-mode", false, "be that child")
	printEnv := flag.Bool("print-env", false, "print the names of the environment's variables")
	echo := flag.String("echo", "", "print this variable as NAME=VALUE")
	flag.Parse()
	start := time.Now()

	if *ignoreTerm {
		signal.Ignore(syscall.SIGTERM)
	}
	if *childMode {
		fmt.Printf("child %d running\n", os.Getpid())
		sleep()
	}
	fmt.Printf("pid %d\n", os.Getpid())
	if *exit >= 0 {
		fmt.Fprintf(os.Stderr, "failing on purpose with code %d\n", *exit)
		os.Exit(*exit)
	}
	if *printEnv {
		names := []string{}
		for _, kv := range os.Environ() {
			names = append(names, strings.SplitN(kv, "=", 2)[0])
		}
		slices.Sort(names)
		for _, n := range names {
			fmt.Println("env", n)
		}
	}
	if *echo != "" {
		fmt.Printf("%s=%s\n", *echo, os.Getenv(*echo))
	}
	if *child {
		args := []string{"-child-mode"}
		if *ignoreTerm {
			args = append(args, "-ignore-term")
		}
		c := exec.Command(os.Args[0], args...)
		c.Stdout, c.Stderr = os.Stdout, os.Stderr
		if err := c.Start(); err != nil {
			fmt.Fprintln(os.Stderr, "start child:", err)
			os.Exit(1)
		}
		fmt.Printf("child pid %d\n", c.Process.Pid)
	}
	if *listen != "" {
		time.Sleep(*listenAfter)
		http.HandleFunc("/healthz", func(w http.ResponseWriter, _ *http.Request) {
			if time.Since(start) < *unhealthyFor {
				http.Error(w, "warming up", http.StatusServiceUnavailable)
				return
			}
			fmt.Fprintln(w, "ok")
		})
		go func() {
			if err := http.ListenAndServe(*listen, nil); err != nil {
				fmt.Fprintln(os.Stderr, err)
				os.Exit(1)
			}
		}()
		time.Sleep(50 * time.Millisecond) // about when it listens
	}
	if *ready != "" {
		if *split {
			half := len(*ready) / 2
			fmt.Print((*ready)[:half])
			time.Sleep(150 * time.Millisecond)
			fmt.Println((*ready)[half:])
		} else {
			fmt.Println(*ready)
		}
	}
	sleep()
}

// sleep runs until the process is signalled.
func sleep() {
	for {
		time.Sleep(time.Hour)
	}
}
