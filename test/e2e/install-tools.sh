#!/bin/sh
# Builds the real-cluster suite's tools from the Go module proxy, once: each is cached under
# ${XDG_CACHE_HOME:-$HOME/.cache}/ml-platform/e2e/<tool>-<version>/ and reused while its version stays the
# same (cold: tens of minutes on 2 cores; warm: about a second). Prints the folder that holds every tool:
#
#   bin/      etcd, kube-apiserver, kube-controller-manager, kube-scheduler, kubectl, kwok, pulumi,
#             pulumi-language-nodejs, pulumi-resource-pulumi-nodejs, pulumi-resource-kubernetes
#   kwok/     kwok's stages (node-initialize, node-heartbeat, pod-ready, pod-complete, pod-delete)
#   charts/   the JobSet and Kueue Helm charts of the releases the platform pins (for a cluster with no registry
#             access); Kueue's without its visibility APIService (see copy_kueue_chart)
#   bin/kueue the Kueue controller manager, which the suite runs outside the cluster (test/e2e/kueue.ts)
#
# Why these builds (docs/real-deploys.md):
# - Kubernetes' go.mod replaces its k8s.io/* staging modules with local folders, and the Pulumi and
#   pulumi-kubernetes modules replace theirs too, so `go install module@version` refuses them: each is built
#   from a small wrapper module that requires it and replaces each such module with its published version.
# - The current Node.js language host module is not served by the proxy; the host inside
#   github.com/pulumi/pulumi/sdk/v3@v3.68.0 runs the program (with the project's @pulumi/pulumi).
# - pulumi-resource-kubernetes embeds a schema-embed.json that its `go generate` writes from schema.json;
#   the module zip has only the latter.
#
# usage: install-tools.sh     (progress on stderr, the tools folder on stdout)
set -eu

ETCD_VERSION=v3.6.16
KUBERNETES_VERSION=v1.34.4
KWOK_VERSION=v0.8.0
PULUMI_VERSION=v3.276.0
PULUMI_NODEJS_HOST_VERSION=v3.68.0
# The pulumi-kubernetes provider module is served by pseudo-version only (commit of 2026-01-15, after the
# v4.24.0 SDK it requires); the plugin reports the version below.
PULUMI_KUBERNETES_MODULE_VERSION=v4.0.0-20260115033456-f47bc2d6f199
PULUMI_KUBERNETES_PLUGIN_VERSION=4.25.0-alpha.f47bc2d6f199
PULUMI_KUBERNETES_SDK_VERSION=v4.24.0
# Keep in step with JOBSET_VERSION in components/training/jobset-controller.ts.
JOBSET_VERSION=v0.12.0
# Keep in step with KUEUE_VERSION in components/queueing/kueue-objects.ts.
KUEUE_VERSION=v0.17.0

cache=${XDG_CACHE_HOME:-$HOME/.cache}/ml-platform/e2e
tools=$cache/tools-k$KUBERNETES_VERSION-e$ETCD_VERSION-w$KWOK_VERSION-p$PULUMI_VERSION-n$PULUMI_NODEJS_HOST_VERSION-pk$PULUMI_KUBERNETES_PLUGIN_VERSION-j$JOBSET_VERSION-q$KUEUE_VERSION
export GOFLAGS=-buildvcs=false CGO_ENABLED=0

say() { echo "install-tools: $*" >&2; }
command -v go >/dev/null 2>&1 || { say "Go is required (https://go.dev/doc/install); the tools are built from the Go module proxy"; exit 3; }

# module_dir <module>@<version>: downloads a module and prints its read-only folder in the module cache.
module_dir() {
  dir=$(go mod download -json "$1" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')
  [ -d "$dir" ] || { say "go mod download $1 gave no folder"; exit 1; }
  echo "$dir"
}

# build <name> <cache folder> <build function>: runs the function in a fresh work folder unless the
# folder already holds a finished build (its .done marker is written last).
build() {
  name=$1 out=$2 fn=$3
  [ -f "$out/.done" ] && return 0
  say "building $name (cached in $out)"
  started=$(date +%s)
  rm -rf "$out" && mkdir -p "$out"
  work=$(mktemp -d)
  (cd "$work" && "$fn" "$out")
  chmod -R u+w "$work" && rm -rf "$work"
  touch "$out/.done"
  say "built $name in $(($(date +%s) - started)) s"
}

# wrapper_module <package>...: a module in the current folder whose go.mod (given on stdin) requires the
# packages' modules; tools.go imports the packages so that `go mod tidy` keeps what they need.
wrapper_module() {
  cat > go.mod
  { printf '//go:build tools\n\npackage tools\n\n'; for pkg in "$@"; do printf 'import _ "%s"\n' "$pkg"; done; } > tools.go
  go mod tidy >&2
}

# No symbol tables or DWARF: the links are much faster (the provider's is the slowest step) and nothing here
# debugs these binaries.
STRIP="-s -w"

# A wrapper module (go.mod on stdin) building the listed main packages into $out; $LDFLAGS if set.
wrapper_build() {
  out=$1; shift
  wrapper_module "$@"
  go build -ldflags "$STRIP ${LDFLAGS:-}" -o "$out/" "$@"
}

# Pulumi's binaries report the version the linker gives them (`pulumi version` prints nothing otherwise).
pulumi_version_ldflags() { echo "-X github.com/pulumi/pulumi/sdk/v3/go/common/version.Version=$1"; }

build_etcd() {
  printf 'module localtools/etcd\n\ngo 1.24\n\nrequire go.etcd.io/etcd/server/v3 %s\n' "$ETCD_VERSION" | wrapper_module go.etcd.io/etcd/server/v3
  go build -ldflags "$STRIP" -o "$1/etcd" go.etcd.io/etcd/server/v3
}

# Kubernetes' binaries report the version the linker gives them; clients such as the Pulumi provider read it.
kubernetes_version_ldflags() {
  minor=${KUBERNETES_VERSION#v1.}
  minor=${minor%%.*}
  for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
    printf -- '-X %s.gitVersion=%s -X %s.gitMajor=1 -X %s.gitMinor=%s -X %s.gitTreeState=clean ' "$pkg" "$KUBERNETES_VERSION" "$pkg" "$pkg" "$minor" "$pkg"
  done
}

build_kubernetes() {
  mod=$(go mod download -json "k8s.io/kubernetes@$KUBERNETES_VERSION" | sed -n 's/^[[:space:]]*"GoMod": "\(.*\)",$/\1/p')
  staging=v0${KUBERNETES_VERSION#v1}
  {
    printf 'module localtools/kubernetes\n\ngo 1.24.0\n\nrequire k8s.io/kubernetes %s\n\nreplace (\n' "$KUBERNETES_VERSION"
    grep '=> ./staging/' "$mod" | awk -v v="$staging" '{ print "\t" $1 " => " $1 " " v }'
    printf ')\n'
  } | LDFLAGS=$(kubernetes_version_ldflags) wrapper_build "$1" k8s.io/kubernetes/cmd/kube-apiserver k8s.io/kubernetes/cmd/kube-controller-manager \
    k8s.io/kubernetes/cmd/kube-scheduler k8s.io/kubernetes/cmd/kubectl
}

build_kwok() {
  GOBIN=$1 go install -ldflags "$STRIP" "sigs.k8s.io/kwok/cmd/kwok@$KWOK_VERSION"
  src=$(module_dir "sigs.k8s.io/kwok@$KWOK_VERSION")/kustomize/stage
  mkdir -p "$1/stages"
  for stage in node/fast/node-initialize node/heartbeat/node-heartbeat pod/fast/pod-ready pod/fast/pod-complete pod/fast/pod-delete; do
    cp "$src/$stage.yaml" "$1/stages/"
  done
}

build_pulumi() {
  mod=$(go mod download -json "github.com/pulumi/pulumi/pkg/v3@$PULUMI_VERSION" | sed -n 's/^[[:space:]]*"GoMod": "\(.*\)",$/\1/p')
  {
    printf 'module localtools/pulumi\n\ngo %s\n\nrequire github.com/pulumi/pulumi/pkg/v3 %s\n\n' "$(sed -n 's/^go //p' "$mod")" "$PULUMI_VERSION"
    printf 'replace github.com/pulumi/pulumi/sdk/v3 => github.com/pulumi/pulumi/sdk/v3 %s\n' "$PULUMI_VERSION"
    # The module's other replaces, which point at published modules.
    grep '^replace ' "$mod" | grep -v '=> \.' || true
  } | LDFLAGS=$(pulumi_version_ldflags "$PULUMI_VERSION") wrapper_build "$1" github.com/pulumi/pulumi/pkg/v3/cmd/pulumi
}

build_nodejs_host() {
  printf 'module localtools/langhost\n\ngo 1.24\n\nrequire github.com/pulumi/pulumi/sdk/v3 %s\n' "$PULUMI_NODEJS_HOST_VERSION" |
    LDFLAGS=$(pulumi_version_ldflags "$PULUMI_NODEJS_HOST_VERSION") wrapper_build "$1" github.com/pulumi/pulumi/sdk/v3/nodejs/cmd/pulumi-language-nodejs
  # The dynamic-provider shim that the Pulumi CLI distribution ships beside the host.
  sdk=$(module_dir "github.com/pulumi/pulumi/sdk/v3@$PULUMI_NODEJS_HOST_VERSION")
  cp "$sdk/nodejs/dist/pulumi-resource-pulumi-nodejs" "$1/" && chmod 755 "$1/pulumi-resource-pulumi-nodejs"
}

build_kubernetes_provider() {
  cp -R "$(module_dir "github.com/pulumi/pulumi-kubernetes/provider/v4@$PULUMI_KUBERNETES_MODULE_VERSION")/." src
  chmod -R u+w src && cd src
  sed -i "s#^replace github.com/pulumi/pulumi-kubernetes/sdk/v4 => ../sdk\$#replace github.com/pulumi/pulumi-kubernetes/sdk/v4 => github.com/pulumi/pulumi-kubernetes/sdk/v4 $PULUMI_KUBERNETES_SDK_VERSION#" go.mod
  grep -q '=> \.\./' go.mod && { say "pulumi-kubernetes go.mod still replaces a local folder"; exit 1; }
  go mod tidy >&2
  # What its `go generate` does: the schema with the plugin's version, and the mapping, compacted.
  (cd cmd/pulumi-resource-kubernetes && VERSION=$PULUMI_KUBERNETES_PLUGIN_VERSION python3 -c '
import json, os
schema = json.load(open("schema.json")); schema["version"] = os.environ["VERSION"]
json.dump(schema, open("schema-embed.json", "w"), separators=(",", ":"))
json.dump(json.load(open("terraform-mapping.json")), open("terraform-mapping-embed.json", "w"), separators=(",", ":"))')
  go build -ldflags "$STRIP -X github.com/pulumi/pulumi-kubernetes/provider/v4/pkg/version.Version=$PULUMI_KUBERNETES_PLUGIN_VERSION" \
    -o "$1/pulumi-resource-kubernetes" ./cmd/pulumi-resource-kubernetes
}

copy_jobset_chart() {
  cp -R "$(module_dir "sigs.k8s.io/jobset@$JOBSET_VERSION")/charts/jobset" "$1/jobset" && chmod -R u+w "$1/jobset"
}

# Kueue's module replaces nothing, so a plain `go install` builds its manager; the linker gives it its version.
build_kueue() {
  GOBIN=$1 go install -ldflags "$STRIP -X sigs.k8s.io/kueue/pkg/version.GitVersion=$KUEUE_VERSION" "sigs.k8s.io/kueue/cmd/kueue@$KUEUE_VERSION"
}

# Kueue's chart from its module (the platform's KueueController pins the controller image that the published chart
# sets), minus the APIServices of its visibility API: an aggregated API makes the API server dial the Service behind it, which the
# suite forbids (and which nothing would answer: no container runs, and the manager the suite runs outside the
# cluster has the visibility server off). The rest (CRDs, RBAC, webhooks the API server does not call) is as
# released.
copy_kueue_chart() {
  cp -R "$(module_dir "sigs.k8s.io/kueue@$KUEUE_VERSION")/charts/kueue" "$1/kueue" && chmod -R u+w "$1/kueue"
  rm "$1"/kueue/templates/visibility/apiservice_*.yaml
}

build etcd "$cache/etcd-$ETCD_VERSION" build_etcd
build kubernetes "$cache/kubernetes-$KUBERNETES_VERSION" build_kubernetes
build kwok "$cache/kwok-$KWOK_VERSION" build_kwok
build pulumi "$cache/pulumi-$PULUMI_VERSION" build_pulumi
build pulumi-language-nodejs "$cache/pulumi-nodejs-host-$PULUMI_NODEJS_HOST_VERSION" build_nodejs_host
build pulumi-resource-kubernetes "$cache/pulumi-kubernetes-$PULUMI_KUBERNETES_MODULE_VERSION" build_kubernetes_provider
build jobset-chart "$cache/jobset-chart-$JOBSET_VERSION" copy_jobset_chart
build kueue "$cache/kueue-$KUEUE_VERSION" build_kueue
build kueue-chart "$cache/kueue-chart-$KUEUE_VERSION" copy_kueue_chart

if [ ! -f "$tools/.done" ]; then
  rm -rf "$tools" && mkdir -p "$tools/bin" "$tools/charts"
  for f in "$cache/etcd-$ETCD_VERSION/etcd" "$cache/kubernetes-$KUBERNETES_VERSION"/kube* "$cache/kwok-$KWOK_VERSION/kwok" \
    "$cache/pulumi-$PULUMI_VERSION/pulumi" "$cache/pulumi-nodejs-host-$PULUMI_NODEJS_HOST_VERSION"/pulumi-* \
    "$cache/pulumi-kubernetes-$PULUMI_KUBERNETES_MODULE_VERSION/pulumi-resource-kubernetes" "$cache/kueue-$KUEUE_VERSION/kueue"; do
    ln -s "$f" "$tools/bin/"
  done
  ln -s "$cache/kwok-$KWOK_VERSION/stages" "$tools/kwok"
  ln -s "$cache/jobset-chart-$JOBSET_VERSION/jobset" "$tools/charts/jobset"
  ln -s "$cache/kueue-chart-$KUEUE_VERSION/kueue" "$tools/charts/kueue"
  touch "$tools/.done"
fi
echo "$tools"
