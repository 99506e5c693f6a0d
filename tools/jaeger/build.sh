#!/usr/bin/env bash
# Builds Jaeger v2 (github.com/jaegertracing/jaeger/cmd/jaeger, pinned in this folder's go.mod as a
# Go tool) into <repo>/bin/jaeger, once: a binary newer than this folder's go.mod and go.sum is
# reused. Plain `go install …@v1.76.0` is refused (Jaeger's go.mod has replace directives), hence
# this tools module. A cold build took 5m48s on 2 cores (shared with other builds; a warm Go build
# cache: seconds); the binary is about 121 MB. The module build has no web UI (placeholder
# assets); its query API is complete.
#
#   bash tools/jaeger/build.sh          build if stale, print the binary's path
#   FORCE=1 bash tools/jaeger/build.sh  rebuild anyway
#
# tracerig finds the binary at <repo>/bin/jaeger, or wherever TRACERIG_JAEGER points.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
bin="$root/bin/jaeger"

stale=0
if [[ "${FORCE:-}" == 1 || ! -x "$bin" ]]; then
	stale=1
else
	for f in go.mod go.sum; do
		if [[ "$here/$f" -nt "$bin" ]]; then stale=1; fi
	done
fi

if [[ $stale == 0 ]]; then
	echo "jaeger: up to date: $bin" >&2
	echo "$bin"
	exit 0
fi

mkdir -p "$root/bin"
echo "jaeger: building $bin (a cold build takes several minutes)" >&2
start=$SECONDS
cd "$here"
# Build to a temporary name, then rename: an interrupted build never leaves a half-written binary
# that looks newer than its sources.
tmp="$root/bin/.jaeger.tmp.$$"
trap 'rm -f "$tmp"' EXIT
CGO_ENABLED=0 go build -trimpath -o "$tmp" github.com/jaegertracing/jaeger/cmd/jaeger
mv -f "$tmp" "$bin"
echo "jaeger: built in $((SECONDS - start))s: $bin" >&2
echo "$bin"
