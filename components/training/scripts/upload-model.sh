#!/bin/sh
# Uploads a finished export to s3://$S3_BUCKET/models/<model>/<version>/ and marks it complete by writing
# `_SUCCESS` last. Readers (TF Serving's sync sidecar) only take versions that have `_SUCCESS`, so a
# failed or partial upload is never served: on any error nothing is marked complete and the script fails.
# A version that is already complete is left as it is (a retried job never changes what may be served).
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
store_failed() {
  echo "upload-model: $*" >&2
  exit 75
}

export_dir="${MODEL_EXPORT_DIR:?MODEL_EXPORT_DIR is required}"
bucket="${S3_BUCKET:?S3_BUCKET is required}"
model="${MODEL_NAME:?MODEL_NAME is required}"
version="${MODEL_VERSION:?MODEL_VERSION is required}"
case "$version" in
  '' | 0* | *[!0-9]*) fail "MODEL_VERSION must be a positive integer, got '$version'" ;;
esac
dest="s3://$bucket/models/$model/$version/"

s3() {
  if [ -n "${S3_ENDPOINT:-}" ]; then
    "${AWS_CLI:-aws}" --endpoint-url "$S3_ENDPOINT" s3 "$@"
  else
    "${AWS_CLI:-aws}" s3 "$@"
  fi
}

[ -d "$export_dir" ] || fail "$export_dir does not exist: the training command exported nothing"
files=$(find "$export_dir" -type f | wc -l)
[ "$files" -gt 0 ] || fail "$export_dir is empty: the training command exported nothing"

# `aws s3 ls` exits 1 when nothing matches; any other failure must not pass for "not complete yet".
listing=$(s3 ls "${dest}_SUCCESS") && status=0 || status=$?
if [ "$status" -eq 0 ] && [ -n "$listing" ]; then
  echo "upload-model: $dest is already complete; leaving it untouched" >&2
  exit 0
fi
[ "$status" -le 1 ] || store_failed "cannot check $dest (aws exit status $status)"

echo "upload-model: uploading $files files from $export_dir to $dest" >&2
s3 cp --recursive --only-show-errors "$export_dir" "$dest" || store_failed "upload to $dest failed: the version stays incomplete"

marker=$(mktemp)
trap 'rm -f "$marker"' EXIT
s3 cp --only-show-errors "$marker" "${dest}_SUCCESS" || store_failed "writing ${dest}_SUCCESS failed: the version stays incomplete"
echo "upload-model: $dest is complete" >&2
