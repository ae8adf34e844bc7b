#!/usr/bin/env bash
# Builds the test environment's binaries from the Go module proxy into a cache outside the repository,
# keyed by version, and links them into BIN_DIR (default: .testenv/bin). A cached binary is not rebuilt.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
# shellcheck source=hack/testenv/versions.env
source "$here/versions.env"

cache="${TESTENV_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/eventing-manager-testenv}"
bin_dir="${BIN_DIR:-$repo/.testenv/bin}"
mkdir -p "$cache" "$bin_dir"

log() { echo "testenv-build: $*" >&2; }

# build NAME VERSION DIR GO-BUILD-ARGS...: runs `go build` in DIR unless $cache/NAME-VERSION exists.
build() {
	local name="$1" version="$2" dir="$3"
	shift 3
	local out="$cache/$name-$version"
	if [[ ! -x "$out" ]]; then
		log "building $name $version"
		local start=$SECONDS
		(cd "$dir" && CGO_ENABLED=0 go build -trimpath -o "$out.tmp" "$@")
		mv "$out.tmp" "$out"
		log "built $name $version in $((SECONDS - start))s"
	fi
	ln -sf "$out" "$bin_dir/$name"
}

# install NAME VERSION PKG: `go install` into a scratch GOBIN, for modules that build as published;
# NAME is the binary go names after the package (the last path element without a /vN suffix).
install() {
	local name="$1" version="$2" pkg="$3"
	local out="$cache/$name-$version"
	if [[ ! -x "$out" ]]; then
		log "building $name $version"
		local start=$SECONDS gobin
		gobin="$(mktemp -d)"
		CGO_ENABLED=0 GOBIN="$gobin" go install -trimpath "$pkg@$version"
		mv "$gobin/$name" "$out"
		rm -rf "$gobin"
		log "built $name $version in $((SECONDS - start))s"
	fi
	ln -sf "$out" "$bin_dir/$name"
}

minor="${K8S_VERSION#v1.}"
minor="${minor%%.*}"
k8s_ldflags=""
for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
	k8s_ldflags+=" -X $pkg.gitVersion=$K8S_VERSION -X $pkg.gitMajor=1 -X $pkg.gitMinor=$minor"
	k8s_ldflags+=" -X $pkg.gitTreeState=clean -X $pkg.buildDate=1970-01-01T00:00:00Z"
done

targets=("${@:-all}")
want() {
	local t
	for t in "${targets[@]}"; do [[ "$t" == all || "$t" == "$1" ]] && return 0; done
	return 1
}

want etcd && build etcd "$ETCD_VERSION" "$here/etcd" .
for cmd in kube-apiserver kube-controller-manager kube-scheduler kubectl; do
	want "$cmd" && build "$cmd" "$K8S_VERSION" "$here/kubernetes" -ldflags "-s -w $k8s_ldflags" "k8s.io/kubernetes/cmd/$cmd"
done
want kwok && install kwok "$KWOK_VERSION" sigs.k8s.io/kwok/cmd/kwok
want nats-server && install nats-server "$NATS_SERVER_VERSION" github.com/nats-io/nats-server/v2
exit 0
