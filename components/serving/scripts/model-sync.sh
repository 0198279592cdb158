#!/bin/sh
# Copies the model versions that each model's policy wants, and only complete ones (those with a
# _SUCCESS marker), from an S3-compatible store into $MODELS_DIR/<model>/<version>/, where TF Serving
# finds them by polling. Versions the policy no longer wants are removed once the wanted ones are in place.
#
# Versions are downloaded into $MODELS_DIR/.staging/<model>/ (same volume) and then renamed into place,
# so TF Serving never sees a half-written version directory. Removal renames first, then deletes.
#
# Usage: model-sync.sh once|watch
#   once   one pass (init container): exits non-zero, naming each model, when a model has no complete
#          version, a version its policy requires is missing, or the store cannot be reached.
#   watch  a pass every SYNC_INTERVAL_SECONDS until stopped (sidecar): problems are logged and retried,
#          and whatever is already served stays in place.
#
# Environment:
#   S3_BUCKET              bucket holding models/<model>/<version>/ (required)
#   S3_ENDPOINT            endpoint URL of a non-AWS store; passed as --endpoint-url (optional)
#   AWS_CLI                the aws binary (default: aws)
#   SYNC_MANIFEST          file listing the models of this store, one per line (required):
#                            <model> latest <n>               the n highest complete versions
#                            <model> all [<v>,<v>...]         every complete version; the listed ones must exist
#                            <model> specific <v>,<v>...      exactly these versions; all must exist
#                          Blank lines and lines starting with # are ignored.
#   MODELS_DIR             where TF Serving reads models (default: /models)
#   SYNC_INTERVAL_SECONDS  pause between passes in watch mode (default: 30)
set -u

AWS=${AWS_CLI:-aws}
MODELS_DIR=${MODELS_DIR:-/models}
INTERVAL=${SYNC_INTERVAL_SECONDS:-30}
STAGING="$MODELS_DIR/.staging"

log() {
  printf '%s model-sync: %s\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$*" >&2
}

die() {
  log "$*"
  exit 2
}

# Runs the AWS CLI against the store. stdin is closed so that it never eats the manifest being read.
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

# "a,b,c" -> "a b c"
words() {
  printf '%s' "$1" | tr ',' ' '
}

# contains "<space separated list>" <item>
contains() {
  case " $1 " in
    *" $2 "*) return 0 ;;
    *) return 1 ;;
  esac
}

# Prints the complete versions of model $1 in ascending order, one per line, from one listing of the
# model's prefix. Only keys models/<model>/<positive integer>/_SUCCESS count.
complete_versions() {
  prefix="models/$1/"
  # shellcheck disable=SC2016 # the backquotes are a JMESPath literal, not shell
  keys=$(aws_store s3api list-objects-v2 --bucket "$S3_BUCKET" --prefix "$prefix" \
    --query 'Contents[?ends_with(Key, `/_SUCCESS`)].Key' --output text 2>"$ERRFILE") || return 1
  printf '%s\n' "$keys" | tr '\t' '\n' | while IFS= read -r key; do
    case $key in
      "$prefix"*/_SUCCESS) ;;
      *) continue ;;
    esac
    version=${key#"$prefix"}
    version=${version%/_SUCCESS}
    case $version in
      '' | *[!0-9]* | 0*) continue ;;
    esac
    printf '%s\n' "$version"
  done | sort -n -u
}

# fetch_versions <model> <version>...: downloads the versions with one recursive copy into the staging
# area, then renames each complete one into place.
fetch_versions() {
  model=$1
  shift
  versions=$*
  incoming="$STAGING/$model/incoming"
  rm -rf "$incoming"
  set -- s3 cp --recursive --only-show-errors "s3://$S3_BUCKET/models/$model/" "$incoming/" --exclude '*'
  for version in $versions; do
    set -- "$@" --include "$version/*"
  done
  if ! aws_store "$@" 2>"$ERRFILE"; then
    log "model \"$model\": downloading version(s) $versions from s3://$S3_BUCKET/models/$model/ failed: $(aws_error)"
    rm -rf "$incoming"
    return 1
  fi
  fetch_status=0
  for version in $versions; do
    if [ ! -f "$incoming/$version/_SUCCESS" ]; then
      log "model \"$model\": version $version lost its _SUCCESS marker during the download; not serving it"
      fetch_status=1
      continue
    fi
    # rename(2) within one volume: the version appears complete or not at all.
    if mv "$incoming/$version" "$MODELS_DIR/$model/$version"; then
      log "model \"$model\": version $version is in place"
    else
      log "model \"$model\": could not move version $version into $MODELS_DIR/$model/"
      fetch_status=1
    fi
  done
  rm -rf "$incoming"
  return $fetch_status
}

# Removes local versions of model $1 that are not in the space separated list $2.
remove_unwanted() {
  model=$1
  wanted=$2
  for dir in "$MODELS_DIR/$model"/*; do
    [ -d "$dir" ] || continue
    version=${dir##*/}
    case $version in
      '' | *[!0-9]*) continue ;;
    esac
    contains "$wanted" "$version" && continue
    # Rename out of TF Serving's sight first, so it never sees a half-deleted version.
    doomed="$STAGING/$model/removing-$version"
    rm -rf "$doomed"
    if mv "$dir" "$doomed" && rm -rf "$doomed"; then
      log "model \"$model\": removed version $version (no longer wanted by its policy)"
    else
      log "model \"$model\": could not remove version $version"
    fi
  done
}

# sync_model <model> <policy> <argument>: returns non-zero when the model cannot be served as asked.
sync_model() {
  model=$1
  policy=$2
  argument=$3
  location="s3://$S3_BUCKET/models/$model/"

  if ! complete=$(complete_versions "$model"); then
    log "model \"$model\": cannot list $location (is the store reachable, and may this pod read it?): $(aws_error)"
    return 1
  fi
  complete=$(printf '%s' "$complete" | tr '\n' ' ')
  if [ -z "$(printf '%s' "$complete" | tr -d ' ')" ]; then
    log "model \"$model\": no complete version in $location (a version counts once models/$model/<version>/_SUCCESS exists)"
    return 1
  fi

  required=""
  case $policy in
    latest)
      # The n highest complete versions.
      # shellcheck disable=SC2086 # one line per version
      wanted=$(printf '%s\n' $complete | tail -n "$argument" | tr '\n' ' ')
      ;;
    all)
      wanted=$complete
      required=$(words "$argument")
      ;;
    specific)
      required=$(words "$argument")
      wanted=""
      for version in $required; do
        contains "$complete" "$version" && wanted="$wanted $version"
      done
      ;;
  esac

  missing=""
  for version in $required; do
    contains "$complete" "$version" || missing="$missing $version"
  done

  mkdir -p "$MODELS_DIR/$model" "$STAGING/$model" || return 1
  status=0
  absent=""
  for version in $wanted; do
    [ -d "$MODELS_DIR/$model/$version" ] || absent="$absent $version"
  done
  if [ -n "$absent" ]; then
    # shellcheck disable=SC2086 # one argument per version
    fetch_versions "$model" $absent || status=1
  fi
  # Only once every wanted version is in place, so a failed download never leaves the model with fewer
  # (or zero) versions on disk than before.
  if [ "$status" -eq 0 ] && [ -n "$(printf '%s' "$wanted" | tr -d ' ')" ]; then
    remove_unwanted "$model" "$wanted"
  elif [ "$status" -ne 0 ]; then
    log "model \"$model\": keeping the versions on disk until the wanted ones are in place"
  fi
  rm -rf "${STAGING:?}/$model"

  if [ -n "$missing" ]; then
    log "model \"$model\": version(s)$missing required by its policy or labels have no complete copy in $location (complete versions: $complete)"
    return 1
  fi
  return $status
}

# One pass over every model in the manifest. Returns non-zero when any model had a problem.
sync_all() {
  [ -r "$SYNC_MANIFEST" ] || die "cannot read SYNC_MANIFEST $SYNC_MANIFEST"
  result=0
  line_number=0
  while IFS= read -r line || [ -n "$line" ]; do
    line_number=$((line_number + 1))
    case $line in
      '' | '#'*) continue ;;
    esac
    # The manifest is whitespace separated by design; no globbing while splitting it.
    set -f
    # shellcheck disable=SC2086
    set -- $line
    set +f
    model=${1:-}
    policy=${2:-}
    argument=${3:-}
    case $policy in
      latest)
        case $argument in
          '' | *[!0-9]* | 0*) die "$SYNC_MANIFEST line $line_number: \"latest\" needs a positive count (got \"$argument\")" ;;
        esac
        ;;
      specific)
        [ -n "$argument" ] || die "$SYNC_MANIFEST line $line_number: \"specific\" needs versions such as 3,4"
        ;;
      all) ;;
      *) die "$SYNC_MANIFEST line $line_number: unknown policy \"$policy\" for model \"$model\"; use latest, all or specific" ;;
    esac
    sync_model "$model" "$policy" "$argument" || result=1
  done <"$SYNC_MANIFEST"
  return $result
}

[ -n "${S3_BUCKET:-}" ] || die "S3_BUCKET is not set"
[ -n "${SYNC_MANIFEST:-}" ] || die "SYNC_MANIFEST is not set"
mkdir -p "$STAGING" || die "cannot create $STAGING"
ERRFILE="$STAGING/.aws-error.$$"
trap 'rm -f "$ERRFILE"' EXIT

case ${1:-} in
  once)
    if sync_all; then
      log "every model is in place"
      exit 0
    fi
    log "some models cannot be served as configured (see above)"
    exit 1
    ;;
  watch)
    case $INTERVAL in
      '' | *[!0-9]* | 0) die "SYNC_INTERVAL_SECONDS must be a positive integer (got \"$INTERVAL\")" ;;
    esac
    sleeper=""
    trap 'log "stopping"; [ -n "$sleeper" ] && kill "$sleeper" 2>/dev/null; rm -f "$ERRFILE"; exit 0' TERM INT
    log "syncing every ${INTERVAL}s"
    while :; do
      sync_all || log "pass finished with problems; retrying in ${INTERVAL}s"
      sleep "$INTERVAL" &
      sleeper=$!
      wait "$sleeper"
      sleeper=""
    done
    ;;
  *)
    die "usage: model-sync.sh once|watch"
    ;;
esac
