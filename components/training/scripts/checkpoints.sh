#!/bin/sh
# Keeps a training run's checkpoints in the model store, under s3://$S3_BUCKET/checkpoints/<model>/<version>/.
#
# Usage: checkpoints.sh restore   copy the saved checkpoints into $CHECKPOINT_DIR (nothing saved yet is fine)
#        checkpoints.sh save      copy $CHECKPOINT_DIR to the store
#
# Saving goes in two passes: first every file except checkpoint index files (TensorFlow's `checkpoint`,
# which names the latest checkpoint), then the rest. An index in the store therefore never points at
# data that is not there yet. Frameworks should write checkpoint files atomically (temporary file, then
# rename), as TensorFlow does; a file caught half-written is uploaded again by the next save. Nothing is
# ever deleted from the store (the store's grants cannot delete).
#
# Environment: CHECKPOINT_DIR, S3_BUCKET, MODEL_NAME, MODEL_VERSION; optional S3_ENDPOINT (non-AWS
# stores) and AWS_CLI (path of the aws binary, default aws), plus the AWS_* credentials and region.
set -eu

action="${1:-}"
dir="${CHECKPOINT_DIR:?CHECKPOINT_DIR is required}"
uri="s3://${S3_BUCKET:?S3_BUCKET is required}/checkpoints/${MODEL_NAME:?MODEL_NAME is required}/${MODEL_VERSION:?MODEL_VERSION is required}/"

s3() {
  if [ -n "${S3_ENDPOINT:-}" ]; then
    "${AWS_CLI:-aws}" --endpoint-url "$S3_ENDPOINT" s3 "$@"
  else
    "${AWS_CLI:-aws}" s3 "$@"
  fi
}

case "$action" in
  restore)
    mkdir -p "$dir"
    s3 sync --only-show-errors "$uri" "$dir"
    echo "checkpoints: restored $uri into $dir ($(find "$dir" -type f | wc -l) files)" >&2
    ;;
  save)
    [ -d "$dir" ] || { echo "checkpoints: $dir does not exist yet; nothing to save" >&2; exit 0; }
    s3 sync --only-show-errors --exclude "checkpoint" --exclude "*/checkpoint" "$dir" "$uri"
    s3 sync --only-show-errors "$dir" "$uri"
    echo "checkpoints: saved $dir to $uri" >&2
    ;;
  *)
    echo "usage: checkpoints.sh restore|save" >&2
    exit 2
    ;;
esac
