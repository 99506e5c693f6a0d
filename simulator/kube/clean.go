package kube

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strconv"
	"syscall"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
)

// CleanOptions choose what Clean removes.
type CleanOptions struct {
	// Orphans removes only the runs of processes of this host that are no
	// longer alive (HostAnnotation, PIDAnnotation): the sweep at the start
	// of a run, which leaves concurrent runs, and other hosts' runs, alone.
	Orphans bool
	// Run, when set, removes only the run of this ID.
	Run string
}

// skip reports whether Clean leaves the run of an object with these labels
// and annotations.
func (o CleanOptions) skip(labels, annotations map[string]string) bool {
	return o.Orphans && !orphan(annotations) || o.Run != "" && labels[RunLabel] != o.Run
}

// Clean removes the runs tracerig left in the cluster: the namespaces it
// made for runs, and the objects of runs in namespaces they were given. It
// returns the IDs of the runs removed.
func Clean(ctx context.Context, cs kubernetes.Interface, opts CleanOptions) ([]string, error) {
	managed := metav1.ListOptions{LabelSelector: ManagedByLabel + "=" + managedBy}
	nss, err := cs.CoreV1().Namespaces().List(ctx, managed)
	if err != nil {
		return nil, fmt.Errorf("list tracerig's namespaces: %w", err)
	}
	var removed []string
	var errs []error
	for _, ns := range nss.Items {
		if ns.DeletionTimestamp != nil || opts.skip(ns.Labels, ns.Annotations) {
			continue
		}
		id := ns.Labels[RunLabel]
		if err := Delete(ctx, cs, ns.Name, id, true); err != nil {
			errs = append(errs, err)
			continue
		}
		removed = append(removed, id)
	}
	cms, err := cs.CoreV1().ConfigMaps("").List(ctx, managed)
	if err != nil {
		return removed, errors.Join(append(errs, fmt.Errorf("list tracerig's configmaps: %w", err))...)
	}
	for _, cm := range cms.Items {
		if cm.Name != SourceName || cm.DeletionTimestamp != nil || opts.skip(cm.Labels, cm.Annotations) {
			continue
		}
		if ns, err := cs.CoreV1().Namespaces().Get(ctx, cm.Namespace, metav1.GetOptions{}); err == nil && ns.Labels[ManagedByLabel] == managedBy {
			continue // removed with its namespace
		}
		id := cm.Labels[RunLabel]
		if err := Delete(ctx, cs, cm.Namespace, id, false); err != nil {
			errs = append(errs, err)
			continue
		}
		removed = append(removed, id)
	}
	return removed, errors.Join(errs...)
}

// orphan reports whether annotations name a process of this host that is
// no longer alive.
func orphan(annotations map[string]string) bool {
	host, _ := os.Hostname()
	pid, err := strconv.Atoi(annotations[PIDAnnotation])
	if err != nil || annotations[HostAnnotation] != host {
		return false
	}
	if pid <= 0 {
		return false
	}
	p, err := os.FindProcess(pid)
	return err != nil || p.Signal(syscall.Signal(0)) != nil
}
