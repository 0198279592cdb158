#!/bin/sh
# Minimal S3 client for the store's own jobs, using curl's SigV4 signing (the server image has curl but
# no AWS CLI). Credentials come from the environment (a Secret) and reach curl on stdin, never argv.
#
# usage: s3-client.sh create-bucket             create S3_BUCKET unless it exists (idempotent)
#        s3-client.sh wait-for-access <prefix>  wait until these credentials may list <prefix>
# env:   S3_ENDPOINT, S3_BUCKET, AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY (required)
#        AWS_REGION (default us-east-1), WAIT_TIMEOUT_SECONDS (default 300),
#        WAIT_INTERVAL_SECONDS (default 2), CURL (default curl)
set -eu

: "${S3_ENDPOINT:?S3_ENDPOINT is required}"
: "${S3_BUCKET:?S3_BUCKET is required}"
: "${AWS_ACCESS_KEY_ID:?AWS_ACCESS_KEY_ID is required}"
: "${AWS_SECRET_ACCESS_KEY:?AWS_SECRET_ACCESS_KEY is required}"
region=${AWS_REGION:-${AWS_DEFAULT_REGION:-us-east-1}}
timeout=${WAIT_TIMEOUT_SECONDS:-300}
interval=${WAIT_INTERVAL_SECONDS:-2}
curl_bin=${CURL:-curl}
# SHA-256 of an empty payload: every request here has no body.
empty_sha256=e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855

body_file=$(mktemp)
trap 'rm -f "$body_file"' EXIT

# s3_request METHOD URL: prints the HTTP status (000 when the server cannot be reached).
s3_request() {
  printf 'user = "%s:%s"\n' "$AWS_ACCESS_KEY_ID" "$AWS_SECRET_ACCESS_KEY" |
    "$curl_bin" --silent --config - --aws-sigv4 "aws:amz:$region:s3" \
      --header "x-amz-content-sha256: $empty_sha256" \
      --request "$1" --output "$body_file" --write-out '%{http_code}' --max-time 10 "$2" || true
}

# retry WHAT METHOD URL ACCEPT...: repeats the request until its status is one of ACCEPT or time runs out.
retry() {
  what=$1 method=$2 url=$3
  shift 3
  deadline=$(($(date +%s) + timeout))
  while :; do
    status=$(s3_request "$method" "$url")
    for accepted in "$@"; do
      if [ "$status" = "$accepted" ]; then
        echo "$what: HTTP $status"
        return 0
      fi
    done
    if [ "$(date +%s)" -ge "$deadline" ]; then
      echo "$what: gave up after ${timeout}s; last answer HTTP $status from $url:" >&2
      cat "$body_file" >&2 2>/dev/null || true
      echo >&2
      return 1
    fi
    sleep "$interval"
  done
}

case "${1:-}" in
  create-bucket)
    # 200: created; 409: it exists already (only the store's admin identity may create buckets).
    retry "create bucket $S3_BUCKET" PUT "$S3_ENDPOINT/$S3_BUCKET" 200 409
    ;;
  wait-for-access)
    prefix=${2:?usage: $0 wait-for-access <prefix>}
    encoded_prefix=$(printf '%s' "$prefix" | sed 's#/#%2F#g')
    retry "list s3://$S3_BUCKET/$prefix" GET "$S3_ENDPOINT/$S3_BUCKET?list-type=2&max-keys=1&prefix=$encoded_prefix" 200
    ;;
  *)
    echo "usage: $0 create-bucket | wait-for-access <prefix>" >&2
    exit 2
    ;;
esac
