#!/bin/sh
# Installs actionlint (the GitHub Actions workflow linter) from the Go module proxy, once: the binary is
# cached under ${XDG_CACHE_HOME:-$HOME/.cache}/ml-platform/ and reused while the pinned version stays the same.
#
# usage: install-actionlint.sh     prints the path of the actionlint binary
set -eu

ACTIONLINT_VERSION=v1.7.12
bin_dir=${XDG_CACHE_HOME:-$HOME/.cache}/ml-platform/actionlint-$ACTIONLINT_VERSION
actionlint=$bin_dir/actionlint

if [ -x "$actionlint" ] && "$actionlint" -version >/dev/null 2>&1; then
  echo "$actionlint"
  exit 0
fi

command -v go >/dev/null 2>&1 || { echo "install-actionlint: Go is required to install actionlint" >&2; exit 1; }
mkdir -p "$bin_dir"
echo "install-actionlint: installing actionlint $ACTIONLINT_VERSION" >&2
GOBIN=$bin_dir CGO_ENABLED=0 go install "github.com/rhysd/actionlint/cmd/actionlint@$ACTIONLINT_VERSION"
echo "$actionlint"
