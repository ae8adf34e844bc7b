#!/usr/bin/env bash
# `make deploy`: the CRDs, the ModuleTemplate (with a stand-in CRD when lifecycle-manager is
# absent), RBAC and the manager Deployment with image $IMG, into the cluster of kubectl context
# $CONTEXT (default: the current one); waits for the rollout. DRY_RUN=1 prints the commands.
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$repo"
# shellcheck source=hack/local/lib.sh
source hack/local/lib.sh
require kubectl
kubectl_in=(kubectl)
[[ -n "${DEPLOY_CONTEXT:-}" ]] && kubectl_in+=(--context "$DEPLOY_CONTEXT")

run "${kubectl_in[@]}" apply --server-side -k config/crd
run "${kubectl_in[@]}" apply --server-side -k config/kyma
run "${kubectl_in[@]}" wait --for condition=established --timeout 60s crd/moduletemplates.operator.kyma-project.io
run "${kubectl_in[@]}" apply --server-side -f module-template.yaml
run "${kubectl_in[@]}" apply --server-side -k config/default
run "${kubectl_in[@]}" -n kyma-system set image deployment/eventing-manager "manager=$IMG"
run "${kubectl_in[@]}" -n kyma-system rollout status deployment/eventing-manager --timeout 180s
