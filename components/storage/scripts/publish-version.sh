#!/bin/sh
# Publishes a local directory as one complete, verifiable version of an S3-compatible store:
#
#   s3://<bucket>/<prefix>/<name>/<version>/<files...>
#                                          /_MANIFEST   every file with its size and SHA-256
#                                          /_SUCCESS    written last; names the SHA-256 of _MANIFEST
#
# Readers (the model sync) take a version only once _SUCCESS exists, download exactly the files the
# manifest lists and serve the version only when every size and SHA-256 matches. The format is a contract
# shared by every uploader: docs/model-delivery.md.
#
# usage: publish-version.sh SOURCE_DIR s3://BUCKET/PREFIX/NAME/VERSION/
#   SOURCE_DIR  the directory to publish: regular files and directories only, at least one file; no file
#               name with a control character (such as a newline); no top-level _MANIFEST or _SUCCESS.
#   VERSION     1 to 9223372036854775807 in decimal, without sign or leading zero (TF Serving's int64
#               version numbers, one spelling per number).
#   PREFIX/NAME one or more path segments of letters, digits, ".", "_" or "-", e.g. models/linear or
#               tensorboard/linear.
#
# Environment: S3_ENDPOINT (endpoint URL of a non-AWS store, passed as --endpoint-url), AWS_CLI (the aws
# binary, default aws), plus the AWS_* credentials and region the AWS CLI reads.
#
# Exit status: 0 the version is complete (published now, or already complete and left untouched);
# 1 bad arguments or nothing publishable (retrying cannot help); 75 the store failed (EX_TEMPFAIL: worth
# retrying; nothing was marked complete).
set -eu

log() { echo "publish-version: $*" >&2; }
fail() {
  log "$*"
  exit 1
}
store_failed() {
  log "$*"
  exit 75
}

usage="usage: publish-version.sh SOURCE_DIR s3://BUCKET/PREFIX/NAME/VERSION/"
[ "$#" -eq 2 ] || fail "$usage"
source_dir=$1
destination=$2

# --- The destination: s3://bucket/segment/.../version/ ----------------------------------------------
case $destination in
  s3://*) ;;
  *) fail "destination \"$destination\" is not an s3:// URL; $usage" ;;
esac
path=${destination#s3://}
path=${path%/}
bucket=${path%%/*}
key_path=${path#*/}
if [ -z "$bucket" ] || [ "$key_path" = "$path" ]; then fail "destination \"$destination\" names no key prefix; $usage"; fi
version=${key_path##*/}
parent=${key_path%/*}
[ "$parent" != "$key_path" ] || fail "destination \"$destination\" needs <prefix>/<name>/ before the version; $usage"
case $version in
  '' | 0* | *[!0-9]*) fail "version \"$version\" is not a version number: use 1 to 9223372036854775807, without sign or leading zero" ;;
esac
# Beyond 19 digits, or 19 digits sorting after the maximum (same length: text order is number order).
if [ "${#version}" -gt 19 ] || { [ "${#version}" -eq 19 ] && [ "$(printf '%s\n%s\n' "$version" 9223372036854775807 | LC_ALL=C sort | tail -n 1)" != 9223372036854775807 ]; }; then
  fail "version \"$version\" is beyond 9223372036854775807, the largest version TF Serving can load"
fi
# Segments are plain names, so keys need no quoting anywhere (AWS CLI filters, JMESPath).
rest=$parent/
while [ -n "$rest" ]; do
  segment=${rest%%/*}
  rest=${rest#*/}
  case $segment in
    '' | . | .. | *[!A-Za-z0-9._-]*) fail "destination \"$destination\": path segment \"$segment\" is not allowed: use letters, digits, \".\", \"_\" or \"-\"" ;;
  esac
done
version_prefix="$key_path/"
dest="s3://$bucket/$version_prefix"

# --- The source directory ----------------------------------------------------------------------------
source_dir=${source_dir%/}
[ -n "$source_dir" ] || source_dir=/
[ -d "$source_dir" ] || fail "$source_dir is not a directory: nothing to publish"

aws_cli() {
  if [ -n "${S3_ENDPOINT:-}" ]; then
    "${AWS_CLI:-aws}" --endpoint-url "$S3_ENDPOINT" "$@"
  else
    "${AWS_CLI:-aws}" "$@"
  fi
}

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# A name with a control character would break the manifest's one-line-per-file format; anything but
# regular files and directories (links, devices, sockets) has no defined content to publish.
control_chars=$(printf '\001\002\003\004\005\006\007\010\011\012\013\014\015\016\017\020\021\022\023\024\025\026\027\030\031\032\033\034\035\036\037\177')
# (Counted by match, not by line: such a name may hold a newline.)
bad_names=$(find -H "$source_dir" -name "*[$control_chars]*" -exec printf x \; | wc -c)
[ "$bad_names" -eq 0 ] || fail "$source_dir: $bad_names file name(s) contain a control character (such as a newline or tab); rename them before publishing"
not_regular=$(find -H "$source_dir" ! -type f ! -type d | head -n 1)
[ -z "$not_regular" ] || fail "$not_regular is not a regular file or directory (symbolic links, devices and sockets are not published)"
for reserved in _MANIFEST _SUCCESS; do
  [ ! -e "$source_dir/$reserved" ] || fail "$source_dir/$reserved: $reserved is written by publish-version.sh itself and cannot be part of the files"
done

find -H "$source_dir" -type f | LC_ALL=C sort >"$work/files"
file_count=$(wc -l <"$work/files")
[ "$file_count" -gt 0 ] || fail "$source_dir has no files: nothing to publish"

# --- Already complete? A complete version is never changed. --------------------------------------------
# shellcheck disable=SC2016 # the backquotes are a JMESPath literal, not shell
if ! marker_count=$(aws_cli s3api list-objects-v2 --bucket "$bucket" --prefix "${version_prefix}_SUCCESS" \
  --query "length(Contents[?Key=='${version_prefix}_SUCCESS'] || \`[]\`)" --output text 2>"$work/error"); then
  store_failed "cannot check $dest: $(tr -s '\n' ' ' <"$work/error")"
fi
if [ "$marker_count" != 0 ]; then
  log "$dest is already complete; leaving it untouched"
  exit 0
fi

# --- The manifest: one line per file, "<sha256> <size> <path>", sorted by path in byte order -------------
manifest="$work/_MANIFEST"
echo "ml-platform-manifest v1" >"$manifest"
total_bytes=0
# File names were checked above: none has a newline, so one path per line is exact.
while IFS= read -r file; do
  relative=${file#"$source_dir"/}
  size=$(wc -c <"$file")
  size=$((size + 0))
  sha256=$(sha256sum <"$file")
  printf '%s %s %s\n' "${sha256%% *}" "$size" "$relative" >>"$manifest"
  total_bytes=$((total_bytes + size))
done <"$work/files"
manifest_sha256=$(sha256sum <"$manifest")
manifest_sha256=${manifest_sha256%% *}

# --- Upload: the files, then the manifest, then _SUCCESS naming the manifest's hash ---------------------
log "uploading $file_count files ($total_bytes bytes) from $source_dir to $dest"
aws_cli s3 cp --recursive --only-show-errors "$source_dir/" "$dest" || store_failed "upload to $dest failed: the version stays incomplete"
aws_cli s3 cp --only-show-errors "$manifest" "${dest}_MANIFEST" || store_failed "writing ${dest}_MANIFEST failed: the version stays incomplete"
printf '%s  _MANIFEST\n' "$manifest_sha256" >"$work/_SUCCESS"
aws_cli s3 cp --only-show-errors "$work/_SUCCESS" "${dest}_SUCCESS" || store_failed "writing ${dest}_SUCCESS failed: the version stays incomplete"
log "$dest is complete (manifest sha256 $manifest_sha256)"
