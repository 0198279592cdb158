#!/bin/sh
# Keeps the SeaweedFS S3 configuration in step with the identities Secret: every interval it re-renders
# the file from the mounted fragments and, when it changed (a grant was added or removed), sends SIGHUP
# to the server, which reloads its identities from the file. Needs a shared process namespace.
#
# usage: reload-identities.sh <fragments-dir> <config-file> <interval-seconds>
# env:   SERVER_PROCESS  process name to signal (default: weed)
set -eu

if [ "$#" -ne 3 ]; then
  echo "usage: $0 <fragments-dir> <config-file> <interval-seconds>" >&2
  exit 2
fi
fragments_dir=$1
config_file=$2
interval=$3
server_process=${SERVER_PROCESS:-weed}
here=$(dirname "$0")

trap 'exit 0' TERM INT

while :; do
  if result=$(sh "$here/render-identities.sh" "$fragments_dir" "$config_file"); then
    if [ "$result" = "changed" ]; then
      if pkill -HUP -x "$server_process"; then
        echo "reload-identities: identities changed; signalled $server_process to reload"
      else
        echo "reload-identities: identities changed; $server_process is not running yet and will read them at start"
      fi
    fi
  else
    echo "reload-identities: keeping the previous configuration" >&2
  fi
  sleep "$interval" &
  wait $!
done
