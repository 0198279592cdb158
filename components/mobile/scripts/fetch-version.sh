#!/bin/sh
# First step of a mobile export (the store image, with the AWS CLI): waits until version $MODEL_VERSION of model
# $MODEL_NAME is complete in the store, then downloads it, verified against its manifest, into
# $MODELS_DIR/<model>/<version>/ with model-sync.sh's `fetch` mode (shipped beside this script), so a damaged or
# partial version is never converted.
#
# Environment: MODEL_NAME, MODEL_VERSION, MODELS_DIR, S3_BUCKET (required); VERSION_WAIT_SECONDS (how long to wait
# for the version to be complete, default 86400), VERSION_POLL_SECONDS (pause between looks, default 15), plus
# what model-sync.sh needs (S3_ENDPOINT, AWS_CLI, the AWS_* credentials and region).
#
# Exit status: 0 the version is in place; 1 it is damaged, or did not complete in time (the job should fail:
# trying again cannot help); 2 bad settings. A store that fails (unreachable, credentials not accepted yet) is
# retried until the deadline.
set -u

here=$(dirname "$0")
model="${MODEL_NAME:?MODEL_NAME is required}"
version="${MODEL_VERSION:?MODEL_VERSION is required}"
wait_seconds="${VERSION_WAIT_SECONDS:-86400}"
poll_seconds="${VERSION_POLL_SECONDS:-15}"
location="s3://${S3_BUCKET:-}/models/$model/$version/"

log() { echo "fetch-version: $*" >&2; }

for setting in "VERSION_WAIT_SECONDS=$wait_seconds" "VERSION_POLL_SECONDS=$poll_seconds"; do
  case ${setting#*=} in
    '' | *[!0-9]* | 0) log "${setting%%=*} must be a positive number of seconds (got \"${setting#*=}\")"; exit 2 ;;
  esac
done

# A shell running as PID 1 ignores SIGTERM unless it traps it: sleep in the background so the trap runs at once.
sleeper=""
trap 'if [ -n "$sleeper" ]; then kill "$sleeper" 2>/dev/null; fi; exit 143' TERM INT

deadline=$(($(date +%s) + wait_seconds))
waiting=""
while :; do
  status=0
  sh "$here/model-sync.sh" fetch "$model" "$version" || status=$?
  case $status in
    0)
      log "version $version of \"$model\" is in place, verified against its manifest"
      exit 0
      ;;
    1)
      log "version $version of \"$model\" in $location is damaged (see above): not converting it"
      exit 1
      ;;
    3)
      [ -n "$waiting" ] || log "waiting up to ${wait_seconds}s for ${location}_SUCCESS (looking every ${poll_seconds}s)"
      waiting=1
      ;;
    75) log "the store failed (see above); trying again in ${poll_seconds}s" ;;
    *) exit "$status" ;;
  esac
  if [ "$(date +%s)" -ge "$deadline" ]; then
    log "gave up after ${wait_seconds}s: version $version of \"$model\" is not complete and verified in $location"
    exit 1
  fi
  sleep "$poll_seconds" &
  sleeper=$!
  wait "$sleeper" || true
  sleeper=""
done
