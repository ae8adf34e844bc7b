#!/usr/bin/env bash
# `make run-local`: the manager in standalone mode on the local control plane of hack/testenv, with
# a Kyma CR that enables eventing; shows the Kyma, Eventing and NATS states until the module is
# Ready, then keeps running with the manager's logs until Ctrl-C, and stops everything it started.
# The Kyma CRD is lifecycle-manager's when ../shared/kyma is beside the checkout (then the module's
# ModuleReleaseMeta and ModuleTemplate are installed too), else ours (created only where none exists).
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
lifecycle_manager_crds="$repo/../shared/kyma/lifecycle-manager/crds"
if ! kubectl get crd kymas.operator.kyma-project.io >/dev/null 2>&1; then
	if [[ -d "$lifecycle_manager_crds" ]]; then
		kubectl create -f "$lifecycle_manager_crds/operator.kyma-project.io_kymas.yaml" >/dev/null
	else
		kubectl create -f config/standalone/kyma-crd/operator.kyma-project.io_kymas.yaml >/dev/null
	fi
fi
kubectl wait --for condition=established --timeout 60s crd/kymas.operator.kyma-project.io crd/eventings.operator.kyma-project.io crd/nats.operator.kyma-project.io >/dev/null
kubectl create namespace kyma-system --dry-run=client -o yaml | kubectl apply -f - >/dev/null
if [[ -d "$lifecycle_manager_crds" ]]; then
	# The module's release metadata on lifecycle-manager's CRDs: the manager resolves the channel through them.
	kubectl create namespace kcp-system --dry-run=client -o yaml | kubectl apply -f - >/dev/null
	for plural in moduletemplates modulereleasemetas; do
		kubectl apply --server-side --field-manager eventing-manager -f "$lifecycle_manager_crds/operator.kyma-project.io_$plural.yaml" >/dev/null
		kubectl wait --for condition=established --timeout 60s "crd/$plural.operator.kyma-project.io" >/dev/null
	done
	kubectl apply --server-side --field-manager eventing-manager -f module-release-meta.yaml -f module-template.yaml >/dev/null
fi

target/debug/eventing-manager run --kyma-mode standalone --manager-namespace kyma-system --log-format text --metrics-addr 127.0.0.1:8080 >"$manager_log" 2>&1 &
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
