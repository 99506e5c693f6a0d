#!/usr/bin/env bash
# Takes down the cluster up.sh started and leaves the machine as it was before: stops every
# process by its PID (SIGTERM to its process group, SIGKILL after a timeout), in order, and removes
# every namespace, link, route, iptables rule and chain (IPv4 and IPv6, the kubelet's and
# kube-proxy's too), empty nft table, nfacct counter, mount, cgroup, conntrack entry and folder the
# cluster made, puts back the kernel settings the kubelet changed, and removes the state folder.
# Safe to run twice, and after an up.sh that failed halfway (up.sh calls it then). Took 4-5 s here.
#
#   bash tools/kubernetes/down.sh   # state in /tmp/tracerig-kube, or TRACERIG_KUBE_DIR
#
# Exits non-zero, saying what, when something could not be removed.
set -uo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=settings.sh
source "$here/settings.sh"
D="$KUBE_DIR"
start_time=$SECONDS
problems=0

log() { echo "down: $*" >&2; }
problem() {
	echo "down: $*" >&2
	problems=$((problems + 1))
}

if [[ $(id -u) != 0 ]]; then
	echo "down: needs root" >&2
	exit 1
fi

# --- processes -------------------------------------------------------------------------------

# alive PID [STIME]: PID runs (not a zombie) and, given STIME, is the process that started then.
alive() {
	local stat
	stat="$(cat "/proc/$1/stat" 2>/dev/null)" || return 1
	# Fields after the command name, which is in parentheses: state is the 1st, start time the 20th.
	local rest
	read -r -a rest <<<"${stat##*\) }"
	[[ "${rest[0]}" != Z ]] || return 1
	[[ -z "${2:-}" || "${rest[19]}" == "$2" ]]
}

# stop NAME SECONDS: SIGTERM to the process group up.sh started as NAME (each component leads a
# session of its own), SIGKILL to it after SECONDS. A stopped process can linger as a zombie for a
# while here (PID 1 is not a real init); a zombie counts as stopped.
stop() {
	local name=$1 limit=$2 pid stime
	[[ -f "$D/pids/$name" ]] || return 0
	read -r pid stime <"$D/pids/$name"
	if [[ -n "$pid" && -n "$stime" ]] && alive "$pid" "$stime"; then
		local t0=$SECONDS
		kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null
		local deadline=$((SECONDS + limit))
		while alive "$pid" "$stime" && ((SECONDS < deadline)); do sleep 0.1; done
		if alive "$pid" "$stime"; then
			log "$name ($pid) still running after ${limit}s: SIGKILL"
			kill -KILL -- "-$pid" 2>/dev/null || kill -KILL "$pid" 2>/dev/null
			while alive "$pid" "$stime" && ((SECONDS < deadline + 5)); do sleep 0.1; done
			if alive "$pid" "$stime"; then problem "$name ($pid) survived SIGKILL"; fi
		fi
		log "stopped $name ($pid) in $((SECONDS - t0))s"
		# The rest of its process group (a forwarder's connections, a command the kubelet ran);
		# the group's number cannot be reused while a member lives.
		kill -KILL -- "-$pid" 2>/dev/null
	fi
	rm -f "$D/pids/$name"
}

# ours_by_cmdline: PIDs of live cluster programs (the components, containerd's shims, the API
# server's forwarder) whose command line names this cluster's state folder or node address.
ours_by_cmdline() {
	local p cmd
	for p in /proc/[0-9]*; do
		p=${p#/proc/}
		cmd="$(tr '\0' ' ' 2>/dev/null <"/proc/$p/cmdline")" || continue
		case "${cmd%% *}" in
		*/containerd | containerd | */containerd-shim-runc-v2 | */socat | socat | "$kube_bin"/*) ;;
		*) continue ;;
		esac
		if [[ $cmd == *"$D/"* || $cmd == *"bind=$KUBE_NODE_IP,"* ]]; then
			alive "$p" && echo "$p"
		fi
	done
}

# in_pod_cgroups: PIDs in the kubelet's pod cgroups (the containers).
in_pod_cgroups() {
	local f
	for f in /sys/fs/cgroup/pids/kubepods /sys/fs/cgroup/memory/kubepods; do
		[[ -d $f ]] || continue
		find "$f" -name cgroup.procs -exec cat {} + 2>/dev/null
	done | sort -un
}

ctr_() { timeout 20 ctr --address "$KUBE_CONTAINERD_SOCK" --namespace k8s.io "$@"; }

if [[ -d "$D" ]]; then
	# Nothing new is scheduled or restarted from here on.
	stop kube-controller-manager 10
	stop kube-scheduler 10
	stop kubelet 15
	stop kube-proxy 10
	# kube-proxy's own take-down of its rules (iptables, IPv4 and IPv6; also nftables and IPVS).
	if [[ -x "$kube_bin/kube-proxy" ]]; then
		timeout 60 "$kube_bin/kube-proxy" --cleanup --v=0 >"$D/logs/kube-proxy-cleanup.log" 2>&1 ||
			problem "kube-proxy --cleanup failed: $(tail -n 3 "$D/logs/kube-proxy-cleanup.log")"
	fi
	# The workloads, through the containerd that runs them (their shims outlive it).
	if [[ -S "$KUBE_CONTAINERD_SOCK" ]] && ctr_ version >/dev/null 2>&1; then
		n=0
		for id in $(ctr_ tasks ls -q 2>/dev/null); do
			ctr_ tasks kill --all --signal SIGKILL "$id" >/dev/null 2>&1
			n=$((n + 1))
		done
		# A task may end and go between the listing and the deletion: delete what is listed, a few
		# times, and complain only about what stays.
		for _ in 1 2 3; do
			for id in $(ctr_ tasks ls -q 2>/dev/null); do ctr_ tasks delete --force "$id" >/dev/null 2>&1; done
			for id in $(ctr_ containers ls -q 2>/dev/null); do ctr_ containers delete "$id" >/dev/null 2>&1; done
			[[ -z "$(ctr_ containers ls -q 2>/dev/null)" ]] && break
			sleep 0.5
		done
		left="$(ctr_ containers ls -q 2>/dev/null | tr '\n' ' ')"
		if [[ -n "$left" ]]; then problem "ctr: containers not deleted: $left"; fi
		log "killed $n containers"
	fi
	stop kube-apiserver-forwarder 5
	stop kube-apiserver 20
	stop containerd 15
	stop etcd 15
fi

# Whatever is left: containers (in the pod cgroups), shims and anything else naming the state
# folder. By PID, SIGKILL.
leftover="$( (in_pod_cgroups; ours_by_cmdline) | sort -un | tr '\n' ' ')"
if [[ -n "${leftover// /}" ]]; then
	log "SIGKILL to leftover processes: $leftover"
	for p in $leftover; do kill -KILL "$p" 2>/dev/null; done
	for _ in $(seq 50); do
		still=""
		for p in $leftover; do alive "$p" && still+="$p "; done
		[[ -z "$still" ]] && break
		sleep 0.1
	done
	if [[ -n "$still" ]]; then problem "processes still running: $still"; fi
fi

# --- mounts: the kubelet's root (bind-mounted onto itself), pod volumes, container root file
# systems and shm, network namespaces of pods. Deepest first.
mounts_of_ours() {
	awk '{print $5}' /proc/self/mountinfo | while read -r m; do
		case "$m" in
		"$D" | "$D"/* | /run/netns/cni-* | /var/lib/kubelet | /var/lib/kubelet/* | \
			/run/containerd/io.containerd.* | /run/containerd/io.containerd.*/*k8s.io*) echo "$m" ;;
		esac
	done | awk '{print length, $0}' | sort -rn | cut -d' ' -f2-
}
for _ in 1 2 3; do
	ms="$(mounts_of_ours)"
	[[ -z "$ms" ]] && break
	while read -r m; do
		umount "$m" 2>/dev/null || umount -l "$m" 2>/dev/null
	done <<<"$ms"
done
ms="$(mounts_of_ours)"
if [[ -n "$ms" ]]; then problem "mounts left: $(echo "$ms" | tr '\n' ' ')"; fi
for n in /run/netns/cni-*; do
	[[ -e $n ]] && rm -f "$n"
done

# --- links and routes: the pods' veths (their namespaces are gone now), the bridge, the node
# address's veth pair (its peer goes with it), the unreachable route of the pod CIDR.
if ip link show "$KUBE_BRIDGE" >/dev/null 2>&1; then
	for l in $(ip -o link show master "$KUBE_BRIDGE" 2>/dev/null | awk -F': ' '{print $2}' | cut -d@ -f1); do
		ip link del "$l" 2>/dev/null
	done
	ip link del "$KUBE_BRIDGE" || problem "link $KUBE_BRIDGE not deleted"
fi
if ip link show "$KUBE_VETH" >/dev/null 2>&1; then
	ip link del "$KUBE_VETH" || problem "link $KUBE_VETH not deleted"
fi
if ip link show "$KUBE_VETH_PEER" >/dev/null 2>&1; then
	ip link del "$KUBE_VETH_PEER" || problem "link $KUBE_VETH_PEER not deleted"
fi
while ip route show type unreachable "$KUBE_POD_CIDR" 2>/dev/null | grep -q .; do
	ip route del unreachable "$KUBE_POD_CIDR" || {
		problem "route unreachable $KUBE_POD_CIDR not deleted"
		break
	}
done

# --- iptables (IPv4 and IPv6): our guards, then every KUBE-* chain and each rule jumping to one
# (kube-proxy --cleanup leaves the kubelet's KUBE-FIREWALL, KUBE-KUBELET-CANARY and
# KUBE-IPTABLES-HINT).
for fam in iptables ip6tables; do
	for table in filter nat mangle raw; do
		save="$("$fam-save" -t "$table" 2>/dev/null)" || continue
		# Rules jumping to our chains, in built-in or other chains.
		grep -E -- "^-A .* -j (KUBE-|$KUBE_CHAIN_PREFIX-)[A-Za-z0-9-]*( |$)" <<<"$save" |
			grep -vE -- "^-A (KUBE-|$KUBE_CHAIN_PREFIX-)" |
			while read -r rule; do
				eval "$fam -w -t $table -D ${rule#-A }" 2>/dev/null ||
					echo "down: $fam -t $table: could not delete: $rule" >&2
			done
		chains="$(grep -oE -- "^:(KUBE-|$KUBE_CHAIN_PREFIX-)[A-Za-z0-9-]*" <<<"$save" | cut -c2-)"
		for c in $chains; do "$fam" -w -t "$table" -F "$c" 2>/dev/null; done
		for c in $chains; do
			"$fam" -w -t "$table" -X "$c" 2>/dev/null || problem "$fam -t $table: chain $c not deleted"
		done
	done
done

# --- nft tables that the chains above brought into being and that are empty now.
if [[ -f "$D/nft-tables-before" ]]; then
	nft list tables 2>/dev/null | while read -r _ fam name; do
		if grep -qx "table $fam $name" "$D/nft-tables-before"; then continue; fi
		body="$(nft list table "$fam" "$name" 2>/dev/null |
			grep -vE '^\s*(table .*\{|chain .*\{|type .* hook .*;|\}|)\s*$')"
		if [[ -z "$body" ]]; then
			nft delete table "$fam" "$name" || echo "down: nft table $fam $name not deleted" >&2
		fi
	done
fi

# --- the nfacct counters kube-proxy made (its rules counted packets in them); unused now.
if [[ -f "$D/nfacct-before" ]] && command -v nfacct >/dev/null; then
	for name in $(nfacct list 2>/dev/null | sed -nE 's/.* = (.*);$/\1/p'); do
		if ! grep -qxF "$name" "$D/nfacct-before"; then
			nfacct delete "$name" || problem "nfacct counter $name not deleted"
		fi
	done
fi

# --- conntrack entries of the cluster's addresses.
if command -v conntrack >/dev/null; then
	for sel in "-s $KUBE_POD_CIDR" "-d $KUBE_POD_CIDR" "-d $KUBE_SERVICE_CIDR" "-s $KUBE_NODE_IP" "-d $KUBE_NODE_IP"; do
		# shellcheck disable=SC2086
		conntrack -D $sel >/dev/null 2>&1
	done
fi

# --- kernel settings, cgroups, folders outside the state folder, the state folder.
if [[ -f "$D/sysctls" ]]; then
	while IFS='=' read -r k v; do
		[[ "$(sysctl -n "$k" 2>/dev/null)" == "$v" ]] || sysctl -qw "$k=$v" || problem "sysctl $k not put back to $v"
	done <"$D/sysctls"
fi
if [[ -f "$D/created-paths" ]]; then
	while read -r p; do
		[[ -e "$p" ]] || continue
		case "$p" in
		/sys/fs/cgroup/*)
			find "$p" -depth -type d -exec rmdir {} + 2>/dev/null
			[[ -e "$p" ]] && problem "cgroup $p not removed"
			;;
		/run/containerd)
			# Shared with Docker's containerd, whose shims keep their sockets in s/ too: remove
			# ours (runc's and ctr's folders, sockets no process listens on), then what is empty.
			rm -rf /run/containerd/runc/k8s.io /run/containerd/fifo
			listening="$(ss -xlH 2>/dev/null | awk '{print $5}')"
			for s in /run/containerd/s/*; do
				[[ -S $s ]] && ! grep -qxF "$s" <<<"$listening" && rm -f "$s"
			done
			find /run/containerd -depth -type d -empty -delete 2>/dev/null
			;;
		/run/netns)
			# Others may keep namespaces here: remove the folder only when empty.
			rmdir /run/netns 2>/dev/null
			;;
		*) rm -rf --one-file-system "$p" || problem "$p not removed" ;;
		esac
	done <"$D/created-paths"
fi
if [[ -d "$D" ]]; then
	if [[ -n "$(mounts_of_ours)" ]]; then
		problem "$D kept: mounts are left under it"
	else
		rm -rf --one-file-system "$D" || problem "$D not removed"
	fi
fi

if ((problems)); then
	echo "down: done in $((SECONDS - start_time))s with $problems problems (above)" >&2
	exit 1
fi
log "down in $((SECONDS - start_time))s"
