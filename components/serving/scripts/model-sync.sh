#!/bin/sh
# Copies the model versions that each model's policy wants, complete and verified, from an S3-compatible
# store into $MODELS_DIR/<model>/<version>/, where TF Serving finds them by polling. Versions the policy no
# longer wants are removed once the wanted ones are in place. The store's side of the contract (layout,
# _MANIFEST, _SUCCESS) is docs/model-delivery.md; publish-version.sh writes it.
#
# What a pass does, per model (requests: docs/model-delivery.md, "Requests per pass"):
#   1. Lists models/<model>/ with the delimiter "/": the version folders, never their files. Names that are
#      not TF Serving version numbers (1 to 9223372036854775807, no sign or leading zero) are ignored,
#      with one log line whenever that set changes. The listing is read as JSON, never as text lines.
#   2. Walks the versions the policy could want (latest: from the newest down), taking each that is
#      already on disk, else fetching it: its _SUCCESS and _MANIFEST first (a version without _SUCCESS
#      is incomplete and passed over), then exactly the files the manifest lists; the version appears
#      under its final name only when every size and SHA-256 matches. A version that fails is skipped
#      (what is on disk keeps serving, a policy like "latest" falls back to the next version), logged
#      with the file and both hashes, reported on an "ALERT version-rejected" line every pass while it
#      is skipped, and retried after 1, 2, 4, ... passes (at most 64).
#   3. Removes the versions on disk that the policy no longer wants, once at least one wanted version is
#      in place (a model never drops to zero versions).
# Versions published before manifests existed (an empty _SUCCESS, no _MANIFEST) are served unverified,
# with a "WARNING unverified-version" line.
#
# Downloads land in $MODELS_DIR/.staging/<model>/ (same volume) and are renamed into place, so TF Serving
# never sees a half-written version directory. Removal renames first, then deletes.
#
# Usage: model-sync.sh once|watch
#        model-sync.sh fetch <model> <version>
#   once   one pass (init container): exits non-zero, naming each model, when a model has no complete,
#          verified version, a version its policy requires is missing, or the store cannot be reached.
#   watch  a pass every SYNC_INTERVAL_SECONDS until stopped (sidecar): problems are logged and retried,
#          and whatever is already served stays in place.
#   fetch  one version, into $MODELS_DIR/<model>/<version>/, verified as above, without listing the
#          model's other versions (so a grant on that version's folder is enough; SYNC_MANIFEST is not
#          used). Exit status: 0 in place (fetched now, or already there); 3 not complete yet (no
#          _SUCCESS); 1 rejected: the version is damaged (the reason is logged; published versions never
#          change, so trying again cannot help); 75 the store or the disk failed (worth retrying).
#
# Environment:
#   S3_BUCKET              bucket holding models/<model>/<version>/ (required)
#   S3_ENDPOINT            endpoint URL of a non-AWS store; passed as --endpoint-url (optional)
#   AWS_CLI                the aws binary (default: aws)
#   SYNC_MANIFEST          file listing the models of this store, one per line (once and watch):
#                            <model> latest <n>               the n highest complete versions
#                            <model> all [<v>,<v>...]         every complete version; the listed ones must exist
#                            <model> specific <v>,<v>...      exactly these versions; all must exist
#                          Blank lines and lines starting with # are ignored.
#   MODELS_DIR             where TF Serving reads models (default: /models)
#   SYNC_INTERVAL_SECONDS  pause between passes in watch mode (default: 30)
#
# Needs /bin/sh (dash, bash or busybox), coreutils (sha256sum, sort, uniq, wc, tr, date) and the AWS CLI v2,
# and store-sync-lib.sh (components/storage/scripts/) beside it.
set -u

AWS=${AWS_CLI:-aws}
MODELS_DIR=${MODELS_DIR:-/models}
INTERVAL=${SYNC_INTERVAL_SECONDS:-30}
STAGING="$MODELS_DIR/.staging"
MANIFEST_HEADER="ml-platform-manifest v1"
# A version that keeps failing is retried after 1, 2, 4, ... passes, at most this many.
BACKOFF_MAX_PASSES=64
# Names shown in the log line about ignored names (the count is always complete).
IGNORED_NAMES_SHOWN=5
CONTROL_CHARS=$(printf '\001\002\003\004\005\006\007\010\011\012\013\014\015\016\017\020\021\022\023\024\025\026\027\030\031\032\033\034\035\036\037\177')
MODE=${1:-}
PASS=0
# How a rejection ends its log line.
REFUSAL="not serving it"

LOG_TAG="model-sync"
# log, die, aws_store, aws_error, is_version, json_element and backoff_passes, shared with log-sync.sh:
# shipped beside this script (the source is components/storage/scripts/store-sync-lib.sh).
here=$(dirname "$0")
[ -f "$here/store-sync-lib.sh" ] || { echo "model-sync: store-sync-lib.sh not found beside $0" >&2; exit 2; }
# shellcheck source=../../storage/scripts/store-sync-lib.sh
. "$here/store-sync-lib.sh"

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

is_sha256() {
  case $1 in
    *[!0-9a-f]*) return 1 ;;
  esac
  [ "${#1}" -eq 64 ]
}

sha256_of() {
  digest=$(sha256sum <"$1") || return 1
  printf '%s' "${digest%% *}"
}

size_of() {
  bytes=$(wc -c <"$1") || return 1
  printf '%s' $((bytes + 0))
}

# A file name from the store, safe to print on one log line.
printable() {
  printf '%s' "$1" | tr "$CONTROL_CHARS" '?'
}

# path_problem PATH: why PATH may not name a file of a version (nothing when it may).
path_problem() {
  case $1 in
    '') echo "is empty" ;;
    /*) echo "is absolute" ;;
    */ | *//*) echo "has an empty segment" ;;
    . | .. | ./* | ../* | */. | */.. | */./* | */../*) echo "has a \".\" or \"..\" segment" ;;
    *["$CONTROL_CHARS"]*) echo "has a control character" ;;
    _MANIFEST | _SUCCESS) echo "is reserved for the version's marker files" ;;
  esac
}

# fnmatch_literal TEXT: an AWS CLI --include pattern that matches TEXT and nothing else.
fnmatch_literal() {
  case $1 in
    *[][*?]*) ;;
    *)
      printf '%s' "$1"
      return
      ;;
  esac
  rest=$1
  literal=""
  while [ -n "$rest" ]; do
    char=${rest%"${rest#?}"}
    rest=${rest#?}
    case $char in
      '[' | '*' | '?') literal="${literal}[$char]" ;;
      *) literal="$literal$char" ;;
    esac
  done
  printf '%s' "$literal"
}

# list_versions <model>: sets $versions to the model's version folders in the store (ascending), from one
# listing with the delimiter "/" (the CLI follows every page). Returns non-zero when the store cannot be
# listed.
list_versions() {
  prefix="models/$1/"
  listing="$WORK/listing.json"
  aws_store s3api list-objects-v2 --bucket "$S3_BUCKET" --prefix "$prefix" --delimiter / \
    --query 'CommonPrefixes[].Prefix' --output json >"$listing" 2>"$ERRFILE" || return 1
  # The CLI prints the JSON array one element per line, and JSON escapes every control character of a
  # string (the CLI escapes non-ASCII too): a line is exactly one element, and an element counts only
  # when it is, as a whole, the JSON string "<prefix><version>/". A key holding a newline stays one
  # escaped element, so it can never pass for another key.
  found=""
  ignored=""
  ignored_count=0
  while IFS= read -r json_line || [ -n "$json_line" ]; do
    json_element "$json_line"
    case $element in
      '[' | ']' | '' | null) continue ;;
      \""$prefix"*/\")
        folder=${element#\""$prefix"}
        folder=${folder%/\"}
        ;;
      *) folder="" ;;
    esac
    if is_version "$folder"; then
      found="$found $folder"
    else
      ignored_count=$((ignored_count + 1))
      [ "$ignored_count" -le "$IGNORED_NAMES_SHOWN" ] && ignored="$ignored $element"
    fi
  done <"$listing"
  # shellcheck disable=SC2086 # one version per line
  versions=$( [ -z "$found" ] || printf '%s\n' $found | sort -n -u | tr '\n' ' ')
  report_ignored "$1" "$ignored_count" "$ignored"
  return 0
}

# report_ignored <model> <count> <names>: one log line whenever the set of ignored names changes.
report_ignored() {
  seen="$WORK/ignored-$1"
  summary="$2$3"
  if [ -f "$seen" ] && [ "$(cat "$seen")" = "$summary" ]; then return 0; fi
  printf '%s' "$summary" >"$seen"
  [ "$2" -gt 0 ] || return 0
  more=""
  [ "$2" -le "$IGNORED_NAMES_SHOWN" ] || more=" ..."
  log "model \"$1\": ignoring $2 name(s) under s3://$S3_BUCKET/models/$1/ that are not version numbers (1 to $MAX_VERSION, without sign or leading zero), shown as JSON:$3$more"
}

# reject <reason> <message>: records why the version being fetched failed (see fetch_version).
reject() {
  rejected_reason=$1
  log "model \"$model\": version $version rejected ($1): $2; $REFUSAL"
}

# fetch_version <model> <version>: downloads one version and renames it into place once verified.
# Returns 0 when it is in place, 3 when it is incomplete (no _SUCCESS yet), 1 when it failed ($rejected_reason).
fetch_version() {
  model=$1
  version=$2
  location="s3://$S3_BUCKET/models/$model/$version/"
  incoming="$STAGING/$model/incoming-$version"
  rm -rf "$incoming"
  if ! mkdir -p "$incoming"; then
    reject staging-failed "cannot create $incoming"
    return 1
  fi

  # The markers first: one listing of this version's folder and two small downloads.
  if ! aws_store s3 cp --recursive --only-show-errors "$location" "$incoming/" --exclude '*' --include _SUCCESS --include _MANIFEST 2>"$ERRFILE"; then
    reject download-failed "downloading its _SUCCESS and _MANIFEST from $location failed: $(aws_error)"
    return 1
  fi
  if [ ! -f "$incoming/_SUCCESS" ]; then
    rm -rf "$incoming"
    return 3
  fi

  if [ ! -s "$incoming/_SUCCESS" ] && [ -f "$incoming/_MANIFEST" ]; then
    # Every uploader that writes a manifest names it in _SUCCESS: an empty marker beside a manifest is damage.
    reject bad-marker "its _SUCCESS is empty but it has a _MANIFEST, which _SUCCESS must name"
    return 1
  fi
  if [ ! -s "$incoming/_SUCCESS" ]; then
    # Published before manifests existed: nothing to verify against. Everything under the folder.
    if ! aws_store s3 cp --recursive --only-show-errors "$location" "$incoming/" 2>"$ERRFILE"; then
      reject download-failed "downloading $location failed: $(aws_error)"
      return 1
    fi
    log "WARNING unverified-version model=$model version=$version: published without a manifest (before manifests existed), so its files cannot be verified; it is served as it is (publish a new version with publish-version.sh to have it verified)"
  else
    verify_and_download || return 1
  fi

  # rename(2) within one volume: the version appears complete or not at all.
  if [ -e "$MODELS_DIR/$model/$version" ] || ! mv "$incoming" "$MODELS_DIR/$model/$version"; then
    reject placing-failed "could not move it into $MODELS_DIR/$model/"
    return 1
  fi
  log "model \"$model\": version $version is in place"
  return 0
}

# verify_and_download: for fetch_version, a version with a manifest: checks _SUCCESS -> _MANIFEST, downloads
# exactly the manifest's files and checks each one's size and SHA-256.
verify_and_download() {
  marker=$(cat "$incoming/_SUCCESS")
  expected_manifest=${marker%"  _MANIFEST"}
  if [ "$expected_manifest" = "$marker" ] || ! is_sha256 "$expected_manifest"; then
    reject bad-marker "its _SUCCESS is neither empty nor \"<sha256>  _MANIFEST\""
    return 1
  fi
  if [ ! -f "$incoming/_MANIFEST" ]; then
    reject manifest-missing "_SUCCESS names a manifest with sha256 $expected_manifest, but $location has no _MANIFEST"
    return 1
  fi
  actual_manifest=$(sha256_of "$incoming/_MANIFEST")
  if [ "$actual_manifest" != "$expected_manifest" ]; then
    reject manifest-mismatch "file _MANIFEST: expected sha256 $expected_manifest (named by _SUCCESS), got sha256 $actual_manifest"
    return 1
  fi

  # One pass over the manifest: check every line, collect the paths (for duplicates) and the filters.
  paths="$WORK/paths"
  : >"$paths"
  set --
  manifest_line=0
  file_count=0
  total_bytes=0
  while IFS= read -r entry || [ -n "$entry" ]; do
    manifest_line=$((manifest_line + 1))
    if [ "$manifest_line" -eq 1 ]; then
      if [ "$entry" != "$MANIFEST_HEADER" ]; then
        reject bad-manifest "_MANIFEST line 1 is not \"$MANIFEST_HEADER\""
        return 1
      fi
      continue
    fi
    if ! parse_entry "$entry"; then
      reject bad-manifest "_MANIFEST line $manifest_line: $entry_problem"
      return 1
    fi
    printf '%s\n' "$entry_path" >>"$paths"
    set -- "$@" --include "$(fnmatch_literal "$entry_path")"
    file_count=$((file_count + 1))
    total_bytes=$((total_bytes + entry_size))
  done <"$incoming/_MANIFEST"
  if [ "$file_count" -eq 0 ]; then
    reject bad-manifest "_MANIFEST lists no files"
    return 1
  fi
  duplicate=$(LC_ALL=C sort "$paths" | uniq -d | head -n 1)
  if [ -n "$duplicate" ]; then
    reject bad-manifest "_MANIFEST lists $(printable "$duplicate") more than once"
    return 1
  fi

  # Exactly the manifest's files: one listing of this version's folder, one download per file.
  if ! aws_store s3 cp --recursive --only-show-errors "$location" "$incoming/" --exclude '*' "$@" 2>"$ERRFILE"; then
    reject download-failed "downloading $file_count file(s), $total_bytes bytes, from $location failed: $(aws_error)"
    return 1
  fi

  manifest_line=0
  while IFS= read -r entry || [ -n "$entry" ]; do
    manifest_line=$((manifest_line + 1))
    [ "$manifest_line" -gt 1 ] || continue
    parse_entry "$entry"
    file="$incoming/$entry_path"
    shown=$(printable "$entry_path")
    if [ ! -f "$file" ]; then
      reject file-missing "file $shown: expected sha256 $entry_sha256 ($entry_size bytes), got no such file in the store"
      return 1
    fi
    actual_size=$(size_of "$file")
    actual_sha256=$(sha256_of "$file")
    if [ "$actual_size" != "$entry_size" ] || [ "$actual_sha256" != "$entry_sha256" ]; then
      if [ "$actual_size" != "$entry_size" ]; then reason=size-mismatch; else reason=sha256-mismatch; fi
      reject "$reason" "file $shown: expected sha256 $entry_sha256 ($entry_size bytes), got sha256 $actual_sha256 ($actual_size bytes)"
      return 1
    fi
  done <"$incoming/_MANIFEST"
  return 0
}

# parse_entry "<sha256> <size> <path>": sets entry_sha256, entry_size, entry_path, or entry_problem.
parse_entry() {
  entry_sha256=${1%% *}
  entry_rest=${1#* }
  entry_size=${entry_rest%% *}
  entry_path=${entry_rest#* }
  if [ "$entry_rest" = "$1" ] || [ "$entry_path" = "$entry_rest" ]; then
    entry_problem="expected \"<sha256> <size> <path>\""
    return 1
  fi
  if ! is_sha256 "$entry_sha256"; then
    entry_problem="\"$(printable "$entry_sha256")\" is not a SHA-256 in lowercase hex"
    return 1
  fi
  case $entry_size in
    '' | *[!0-9]* | 0?*)
      entry_problem="size \"$(printable "$entry_size")\" is not a number of bytes"
      return 1
      ;;
  esac
  # Sizes beyond 18 digits (an exabyte) would overflow the shell's arithmetic.
  if [ "${#entry_size}" -gt 18 ]; then
    entry_problem="size $entry_size is not a plausible number of bytes"
    return 1
  fi
  problem=$(path_problem "$entry_path")
  if [ -n "$problem" ]; then
    entry_problem="path \"$(printable "$entry_path")\" $problem"
    return 1
  fi
  return 0
}

# Back-off of versions that fail, kept for the life of this process in $WORK/backoff/<model>/<version>:
# "<failures> <first pass that may try again> <reason>".
backoff_file() {
  printf '%s' "$WORK/backoff/$1/$2"
}

# held_back <model> <version>: the version failed recently and waits for its next try.
held_back() {
  record=$(backoff_file "$1" "$2")
  [ -f "$record" ] || return 1
  read -r failures next_pass reason <"$record"
  [ "$PASS" -lt "$next_pass" ]
}

record_failure() {
  record=$(backoff_file "$1" "$2")
  failures=0
  if [ -f "$record" ]; then read -r failures next_pass reason <"$record"; fi
  failures=$((failures + 1))
  wait_passes=$(backoff_passes "$failures")
  mkdir -p "$WORK/backoff/$1"
  printf '%s %s %s\n' "$failures" $((PASS + wait_passes + 1)) "$3" >"$record"
}

# alert <model> <version>: the line a dashboard alerts on, once per pass for each version the policy
# wanted but had to skip.
alert() {
  read -r failures next_pass reason <"$(backoff_file "$1" "$2")"
  if [ "$MODE" = watch ]; then
    log "ALERT version-rejected model=$1 version=$2 reason=$reason failures=$failures retry_in_passes=$((next_pass - PASS - 1))"
  else
    log "ALERT version-rejected model=$1 version=$2 reason=$reason failures=$failures"
  fi
}

# take <model> <version>: succeeds when the version is on disk (already, or fetched and verified now).
# A version that fails or waits for its next try is added to $skipped.
take() {
  [ -d "$MODELS_DIR/$1/$2" ] && return 0
  if held_back "$1" "$2"; then
    skipped="$skipped $2"
    return 1
  fi
  fetch_version "$1" "$2"
  fetched=$?
  rm -rf "$STAGING/$1/incoming-$2"
  case $fetched in
    0)
      rm -f "$(backoff_file "$1" "$2")"
      return 0
      ;;
    3) return 1 ;;
  esac
  record_failure "$1" "$2" "$rejected_reason"
  skipped="$skipped $2"
  return 1
}

# Removes local versions of model $1 that are not in the space separated list $2.
remove_unwanted() {
  for dir in "$MODELS_DIR/$1"/*; do
    [ -d "$dir" ] || continue
    local_version=${dir##*/}
    case $local_version in
      '' | *[!0-9]*) continue ;;
    esac
    contains "$2" "$local_version" && continue
    # Rename out of TF Serving's sight first, so it never sees a half-deleted version.
    doomed="$STAGING/$1/removing-$local_version"
    rm -rf "$doomed"
    if mv "$dir" "$doomed" && rm -rf "$doomed"; then
      log "model \"$1\": removed version $local_version (no longer wanted by its policy)"
    else
      log "model \"$1\": could not remove version $local_version"
    fi
  done
}

# sync_model <model> <policy> <argument>: returns non-zero when the model cannot be served as asked.
sync_model() {
  model_name=$1
  policy=$2
  argument=$3
  model_location="s3://$S3_BUCKET/models/$model_name/"

  if ! mkdir -p "$MODELS_DIR/$model_name" "$STAGING/$model_name"; then
    log "model \"$model_name\": cannot create $MODELS_DIR/$model_name or its staging area"
    return 1
  fi
  if ! list_versions "$model_name"; then
    log "model \"$model_name\": cannot list $model_location (is the store reachable, and may this pod read it?): $(aws_error)"
    return 1
  fi
  # Back-off records of versions that left the store are dropped.
  for record in "$WORK/backoff/$model_name"/*; do
    [ -f "$record" ] || continue
    contains "$versions" "${record##*/}" || rm -f "$record"
  done

  wanted=""
  skipped=""
  required=""
  case $policy in
    latest)
      taken=0
      # shellcheck disable=SC2086 # one line per version
      for candidate in $(printf '%s\n' $versions | sort -r -n); do
        [ "$taken" -lt "$argument" ] || break
        if take "$model_name" "$candidate"; then
          wanted="$wanted $candidate"
          taken=$((taken + 1))
        fi
      done
      ;;
    all)
      required=$(words "$argument")
      for candidate in $versions; do
        take "$model_name" "$candidate" && wanted="$wanted $candidate"
      done
      ;;
    specific)
      required=$(words "$argument")
      for candidate in $required; do
        contains "$versions" "$candidate" && take "$model_name" "$candidate" && wanted="$wanted $candidate"
      done
      ;;
  esac

  # Only with a version in place, so a model never drops to zero versions.
  [ -z "$wanted" ] || remove_unwanted "$model_name" "$wanted"
  rm -rf "${STAGING:?}/$model_name"
  for candidate in $skipped; do
    alert "$model_name" "$candidate"
  done

  status=0
  failed_note=""
  [ -z "$skipped" ] || failed_note=" (skipped, see above:$skipped)"
  if [ -z "$wanted" ]; then
    log "model \"$model_name\": no complete version in $model_location$failed_note (a version counts once models/$model_name/<version>/_SUCCESS exists and its files match its _MANIFEST)"
    status=1
  fi
  missing=""
  for candidate in $required; do
    contains "$wanted" "$candidate" || missing="$missing $candidate"
  done
  if [ -n "$missing" ]; then
    listed=${versions% }
    log "model \"$model_name\": version(s)$missing required by its policy or labels have no complete copy in $model_location$failed_note (versions in the store: ${listed:-none})"
    status=1
  fi
  return $status
}

# One pass over every model in the manifest. Returns non-zero when any model had a problem.
sync_all() {
  [ -r "$SYNC_MANIFEST" ] || die "cannot read SYNC_MANIFEST $SYNC_MANIFEST"
  PASS=$((PASS + 1))
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
    name=${1:-}
    policy_name=${2:-}
    policy_argument=${3:-}
    case $name in
      '' | *[!a-z0-9_-]* | [-_]* | *[-_]) die "$SYNC_MANIFEST line $line_number: \"$name\" is not a model name (lowercase letters, digits, \"-\" and \"_\")" ;;
    esac
    case $policy_name in
      latest)
        case $policy_argument in
          '' | *[!0-9]* | 0*) die "$SYNC_MANIFEST line $line_number: \"latest\" needs a positive count (got \"$policy_argument\")" ;;
        esac
        ;;
      specific | all)
        [ -n "$policy_argument" ] || [ "$policy_name" = all ] || die "$SYNC_MANIFEST line $line_number: \"specific\" needs versions such as 3,4"
        for required_version in $(words "$policy_argument"); do
          is_version "$required_version" || die "$SYNC_MANIFEST line $line_number: \"$required_version\" is not a version number (1 to $MAX_VERSION)"
        done
        ;;
      *) die "$SYNC_MANIFEST line $line_number: unknown policy \"$policy_name\" for model \"$name\"; use latest, all or specific" ;;
    esac
    sync_model "$name" "$policy_name" "$policy_argument" </dev/null || result=1
  done <"$SYNC_MANIFEST"
  return $result
}

# fetch_one <model> <version>: the `fetch` mode (see the usage above).
fetch_one() {
  if [ -d "$MODELS_DIR/$1/$2" ]; then
    log "model \"$1\": version $2 is already in $MODELS_DIR/$1/"
    return 0
  fi
  if ! mkdir -p "$MODELS_DIR/$1" "$STAGING/$1"; then
    log "model \"$1\": cannot create $MODELS_DIR/$1 or its staging area"
    return 75
  fi
  fetch_version "$1" "$2"
  fetched=$?
  rm -rf "${STAGING:?}/$1"
  case $fetched in
    0) return 0 ;;
    3)
      log "model \"$1\": version $2 is not complete yet (no s3://$S3_BUCKET/models/$1/$2/_SUCCESS)"
      return 3
      ;;
  esac
  case $rejected_reason in
    download-failed | staging-failed | placing-failed) return 75 ;;
  esac
  return 1
}

[ -n "${S3_BUCKET:-}" ] || die "S3_BUCKET is not set"
case $MODE in
  once | watch)
    [ -n "${SYNC_MANIFEST:-}" ] || die "SYNC_MANIFEST is not set"
    WORK_NAME=".sync-${SYNC_MANIFEST##*/}"
    ;;
  fetch)
    [ "$#" -eq 3 ] || die "usage: model-sync.sh fetch <model> <version>"
    case $2 in
      '' | *[!a-z0-9_-]* | [-_]* | *[-_]) die "\"$2\" is not a model name (lowercase letters, digits, \"-\" and \"_\")" ;;
    esac
    is_version "$3" || die "\"$3\" is not a version number (1 to $MAX_VERSION)"
    WORK_NAME=".fetch-$2-$3"
    REFUSAL="not using it"
    ;;
  *) die "usage: model-sync.sh once|watch, or model-sync.sh fetch <model> <version>" ;;
esac
# This run's working files (listings, error messages, back-off records). The init container and the
# sidecar of one store run one after the other; other stores' containers use their own folder. Whatever
# a killed run left behind is cleared here.
WORK="$STAGING/$WORK_NAME"
rm -rf "$WORK"
mkdir -p "$WORK/backoff" || die "cannot create $WORK"
ERRFILE="$WORK/aws-error"
trap 'rm -rf "$WORK"' EXIT

case $MODE in
  fetch)
    fetch_one "$2" "$3"
    exit $?
    ;;
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
    trap 'log "stopping"; [ -n "$sleeper" ] && kill "$sleeper" 2>/dev/null; rm -rf "$WORK"; exit 0' TERM INT
    log "syncing every ${INTERVAL}s"
    while :; do
      sync_all || log "pass finished with problems; retrying in ${INTERVAL}s"
      sleep "$INTERVAL" &
      sleeper=$!
      wait "$sleeper"
      sleeper=""
    done
    ;;
esac
