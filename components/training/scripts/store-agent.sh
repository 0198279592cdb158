#!/bin/sh
# Store agent: the sidecar (an init container with restartPolicy Always) next to the training container,
# in the image that has the AWS CLI, so training images need nothing but /bin/sh.
#
# While the training command runs, it
#   - uploads the pod's TensorBoard logs (TENSORBOARD_LOG_DIR set) every ML_PLATFORM_LOGS_INTERVAL seconds
#     (logs.sh upload),
#   - on the exporting pod, saves $CHECKPOINT_DIR to the store every ML_PLATFORM_CHECKPOINT_INTERVAL seconds,
#   - on pods of a role that follows checkpoints (ML_PLATFORM_CHECKPOINT_FOLLOW=true, e.g. a sidecar
#     evaluator), restores the saved checkpoints every ML_PLATFORM_CHECKPOINT_INTERVAL seconds instead.
# Then it waits for the entrypoint wrapper to report the command's exit status (file command-exit in
# ML_PLATFORM_STATE_DIR), and does its last work, whatever that status: a last checkpoint save (exporting
# pod), a last upload of the logs (logs.sh final), and, on the exporting pod and only if the command
# succeeded, the upload of the export (upload-model.sh: `_SUCCESS` last). It reports its verdict in
# agent-result (0: done, else failed), which the wrapper waits for. Only the export decides the verdict:
# logs that cannot be uploaded are reported, and never fail a training.
#
# SIGTERM (the pod is deleted or preempted; the kubelet stops sidecars after the main container) ends the
# agent. If that comes before the command's exit was reported, it first saves the checkpoints and uploads
# the logs one last time, so what the pod had written is kept.
#
# Environment: ML_PLATFORM_STATE_DIR, ML_PLATFORM_EXPORTER_INDEX (exporting role only), JOB_COMPLETION_INDEX
# (default 0), ML_PLATFORM_CHECKPOINT_INTERVAL (seconds, default 60), ML_PLATFORM_LOGS_INTERVAL (seconds,
# default 30), ML_PLATFORM_UPLOAD_ATTEMPTS (tries when the store fails, default 3) and
# ML_PLATFORM_UPLOAD_RETRY_SECONDS (pause before try n+1 is n times this, default 10), CHECKPOINT_DIR and
# TENSORBOARD_LOG_DIR (optional), plus what checkpoints.sh, logs.sh and upload-model.sh need (S3_BUCKET,
# S3_ENDPOINT, MODEL_NAME, MODEL_VERSION, ML_PLATFORM_ROLE, ...).
set -u

here=$(dirname "$0")
state="${ML_PLATFORM_STATE_DIR:?ML_PLATFORM_STATE_DIR is required}"
index="${JOB_COMPLETION_INDEX:-0}"
interval="${ML_PLATFORM_CHECKPOINT_INTERVAL:-60}"
logs_interval="${ML_PLATFORM_LOGS_INTERVAL:-30}"
attempts="${ML_PLATFORM_UPLOAD_ATTEMPTS:-3}"
retry_seconds="${ML_PLATFORM_UPLOAD_RETRY_SECONDS:-10}"
for setting in "ML_PLATFORM_CHECKPOINT_INTERVAL=$interval" "ML_PLATFORM_LOGS_INTERVAL=$logs_interval"; do
  case "${setting#*=}" in
    '' | *[!0-9]* | 0) echo "store-agent: ${setting%%=*} must be a positive number of seconds" >&2; exit 2 ;;
  esac
done

log() { echo "store-agent: $*" >&2; }

exporting=false
[ "${ML_PLATFORM_EXPORTER_INDEX:-}" = "$index" ] && exporting=true
saving=false
[ "$exporting" = true ] && [ -n "${CHECKPOINT_DIR:-}" ] && saving=true
following=false
[ "$exporting" != true ] && [ "${ML_PLATFORM_CHECKPOINT_FOLLOW:-false}" = true ] && [ -n "${CHECKPOINT_DIR:-}" ] && following=true
logs=false
[ -n "${TENSORBOARD_LOG_DIR:-}" ] && logs=true

# A shell running as PID 1 ignores SIGTERM unless it traps it. Sleep in the background so that the trap
# runs at once; the loops below see the flag and finish what must be finished.
terminating=""
sleeper=""
trap 'terminating=1; if [ -n "$sleeper" ]; then kill "$sleeper" 2>/dev/null; fi' TERM INT
pause() {
  [ -z "$terminating" ] || return 0
  sleep "$1" &
  sleeper=$!
  wait "$sleeper" || true
  sleeper=""
}
idle() {
  while [ -z "$terminating" ]; do pause 3600; done
  exit 0
}

save_checkpoints() {
  [ "$saving" = true ] || return 0
  sh "$here/checkpoints.sh" save || { log "checkpoint save failed (will retry)"; return 1; }
}

upload_logs() {
  [ "$logs" = true ] || return 0
  sh "$here/logs.sh" "$1"
}

# The last upload of the logs; a store that keeps failing is reported, not fatal.
final_logs() {
  [ "$logs" = true ] || return 0
  try=1
  while ! upload_logs final; do
    if [ "$try" -ge "$attempts" ] || [ -n "$terminating" ]; then
      log "the last logs could not be uploaded after $try tries"
      return 0
    fi
    log "last logs upload attempt $try failed; retrying in $((try * retry_seconds))s"
    pause $((try * retry_seconds))
    try=$((try + 1))
  done
}

# Restarted after the work was done (the kubelet restarts sidecars that exit): nothing left to do.
if [ -f "$state/agent-result" ]; then idle; fi

if [ "$exporting" = true ]; then
  log "exporting pod $index: checkpoints $([ "$saving" = true ] && echo "every ${interval}s" || echo "off"), logs $([ "$logs" = true ] && echo "every ${logs_interval}s" || echo "off"), upload after the command succeeds"
else
  log "pod $index: logs $([ "$logs" = true ] && echo "every ${logs_interval}s" || echo "off")$([ "$following" = true ] && echo ", following the saved checkpoints every ${interval}s")"
fi
elapsed=0
while [ ! -f "$state/command-exit" ] && [ -z "$terminating" ]; do
  pause 1
  [ -z "$terminating" ] || break
  elapsed=$((elapsed + 1))
  if [ $((elapsed % interval)) -eq 0 ]; then
    save_checkpoints || true
    if [ "$following" = true ]; then sh "$here/checkpoints.sh" restore || log "checkpoint restore failed (will retry)"; fi
  fi
  if [ $((elapsed % logs_interval)) -eq 0 ]; then upload_logs upload || true; fi
done

if [ ! -f "$state/command-exit" ]; then
  # Stopped while the command runs (or before it reported): keep what it has written so far.
  log "stopping before the command finished: saving what it wrote"
  save_checkpoints || true
  if [ "$logs" = true ]; then upload_logs final || log "the last logs could not be uploaded"; fi
  exit 0
fi

status=$(cat "$state/command-exit")
result=0
# The last checkpoints and logs matter most after a crash: keep them whatever the command's status.
if [ "$status" = 0 ]; then
  save_checkpoints || true
else
  [ "$exporting" != true ] || log "training command failed with status $status: nothing is uploaded or marked complete"
  save_checkpoints || result=1
fi
final_logs
if [ "$exporting" = true ] && [ "$status" = 0 ]; then
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
fi
printf '%s\n' "$result" >"$state/agent-result.tmp"
mv "$state/agent-result.tmp" "$state/agent-result"
log "done (status $result)"
idle
