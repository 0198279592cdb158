#!/bin/sh
# Keeps a training pod's TensorBoard logs in the model store, under
# s3://$S3_BUCKET/logs/<model>/<version>/<role>-<index>/: one TensorBoard run per pod, which a restarted pod
# continues.
#
# Usage: logs.sh restore   copy this pod's saved logs into $TENSORBOARD_LOG_DIR before the command starts
#                          (a store that cannot be read is reported and skipped: logs never stop a training)
#        logs.sh upload    upload what is new while the command runs
#        logs.sh final     upload what is left once the command has exited
#
# Event files (names containing "tfevents": TensorFlow's and PyTorch's summary writers) grow while they are
# written. They are TFRecord files: each record is an 8-byte little-endian length, a 4-byte checksum of it,
# the data, and a 4-byte checksum of the data. A copy taken while a record is being appended ends inside that
# record, so an event file is only ever uploaded up to the end of its last whole record: every object in
# the store is a sequence of whole records, and each upload of a file replaces the previous one (an S3 PUT
# replaces an object whole), with the same records and more. A record the writer never finished (the pod was
# killed in the middle of it) is never uploaded.
# Other files (plugin assets, profiles) are uploaded whole, by `upload` once they have not changed since the
# previous pass, and by `final` in any case.
#
# What has been scanned and uploaded is kept per file under $LOGS_STATE_DIR, so a pass reads only what was
# appended since the previous one. Nothing is ever deleted from the store.
#
# Environment: TENSORBOARD_LOG_DIR, S3_BUCKET, MODEL_NAME, MODEL_VERSION, ML_PLATFORM_ROLE; JOB_COMPLETION_INDEX
# (the pod's index, default 0); LOGS_STATE_DIR (default /tmp/ml-platform-logs); ML_PLATFORM_LOGS_RESTORE_ATTEMPTS
# (tries of `restore`, default 5, 2 s apart and doubling); optional S3_ENDPOINT (non-AWS stores) and AWS_CLI
# (path of the aws binary, default aws), plus the AWS_* credentials and region.
#
# Exit status: 0 done; 1 some files could not be uploaded (the next pass tries again); 2 bad usage or settings.
# Needs /bin/sh, coreutils (od, head, wc, stat, find, mkdir, mv) and the AWS CLI v2.
set -u

action="${1:-}"
dir="${TENSORBOARD_LOG_DIR:?TENSORBOARD_LOG_DIR is required}"
run="${ML_PLATFORM_ROLE:?ML_PLATFORM_ROLE is required}-${JOB_COMPLETION_INDEX:-0}"
uri="s3://${S3_BUCKET:?S3_BUCKET is required}/logs/${MODEL_NAME:?MODEL_NAME is required}/${MODEL_VERSION:?MODEL_VERSION is required}/$run/"
state="${LOGS_STATE_DIR:-/tmp/ml-platform-logs}"
attempts="${ML_PLATFORM_LOGS_RESTORE_ATTEMPTS:-5}"
# Bytes of an event file read per `od` call while looking for record boundaries (many records per call).
CHUNK_BYTES=65536
# Length field, its checksum, and the data's checksum.
RECORD_OVERHEAD=16
# A length beyond this is not a record: the file is not a TFRecord file (or is damaged) from there on.
MAX_RECORD_BYTES=4294967296

log() { echo "logs: $*" >&2; }

s3() {
  if [ -n "${S3_ENDPOINT:-}" ]; then
    "${AWS_CLI:-aws}" --endpoint-url "$S3_ENDPOINT" s3 "$@" </dev/null
  else
    "${AWS_CLI:-aws}" s3 "$@" </dev/null
  fi
}

# record_end FILE FROM SIZE: prints where the last whole record in the first SIZE bytes of FILE ends, walking
# from FROM (a record boundary). Fails when a length field cannot be a record's.
record_end() {
  re_file=$1
  re_pos=$2
  re_size=$3
  while [ $((re_pos + RECORD_OVERHEAD)) -le "$re_size" ]; do
    re_chunk=$((re_size - re_pos))
    [ "$re_chunk" -le "$CHUNK_BYTES" ] || re_chunk=$CHUNK_BYTES
    # The chunk's bytes as decimal numbers: $1 is the byte at re_pos.
    # shellcheck disable=SC2046 # one word per byte
    set -- $(od -A n -t u1 -v -j "$re_pos" -N "$re_chunk" "$re_file") || return 1
    re_base=$re_pos
    re_have=$#
    # Fewer bytes than the header of a record: the file shrank while it was read. Stop here.
    if [ "$re_have" -lt "$RECORD_OVERHEAD" ]; then
      echo "$re_pos"
      return 0
    fi
    while [ $((re_pos - re_base + 8)) -le "$re_have" ]; do
      re_at=$((re_pos - re_base))
      re_length=0
      # The 8-byte little-endian length of the record at re_pos.
      eval "re_length=\$(( \${$((re_at + 1))} + (\${$((re_at + 2))} << 8) + (\${$((re_at + 3))} << 16) + (\${$((re_at + 4))} << 24) \
        + (\${$((re_at + 5))} << 32) + (\${$((re_at + 6))} << 40) + (\${$((re_at + 7))} << 48) + (\${$((re_at + 8))} << 56) ))"
      if [ "$re_length" -lt 0 ] || [ "$re_length" -gt "$MAX_RECORD_BYTES" ]; then
        return 1
      fi
      re_next=$((re_pos + RECORD_OVERHEAD + re_length))
      if [ "$re_next" -gt "$re_size" ]; then
        echo "$re_pos"
        return 0
      fi
      re_pos=$re_next
    done
  done
  echo "$re_pos"
}

is_event_file() {
  case ${1##*/} in
    *tfevents*) return 0 ;;
    *) return 1 ;;
  esac
}

# upload_event_file PATH REL: uploads the file up to the end of its last whole record, if that is further
# than what the store has. Its state file holds "<scanned up to> <uploaded up to>".
upload_event_file() {
  record="$state/files/$2"
  scanned=0
  uploaded=0
  if [ -f "$record" ]; then read -r scanned uploaded <"$record"; fi
  size=$(wc -c <"$1") || return 1
  size=$((size + 0))
  if [ "$size" -lt "$scanned" ]; then
    # Shorter than before: the file was written anew. Start over.
    scanned=0
    uploaded=0
  fi
  if ! end=$(record_end "$1" "$scanned" "$size"); then
    log "$2: bytes at offset $scanned are not a TFRecord length; uploading nothing beyond it"
    return 0
  fi
  if [ "$end" -gt "$uploaded" ]; then
    head -c "$end" "$1" >"$state/upload.tmp" || return 1
    s3 cp --only-show-errors "$state/upload.tmp" "$uri$2" || return 1
    uploaded=$end
    uploads=$((uploads + 1))
  fi
  mkdir -p "$(dirname "$record")" && printf '%s %s\n' "$end" "$uploaded" >"$record"
}

# upload_other_file PATH REL FINAL: uploads the file whole when it changed since its last upload and, unless
# FINAL, has not changed since the previous pass. Its state file holds "<seen> <uploaded>" (size:mtime).
upload_other_file() {
  record="$state/files/$2"
  seen=-
  sent=-
  if [ -f "$record" ]; then read -r seen sent <"$record"; fi
  now=$(stat -c '%s:%Y' "$1") || return 1
  if [ "$now" != "$sent" ] && { [ "$3" = true ] || [ "$now" = "$seen" ]; }; then
    s3 cp --only-show-errors "$1" "$uri$2" || return 1
    sent=$now
    uploads=$((uploads + 1))
  fi
  mkdir -p "$(dirname "$record")" && printf '%s %s\n' "$now" "$sent" >"$record"
}

# upload_all FINAL: one pass over the log directory.
upload_all() {
  [ -d "$dir" ] || return 0
  mkdir -p "$state/files" || return 1
  if [ -n "$(find "$dir" -type f -path '*[[:cntrl:]]*' | head -c 1)" ]; then
    log "files whose names contain control characters are not uploaded"
  fi
  failed=0
  uploads=0
  find "$dir" -type f ! -path '*[[:cntrl:]]*' >"$state/files.list" || return 1
  while IFS= read -r path; do
    rel=${path#"$dir"/}
    if is_event_file "$rel"; then
      upload_event_file "$path" "$rel" || failed=$((failed + 1))
    else
      upload_other_file "$path" "$rel" "$1" || failed=$((failed + 1))
    fi
  done <"$state/files.list"
  rm -f "$state/upload.tmp"
  [ "$uploads" -eq 0 ] || log "uploaded $uploads file(s) to $uri"
  if [ "$failed" -gt 0 ]; then
    log "$failed file(s) could not be uploaded to $uri (the next pass tries again)"
    return 1
  fi
  return 0
}

# Records what a restore brought in as uploaded: the store has exactly these files.
record_restored() {
  mkdir -p "$state/files" || return 0
  find "$dir" -type f ! -path '*[[:cntrl:]]*' >"$state/files.list" || return 0
  while IFS= read -r path; do
    rel=${path#"$dir"/}
    record="$state/files/$rel"
    mkdir -p "$(dirname "$record")" || continue
    if is_event_file "$rel"; then
      size=$(wc -c <"$path") && printf '%s %s\n' $((size + 0)) $((size + 0)) >"$record"
    else
      now=$(stat -c '%s:%Y' "$path") && printf '%s %s\n' "$now" "$now" >"$record"
    fi
  done <"$state/files.list"
}

case "$action" in
  restore)
    mkdir -p "$dir" || exit 2
    try=1
    pause=2
    while ! s3 sync --only-show-errors "$uri" "$dir"; do
      if [ "$try" -ge "$attempts" ]; then
        log "could not restore $uri after $try tries; starting without the earlier logs (they stay in the store)"
        exit 0
      fi
      log "restoring $uri failed; trying again in ${pause}s"
      sleep "$pause"
      try=$((try + 1))
      pause=$((pause * 2))
    done
    record_restored
    log "restored $uri into $dir ($(find "$dir" -type f | wc -l) files)"
    ;;
  upload) upload_all false ;;
  final) upload_all true ;;
  *)
    echo "usage: logs.sh restore|upload|final" >&2
    exit 2
    ;;
esac
