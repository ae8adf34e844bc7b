#!/usr/bin/env bash
# `make bench`: the chart render benchmark (criterion), the controller figures and the control API
# load on the local control plane, which it starts unless one runs (and stops what it started).
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo"
# shellcheck source=hack/testenv/ensure.sh
source hack/testenv/ensure.sh
trap testenv_stop_if_started EXIT

cargo bench --bench render "$@"
cargo bench --bench controllers
cargo bench --bench control_api
