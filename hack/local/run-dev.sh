#!/usr/bin/env bash
# `make run-dev`: the original Eventing manager's k3d workflow, for machines with Docker and k3d.
# Creates the k3d cluster $CLUSTER_NAME (default eventing-dev) with three agents in three zones,
# builds the image $IMG (default eventing-manager:dev) and imports it, deploys (hack/local/deploy.sh),
# applies the sample Kyma CR and waits until the eventing module is Ready.
# `make stop` deletes the cluster. DRY_RUN=1 prints every command instead of running it.
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$repo"
# shellcheck source=hack/local/lib.sh
source hack/local/lib.sh
require k3d docker kubectl

if [[ "${DRY_RUN:-}" == 1 ]] || ! k3d cluster get "$CLUSTER_NAME" >/dev/null 2>&1; then
	run k3d cluster create "$CLUSTER_NAME" --agents 3 --wait \
		--k3s-node-label "topology.kubernetes.io/zone=zone-a@agent:0" \
		--k3s-node-label "topology.kubernetes.io/zone=zone-b@agent:1" \
		--k3s-node-label "topology.kubernetes.io/zone=zone-c@agent:2"
fi
run docker build -t "$IMG" .
run k3d image import "$IMG" -c "$CLUSTER_NAME"
DEPLOY_CONTEXT="$CONTEXT" hack/local/deploy.sh
run kubectl --context "$CONTEXT" apply --server-side -f config/samples/kyma-default.yaml
run kubectl --context "$CONTEXT" -n kyma-system wait kyma/default --for jsonpath='{.status.state}'=Ready --timeout 300s
echo "the eventing module is Ready on k3d cluster $CLUSTER_NAME (kubectl --context $CONTEXT); 'make stop' deletes it"
