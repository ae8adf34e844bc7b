#!/usr/bin/env bash
# Stops exactly what hack/testenv/up.sh started, by PID, and removes the etcd data.
set -uo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
env_dir="${TESTENV_DIR:-$repo/.testenv}"
pids="$env_dir/pids"

# Reverse start order: the clients first, etcd last.
for name in testenv-provisioner kwok kube-scheduler kube-controller-manager kube-apiserver etcd; do
	file="$pids/$name.pid"
	[[ -f "$file" ]] || continue
	pid="$(cat "$file")"
	if kill -0 "$pid" 2>/dev/null; then
		kill -TERM "$pid" 2>/dev/null
		for _ in $(seq 1 40); do
			kill -0 "$pid" 2>/dev/null || break
			sleep 0.25
		done
		kill -0 "$pid" 2>/dev/null && kill -KILL "$pid" 2>/dev/null
		echo "testenv: stopped $name (pid $pid)" >&2
	fi
	rm -f "$file"
done
rm -rf "$env_dir/etcd-data"
