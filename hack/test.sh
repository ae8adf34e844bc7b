#!/usr/bin/env bash
# `make test`: unit and integration tests against the local control plane of hack/testenv.
# Builds what is missing, starts the control plane unless one is already running, and stops what
# it started, also when tests fail.
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo"
# shellcheck source=hack/testenv/ensure.sh
source hack/testenv/ensure.sh
trap testenv_stop_if_started EXIT

cargo test --all-targets "$@"
