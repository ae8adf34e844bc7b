# shellcheck shell=bash
# Sourced by hack/test.sh, hack/bench.sh and hack/run-local.sh: exports KUBECONFIG and PATH and
# starts the local control plane unless one is running; `testenv_stop_if_started` stops it again.
env_dir="${TESTENV_DIR:-$repo/.testenv}"
export KUBECONFIG="$env_dir/kubeconfig"
testenv_started=""
pid_file="$env_dir/pids/kube-apiserver.pid"
if [[ -f "$pid_file" ]] && kill -0 "$(cat "$pid_file")" 2>/dev/null; then
	echo "using the running control plane ($KUBECONFIG)" >&2
else
	testenv_started=1
	"$repo/hack/testenv/up.sh" >/dev/null
fi
export PATH="$env_dir/bin:$PATH"

testenv_stop_if_started() {
	if [[ -n "$testenv_started" ]]; then "$repo/hack/testenv/down.sh"; fi
}
