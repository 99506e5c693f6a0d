#!/usr/bin/env bash
# Imports images built with the local Docker into the test cluster's containerd (namespace k8s.io),
# where pods use them with imagePullPolicy: Never; no registry is reachable from here. The cluster
# must be up (up.sh); its containerd keeps images until down.sh, so load again after each up.sh.
#
#   bash tools/kubernetes/load-image.sh tracerig:dev [IMAGE...]
#
# Docker names an image without a registry docker.io/library/NAME:TAG (docker.io/OWNER/NAME:TAG
# with an owner); pods can name it either way. The pause image up.sh imports is
# localhost/tracerig/pause:v1.37.2.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=settings.sh
source "$here/settings.sh"

if (($# == 0)); then
	echo "usage: $0 IMAGE..." >&2
	exit 2
fi
if [[ ! -S "$KUBE_CONTAINERD_SOCK" ]]; then
	echo "load-image: no cluster containerd at $KUBE_CONTAINERD_SOCK: start the cluster with tools/kubernetes/up.sh" >&2
	exit 1
fi
start=$SECONDS
docker save "$@" | ctr --address "$KUBE_CONTAINERD_SOCK" --namespace k8s.io images import - >&2
echo "load-image: imported $* in $((SECONDS - start))s" >&2
