#!/usr/bin/env bash
# Prints a normalized snapshot of what the test cluster touches on this machine, for comparing a
# snapshot taken before up.sh with one taken after down.sh (internal/kubecluster's up/down test
# does): mounts, links and their addresses, routes of every table (IPv4 and IPv6), iptables-save of
# filter, nat, mangle and raw (IPv4 and IPv6, nft and legacy, without counters), nft tables, nfacct
# counters, network namespaces, the kernel settings up.sh and the kubelet change, the kubelet's
# cgroups, the folders outside the state folder that components write to, and the cluster's
# processes.
#
#   bash tools/kubernetes/snapshot.sh >before.txt
#
# What Docker makes and unmakes as containers come and go (its containers' veths, br-* networks and
# their routes, the contents of its DOCKER chains, per-container masquerade rules, mounts under its
# folders, docker0's carrier) is left out, so that other work using Docker on this machine does not
# show up as a difference; TRACERIG_SNAPSHOT_ALL=1 keeps it.
set -uo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=settings.sh
source "$here/settings.sh"

all="${TRACERIG_SNAPSHOT_ALL:-}"
# Links Docker manages: its networks' bridges and its containers' veths.
docker_links="$(ip -o link show 2>/dev/null | awk -F': ' '{print $2}' | cut -d@ -f1 | grep -E '^br-[0-9a-f]{12}$')"
docker_links+=$'\n'"$(ip -o link show 2>/dev/null | grep -E ' master (docker0|br-[0-9a-f]{12}) ' |
	awk -F': ' '{print $2}' | cut -d@ -f1)"
# What to leave out: Docker's chains' rules, per-container masquerade rules, docker0's IPv6
# link-local address and routes (there only while a container is attached), Docker's networks,
# links and mounts.
pat='^-A DOCKER |^-A POSTROUTING -s ([0-9.]+)/32 -d \1/32 .*-j MASQUERADE|^docker0 inet6 fe80:'
pat+='|^(fe80::/64|local fe80:[0-9a-f:]+|multicast ff00::/8) dev docker0 '
pat+='|br-[0-9a-f]{12}|/var/lib/docker|/run/docker/|/var/run/docker/'
for l in $docker_links; do pat+="|(^| |dev )$l( |$)"; done
# A broken pattern would empty every section alike, and two snapshots would compare equal.
echo | grep -E -- "$pat" >/dev/null
if (($? > 1)); then
	echo "snapshot: bad pattern: $pat" >&2
	exit 2
fi
# not_docker: drops lines about what Docker manages (unless TRACERIG_SNAPSHOT_ALL=1).
not_docker() {
	if [[ -n "$all" ]]; then
		cat
		return
	fi
	grep -vE -- "$pat" | sed -E 's/ linkdown//; s/(docker0[^<]*<[^>]*)(NO-CARRIER,|,LOWER_UP)/\1/g'
}

section() { printf '\n== %s\n' "$1"; }

section "mounts (mount point, type, source)"
awk '{for (i = 7; $i != "-"; i++); print $5, $(i+1), $(i+2)}' /proc/self/mountinfo | sort | not_docker

section "links"
ip -o link show | awk -F': ' '{print $2, $3}' | sed -E 's/ qlen [0-9]+//; s/\\ +link\/.*//; s/ mtu [0-9]+//' |
	sed -E 's/@if[0-9]+//; s/ (qdisc|state|mode|group) [^ ]+//g' | sort | not_docker

section "addresses"
ip -o addr show | awk '{print $2, $3, $4}' | sort | not_docker

section "routes (IPv4, all tables)"
ip -4 route show table all | sort | not_docker
section "routes (IPv6, all tables)"
ip -6 route show table all | sed -E 's/ expires [0-9]+sec//' | sort | not_docker
section "rules"
ip -4 rule show | sort
ip -6 rule show | sort

for save in iptables-save ip6tables-save iptables-legacy-save ip6tables-legacy-save; do
	command -v "$save" >/dev/null || continue
	for table in filter nat mangle raw; do
		section "$save -t $table"
		"$save" -t "$table" 2>/dev/null | grep -vE '^#' | sed -E 's/ \[[0-9]+:[0-9]+\]$//' | not_docker
	done
done

section "nft tables"
nft list tables 2>/dev/null | sort

section "nfacct counters"
nfacct list 2>/dev/null | sed -nE 's/.* = (.*);$/\1/p' | sort

section "network namespaces"
ls -1 /run/netns 2>/dev/null

section "kernel settings"
for s in "${KUBE_SYSCTLS[@]}" net.ipv4.ip_forward net.ipv4.conf.all.route_localnet \
	net.ipv6.conf.all.forwarding net.bridge.bridge-nf-call-iptables net.bridge.bridge-nf-call-ip6tables \
	net.netfilter.nf_conntrack_max net.netfilter.nf_conntrack_tcp_timeout_established \
	net.netfilter.nf_conntrack_tcp_timeout_close_wait net.netfilter.nf_conntrack_udp_timeout \
	net.netfilter.nf_conntrack_udp_timeout_stream net.netfilter.nf_conntrack_tcp_be_liberal; do
	echo "$s = $(sysctl -n "$s" 2>&1)"
done

section "cgroups of the kubelet"
ls -d /sys/fs/cgroup/*/kubepods* 2>/dev/null

section "folders outside the state folder"
for p in "${KUBE_OUTSIDE_PATHS[@]}" "$KUBE_DIR"; do
	if [[ -e "$p" ]]; then echo "$p"; fi
done
ls -1 /run/containerd 2>/dev/null | sed 's|^|/run/containerd/|'

section "cluster processes (not zombies)"
for p in /proc/[0-9]*; do
	cmd="$(tr '\0' ' ' 2>/dev/null <"$p/cmdline")" || continue
	[[ -n "$cmd" ]] || continue
	state="$(awk '{print $3}' "$p/stat" 2>/dev/null)"
	[[ "$state" == Z ]] && continue
	case "$cmd" in
	"$kube_bin"/* | *"$KUBE_CONTAINERD_SOCK"* | *"$KUBE_DIR/"*config* | *"bind=$KUBE_NODE_IP,"*) echo "$cmd" ;;
	esac
	if grep -q kubepods "$p/cgroup" 2>/dev/null; then echo "in pod cgroup: $cmd"; fi
done | sort
