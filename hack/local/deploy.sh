#!/usr/bin/env bash
# `make deploy`: the standalone install (config/standalone: CRDs, RBAC, the kyma-system Namespace, the
# manager in --kyma-mode standalone) with image $IMG, into the cluster of kubectl context $CONTEXT
# (default: the current one), for clusters without lifecycle-manager; our Kyma CRD is created only
# where no Kyma CRD exists (never over lifecycle-manager's). Waits for the rollout. DRY_RUN=1 prints.
# Into a Kyma cluster the module is installed by lifecycle-manager instead (README, "Installing into Kyma").
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$repo"
# shellcheck source=hack/local/lib.sh
source hack/local/lib.sh
require kubectl
kubectl_in=(kubectl)
[[ -n "${DEPLOY_CONTEXT:-}" ]] && kubectl_in+=(--context "$DEPLOY_CONTEXT")

if [[ "${DRY_RUN:-}" == 1 ]] || ! "${kubectl_in[@]}" get crd kymas.operator.kyma-project.io >/dev/null 2>&1; then
	run "${kubectl_in[@]}" create -f config/standalone/kyma-crd/operator.kyma-project.io_kymas.yaml
fi
run "${kubectl_in[@]}" apply --server-side -k config/standalone
run "${kubectl_in[@]}" wait --for condition=established --timeout 60s crd/kymas.operator.kyma-project.io crd/eventings.operator.kyma-project.io crd/nats.operator.kyma-project.io
run "${kubectl_in[@]}" -n kyma-system set image deployment/eventing-manager "manager=$IMG"
run "${kubectl_in[@]}" -n kyma-system rollout status deployment/eventing-manager --timeout 180s
