// Package usage reads the CPU time and peak memory of this process and of
// exited children (getrusage), for the figures bench and blast print, and
// this process's resident memory now (RSS), which a run samples.
package usage
