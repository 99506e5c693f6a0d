#!/usr/bin/env bash
# Builds the tracerig OpenTelemetry Collector (otelcol-tracerig) into <repo>/bin/, once: a binary
# newer than this folder's go.mod, go.sum and main.go is reused. A cold build takes about 2.5
# minutes on 2 cores (a warm Go build cache: seconds); the binary is about 48 MB.
#
#   bash tools/collector/build.sh          build if stale, print the binary's path
#   FORCE=1 bash tools/collector/build.sh  rebuild anyway
#
# tracerig finds the binary at <repo>/bin/otelcol-tracerig, or wherever TRACERIG_COLLECTOR points.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
bin="$root/bin/otelcol-tracerig"

stale=0
if [[ "${FORCE:-}" == 1 || ! -x "$bin" ]]; then
	stale=1
else
	for f in go.mod go.sum main.go; do
		if [[ "$here/$f" -nt "$bin" ]]; then stale=1; fi
	done
fi

if [[ $stale == 0 ]]; then
	echo "collector: up to date: $bin" >&2
	echo "$bin"
	exit 0
fi

mkdir -p "$root/bin"
echo "collector: building $bin (a cold build takes a few minutes)" >&2
start=$SECONDS
cd "$here"
# Build to a temporary name, then rename: an interrupted build never leaves a half-written binary
# that looks newer than its sources.
tmp="$root/bin/.otelcol-tracerig.tmp.$$"
trap 'rm -f "$tmp"' EXIT
CGO_ENABLED=0 go build -trimpath -o "$tmp" .
mv -f "$tmp" "$bin"
echo "collector: built in $((SECONDS - start))s: $bin" >&2
echo "$bin"
