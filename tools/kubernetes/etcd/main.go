// Command etcd is etcd's server, built from the Go module proxy: Debian's etcd (3.4) is older than
// what kube-apiserver v1.37 expects.
package main

import (
	"os"

	"go.etcd.io/etcd/server/v3/etcdmain"
)

func main() {
	etcdmain.Main(os.Args)
}
