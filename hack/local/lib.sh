#!/usr/bin/env bash
# Shared by hack/local/*.sh (sourced). `run` prints each command and runs it, unless DRY_RUN=1,
# in which case it only prints it: the scripts can be checked on a machine without Docker or k3d.

CLUSTER_NAME="${CLUSTER_NAME:-eventing-dev}"
IMG="${IMG:-eventing-manager:dev}"
# shellcheck disable=SC2034 # used by the scripts that source this file
CONTEXT="k3d-$CLUSTER_NAME"

run() {
	printf '+ %s\n' "$*"
	if [[ "${DRY_RUN:-}" != 1 ]]; then
		"$@"
	fi
}

require() {
	[[ "${DRY_RUN:-}" == 1 ]] && return 0
	local tool
	for tool in "$@"; do
		command -v "$tool" >/dev/null || {
			echo "$tool is required (see README.md, 'make run-dev'); DRY_RUN=1 prints the commands instead" >&2
			exit 1
		}
	done
}
