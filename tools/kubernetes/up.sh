#!/usr/bin/env bash
# Starts a single-node Kubernetes on this machine for tracerig's tests, as this user's (root's)
# processes: a second containerd (Docker's is left alone), etcd, kube-apiserver,
# kube-controller-manager, kube-scheduler, kubelet and kube-proxy, from the binaries build.sh made.
# Waits until the node is Ready and the default service account exists, then prints the admin
# kubeconfig's path on stdout (everything else goes to stderr). Took 12-14 s here.
#
#   kubeconfig="$(bash tools/kubernetes/up.sh)"   # state under /tmp/tracerig-kube
#   TRACERIG_KUBE_DIR=/some/dir bash tools/kubernetes/up.sh
#
# Ports, address ranges and names are in settings.sh, in one place. Every packet stays on this
# machine: the node address is a /32 on a veth pair whose two ends stay in the root namespace;
# pods get routes only to the pod CIDR, the service CIDR and the node address (no default route,
# no masquerading); the host's route to the pod CIDR beyond the bridge is unreachable; iptables
# chains of our own reject host traffic to a service address kube-proxy did not rewrite and pod
# traffic leaving the pod CIDR. There is no cluster DNS: pods find Services through the
# *_SERVICE_HOST/PORT variables or addresses handed to them.
#
# On failure it prints the failing component's log tail, keeps the logs in <state dir>.failed/,
# and runs down.sh. It refuses to start while a cluster is up (run down.sh first).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=settings.sh
source "$here/settings.sh"
D="$KUBE_DIR"
pki="$D/pki"

log() { echo "up: $*" >&2; }
die() {
	echo "up: $*" >&2
	exit 1
}

if [[ $(id -u) != 0 ]]; then die "needs root (network links, iptables, mounts)"; fi
for f in kube-apiserver kube-controller-manager kube-scheduler kubelet kube-proxy etcd pause.tar; do
	if [[ ! -s "$kube_bin/$f" ]]; then die "$kube_bin/$f is missing: run bash tools/kubernetes/build.sh"; fi
done
for c in containerd containerd-shim-runc-v2 runc ctr conntrack socat openssl curl iptables ip6tables ip nft ss nfacct; do
	if ! command -v "$c" >/dev/null; then die "$c is missing: run bash tools/kubernetes/build.sh"; fi
done
if [[ ! -x /usr/lib/cni/bridge || ! -x /usr/lib/cni/host-local || ! -x /usr/lib/cni/loopback ]]; then
	die "the CNI plugins are missing from /usr/lib/cni: run bash tools/kubernetes/build.sh"
fi
if [[ -e "$D" ]]; then
	die "$D exists: a cluster is up (or a take-down did not finish); run bash tools/kubernetes/down.sh first"
fi
if ip link show "$KUBE_VETH" >/dev/null 2>&1 || ip link show "$KUBE_BRIDGE" >/dev/null 2>&1; then
	die "the links $KUBE_VETH or $KUBE_BRIDGE exist without $D: run bash tools/kubernetes/down.sh first"
fi

# Every port this cluster listens on must be free (other work on this machine uses loopback ports).
taken=""
for port in "$KUBE_API_PORT" "$KUBE_ETCD_CLIENT_PORT" "$KUBE_ETCD_PEER_PORT" "$KUBE_CONTROLLER_MANAGER_PORT" \
	"$KUBE_SCHEDULER_PORT" "$KUBE_KUBELET_PORT" "$KUBE_KUBELET_HEALTHZ_PORT" "$KUBE_PROXY_HEALTHZ_PORT" \
	"$KUBE_PROXY_METRICS_PORT"; do
	if [[ -n "$(ss -Htln "sport = :$port" 2>/dev/null)" ]]; then taken+=" $port"; fi
done
if [[ -n "$taken" ]]; then
	die "TCP ports in use:$taken (see ss -tlnp); the cluster's ports are set in tools/kubernetes/settings.sh"
fi

start_time=$SECONDS
mkdir -p "$D"/{pids,logs,pki,etcd,containerd,cni/net.d,cni/ipam,kubelet/pki,kubelet/root,kube-proxy,apiserver,controller-manager,scheduler}
chmod 700 "$D"

# From here on a failure takes down whatever was started. The logs are kept beside the state.
current=""
on_exit() {
	local rc=$?
	if ((rc == 0)); then return; fi
	if [[ -n "$current" && -s "$D/logs/$current.log" ]]; then
		echo "up: last lines of $current's log:" >&2
		tail -n 30 "$D/logs/$current.log" | sed 's/^/    /' >&2
	fi
	rm -rf "$D.failed"
	if [[ -d "$D/logs" ]]; then cp -r "$D/logs" "$D.failed"; fi
	echo "up: failed after $((SECONDS - start_time))s; logs kept in $D.failed/; taking down what was started" >&2
	bash "$here/down.sh" >&2 || true
	exit "$rc"
}
trap on_exit EXIT

# --- what down.sh must put back: folders outside $D that do not exist yet, kernel settings the
# kubelet changes, the nft tables that exist now.
for p in "${KUBE_OUTSIDE_PATHS[@]}"; do
	if [[ ! -e "$p" ]]; then echo "$p" >>"$D/created-paths"; fi
done
for c in /sys/fs/cgroup/*/; do
	if [[ ! -e "$c/kubepods" ]]; then echo "${c}kubepods" >>"$D/created-paths"; fi
done
touch "$D/created-paths"
for s in "${KUBE_SYSCTLS[@]}" net.ipv4.ip_forward; do
	echo "$s=$(sysctl -n "$s")" >>"$D/sysctls"
done
nft list tables >"$D/nft-tables-before"
# kube-proxy makes nfacct counters (ct_state_invalid_dropped_pkts, localhost_nps_accepted_pkts).
nfacct list 2>/dev/null | sed -nE 's/.* = (.*);$/\1/p' >"$D/nfacct-before"

# The environment of a shell that uses the cluster: `source <state dir>/env`.
cat >"$D/env" <<EOF
export KUBECONFIG=$D/admin.kubeconfig
export TRACERIG_KUBECONFIG=$D/admin.kubeconfig
export TRACERIG_KUBE_DIR=$D
export CONTAINERD_ADDRESS=$KUBE_CONTAINERD_SOCK
export CONTAINERD_NAMESPACE=k8s.io
EOF

# --- certificates: one CA; a client certificate per component, the API server's, etcd's and the
# kubelet's serving certificates; the service-account key pair. EC P-256 keys, 30 days.
log "certificates"
openssl ecparam -name prime256v1 -genkey -noout -out "$pki/ca.key" 2>/dev/null
openssl req -x509 -new -key "$pki/ca.key" -subj "/CN=tracerig-kube-ca" -days 30 -out "$pki/ca.crt" \
	-addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null
# cert NAME SUBJECT USAGE [SANS]
cert() {
	local name=$1 subj=$2 usage=$3 sans=${4:-}
	openssl ecparam -name prime256v1 -genkey -noout -out "$pki/$name.key" 2>/dev/null
	openssl req -new -key "$pki/$name.key" -subj "$subj" -out "$pki/$name.csr" 2>/dev/null
	{
		echo "basicConstraints=CA:FALSE"
		echo "keyUsage=critical,digitalSignature,keyEncipherment"
		echo "extendedKeyUsage=$usage"
		if [[ -n "$sans" ]]; then echo "subjectAltName=$sans"; fi
	} >"$pki/$name.ext"
	openssl x509 -req -in "$pki/$name.csr" -CA "$pki/ca.crt" -CAkey "$pki/ca.key" -set_serial "0x$(openssl rand -hex 16)" \
		-days 30 -extfile "$pki/$name.ext" -out "$pki/$name.crt" 2>/dev/null
	rm -f "$pki/$name.csr" "$pki/$name.ext"
}
cert etcd "/CN=etcd" serverAuth,clientAuth "IP:127.0.0.1,DNS:localhost"
cert apiserver "/CN=kube-apiserver" serverAuth \
	"IP:127.0.0.1,IP:$KUBE_NODE_IP,IP:$KUBE_API_SERVICE_IP,DNS:localhost,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.cluster.local"
cert apiserver-etcd-client "/CN=kube-apiserver-etcd-client" clientAuth
cert apiserver-kubelet-client "/O=system:masters/CN=kube-apiserver-kubelet-client" clientAuth
cert admin "/O=system:masters/CN=tracerig-admin" clientAuth
cert controller-manager "/CN=system:kube-controller-manager" clientAuth
cert scheduler "/CN=system:kube-scheduler" clientAuth
cert kubelet "/O=system:nodes/CN=system:node:$KUBE_NODE_NAME" clientAuth
cert kubelet-serving "/CN=$KUBE_NODE_NAME" serverAuth "IP:$KUBE_NODE_IP,DNS:$KUBE_NODE_NAME"
cert kube-proxy "/CN=system:kube-proxy" clientAuth
openssl ecparam -name prime256v1 -genkey -noout -out "$pki/sa.key" 2>/dev/null
openssl ec -in "$pki/sa.key" -pubout -out "$pki/sa.pub" 2>/dev/null
chmod 600 "$pki"/*.key

# kubeconfig NAME: a kubeconfig for the client certificate NAME, against the loopback address.
kubeconfig() {
	cat >"$D/$1.kubeconfig" <<EOF
apiVersion: v1
kind: Config
clusters:
- name: tracerig
  cluster:
    certificate-authority: $pki/ca.crt
    server: https://127.0.0.1:$KUBE_API_PORT
users:
- name: $1
  user:
    client-certificate: $pki/$1.crt
    client-key: $pki/$1.key
contexts:
- name: tracerig
  context:
    cluster: tracerig
    user: $1
current-context: tracerig
EOF
}
for k in admin controller-manager scheduler kubelet kube-proxy; do kubeconfig "$k"; done

# api PATH: GET from the API server as the admin, compact JSON on stdout.
api() {
	curl -sf --max-time 5 --cacert "$pki/ca.crt" --cert "$pki/admin.crt" --key "$pki/admin.key" \
		-H "User-Agent: tracerig-kube-up" "https://127.0.0.1:$KUBE_API_PORT$1"
}

# start NAME COMMAND...: runs COMMAND in a session of its own (down.sh stops its process group),
# output to logs/NAME.log, PID to pids/NAME.
start() {
	local name=$1
	shift
	current=$name
	setsid "$@" </dev/null >>"$D/logs/$name.log" 2>&1 &
	# The PID and its start time (field 22 of /proc/PID/stat, fixed at fork): down.sh signals the
	# PID only while both match, never a process that reused the number.
	echo "$! $(cut -d' ' -f22 "/proc/$!/stat")" >"$D/pids/$name"
}

# running NAME: the process started as NAME is alive (not a zombie).
running() {
	local pid stime
	read -r pid stime <"$D/pids/$1"
	[[ -r /proc/$pid/stat ]] && [[ "$(cut -d' ' -f22 /proc/$pid/stat 2>/dev/null)" == "$stime" ]] &&
		[[ "$(cut -d' ' -f3 /proc/$pid/stat 2>/dev/null)" != Z ]]
}

# await NAME SECONDS WHAT COMMAND...: until COMMAND succeeds; fails if NAME exits or time is up.
await() {
	local name=$1 limit=$2 what=$3
	shift 3
	current=$name
	local deadline=$((SECONDS + limit))
	until "$@" >/dev/null 2>&1; do
		if ! running "$name"; then die "$name exited before $what"; fi
		if ((SECONDS >= deadline)); then die "$name: no $what within ${limit}s"; fi
		sleep 0.2
	done
}

# --- network: the node address on a veth pair (this kernel has no dummy links, and the kubelet
# refuses a loopback address), the packet guards.
log "network: node address $KUBE_NODE_IP, pod CIDR $KUBE_POD_CIDR, service CIDR $KUBE_SERVICE_CIDR"
ip link add "$KUBE_VETH" type veth peer name "$KUBE_VETH_PEER"
for l in "$KUBE_VETH" "$KUBE_VETH_PEER"; do
	sysctl -qw "net.ipv6.conf.$l.disable_ipv6=1"
done
ip addr add "$KUBE_NODE_IP/32" dev "$KUBE_VETH"
ip link set "$KUBE_VETH" up
ip link set "$KUBE_VETH_PEER" up
# A pod address with no bridge behind it is unreachable, never sent along the default route; the
# bridge's /24 is more specific.
ip route add unreachable "$KUBE_POD_CIDR"
# Host traffic to a service address that kube-proxy did not rewrite (no such Service, no port)
# would follow the default route: reject it. nat OUTPUT (kube-proxy's DNAT) runs before filter
# OUTPUT, so rewritten packets no longer match.
iptables -w -N "$KUBE_CHAIN_PREFIX-OUTPUT"
iptables -w -A "$KUBE_CHAIN_PREFIX-OUTPUT" -d "$KUBE_SERVICE_CIDR" -j REJECT --reject-with icmp-net-unreachable
iptables -w -I OUTPUT 1 -j "$KUBE_CHAIN_PREFIX-OUTPUT"
# Pod to pod is accepted (Docker's FORWARD policy is DROP); pod traffic to anywhere else that the
# host would forward (a service address not rewritten, anything routed out) is rejected. Pods
# reach the node address and the API server through INPUT, not FORWARD.
iptables -w -N "$KUBE_CHAIN_PREFIX-FORWARD"
iptables -w -A "$KUBE_CHAIN_PREFIX-FORWARD" -s "$KUBE_POD_CIDR" -d "$KUBE_POD_CIDR" -j ACCEPT
iptables -w -A "$KUBE_CHAIN_PREFIX-FORWARD" -s "$KUBE_POD_CIDR" -j REJECT --reject-with icmp-net-unreachable
iptables -w -A "$KUBE_CHAIN_PREFIX-FORWARD" -d "$KUBE_POD_CIDR" -j REJECT --reject-with icmp-net-unreachable
iptables -w -I FORWARD 1 -j "$KUBE_CHAIN_PREFIX-FORWARD"

# --- containerd, the second one: its own root, state, socket and CNI configuration.
log "containerd"
cat >"$D/cni/net.d/10-tracerig.conflist" <<EOF
{
  "cniVersion": "1.0.0",
  "name": "tracerig",
  "plugins": [
    {
      "type": "bridge",
      "bridge": "$KUBE_BRIDGE",
      "isGateway": true,
      "isDefaultGateway": false,
      "ipMasq": false,
      "hairpinMode": true,
      "ipam": {
        "type": "host-local",
        "dataDir": "$D/cni/ipam",
        "ranges": [[{"subnet": "$KUBE_NODE_POD_CIDR", "gateway": "$KUBE_POD_GATEWAY"}]],
        "routes": [{"dst": "$KUBE_SERVICE_CIDR"}, {"dst": "$KUBE_NODE_IP/32"}]
      }
    }
  ]
}
EOF
cat >"$D/containerd/config.toml" <<EOF
version = 2
root = "$D/containerd/root"
state = "$D/containerd/state"
oom_score = 0
disabled_plugins = [
  "io.containerd.snapshotter.v1.aufs",
  "io.containerd.snapshotter.v1.btrfs",
  "io.containerd.snapshotter.v1.devmapper",
  "io.containerd.snapshotter.v1.zfs",
  "io.containerd.tracing.processor.v1.otlp",
  "io.containerd.internal.v1.tracing",
]

[grpc]
  address = "$KUBE_CONTAINERD_SOCK"

[ttrpc]
  address = "$KUBE_CONTAINERD_SOCK.ttrpc"

[debug]
  address = ""

[metrics]
  address = ""

[plugins."io.containerd.internal.v1.opt"]
  path = "$D/containerd/opt"

[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "$KUBE_PAUSE_IMAGE"
  # Root here lacks CAP_SYS_RESOURCE: runc cannot lower oom_score_adj to what the kubelet asks.
  restrict_oom_score_adj = true
  disable_apparmor = true
  stream_server_address = "127.0.0.1"
  stream_server_port = "0"
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        SystemdCgroup = false
        Root = "$D/containerd/runc"
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "/usr/lib/cni"
    conf_dir = "$D/cni/net.d"
    max_conf_num = 1
EOF
start containerd containerd --config "$D/containerd/config.toml"
ctr_() { ctr --address "$KUBE_CONTAINERD_SOCK" --namespace k8s.io "$@"; }
await containerd 30 "socket" ctr_ version
current=containerd
ctr_ images import "$kube_bin/pause.tar" >&2

# --- etcd, on loopback with TLS.
log "etcd"
start etcd "$kube_bin/etcd" --name tracerig --data-dir "$D/etcd" \
	--listen-client-urls "https://127.0.0.1:$KUBE_ETCD_CLIENT_PORT" \
	--advertise-client-urls "https://127.0.0.1:$KUBE_ETCD_CLIENT_PORT" \
	--listen-peer-urls "http://127.0.0.1:$KUBE_ETCD_PEER_PORT" \
	--initial-advertise-peer-urls "http://127.0.0.1:$KUBE_ETCD_PEER_PORT" \
	--initial-cluster "tracerig=http://127.0.0.1:$KUBE_ETCD_PEER_PORT" \
	--cert-file "$pki/etcd.crt" --key-file "$pki/etcd.key" --trusted-ca-file "$pki/ca.crt" \
	--client-cert-auth --unsafe-no-fsync --quota-backend-bytes 1073741824 --log-level warn
await etcd 30 "health" curl -sf --max-time 2 --cacert "$pki/ca.crt" --cert "$pki/apiserver-etcd-client.crt" \
	--key "$pki/apiserver-etcd-client.key" "https://127.0.0.1:$KUBE_ETCD_CLIENT_PORT/health"

# --- kube-apiserver, on loopback; the node address is its advertised address (the endpoint of the
# "kubernetes" Service), where a forwarder passes pods' connections on to loopback.
log "kube-apiserver"
start kube-apiserver "$kube_bin/kube-apiserver" \
	--bind-address 127.0.0.1 --secure-port "$KUBE_API_PORT" --advertise-address "$KUBE_NODE_IP" \
	--etcd-servers "https://127.0.0.1:$KUBE_ETCD_CLIENT_PORT" --etcd-cafile "$pki/ca.crt" \
	--etcd-certfile "$pki/apiserver-etcd-client.crt" --etcd-keyfile "$pki/apiserver-etcd-client.key" \
	--tls-cert-file "$pki/apiserver.crt" --tls-private-key-file "$pki/apiserver.key" \
	--client-ca-file "$pki/ca.crt" --cert-dir "$D/apiserver" \
	--kubelet-client-certificate "$pki/apiserver-kubelet-client.crt" \
	--kubelet-client-key "$pki/apiserver-kubelet-client.key" \
	--kubelet-certificate-authority "$pki/ca.crt" --kubelet-preferred-address-types InternalIP \
	--service-cluster-ip-range "$KUBE_SERVICE_CIDR" \
	--service-account-issuer https://kubernetes.default.svc.cluster.local \
	--service-account-key-file "$pki/sa.pub" --service-account-signing-key-file "$pki/sa.key" \
	--authorization-mode Node,RBAC --allow-privileged=true --profiling=false --v=1
await kube-apiserver 90 "readiness" api /readyz
start kube-apiserver-forwarder socat \
	"TCP-LISTEN:$KUBE_API_PORT,bind=$KUBE_NODE_IP,reuseaddr,fork" "TCP:127.0.0.1:$KUBE_API_PORT"

# --- kube-controller-manager and kube-scheduler, on loopback, no leader election.
log "kube-controller-manager, kube-scheduler"
start kube-controller-manager "$kube_bin/kube-controller-manager" \
	--kubeconfig "$D/controller-manager.kubeconfig" \
	--authentication-kubeconfig "$D/controller-manager.kubeconfig" \
	--authorization-kubeconfig "$D/controller-manager.kubeconfig" \
	--bind-address 127.0.0.1 --secure-port "$KUBE_CONTROLLER_MANAGER_PORT" --cert-dir "$D/controller-manager" \
	--leader-elect=false --use-service-account-credentials \
	--service-account-private-key-file "$pki/sa.key" --root-ca-file "$pki/ca.crt" \
	--cluster-signing-cert-file "$pki/ca.crt" --cluster-signing-key-file "$pki/ca.key" \
	--service-cluster-ip-range "$KUBE_SERVICE_CIDR" --cluster-cidr "$KUBE_POD_CIDR" \
	--allocate-node-cidrs=false --profiling=false --v=1
start kube-scheduler "$kube_bin/kube-scheduler" \
	--kubeconfig "$D/scheduler.kubeconfig" \
	--authentication-kubeconfig "$D/scheduler.kubeconfig" \
	--authorization-kubeconfig "$D/scheduler.kubeconfig" \
	--bind-address 127.0.0.1 --secure-port "$KUBE_SCHEDULER_PORT" --cert-dir "$D/scheduler" \
	--leader-elect=false --profiling=false --v=1

# --- kubelet: cgroupfs on cgroup v1, serving on the node address only, no cluster DNS (pods get an
# empty resolv.conf), image garbage collection off (an imported image cannot be pulled again).
log "kubelet"
cat >"$D/kubelet/config.yaml" <<EOF
apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
address: $KUBE_NODE_IP
port: $KUBE_KUBELET_PORT
readOnlyPort: 0
healthzBindAddress: 127.0.0.1
healthzPort: $KUBE_KUBELET_HEALTHZ_PORT
tlsCertFile: $pki/kubelet-serving.crt
tlsPrivateKeyFile: $pki/kubelet-serving.key
rotateCertificates: false
serverTLSBootstrap: false
authentication:
  anonymous:
    enabled: false
  webhook:
    enabled: true
  x509:
    clientCAFile: $pki/ca.crt
authorization:
  mode: Webhook
containerRuntimeEndpoint: unix://$KUBE_CONTAINERD_SOCK
imageServiceEndpoint: unix://$KUBE_CONTAINERD_SOCK
cgroupDriver: cgroupfs
failCgroupV1: false
failSwapOn: false
oomScoreAdj: 0
protectKernelDefaults: false
podCIDR: $KUBE_NODE_POD_CIDR
resolvConf: ""
clusterDNS: []
podLogsDir: $D/pod-logs
imageGCHighThresholdPercent: 100
imageGCLowThresholdPercent: 99
evictionHard:
  memory.available: 100Mi
  nodefs.available: 1%
  nodefs.inodesFree: 1%
  imagefs.available: 1%
shutdownGracePeriod: 0s
maxPods: 110
EOF
start kubelet "$kube_bin/kubelet" --config "$D/kubelet/config.yaml" \
	--kubeconfig "$D/kubelet.kubeconfig" --root-dir "$D/kubelet/root" --cert-dir "$D/kubelet/pki" \
	--hostname-override "$KUBE_NODE_NAME" --node-ip "$KUBE_NODE_IP" --v=1

# --- kube-proxy: iptables mode, NodePorts on the node address only, kernel conntrack settings left
# as they are.
log "kube-proxy"
cat >"$D/kube-proxy/config.yaml" <<EOF
apiVersion: kubeproxy.config.k8s.io/v1alpha1
kind: KubeProxyConfiguration
clientConnection:
  kubeconfig: $D/kube-proxy.kubeconfig
mode: iptables
hostnameOverride: $KUBE_NODE_NAME
clusterCIDR: $KUBE_POD_CIDR
healthzBindAddress: 127.0.0.1:$KUBE_PROXY_HEALTHZ_PORT
metricsBindAddress: 127.0.0.1:$KUBE_PROXY_METRICS_PORT
nodePortAddresses: ["$KUBE_NODE_IP/32"]
oomScoreAdj: 0
iptables:
  localhostNodePorts: false
  masqueradeAll: false
conntrack:
  maxPerCore: 0
  min: 0
  tcpEstablishedTimeout: 0s
  tcpCloseWaitTimeout: 0s
  udpTimeout: 0s
  udpStreamTimeout: 0s
EOF
start kube-proxy "$kube_bin/kube-proxy" --config "$D/kube-proxy/config.yaml" --v=1

# --- ready: the node, kube-proxy's first sync, the default service account.
log "waiting for the node to be Ready"
await kubelet 90 "Ready node" eval "api /api/v1/nodes/$KUBE_NODE_NAME | grep -q '\"type\":\"Ready\",\"status\":\"True\"'"
await kube-proxy 60 "healthy sync" curl -sf --max-time 2 "http://127.0.0.1:$KUBE_PROXY_HEALTHZ_PORT/healthz"
await kube-controller-manager 60 "default service account" api /api/v1/namespaces/default/serviceaccounts/default
for name in kube-scheduler kube-apiserver-forwarder; do
	if ! running "$name"; then
		current=$name
		die "$name exited"
	fi
done

rm -rf "$D.failed"
log "up in $((SECONDS - start_time))s; state in $D (source $D/env for KUBECONFIG); take down with tools/kubernetes/down.sh"
echo "$D/admin.kubeconfig"
