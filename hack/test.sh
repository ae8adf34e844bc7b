#!/usr/bin/env bash
# `make test`: unit and integration tests against the local control plane of hack/testenv.
# Builds what is missing, starts the control plane unless one is already running, and stops what
# it started, also when tests fail.
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo"
env_dir="${TESTENV_DIR:-$repo/.testenv}"
export KUBECONFIG="$env_dir/kubeconfig"

started=""
pid_file="$env_dir/pids/kube-apiserver.pid"
if [[ -f "$pid_file" ]] && kill -0 "$(cat "$pid_file")" 2>/dev/null; then
	echo "test: using the running control plane ($KUBECONFIG)" >&2
else
	started=1
	trap 'hack/testenv/down.sh' EXIT
	hack/testenv/up.sh >/dev/null
fi
export PATH="$env_dir/bin:$PATH"

cargo test --all-targets "$@"
