#!/bin/sh
# Store agent: the sidecar (an init container with restartPolicy Always) next to the training container,
# in the image that has the AWS CLI, so training images need nothing but /bin/sh.
#
# On the exporting pod it
#   - saves $CHECKPOINT_DIR to the store every ML_PLATFORM_CHECKPOINT_INTERVAL seconds while training runs,
#   - waits for the entrypoint wrapper to report the command's exit status (file command-exit in
#     ML_PLATFORM_STATE_DIR), then saves the checkpoints a last time and, if the command succeeded,
#     uploads the export (upload-model.sh: `_SUCCESS` last),
#   - reports its verdict in agent-result (0: done, else failed), which the wrapper waits for.
# On pods of a role that follows checkpoints (ML_PLATFORM_CHECKPOINT_FOLLOW=true, e.g. a sidecar
# evaluator) it restores the saved checkpoints every interval instead. Elsewhere it idles.
#
# Environment: ML_PLATFORM_STATE_DIR, ML_PLATFORM_EXPORTER_INDEX, JOB_COMPLETION_INDEX (default 0),
# ML_PLATFORM_CHECKPOINT_INTERVAL (seconds, default 60), ML_PLATFORM_UPLOAD_ATTEMPTS (tries when the store
# fails, default 3) and ML_PLATFORM_UPLOAD_RETRY_SECONDS (pause before try n+1 is n times this, default 10),
# CHECKPOINT_DIR (optional), plus what
# checkpoints.sh and upload-model.sh need (S3_BUCKET, S3_ENDPOINT, MODEL_NAME, MODEL_VERSION, ...).
set -u

here=$(dirname "$0")
state="${ML_PLATFORM_STATE_DIR:?ML_PLATFORM_STATE_DIR is required}"
index="${JOB_COMPLETION_INDEX:-0}"
interval="${ML_PLATFORM_CHECKPOINT_INTERVAL:-60}"
attempts="${ML_PLATFORM_UPLOAD_ATTEMPTS:-3}"
retry_seconds="${ML_PLATFORM_UPLOAD_RETRY_SECONDS:-10}"
case "$interval" in
  '' | *[!0-9]* | 0) echo "store-agent: ML_PLATFORM_CHECKPOINT_INTERVAL must be a positive number of seconds" >&2; exit 2 ;;
esac

# A shell running as PID 1 ignores SIGTERM unless it traps it; sleep in the background so the trap runs
# at once, and take the sleep along when stopping.
sleeper=""
trap 'if [ -n "$sleeper" ]; then kill "$sleeper" 2>/dev/null; fi; exit 0' TERM INT
pause() {
  sleep "$1" &
  sleeper=$!
  wait "$sleeper" || true
  sleeper=""
}
idle() {
  while :; do pause 3600; done
}

log() { echo "store-agent: $*" >&2; }

save_checkpoints() {
  [ -n "${CHECKPOINT_DIR:-}" ] || return 0
  sh "$here/checkpoints.sh" save || { log "checkpoint save failed (will retry)"; return 1; }
}

if [ "${ML_PLATFORM_EXPORTER_INDEX:-}" != "$index" ]; then
  if [ "${ML_PLATFORM_CHECKPOINT_FOLLOW:-false}" = true ] && [ -n "${CHECKPOINT_DIR:-}" ]; then
    log "following the saved checkpoints every ${interval}s"
    while :; do
      pause "$interval"
      sh "$here/checkpoints.sh" restore || log "checkpoint restore failed (will retry)"
    done
  fi
  idle
fi

# Restarted after the work was done (the kubelet restarts sidecars that exit): nothing left to do.
if [ -f "$state/agent-result" ]; then idle; fi

log "exporting pod $index: checkpoints every ${interval}s, upload after the command succeeds"
elapsed=0
while [ ! -f "$state/command-exit" ]; do
  pause 1
  elapsed=$((elapsed + 1))
  if [ "$elapsed" -ge "$interval" ]; then
    elapsed=0
    save_checkpoints || true
  fi
done

status=$(cat "$state/command-exit")
result=0
# The last checkpoints matter most after a crash: save them whatever the command's status.
if [ "$status" = 0 ]; then
  save_checkpoints || true
  # The store failing (exit 75) is worth a few more tries; a missing export is not.
  attempt=1
  while :; do
    upload=0
    sh "$here/upload-model.sh" || upload=$?
    if [ "$upload" -ne 75 ] || [ "$attempt" -ge "$attempts" ]; then break; fi
    log "upload attempt $attempt failed; retrying in $((attempt * retry_seconds))s"
    pause $((attempt * retry_seconds))
    attempt=$((attempt + 1))
  done
  [ "$upload" -eq 0 ] || result=1
else
  log "training command failed with status $status: nothing is uploaded or marked complete"
  save_checkpoints || result=1
fi
printf '%s\n' "$result" >"$state/agent-result.tmp"
mv "$state/agent-result.tmp" "$state/agent-result"
log "done (status $result)"
idle
