// Package kubecluster finds the Kubernetes cluster tracerig's tests run against: the single-node
// cluster tools/kubernetes/up.sh starts on this machine, or any cluster a kubeconfig names.
//
// The contract: a test that needs a cluster calls Kubeconfig. TRACERIG_KUBECONFIG names the
// kubeconfig; else KUBECONFIG (its first entry); else the admin kubeconfig of a cluster up.sh
// started (in TRACERIG_KUBE_DIR, by default /tmp/tracerig-kube), when there is one. Without any,
// the test skips, unless TRACERIG_REQUIRE_KUBERNETES is set (as CI sets it), which makes it fail.
package kubecluster

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

const (
	// KubeconfigEnv names the kubeconfig of the cluster for tracerig's tests, before KUBECONFIG.
	KubeconfigEnv = "TRACERIG_KUBECONFIG"
	// RequireEnv, when set, turns a missing cluster from a skipped test into a failed one.
	RequireEnv = "TRACERIG_REQUIRE_KUBERNETES"
	// DirEnv is the state folder of tools/kubernetes/up.sh (default DefaultDir).
	DirEnv = "TRACERIG_KUBE_DIR"
	// DefaultDir is up.sh's state folder when DirEnv is not set.
	DefaultDir = "/tmp/tracerig-kube"
	// PauseImage is the pod sandbox image up.sh imports: a program that only waits for a signal,
	// always there, for pods that need not run anything (imagePullPolicy: Never).
	PauseImage = "localhost/tracerig/pause:v1.37.2"
)

// ErrNoCluster is returned by Kubeconfig when no cluster is configured.
var ErrNoCluster = errors.New("no kubernetes cluster: set " + KubeconfigEnv +
	" or KUBECONFIG, or start one with tools/kubernetes/up.sh")

// Dir returns up.sh's state folder: DirEnv, or DefaultDir.
func Dir() string {
	if d := os.Getenv(DirEnv); d != "" {
		return d
	}
	return DefaultDir
}

// Required reports whether RequireEnv is set.
func Required() bool { return os.Getenv(RequireEnv) != "" }

// Configured reports whether a kubeconfig is named in the environment (KubeconfigEnv or
// KUBECONFIG), as opposed to found in up.sh's state folder.
func Configured() bool {
	return os.Getenv(KubeconfigEnv) != "" || os.Getenv("KUBECONFIG") != ""
}

// Kubeconfig returns the path of the kubeconfig to use: KubeconfigEnv, else the first entry of
// KUBECONFIG, else Dir()/admin.kubeconfig when it exists. It returns an error wrapping
// ErrNoCluster when there is none, and an error when the named file does not exist.
func Kubeconfig() (string, error) {
	path, from := os.Getenv(KubeconfigEnv), KubeconfigEnv
	if path == "" {
		for _, p := range filepath.SplitList(os.Getenv("KUBECONFIG")) {
			if strings.TrimSpace(p) != "" {
				path, from = p, "KUBECONFIG"
				break
			}
		}
	}
	if path == "" {
		p := filepath.Join(Dir(), "admin.kubeconfig")
		if _, err := os.Stat(p); err != nil {
			if errors.Is(err, os.ErrNotExist) {
				return "", ErrNoCluster
			}
			return "", fmt.Errorf("kubeconfig of up.sh's cluster: %w", err)
		}
		return p, nil
	}
	if _, err := os.Stat(path); err != nil {
		return "", fmt.Errorf("kubeconfig named by %s: %w", from, err)
	}
	return path, nil
}
