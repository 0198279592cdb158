#!/bin/sh
# Last step of a mobile export (the store image, with the AWS CLI): publishes the converter's output directory
# ($EXPORT_DIR: model.tflite, signature.json, report.json) as s3://$S3_BUCKET/mobile/<model>/<version>/ with
# publish-version.sh (shipped beside this script): the files, `_MANIFEST`, then `_SUCCESS` last. A version already
# complete there is left as it is (published versions never change).
#
# Environment: EXPORT_DIR, MODEL_NAME, MODEL_VERSION, S3_BUCKET (required); PUBLISH_ATTEMPTS (tries when the
# store fails, default 3), PUBLISH_RETRY_SECONDS (pause before try n+1 is n times this, default 10), plus what
# publish-version.sh needs (S3_ENDPOINT, AWS_CLI, the AWS_* credentials and region).
#
# Exit status: publish-version.sh's: 0 complete; 1 nothing publishable or bad settings; 75 the store kept
# failing.
set -u

here=$(dirname "$0")
export_dir="${EXPORT_DIR:?EXPORT_DIR is required}"
bucket="${S3_BUCKET:?S3_BUCKET is required}"
model="${MODEL_NAME:?MODEL_NAME is required}"
version="${MODEL_VERSION:?MODEL_VERSION is required}"
attempts="${PUBLISH_ATTEMPTS:-3}"
retry_seconds="${PUBLISH_RETRY_SECONDS:-10}"
destination="s3://$bucket/mobile/$model/$version/"

log() { echo "publish-export: $*" >&2; }

[ -f "$export_dir/model.tflite" ] || { log "$export_dir has no model.tflite: the conversion did not finish"; exit 1; }

attempt=1
while :; do
  status=0
  sh "$here/publish-version.sh" "$export_dir" "$destination" || status=$?
  if [ "$status" -ne 75 ] || [ "$attempt" -ge "$attempts" ]; then break; fi
  log "attempt $attempt failed (the store); retrying in $((attempt * retry_seconds))s"
  sleep $((attempt * retry_seconds))
  attempt=$((attempt + 1))
done
[ "$status" -eq 0 ] && log "$destination is published"
exit "$status"
