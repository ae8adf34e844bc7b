#!/usr/bin/env bash
# `make run-local`: the manager on the local control plane of hack/testenv (CRDs and the
# ModuleTemplate installed), with a Kyma CR that enables eventing; shows the Kyma, Eventing and
# NATS states until the module is Ready, then keeps running with the manager's logs until Ctrl-C,
# and stops everything it started.
# UNTIL_READY=1: exit 0 once the module is Ready (non-zero with the reason after TIMEOUT seconds).
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo"
timeout_seconds="${TIMEOUT:-180}"
cargo build --quiet --bin eventing-manager
# shellcheck source=hack/testenv/ensure.sh
source hack/testenv/ensure.sh
manager_pid_file="$env_dir/pids/eventing-manager.pid"
manager_log="$env_dir/logs/eventing-manager.log"

stop() {
	if [[ -f "$manager_pid_file" ]]; then
		kill -TERM "$(cat "$manager_pid_file")" 2>/dev/null || true
		rm -f "$manager_pid_file"
	fi
	testenv_stop_if_started
}
trap stop EXIT

target/debug/eventing-manager crd | kubectl apply --server-side --field-manager eventing-manager -f - >/dev/null
kubectl wait --for condition=established --timeout 60s crd/kymas.operator.kyma-project.io crd/eventings.operator.kyma-project.io crd/nats.operator.kyma-project.io >/dev/null
kubectl create namespace kyma-system --dry-run=client -o yaml | kubectl apply -f - >/dev/null
# The ModuleTemplate, as lifecycle-manager would provide it: the manager takes the default Eventing CR from it.
kubectl apply --server-side --field-manager eventing-manager -k config/kyma >/dev/null
kubectl wait --for condition=established --timeout 60s crd/moduletemplates.operator.kyma-project.io >/dev/null
kubectl apply --server-side --field-manager eventing-manager -f module-template.yaml >/dev/null

target/debug/eventing-manager run --manager-namespace kyma-system --log-format text --metrics-addr 127.0.0.1:8080 >"$manager_log" 2>&1 &
echo $! >"$manager_pid_file"
echo "manager running (pid $(cat "$manager_pid_file"), logs in $manager_log, metrics on http://127.0.0.1:8080/metrics)"
kubectl apply -f config/samples/kyma-default.yaml >/dev/null

state() { kubectl -n kyma-system get "$1" "$2" -o jsonpath="$3" 2>/dev/null || true; }
start=$SECONDS
last=""
while true; do
	kyma="$(state kyma default '{.status.modules[?(@.name=="eventing")].state}')"
	eventing="$(state eventing eventing '{.status.state}/{.status.activeBackend}')"
	ready="$(state statefulset eventing-nats '{.status.readyReplicas}/{.spec.replicas}')"
	line="Kyma module eventing: ${kyma:-pending} | Eventing: ${eventing:-pending} | NATS servers ready: ${ready:-pending}"
	[[ "$line" != "$last" ]] && echo "[$((SECONDS - start))s] $line"
	last="$line"
	[[ "$kyma" == Ready ]] && break
	if ! kill -0 "$(cat "$manager_pid_file")" 2>/dev/null; then
		echo "the manager exited; its log:" >&2
		tail -20 "$manager_log" >&2
		exit 1
	fi
	if ((SECONDS - start > timeout_seconds)); then
		echo "the eventing module is not Ready after ${timeout_seconds}s; Kyma status:" >&2
		kubectl -n kyma-system get kyma default -o jsonpath='{.status}' >&2
		echo >&2
		exit 1
	fi
	sleep 1
done
echo "the eventing module is Ready in the Kyma CR after $((SECONDS - start))s"
if [[ -n "${UNTIL_READY:-}" ]]; then
	exit 0
fi
echo "following the manager's log; Ctrl-C stops the manager and the control plane"
tail -f "$manager_log"
