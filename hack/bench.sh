#!/usr/bin/env bash
# `make bench`: the chart render benchmark (criterion) and the controller figures on the local
# control plane, which it starts unless one runs (and stops what it started).
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo"
env_dir="${TESTENV_DIR:-$repo/.testenv}"
export KUBECONFIG="$env_dir/kubeconfig"
pid_file="$env_dir/pids/kube-apiserver.pid"
if ! { [[ -f "$pid_file" ]] && kill -0 "$(cat "$pid_file")" 2>/dev/null; }; then
	trap 'hack/testenv/down.sh' EXIT
	hack/testenv/up.sh >/dev/null
fi
cargo bench --bench render "$@"
cargo bench --bench nats_controller
