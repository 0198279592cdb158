#!/bin/sh
# `npm run test:e2e [-- <vitest args>]`: builds the tools once (install-tools.sh, cached), then runs the
# real-deploy suite in a network namespace of its own whose only interface is loopback, so that nothing it
# starts (API server, Pulumi, plugins, npm) can reach any address outside 127.0.0.0/8.
set -eu
cd "$(dirname "$0")/../.."

if [ "${ML_PLATFORM_E2E_IN_NETNS:-}" = 1 ]; then
  ip link set lo up
  exec node_modules/.bin/vitest run --config vitest.e2e.config.mts "$@"
fi

ML_PLATFORM_E2E_TOOLS=$(sh test/e2e/install-tools.sh)
export ML_PLATFORM_E2E_TOOLS

missing=""
for tool in unshare ip openssl git; do command -v "$tool" >/dev/null 2>&1 || missing="$missing $tool"; done
if [ -n "$missing" ]; then
  echo "test:e2e: missing:$missing (Debian: apt-get install util-linux iproute2 openssl git)" >&2
  exit 3
fi

export ML_PLATFORM_E2E_IN_NETNS=1
# As root a plain network namespace; otherwise inside a user namespace (unprivileged user namespaces).
if unshare --net true 2>/dev/null; then
  exec unshare --net sh "$0" "$@"
elif unshare --map-root-user --net true 2>/dev/null; then
  exec unshare --map-root-user --net sh "$0" "$@"
fi
echo "test:e2e: cannot create a network namespace (run as root, or enable unprivileged user namespaces);" \
  "the suite runs only where it cannot reach anything but loopback" >&2
exit 3
