#!/usr/bin/env bash
# Part of `make stop`: deletes the k3d cluster of `make run-dev`, when k3d is installed and the
# cluster exists. DRY_RUN=1 prints the command.
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$repo"
# shellcheck source=hack/local/lib.sh
source hack/local/lib.sh

if [[ "${DRY_RUN:-}" == 1 ]] || { command -v k3d >/dev/null && k3d cluster get "$CLUSTER_NAME" >/dev/null 2>&1; }; then
	run k3d cluster delete "$CLUSTER_NAME"
fi
