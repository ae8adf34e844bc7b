#!/usr/bin/env bash
# `make release-manifests IMG`: the two files module-template.yaml links to, published as release
# assets: release/eventing-manager.yaml (the raw manifest: `kustomize build config/default`, the
# manager Deployment its only workload, running IMG) and release/default-eventing.yaml (spec.data of
# module-template.yaml, the default Eventing CR).
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo"
img="${1:?usage: release-manifests.sh IMAGE}"
mkdir -p release
raw="$(kubectl kustomize config/default)"
default_image="$(grep -c '^        image: eventing-manager:' <<<"$raw" || true)"
if [[ "$default_image" != 1 ]]; then
	echo "release-manifests: expected one manager image in config/default, found $default_image" >&2
	exit 1
fi
{
	echo "# The eventing module's raw manifest (make release-manifests; do not edit)."
	# shellcheck disable=SC2001 # a line-anchored regular expression, not a plain substitution
	sed "s|^        image: eventing-manager:.*|        image: $img|" <<<"$raw"
} >release/eventing-manager.yaml
{
	echo "# The eventing module's default CR (spec.data of module-template.yaml; make release-manifests)."
	cargo run --quiet --bin eventing-manager -- default-cr
} >release/default-eventing.yaml
echo "wrote release/eventing-manager.yaml (image $img) and release/default-eventing.yaml"
