#!/bin/sh
# Uploads a finished export as version $MODEL_VERSION of model $MODEL_NAME:
# s3://$S3_BUCKET/models/<model>/<version>/, with its manifest and `_SUCCESS` last (publish-version.sh,
# shipped beside this script). Readers (TF Serving's sync) only take versions that have `_SUCCESS` and serve
# them only when every file matches the manifest, so a failed or partial upload is never served: on any
# error nothing is marked complete and the script fails. A version that is already complete is left as it
# is (a retried job never changes what may be served).
#
# Environment: MODEL_EXPORT_DIR (the SavedModel: saved_model.pb, variables/, ...), S3_BUCKET, MODEL_NAME,
# MODEL_VERSION (a positive integer); optional S3_ENDPOINT (non-AWS stores) and AWS_CLI (path of the aws
# binary, default aws), plus the AWS_* credentials and region.
#
# Exit status: 0 complete; 1 nothing to upload or bad settings (retrying cannot help); 75 the store failed
# (EX_TEMPFAIL: worth retrying).
set -eu

fail() {
  echo "upload-model: $*" >&2
  exit 1
}

export_dir="${MODEL_EXPORT_DIR:?MODEL_EXPORT_DIR is required}"
bucket="${S3_BUCKET:?S3_BUCKET is required}"
model="${MODEL_NAME:?MODEL_NAME is required}"
version="${MODEL_VERSION:?MODEL_VERSION is required}"
case "$version" in
  '' | 0* | *[!0-9]*) fail "MODEL_VERSION must be a positive integer, got '$version'" ;;
esac

[ -d "$export_dir" ] || fail "$export_dir does not exist: the training command exported nothing"
[ -n "$(find "$export_dir" -type f | head -n 1)" ] || fail "$export_dir is empty: the training command exported nothing"

exec sh "$(dirname "$0")/publish-version.sh" "$export_dir" "s3://$bucket/models/$model/$version/"
