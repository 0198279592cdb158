# Shell helpers shared by the scripts that copy from the store: model-sync.sh (serving, mobile export) and
# log-sync.sh (TensorBoard). Sourced, never run: it ships beside them in their ConfigMaps, and they load it
# from there (tests run them the same way, from the ConfigMap's files written into one folder).
#
# The sourcing script sets, before calling these:
#   LOG_TAG             its name, as log lines show it (e.g. model-sync)
#   AWS                 the aws binary
#   ERRFILE             where the AWS CLI's stderr goes (aws_error reads it)
#   BACKOFF_MAX_PASSES  the longest back-off, in passes (backoff_passes)
#
# Needs /bin/sh (dash, bash or busybox) and coreutils (date, tr, sort, tail).

# The largest version TF Serving can load (int64).
MAX_VERSION=9223372036854775807

log() {
  printf '%s %s: %s\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$LOG_TAG" "$*" >&2
}

# Bad settings or usage: exit status 2.
die() {
  log "$*"
  exit 2
}

# Runs the AWS CLI against the store. stdin is closed so that it never eats a file being read.
aws_store() {
  if [ -n "${S3_ENDPOINT:-}" ]; then
    "$AWS" "$@" --endpoint-url "$S3_ENDPOINT" </dev/null
  else
    "$AWS" "$@" </dev/null
  fi
}

# The AWS CLI's last error message, on one line.
aws_error() {
  message=$(tr -s '\n' ' ' <"$ERRFILE")
  printf '%s' "${message# }"
}

# is_version NAME: NAME is a version TF Serving can load (1 to MAX_VERSION), spelled the one way it can be
# spelled (no sign, no leading zero).
is_version() {
  case $1 in
    '' | 0* | *[!0-9]*) return 1 ;;
  esac
  [ "${#1}" -lt 19 ] && return 0
  [ "${#1}" -gt 19 ] && return 1
  # 19 digits: as long as the maximum, so sorting as text compares them as numbers.
  [ "$(printf '%s\n%s\n' "$1" "$MAX_VERSION" | LC_ALL=C sort | tail -n 1)" = "$MAX_VERSION" ]
}

# json_element LINE: sets $element to the JSON array element on LINE, a line of the AWS CLI's JSON output
# (which prints an array one element per line, indented, each but the last followed by a comma).
json_element() {
  element=${1#"${1%%[! ]*}"}
  element=${element%,}
}

# backoff_passes FAILURES: how many passes to wait before the next try after FAILURES failures in a row:
# 1, 2, 4, ... at most BACKOFF_MAX_PASSES.
backoff_passes() {
  wait_passes=1
  tries=1
  while [ "$tries" -lt "$1" ] && [ "$wait_passes" -lt "$BACKOFF_MAX_PASSES" ]; do
    wait_passes=$((wait_passes * 2))
    tries=$((tries + 1))
  done
  [ "$wait_passes" -le "$BACKOFF_MAX_PASSES" ] || wait_passes=$BACKOFF_MAX_PASSES
  printf '%s' "$wait_passes"
}
