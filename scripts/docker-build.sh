#!/usr/bin/env bash
# Builds the tracerig image from this checkout: a static tracerig
# (CGO_ENABLED=0) and the host's Debian CA certificates in a build context of
# their own, then `docker build` with the Dockerfile at the repository root.
# No image is pulled: the Dockerfile starts FROM scratch.
#
#   scripts/docker-build.sh [TAG]        TAG defaults to tracerig:dev
#
# GOARCH chooses the binary's architecture (default: Go's own). The CA
# bundle comes from Debian's ca-certificates package
# (apt-get install ca-certificates).
set -euo pipefail
cd "$(dirname "$0")/.."

tag="${1:-tracerig:dev}"
certs=/etc/ssl/certs/ca-certificates.crt
if [ ! -s "$certs" ]; then
	echo "docker-build: $certs is missing: install Debian's ca-certificates" >&2
	exit 1
fi

ctx="$(mktemp -d "${TMPDIR:-/tmp}/tracerig-docker-XXXXXX")"
trap 'rm -rf "$ctx"' EXIT
CGO_ENABLED=0 GOOS=linux go build -trimpath -ldflags='-s -w' -o "$ctx/tracerig" ./cmd/tracerig
cp "$certs" "$ctx/ca-certificates.crt"
mkdir "$ctx/work" "$ctx/tmp"
chmod 1777 "$ctx/tmp"

# Without the buildx plugin the docker CLI refuses BuildKit; the classic
# builder reads this Dockerfile as well.
if ! docker buildx version >/dev/null 2>&1; then
	export DOCKER_BUILDKIT=0
fi
docker build -q -t "$tag" -f Dockerfile "$ctx" >/dev/null
echo "$tag"
