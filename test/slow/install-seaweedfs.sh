#!/bin/sh
# Builds SeaweedFS's `weed` for the slow tests from the Go module proxy, once: the result is cached
# under ${XDG_CACHE_HOME:-$HOME/.cache}/ml-platform/ and reused while the pinned version stays the same.
#
# SeaweedFS tags its releases "4.53", which are not Go semantic versions, so the module proxy serves the
# source only by pseudo-version. SEAWEEDFS_MODULE_VERSION is the master commit of 2026-11-09, whose
# version constant and Helm chart say 4.53 (the image the InClusterModelStore pins).
#
# usage: install-seaweedfs.sh     prints the path of the weed binary
set -eu

SEAWEEDFS_MODULE_VERSION=v0.0.0-20261109003541-7506e5f91cd6
cache_dir=${XDG_CACHE_HOME:-$HOME/.cache}/ml-platform/seaweedfs-$SEAWEEDFS_MODULE_VERSION
weed=$cache_dir/weed

if [ -x "$weed" ] && "$weed" version >/dev/null 2>&1; then
  echo "$weed"
  exit 0
fi

command -v go >/dev/null 2>&1 || { echo "install-seaweedfs: Go is required to build SeaweedFS" >&2; exit 1; }
mkdir -p "$cache_dir"
src_dir=$(go mod download -json "github.com/seaweedfs/seaweedfs@$SEAWEEDFS_MODULE_VERSION" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')
[ -d "$src_dir" ] || { echo "install-seaweedfs: go mod download gave no source directory" >&2; exit 1; }

# `go install module@version` refuses modules with replace directives, so build inside a writable copy.
work=$(mktemp -d)
trap 'chmod -R u+w "$work" 2>/dev/null; rm -rf "$work"' EXIT
cp -R "$src_dir/." "$work/"
chmod -R u+w "$work"
echo "install-seaweedfs: building weed $SEAWEEDFS_MODULE_VERSION (a few minutes the first time)" >&2
(cd "$work" && CGO_ENABLED=0 GOFLAGS=-buildvcs=false go build -o "$weed.tmp" ./weed)
mv -f "$weed.tmp" "$weed"
echo "$weed"
