# eventing-manager: see README.md.
SHELL := /usr/bin/env bash
.SHELLFLAGS := -euo pipefail -c
.DEFAULT_GOAL := help

TESTENV_DIR ?= $(CURDIR)/.testenv
export KUBECONFIG ?= $(TESTENV_DIR)/kubeconfig
# kubectl (its kustomize) from the test environment when it is built, else the one on PATH.
export PATH := $(TESTENV_DIR)/bin:$(PATH)
VERSION := $(shell sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -1)
# The image the raw manifest runs: the release version, overridable (IMG=registry/eventing-manager:tag).
IMG ?= eventing-manager:$(VERSION)

.PHONY: help
help: ## List the targets.
	@grep -E '^[a-zA-Z_-]+:.*?## ' $(MAKEFILE_LIST) | awk 'BEGIN {FS = ":.*?## "}; {printf "  %-18s %s\n", $$1, $$2}'

.PHONY: build
build: ## Build the manager.
	cargo build --bins

.PHONY: manifests
manifests: ## Regenerate the CRDs from the Rust types (config/crd/bases; the standalone Kyma CRD).
	cargo run --quiet --bin eventing-manager -- crd --dir config/crd/bases
	cargo run --quiet --bin eventing-manager -- crd --kyma-standalone --dir config/standalone/kyma-crd

.PHONY: release-manifests
release-manifests: ## Write what module-template.yaml links to: release/eventing-manager.yaml (raw manifest), release/default-eventing.yaml.
	hack/release-manifests.sh "$(IMG)"

GENERATED := config/crd/bases config/standalone/kyma-crd release

.PHONY: check-manifests
check-manifests: manifests release-manifests ## Fail when the committed CRDs or release manifests are stale.
	@git diff --exit-code -- $(GENERATED) || { echo "generated files are stale: run 'make manifests release-manifests' and commit"; exit 1; }
	@test -z "$$(git ls-files --others --exclude-standard $(GENERATED))" || { echo "generated files are not committed: run 'make manifests release-manifests' and commit"; exit 1; }

.PHONY: lint
lint: ## cargo fmt --check and clippy with warnings as errors.
	cargo fmt --check
	cargo clippy --all-targets -- -D warnings

.PHONY: run-local
run-local: ## The manager on the local control plane with a Kyma CR enabling eventing (UNTIL_READY=1: exit when Ready).
	hack/run-local.sh

.PHONY: run-dev
run-dev: ## k3d: create a cluster, build and import the image, deploy, apply the Kyma CR, wait for Ready (DRY_RUN=1 prints the commands).
	hack/local/run-dev.sh

.PHONY: deploy
deploy: ## Standalone install into the current kubectl context: config/standalone (image IMG), the Kyma CRD only where none exists (DRY_RUN=1 prints).
	hack/local/deploy.sh

.PHONY: stop
stop: ## Stop what run-local left running (manager, control plane) and delete the run-dev k3d cluster.
	-test -f $(TESTENV_DIR)/pids/eventing-manager.pid && kill $$(cat $(TESTENV_DIR)/pids/eventing-manager.pid) 2>/dev/null; rm -f $(TESTENV_DIR)/pids/eventing-manager.pid
	hack/testenv/down.sh
	hack/local/stop.sh

.PHONY: testenv-build
testenv-build: ## Build the control-plane binaries from the Go module proxy (cached by version).
	hack/testenv/build.sh

.PHONY: testenv-up
testenv-up: ## Start the local control plane (etcd, kube-apiserver, controller manager, scheduler, kwok).
	hack/testenv/up.sh

.PHONY: testenv-down
testenv-down: ## Stop the local control plane.
	hack/testenv/down.sh

.PHONY: test
test: ## Unit and integration tests; starts the control plane when none runs and stops what it started.
	hack/test.sh

.PHONY: bench
bench: ## Benchmarks: chart render speed (criterion) and controller figures on the local control plane.
	hack/bench.sh

.PHONY: golden
golden: ## Rewrite tests/golden from the current chart (review the diff before committing).
	UPDATE_GOLDEN=1 cargo test --test chart_golden
