package main

import (
	"fmt"
	"io"

	"github.com/spf13/pflag"
)

// addMetricsFlag defines --metrics on fs, for the metrics of whose (a
// run's, a blast's), its help ending with more.
func addMetricsFlag(fs *pflag.FlagSet, whose, more string) *string {
	return fs.String("metrics", "", "serve "+whose+" Prometheus metrics on `HOST:PORT`, at /metrics, while it runs (see the README's Metrics); loopback only without --allow-remote"+more)
}

// metricsListenAddr checks --metrics (see listenAddr) and returns the
// address the metrics are served on; "" without --metrics.
func metricsListenAddr(fs *pflag.FlagSet, addr string, allowAny bool) (string, error) {
	if !fs.Changed("metrics") {
		return "", nil
	}
	a, err := listenAddr("metrics", addr, allowAny, "the metrics tell anyone who reaches them the run's services and figures")
	if err != nil {
		return "", &exitError{code: exitUsage, err: err}
	}
	return a, nil
}

// metricsReady returns the func that tells the user, on w, where the
// metrics are served.
func metricsReady(w io.Writer) func(addr string) {
	return func(addr string) {
		fmt.Fprintf(w, "metrics on http://%s/metrics\n", clientAddr(addr))
	}
}
