#!/bin/sh
# Joins the identity fragments (one JSON object per *.json file, as the store's identities Secret holds
# them: the admin and one per grant) into the SeaweedFS S3 configuration file, atomically.
# Prints "changed" when the file's content changed, "unchanged" otherwise.
#
# usage: render-identities.sh <fragments-dir> <config-file>
set -eu

if [ "$#" -ne 2 ]; then
  echo "usage: $0 <fragments-dir> <config-file>" >&2
  exit 2
fi
fragments_dir=$1
config_file=$2

if [ ! -d "$fragments_dir" ]; then
  echo "render-identities: fragments directory $fragments_dir does not exist" >&2
  exit 1
fi

tmp_file="$config_file.tmp.$$"
trap 'rm -f "$tmp_file"' EXIT

count=0
{
  printf '{"identities":['
  # Kubernetes Secret volumes keep files behind hidden ..data symlinks; the glob sees only the keys.
  for fragment in "$fragments_dir"/*.json; do
    [ -f "$fragment" ] || continue
    if [ "$count" -gt 0 ]; then printf ','; fi
    cat "$fragment"
    count=$((count + 1))
  done
  printf ']}\n'
} >"$tmp_file"

if [ "$count" -eq 0 ]; then
  echo "render-identities: no identity fragments in $fragments_dir; refusing to write a configuration that denies everyone" >&2
  exit 1
fi

if [ -f "$config_file" ] && cmp -s "$tmp_file" "$config_file"; then
  echo "unchanged"
  exit 0
fi
mv -f "$tmp_file" "$config_file"
echo "changed"
