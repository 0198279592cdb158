#!/bin/sh
# Entrypoint wrapper of every training pod: turns the per-pod value that only exists at run time (the
# pod's index in its indexed Job, JOB_COMPLETION_INDEX) into the framework's cluster environment, runs
# the training command, and, on pods with a store agent, waits until the agent has done its last work (the
# last logs and checkpoints; on the exporting pod, the export's upload).
#
# Usage: entrypoint.sh <command> [args...]
#
# Environment (set by TrainingJob):
#   ML_PLATFORM_FRAMEWORK        tensorflow | pytorch | mxnet | custom
#   ML_PLATFORM_ROLE             the pod's role (worker, chief, ps, ...)
#   ML_PLATFORM_EXPORTER_INDEX   on the exporting role only: index of the pod that exports (0)
#   ML_PLATFORM_STATE_DIR        directory shared with the store agent sidecar (pods that have one)
#   JOB_COMPLETION_INDEX         the pod's index (set by Kubernetes for indexed Jobs; default 0)
#   TF_CLUSTER_SPEC, TF_TASK_TYPE                  TensorFlow: cluster spec and task type -> TF_CONFIG
#   ML_PLATFORM_TORCHRUN_{NNODES,NPROC_PER_NODE,MASTER_ADDR,MASTER_PORT}  PyTorch DDP: torchrun arguments
#   ML_PLATFORM_TORCHRUN         torchrun executable (default: torchrun)
#   MODEL_EXPORT_DIR             where the command writes the SavedModel
#
# Exports for the command: ML_PLATFORM_POD_INDEX, ML_PLATFORM_IS_EXPORTER (true|false), TF_CONFIG.
# Exit status: the command's; 1 when the command succeeded but the export could not be uploaded.
set -eu

fail() {
  echo "entrypoint: $*" >&2
  exit 2
}

[ "$#" -gt 0 ] || fail "no training command given"

index="${JOB_COMPLETION_INDEX:-0}"
case "$index" in
  '' | *[!0-9]*) fail "JOB_COMPLETION_INDEX must be a pod index (a non-negative integer), got '$index'" ;;
esac

exporter=false
if [ "${ML_PLATFORM_EXPORTER_INDEX:-}" = "$index" ]; then exporter=true; fi
export ML_PLATFORM_POD_INDEX="$index" ML_PLATFORM_IS_EXPORTER="$exporter"

case "${ML_PLATFORM_FRAMEWORK:-custom}" in
  tensorflow)
    if [ -n "${TF_CLUSTER_SPEC:-}" ]; then
      [ -n "${TF_TASK_TYPE:-}" ] || fail "TF_CLUSTER_SPEC is set but TF_TASK_TYPE is not"
      TF_CONFIG=$(printf '{"cluster":%s,"task":{"type":"%s","index":%s}}' "$TF_CLUSTER_SPEC" "$TF_TASK_TYPE" "$index")
      export TF_CONFIG
    fi
    ;;
  pytorch)
    if [ -n "${ML_PLATFORM_TORCHRUN_NNODES:-}" ]; then
      set -- "${ML_PLATFORM_TORCHRUN:-torchrun}" \
        --nnodes "$ML_PLATFORM_TORCHRUN_NNODES" \
        --nproc-per-node "${ML_PLATFORM_TORCHRUN_NPROC_PER_NODE:-1}" \
        --node-rank "$index" \
        --master-addr "${ML_PLATFORM_TORCHRUN_MASTER_ADDR:?ML_PLATFORM_TORCHRUN_MASTER_ADDR is required}" \
        --master-port "${ML_PLATFORM_TORCHRUN_MASTER_PORT:?ML_PLATFORM_TORCHRUN_MASTER_PORT is required}" \
        --no-python "$@"
    fi
    ;;
  mxnet | custom) ;;
  *) fail "unknown ML_PLATFORM_FRAMEWORK '${ML_PLATFORM_FRAMEWORK}'" ;;
esac

if [ -n "${MODEL_EXPORT_DIR:-}" ]; then mkdir -p "$MODEL_EXPORT_DIR"; fi
if [ -n "${CHECKPOINT_DIR:-}" ]; then mkdir -p "$CHECKPOINT_DIR"; fi

echo "entrypoint: ${ML_PLATFORM_FRAMEWORK:-custom} ${ML_PLATFORM_ROLE:-trainer} pod $index (exporter: $exporter): $*" >&2

# Run the command as a child so that SIGTERM (preemption, deletion) reaches it: a shell running as PID 1
# would otherwise ignore the signal, and the command could not save a last checkpoint.
child=""
terminating=""
forward_term() {
  terminating=1
  if [ -n "$child" ]; then kill -TERM "$child" 2>/dev/null || true; fi
}
trap forward_term TERM INT
"$@" &
child=$!
# A signal that came while the command was starting is passed on now.
if [ -n "$terminating" ]; then kill -TERM "$child" 2>/dev/null || true; fi
status=0
wait "$child" || status=$?
# A trapped signal interrupts `wait`; keep waiting until the command itself has exited.
while kill -0 "$child" 2>/dev/null; do
  status=0
  wait "$child" || status=$?
done
trap - TERM INT
echo "entrypoint: command exited with status $status" >&2

state="${ML_PLATFORM_STATE_DIR:-}"
if [ -z "$state" ]; then
  exit "$status"
fi

# Hand over to the store agent (uploads the last logs, saves the last checkpoint, and uploads the export if
# the command succeeded) and wait for its verdict, so the pod only ends once they are in the store.
printf '%s\n' "$status" >"$state/command-exit.tmp"
mv "$state/command-exit.tmp" "$state/command-exit"
echo "entrypoint: waiting for the store agent" >&2
while [ ! -f "$state/agent-result" ]; do sleep 1; done
agent=$(cat "$state/agent-result")
if [ "$status" -ne 0 ] || [ "$exporter" != true ]; then
  exit "$status"
fi
if [ "$agent" != 0 ]; then
  echo "entrypoint: the training succeeded but the export was not uploaded (store agent status $agent); failing the pod" >&2
  exit 1
fi
exit 0
