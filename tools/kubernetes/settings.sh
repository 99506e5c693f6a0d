# shellcheck shell=bash
# The test cluster's settings, in one place: sourced by up.sh, down.sh, load-image.sh and
# snapshot.sh. Every port is on loopback or on the node address, which exists only on a veth pair
# this cluster makes; they are chosen away from the defaults (6443, 2379, 10250...) so that other
# work on this machine, and a real Kubernetes elsewhere, are not in the way.
#
# Every address range is private and exists only in the networks this cluster creates here; the
# guards in up.sh keep each packet to them on this machine.

KUBE_VERSION=v1.37.2

# State: certificates, configurations, logs, PIDs, etcd's data, containerd's root, the kubelet's
# root. down.sh removes it.
KUBE_DIR="${TRACERIG_KUBE_DIR:-/tmp/tracerig-kube}"

KUBE_NODE_NAME=tracerig-node
KUBE_NODE_IP=10.215.0.1          # a /32 on the veth pair below, the node's InternalIP
KUBE_POD_CIDR=10.213.0.0/16      # the cluster CIDR: unreachable on the host beyond the node's /24
KUBE_NODE_POD_CIDR=10.213.0.0/24 # the pods of the one node, on the bridge
KUBE_POD_GATEWAY=10.213.0.1      # the bridge's address, the pods' only gateway
KUBE_SERVICE_CIDR=10.214.0.0/24
KUBE_API_SERVICE_IP=10.214.0.1   # the first service IP: the "kubernetes" Service

KUBE_VETH=trkube-node      # holds KUBE_NODE_IP; its peer stays in the root namespace too
KUBE_VETH_PEER=trkube-peer
KUBE_BRIDGE=trkube0        # the CNI bridge
KUBE_CHAIN_PREFIX=TRKUBE   # the iptables chains of the packet guards

# Ports (TCP). The API server listens on 127.0.0.1 and, through a forwarder for pods, on the node
# address; the kubelet serves on the node address; everything else on loopback.
KUBE_API_PORT=16443
KUBE_ETCD_CLIENT_PORT=16379
KUBE_ETCD_PEER_PORT=16380
KUBE_CONTROLLER_MANAGER_PORT=16257
KUBE_SCHEDULER_PORT=16259
KUBE_KUBELET_PORT=16250
KUBE_KUBELET_HEALTHZ_PORT=16248
KUBE_PROXY_HEALTHZ_PORT=16256
KUBE_PROXY_METRICS_PORT=16249

KUBE_PAUSE_IMAGE="localhost/tracerig/pause:$KUBE_VERSION"
KUBE_CONTAINERD_SOCK="$KUBE_DIR/containerd/containerd.sock"

# Paths some component writes to whatever it is told (kubelet's device-plugins folder and
# /var/log/containers are hard-coded; containerd 1.6 keeps shim sockets in /run/containerd/s and the
# CNI library its result cache in /var/lib/cni). up.sh records which of them did not exist before
# it, and down.sh removes only those (folders shared with Docker's containerd only when empty).
KUBE_OUTSIDE_PATHS=(
	/var/lib/kubelet
	/var/lib/cni
	/run/netns
	/run/containerd
	/var/log/pods
	/var/log/containers
	/etc/cni
	/opt/cni
	/var/run/kubernetes
)

# Kernel settings the kubelet sets when protectKernelDefaults is off: up.sh records them, down.sh
# puts them back.
KUBE_SYSCTLS=(
	vm.overcommit_memory
	vm.panic_on_oom
	kernel.panic
	kernel.panic_on_oops
	kernel.keys.root_maxkeys
	kernel.keys.root_maxbytes
)

kube_bin="${TRACERIG_KUBE_BIN:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)/bin/kubernetes-$KUBE_VERSION}"
