#!/usr/bin/env bash
# Builds a single-node Kubernetes v1.37.2 (kube-apiserver, kube-controller-manager, kube-scheduler,
# kubelet, kube-proxy, etcd's server, and kubectl for people) from the Go module proxy into
# <repo>/bin/kubernetes-v1.37.2/, once: a binary newer than this folder's go.mod and go.sum (and its
# own main.go) is reused, so an interrupted build resumes with the binaries it had not finished.
# Also builds the pod sandbox ("pause") image, a static Go program alone in a FROM scratch image,
# saved as pause.tar beside the binaries for up.sh to import (no registry is reachable here).
# Installs the Debian packages the cluster needs when missing (CNI plugins, conntrack, socat,
# containerd, runc).
#
# A cold build took 16m43s and 18m56s on 2 cores that another session's builds and tests were
# using too (20m45s of CPU time, so about 10 minutes at best with both cores to itself):
# kube-apiserver 10-14 minutes, kube-controller-manager 3-4, the rest under a minute each, at up
# to 3 GB of memory; module download about 20 s. From a warm build cache (go.mod changed) all of
# it relinks in about a minute. The binaries are 25-120 MB each, 540 MB in all; the Go build cache
# grows by about 4 GB.
#
#   bash tools/kubernetes/build.sh          build what is stale, print the binaries' folder
#   FORCE=1 bash tools/kubernetes/build.sh  rebuild everything
#
# up.sh finds the binaries at <repo>/bin/kubernetes-v1.37.2/, or wherever TRACERIG_KUBE_BIN points.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
version=v1.37.2
out="$root/bin/kubernetes-$version"
pause_image="localhost/tracerig/pause:$version"

log() { echo "kubernetes: $*" >&2; }
elapsed() { local s=$((SECONDS - $1)); printf '%dm%02ds' $((s / 60)) $((s % 60)); }

# --- Debian pieces: the CNI plugins (bridge, host-local, loopback) in /usr/lib/cni, the conntrack
# tool kube-proxy calls, socat (the kubelet's port-forward; up.sh's forwarder for pods to the API
# server), the containerd and runc that Docker's package already brings (the cluster runs a second
# containerd of its own), and what up.sh and down.sh call (curl, openssl, iptables, nft, ip, and
# nfacct: kube-proxy makes packet counters that outlive its rules).
missing=()
for p in containernetworking-plugins conntrack socat containerd runc curl openssl iptables nftables iproute2 nfacct; do
	if ! dpkg -s "$p" >/dev/null 2>&1; then missing+=("$p"); fi
done
if ((${#missing[@]})); then
	start=$SECONDS
	sudo=""
	if [ "$(id -u)" != 0 ] && command -v sudo >/dev/null; then sudo="sudo"; fi
	log "installing ${missing[*]}"
	$sudo apt-get update -qq >/dev/null
	$sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
		"${missing[@]}" >/dev/null
	log "installed ${missing[*]} in $(elapsed $start)"
fi

# stale BIN SOURCE...: true when BIN is missing, FORCE=1, or a source is newer.
stale() {
	local bin=$1
	shift
	if [[ "${FORCE:-}" == 1 || ! -s "$bin" ]]; then return 0; fi
	local f
	for f in "$here/go.mod" "$here/go.sum" "$@"; do
		if [[ "$f" -nt "$bin" ]]; then return 0; fi
	done
	return 1
}

mkdir -p "$out"
cd "$here"
tmp=""
trap 'rm -rf "$tmp"' EXIT
total=$SECONDS
built=0

# Without these the components report v0.0.0-master+$Format:%H$, which clients fail to parse.
ldflags="-s -w -X k8s.io/component-base/version.gitVersion=$version"
ldflags+=" -X k8s.io/component-base/version.gitMajor=1 -X k8s.io/component-base/version.gitMinor=37"
ldflags+=" -X k8s.io/component-base/version.gitTreeState=clean"

# One binary at a time with -p 2: kube-apiserver and kube-controller-manager each peak near 3 GB
# while linking; two at once on 2 cores gain nothing and double that.
for cmd in kube-apiserver kube-controller-manager kube-scheduler kubelet kube-proxy etcd kubectl; do
	pkg="k8s.io/kubernetes/cmd/$cmd"
	srcs=()
	if [[ $cmd == etcd ]]; then
		pkg=./etcd
		srcs=("$here/etcd/main.go")
	fi
	if ! stale "$out/$cmd" "${srcs[@]}"; then continue; fi
	start=$SECONDS
	case $cmd in
	kube-apiserver | kube-controller-manager) log "building $cmd (minutes on a cold build cache)" ;;
	*) log "building $cmd" ;;
	esac
	# A temporary name, then a rename: an interrupted build never leaves a half-written binary
	# that looks newer than its sources.
	tmp="$out/.$cmd.tmp.$$"
	CGO_ENABLED=0 go build -p 2 -trimpath -ldflags "$ldflags" -o "$tmp" "$pkg"
	mv -f "$tmp" "$out/$cmd"
	tmp=""
	built=1
	log "built $cmd in $(elapsed $start)"
done

# --- the sandbox image: docker build of a FROM scratch image holding only the pause program,
# saved as a tar that up.sh imports into the cluster's containerd under $pause_image.
if stale "$out/pause.tar" "$here/pause/main.go"; then
	start=$SECONDS
	tmp="$(mktemp -d)"
	CGO_ENABLED=0 go build -trimpath -ldflags "-s -w" -o "$tmp/pause" ./pause
	printf 'FROM scratch\nCOPY pause /pause\nENTRYPOINT ["/pause"]\n' >"$tmp/Dockerfile"
	if ! docker build -q -t "$pause_image" "$tmp" >"$tmp/build.log" 2>&1; then
		cat "$tmp/build.log" >&2
		exit 1
	fi
	docker save -o "$tmp/pause.tar" "$pause_image"
	mv -f "$tmp/pause.tar" "$out/pause.tar"
	rm -rf "$tmp"
	tmp=""
	built=1
	log "built the pause image $pause_image in $(elapsed $start)"
fi

if ((built)); then
	log "built in $(elapsed $total): $out"
else
	log "up to date: $out"
fi
echo "$out"
