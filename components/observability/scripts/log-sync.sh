#!/bin/sh
# Copies the training logs of some models from an S3-compatible store into $LOGS_DIR, where TensorBoard reads
# them: the store's logs/<model>/<version>/<role>-<index>/... (written by the trainings' store agents) become
# $LOGS_DIR/<model>/<version>/<role>-<index>/..., so each training pod is one TensorBoard run, named
# <model>/<version>/<role>-<index>.
#
# What a pass does, per model:
#   1. Lists logs/<model>/ (every object, every page: the CLI follows the pages) as JSON, reading each
#      object's size, last-modified time and key; the listing is read as JSON, never as text lines. Keys
#      that are not logs/<model>/<version>/<path>, with a TF Serving version number and a plain path (letters,
#      digits and . _ - + = @ , in segments separated by "/", none of them "." or ".."), are ignored, with one
#      log line whenever that set changes.
#   2. Downloads the objects that are new or changed since they were last brought in (their size or time
#      differ), up to 1,000 per AWS CLI call, into $STAGING_DIR, checks that each has the listed size, and
#      renames it over the local file: rename(2)
#      within one file system, so TensorBoard sees the previous copy or the new one, never a partial file.
#      Event files only grow in the store (a training's store agent uploads each one up to its last whole
#      record), so a new copy holds the previous one's records and more; TensorBoard, run with
#      --detect_file_replacement, notices that a file grew, reopens it and reads on from where it was.
#   3. A file that fails to download is kept as it is (or left out) and retried after 1, 2, 4, ... passes (at
#      most 64), reported on an "ALERT log-file-rejected" line every pass while it is held back.
# Nothing is deleted: logs removed from the store stay here until the pod is replaced.
#
# Usage: log-sync.sh once|watch
#   once   one pass; exits non-zero when a model's logs cannot be listed or a file cannot be brought in.
#   watch  a pass every SYNC_INTERVAL_SECONDS until stopped (sidecar): problems are logged and retried.
#
# Environment:
#   S3_BUCKET              bucket holding logs/<model>/... (required)
#   S3_ENDPOINT            endpoint URL of a non-AWS store; passed as --endpoint-url (optional)
#   AWS_CLI                the aws binary (default: aws)
#   SYNC_MODELS            the models whose logs to copy, separated by spaces (required)
#   LOGS_DIR               TensorBoard's log directory (default: /var/lib/tensorboard/logs)
#   STAGING_DIR            this sync's working directory, on the same file system as LOGS_DIR and outside it
#                          (default: /var/lib/tensorboard/staging); one per store when there are several
#   SYNC_INTERVAL_SECONDS  pause between passes in watch mode (default: 30)
#
# Needs /bin/sh (dash, bash or busybox), coreutils (sort, comm, split, wc, mv, mkdir, date) and the AWS CLI v2,
# and store-sync-lib.sh (components/storage/scripts/) beside it.
set -u

AWS=${AWS_CLI:-aws}
LOGS_DIR=${LOGS_DIR:-/var/lib/tensorboard/logs}
STAGING_DIR=${STAGING_DIR:-/var/lib/tensorboard/staging}
INTERVAL=${SYNC_INTERVAL_SECONDS:-30}
# A file that keeps failing is retried after 1, 2, 4, ... passes, at most this many.
BACKOFF_MAX_PASSES=64
# Ignored keys shown in the log line about them (the count is always complete).
IGNORED_NAMES_SHOWN=5
# Objects downloaded by one AWS CLI call (a listing of their common folder, then the downloads in parallel).
FETCH_BATCH=1000
MODE=${1:-}
PASS=0

LOG_TAG="log-sync"
# log, die, aws_store, aws_error, is_version (training versions are model versions), json_element and
# backoff_passes, shared with model-sync.sh: shipped beside this script (the source is
# components/storage/scripts/store-sync-lib.sh).
here=$(dirname "$0")
[ -f "$here/store-sync-lib.sh" ] || { echo "log-sync: store-sync-lib.sh not found beside $0" >&2; exit 2; }
# shellcheck source=../../storage/scripts/store-sync-lib.sh
. "$here/store-sync-lib.sh"

# is_plain_path PATH: segments of letters, digits and . _ - + = @ , without "." or ".." or empty ones.
is_plain_path() {
  case $1 in
    '' | *[!A-Za-z0-9._+=@,/-]* | /* | */ | *//*) return 1 ;;
    . | .. | ./* | ../* | */. | */.. | */./* | */../*) return 1 ;;
  esac
  return 0
}

# list_model <model>: writes "<key> <size> <last modified>" for each usable object under logs/<model>/ to
# $WORK/listing, sorted. Returns non-zero when the store cannot be listed.
list_model() {
  prefix="logs/$1/"
  json="$WORK/listing.json"
  aws_store s3api list-objects-v2 --bucket "$S3_BUCKET" --prefix "$prefix" \
    --query 'Contents[].[Size, LastModified, Key][]' --output json >"$json" 2>"$ERRFILE" || return 1
  # The CLI prints this flat JSON array one element per line, and JSON escapes every control character in
  # a string (the CLI escapes non-ASCII too), so a line is exactly one element: size, time, key, size, ...
  # A key counts only when its element is, as a whole, a JSON string without escapes.
  : >"$WORK/listing.unsorted"
  position=0
  ignored=""
  ignored_count=0
  while IFS= read -r json_line || [ -n "$json_line" ]; do
    json_element "$json_line"
    case $element in
      '[' | ']' | '' | null) continue ;;
    esac
    position=$((position + 1))
    case $((position % 3)) in
      1) size=$element ;;
      2) modified=$element ;;
      0)
        key=""
        case $element in
          *\\*) ;;
          \""$prefix"*\") key=${element#\"}; key=${key%\"} ;;
        esac
        rest=${key#"$prefix"}
        version=${rest%%/*}
        path=${rest#*/}
        case $modified in
          \"*\") modified=${modified#\"}; modified=${modified%\"} ;;
          *) modified="" ;;
        esac
        case $key in
          */) continue ;; # a "folder" marker, not a file
        esac
        if [ -n "$key" ] && [ "$path" != "$rest" ] && is_version "$version" && is_plain_path "$path" &&
          case $size in '' | *[!0-9]*) false ;; *) true ;; esac && case $modified in '' | *[!0-9A-Za-z:.+-]*) false ;; *) true ;; esac; then
          printf '%s %s %s\n' "$key" "$size" "$modified" >>"$WORK/listing.unsorted"
        else
          ignored_count=$((ignored_count + 1))
          [ "$ignored_count" -le "$IGNORED_NAMES_SHOWN" ] && ignored="$ignored $element"
        fi
        ;;
    esac
  done <"$json"
  LC_ALL=C sort -u "$WORK/listing.unsorted" >"$WORK/listing"
  report_ignored "$1" "$ignored_count" "$ignored"
  return 0
}

# report_ignored <model> <count> <names>: one log line whenever the set of ignored keys changes.
report_ignored() {
  seen="$WORK/ignored-$1"
  summary="$2$3"
  if [ -f "$seen" ] && [ "$(cat "$seen")" = "$summary" ]; then return 0; fi
  printf '%s' "$summary" >"$seen"
  [ "$2" -gt 0 ] || return 0
  more=""
  [ "$2" -le "$IGNORED_NAMES_SHOWN" ] || more=" ..."
  log "model \"$1\": ignoring $2 key(s) under s3://$S3_BUCKET/logs/$1/ that are not logs/$1/<version>/<plain path>, shown as JSON:$3$more"
}

# Back-off of files that fail, kept for the life of this process in $WORK/backoff-<model>, one line per key:
# "<key> <failures> <first pass that may try again> <reason>".
held_back() {
  [ -f "$WORK/backoff-$1" ] || return 1
  while read -r b_key b_failures b_next b_reason; do
    if [ "$b_key" = "$2" ]; then
      [ "$PASS" -lt "$b_next" ] && return 0
      return 1
    fi
  done <"$WORK/backoff-$1"
  return 1
}

record_failure() {
  failures=0
  : >"$WORK/backoff.new"
  if [ -f "$WORK/backoff-$1" ]; then
    while read -r b_key b_failures b_next b_reason; do
      if [ "$b_key" = "$2" ]; then failures=$b_failures; else printf '%s %s %s %s\n' "$b_key" "$b_failures" "$b_next" "$b_reason" >>"$WORK/backoff.new"; fi
    done <"$WORK/backoff-$1"
  fi
  failures=$((failures + 1))
  wait_passes=$(backoff_passes "$failures")
  printf '%s %s %s %s\n' "$2" "$failures" $((PASS + wait_passes + 1)) "$3" >>"$WORK/backoff.new"
  mv "$WORK/backoff.new" "$WORK/backoff-$1"
}

clear_failure() {
  [ -f "$WORK/backoff-$1" ] || return 0
  : >"$WORK/backoff.new"
  while read -r b_key b_failures b_next b_reason; do
    [ "$b_key" = "$2" ] || printf '%s %s %s %s\n' "$b_key" "$b_failures" "$b_next" "$b_reason" >>"$WORK/backoff.new"
  done <"$WORK/backoff-$1"
  mv "$WORK/backoff.new" "$WORK/backoff-$1"
}

# alerts <model>: the line a dashboard alerts on, each pass, for each file held back.
alerts() {
  [ -f "$WORK/backoff-$1" ] || return 0
  while read -r b_key b_failures b_next b_reason; do
    log "ALERT log-file-rejected model=$1 key=$b_key reason=$b_reason failures=$b_failures retry_in_passes=$((b_next - PASS - 1))"
  done <"$WORK/backoff-$1"
}

# common_folder <key> <key>: the longest "<segment>/.../" both keys start with.
common_folder() {
  cf_a=$1
  cf_b=$2
  cf_common=""
  while :; do
    case $cf_a in */*) ;; *) break ;; esac
    case $cf_b in */*) ;; *) break ;; esac
    [ "${cf_a%%/*}" = "${cf_b%%/*}" ] || break
    cf_common="$cf_common${cf_a%%/*}/"
    cf_a=${cf_a#*/}
    cf_b=${cf_b#*/}
  done
  printf '%s' "$cf_common"
}

# fetch_batch <file>: downloads the objects listed in <file> ("<key> <size> <modified>" lines of one model,
# sorted) with one AWS CLI call, into $STAGING_DIR/incoming/, then places each one that came in whole.
fetch_batch() {
  batch=$1
  incoming="$STAGING_DIR/incoming"
  rm -rf "$incoming"
  if ! mkdir -p "$incoming"; then
    log "model \"$model\": cannot create $incoming"
    status=1
    return
  fi
  # The CLI lists the folder it copies from: the batch's common folder (sorted keys: the first and last's).
  read -r first_key _ <"$batch"
  last_key=""
  while read -r key size modified; do last_key=$key; done <"$batch"
  source=$(common_folder "$first_key" "$last_key")
  # Exactly these objects: plain paths need no escaping as --include patterns.
  set --
  while read -r key size modified; do
    set -- "$@" --include "${key#"$source"}"
  done <"$batch"
  download_error=""
  if ! aws_store s3 cp --recursive --only-show-errors "s3://$S3_BUCKET/$source" "$incoming/" --exclude '*' "$@" 2>"$ERRFILE"; then
    download_error=$(aws_error)
  fi
  while read -r key size modified; do
    place "$key" "$size" "$modified"
  done <"$batch"
  rm -rf "$incoming"
}

# place <key> <size> <modified>: moves one downloaded object into TensorBoard's log directory.
place() {
  part="$incoming/${1#"$source"}"
  destination="$LOGS_DIR/${1#logs/}"
  if [ ! -f "$part" ]; then
    fail_file "$1" download-failed "downloading s3://$S3_BUCKET/$1 failed: ${download_error:-the store listed it but did not send it}"
    return
  fi
  bytes=$(wc -c <"$part") || bytes=-1
  if [ $((bytes + 0)) -ne "$2" ]; then
    # Uploaded again between the listing and the download: whole, but not what was listed. Next pass.
    changed=$((changed + 1))
    return
  fi
  if [ -d "$destination" ] || ! mkdir -p "${destination%/*}" 2>/dev/null; then
    fail_file "$1" placing-failed "cannot place it at $destination (a folder and a file of the same name?)"
    return
  fi
  # rename(2) within one file system: readers see the previous copy or this one, never a part.
  if ! mv -f "$part" "$destination"; then
    fail_file "$1" placing-failed "could not move it into $destination"
    return
  fi
  printf '%s %s %s\n' "$1" "$2" "$3" >>"$WORK/fetched"
  clear_failure "$model" "$1"
  updated=$((updated + 1))
}

# fail_file <key> <reason> <message>
fail_file() {
  log "model \"$model\": $3"
  record_failure "$model" "$1" "$2"
  status=1
}

# sync_model <model>: returns non-zero when the model's logs could not all be brought in.
sync_model() {
  model=$1
  prefix="logs/$model/"
  synced="$WORK/synced-$model"
  [ -f "$synced" ] || : >"$synced"
  if ! list_model "$model"; then
    log "model \"$model\": cannot list s3://$S3_BUCKET/$prefix (is the store reachable, and may this pod read it?): $(aws_error)"
    return 1
  fi
  if [ ! -s "$WORK/listing" ] && [ ! -f "$WORK/empty-$model" ]; then
    : >"$WORK/empty-$model"
    log "model \"$model\": no logs in s3://$S3_BUCKET/$prefix yet"
  fi
  [ ! -s "$WORK/listing" ] || rm -f "$WORK/empty-$model"

  status=0
  updated=0
  changed=0
  : >"$WORK/fetched"
  : >"$WORK/wanted"
  # New or changed objects: in the listing, not among those brought in as they are now; minus those held back.
  LC_ALL=C comm -23 "$WORK/listing" "$synced" >"$WORK/candidates"
  while read -r key size modified; do
    if held_back "$model" "$key"; then
      status=1
      continue
    fi
    printf '%s %s %s\n' "$key" "$size" "$modified" >>"$WORK/wanted"
  done <"$WORK/candidates"
  # In batches, so that a command line never grows too long.
  rm -f "$WORK"/batch-*
  split -l "$FETCH_BATCH" "$WORK/wanted" "$WORK/batch-"
  for batch_file in "$WORK"/batch-*; do
    [ -f "$batch_file" ] || continue
    fetch_batch "$batch_file"
  done
  # Brought in as listed now: what was unchanged, and what was fetched in this pass.
  LC_ALL=C comm -12 "$WORK/listing" "$synced" >"$WORK/synced.new"
  cat "$WORK/fetched" >>"$WORK/synced.new"
  LC_ALL=C sort -u "$WORK/synced.new" >"$synced"
  [ "$updated" -eq 0 ] || log "model \"$model\": $updated file(s) brought in from s3://$S3_BUCKET/$prefix"
  [ "$changed" -eq 0 ] || log "model \"$model\": $changed file(s) changed while they were downloaded; fetching them again next pass"
  alerts "$model"
  return $status
}

sync_all() {
  PASS=$((PASS + 1))
  result=0
  for name in $SYNC_MODELS; do
    sync_model "$name" || result=1
  done
  return $result
}

[ -n "${S3_BUCKET:-}" ] || die "S3_BUCKET is not set"
[ -n "${SYNC_MODELS:-}" ] || die "SYNC_MODELS is not set"
for name in $SYNC_MODELS; do
  case $name in
    '' | *[!a-z0-9_-]* | [-_]* | *[-_]) die "SYNC_MODELS: \"$name\" is not a model name (lowercase letters, digits, \"-\" and \"_\")" ;;
  esac
done
case $MODE in
  once | watch) ;;
  *) die "usage: log-sync.sh once|watch" ;;
esac
case "$STAGING_DIR/" in
  "$LOGS_DIR"/*) die "STAGING_DIR ($STAGING_DIR) must be outside LOGS_DIR ($LOGS_DIR): TensorBoard would read it" ;;
esac
mkdir -p "$LOGS_DIR" "$STAGING_DIR" || die "cannot create $LOGS_DIR or $STAGING_DIR"
# This sync's working files (listings, error messages, what was brought in, back-off records). Whatever a
# killed run left behind is cleared: the first pass compares the store with nothing and brings every file
# in again (each one whole, by rename).
WORK="$STAGING_DIR/.sync"
rm -rf "$WORK"
mkdir -p "$WORK" || die "cannot create $WORK"
ERRFILE="$WORK/aws-error"
trap 'rm -rf "$WORK"' EXIT

case $MODE in
  once)
    if sync_all; then
      log "every model's logs are in place"
      exit 0
    fi
    log "some logs could not be brought in (see above)"
    exit 1
    ;;
  watch)
    case $INTERVAL in
      '' | *[!0-9]* | 0) die "SYNC_INTERVAL_SECONDS must be a positive integer (got \"$INTERVAL\")" ;;
    esac
    sleeper=""
    trap 'log "stopping"; [ -n "$sleeper" ] && kill "$sleeper" 2>/dev/null; rm -rf "$WORK"; exit 0' TERM INT
    log "syncing the logs of $SYNC_MODELS every ${INTERVAL}s"
    while :; do
      sync_all || log "pass finished with problems; retrying in ${INTERVAL}s"
      sleep "$INTERVAL" &
      sleeper=$!
      wait "$sleeper"
      sleeper=""
    done
    ;;
esac
