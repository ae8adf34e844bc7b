#!/usr/bin/env bash
# Starts a real local Kubernetes control plane on 127.0.0.1: etcd, kube-apiserver,
# kube-controller-manager, kube-scheduler, kwok (simulated nodes) and the simulated volume provisioner.
# Everything lives in .testenv/ (ignored by git); `hack/testenv/down.sh` stops it by PID.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
env_dir="${TESTENV_DIR:-$repo/.testenv}"
bin="$env_dir/bin"
# build.sh links the binaries into BIN_DIR: the same folder, whatever TESTENV_DIR is.
export BIN_DIR="$bin"
pki="$env_dir/pki"
logs="$env_dir/logs"
pids="$env_dir/pids"
kubeconfig="$env_dir/kubeconfig"
nodes="${TESTENV_NODES:-3}"

# Below Linux's ephemeral range (32768-60999), where an outgoing connection could hold a port.
etcd_port=26379
etcd_peer_port=26380
api_port="${TESTENV_API_PORT:-26443}"
kcm_port=26444
scheduler_port=26445
kwok_port=26446
read -r ephemeral_low ephemeral_high </proc/sys/net/ipv4/ip_local_port_range 2>/dev/null || ephemeral_low=32768 ephemeral_high=60999
for port in "$etcd_port" "$etcd_peer_port" "$api_port" "$kcm_port" "$scheduler_port" "$kwok_port"; do
	if ((port >= ephemeral_low && port <= ephemeral_high)); then
		echo "testenv: port $port lies in this machine's ephemeral port range ($ephemeral_low-$ephemeral_high)" >&2
	fi
done

log() { echo "testenv: $*" >&2; }
die() { log "$*"; exit 1; }

running() { [[ -f "$pids/$1.pid" ]] && kill -0 "$(cat "$pids/$1.pid")" 2>/dev/null; }

if running kube-apiserver; then
	log "already running (kubeconfig $kubeconfig)"
	echo "export KUBECONFIG=$kubeconfig"
	exit 0
fi

for port in "$etcd_port" "$etcd_peer_port" "$api_port" "$kcm_port" "$scheduler_port" "$kwok_port"; do
	if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
		die "port $port on 127.0.0.1 is in use (another test environment? \`make testenv-down\` stops ours)"
	fi
done

start=$SECONDS
mkdir -p "$bin" "$pki" "$logs" "$pids"
"$here/build.sh"
provisioner="$env_dir/bin/testenv-provisioner"
if [[ ! -x "$provisioner" || -n "${TESTENV_REBUILD_PROVISIONER:-}" ]]; then
	(cd "$repo" && cargo build --quiet --bin testenv-provisioner)
	ln -sf "$repo/target/debug/testenv-provisioner" "$provisioner"
fi

# --- certificates and credentials (made once per .testenv) ---
if [[ ! -f "$pki/apiserver.crt" ]]; then
	log "creating certificates"
	openssl req -x509 -newkey rsa:2048 -nodes -days 3650 -subj "/CN=testenv-ca" \
		-keyout "$pki/ca.key" -out "$pki/ca.crt" 2>/dev/null
	openssl req -newkey rsa:2048 -nodes -subj "/CN=kube-apiserver" \
		-keyout "$pki/apiserver.key" -out "$pki/apiserver.csr" 2>/dev/null
	printf 'subjectAltName=IP:127.0.0.1,IP:10.96.0.1,DNS:localhost,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.cluster.local\n' >"$pki/san.ext"
	openssl x509 -req -in "$pki/apiserver.csr" -CA "$pki/ca.crt" -CAkey "$pki/ca.key" -CAcreateserial \
		-days 3650 -extfile "$pki/san.ext" -out "$pki/apiserver.crt" 2>/dev/null
	openssl genrsa -out "$pki/sa.key" 2048 2>/dev/null
	openssl rsa -in "$pki/sa.key" -pubout -out "$pki/sa.pub" 2>/dev/null
	# Static tokens: an administrator, and the manager's own identity (for least-privilege RBAC tests).
	admin_token="$(openssl rand -hex 24)"
	manager_token="$(openssl rand -hex 24)"
	printf '%s,admin,admin,system:masters\n%s,eventing-manager,eventing-manager\n' \
		"$admin_token" "$manager_token" >"$pki/tokens.csv"
	echo "$manager_token" >"$pki/manager.token"
	chmod 600 "$pki"/*.key "$pki/tokens.csv" "$pki/manager.token"
fi
admin_token="$(head -1 "$pki/tokens.csv" | cut -d, -f1)"

cat >"$kubeconfig" <<KUBECONFIG
apiVersion: v1
kind: Config
clusters:
- name: testenv
  cluster:
    server: https://127.0.0.1:$api_port
    certificate-authority: $pki/ca.crt
users:
- name: admin
  user:
    token: $admin_token
contexts:
- name: testenv
  context: {cluster: testenv, user: admin}
current-context: testenv
KUBECONFIG
chmod 600 "$kubeconfig"

# launch NAME ARGS...: starts a binary in the background, records its PID, logs to $logs/NAME.log.
launch() {
	local name="$1"
	shift
	"$@" >"$logs/$name.log" 2>&1 &
	echo $! >"$pids/$name.pid"
}

started_ok=""
stop_on_failure() {
	[[ -n "$started_ok" ]] && return
	log "start failed; logs in $logs"
	"$here/down.sh" >/dev/null 2>&1 || true
}
trap stop_on_failure EXIT

rm -rf "$env_dir/etcd-data"
launch etcd "$bin/etcd" --name testenv --data-dir "$env_dir/etcd-data" \
	--listen-client-urls "http://127.0.0.1:$etcd_port" --advertise-client-urls "http://127.0.0.1:$etcd_port" \
	--listen-peer-urls "http://127.0.0.1:$etcd_peer_port" --initial-advertise-peer-urls "http://127.0.0.1:$etcd_peer_port" \
	--initial-cluster "testenv=http://127.0.0.1:$etcd_peer_port" --unsafe-no-fsync --quota-backend-bytes 4294967296

audit_args=()
if [[ -n "${TESTENV_AUDIT:-}" ]]; then
	printf 'apiVersion: audit.k8s.io/v1\nkind: Policy\nrules:\n- level: Metadata\n' >"$env_dir/audit-policy.yaml"
	audit_args=(--audit-policy-file "$env_dir/audit-policy.yaml" --audit-log-path "$logs/audit.log")
fi

apiserver_args=("$bin/kube-apiserver" \
	--etcd-servers "http://127.0.0.1:$etcd_port" \
	--bind-address 127.0.0.1 --advertise-address 127.0.0.1 --secure-port "$api_port" \
	--tls-cert-file "$pki/apiserver.crt" --tls-private-key-file "$pki/apiserver.key" \
	--client-ca-file "$pki/ca.crt" --token-auth-file "$pki/tokens.csv" \
	--service-account-issuer https://kubernetes.default.svc.cluster.local \
	--service-account-key-file "$pki/sa.pub" --service-account-signing-key-file "$pki/sa.key" \
	--service-cluster-ip-range 10.96.0.0/16 --endpoint-reconciler-type none --authorization-mode RBAC --allow-privileged=true \
	--cert-dir "$env_dir/apiserver-certs" "${audit_args[@]}")
# The command line, one argument per line: tests that stop and restart the API server replay it.
printf '%s\n' "${apiserver_args[@]}" >"$env_dir/kube-apiserver.args"
launch kube-apiserver "${apiserver_args[@]}"

for _ in $(seq 1 120); do
	"$bin/kubectl" --kubeconfig "$kubeconfig" get --raw /readyz >/dev/null 2>&1 && break
	running kube-apiserver || die "kube-apiserver exited; see $logs/kube-apiserver.log"
	sleep 0.25
done
"$bin/kubectl" --kubeconfig "$kubeconfig" get --raw /readyz >/dev/null || die "kube-apiserver not ready; see $logs/kube-apiserver.log"

launch kube-controller-manager "$bin/kube-controller-manager" --kubeconfig "$kubeconfig" \
	--authentication-kubeconfig "$kubeconfig" --authorization-kubeconfig "$kubeconfig" \
	--bind-address 127.0.0.1 --secure-port "$kcm_port" --leader-elect=false \
	--service-account-private-key-file "$pki/sa.key" --root-ca-file "$pki/ca.crt" \
	--use-service-account-credentials=false --concurrent-gc-syncs 5 \
	--kube-api-qps 200 --kube-api-burst 400 --concurrent-statefulset-syncs 20 \
	--controllers '*,-node-ipam-controller'
launch kube-scheduler "$bin/kube-scheduler" --kubeconfig "$kubeconfig" \
	--authentication-kubeconfig "$kubeconfig" --authorization-kubeconfig "$kubeconfig" \
	--bind-address 127.0.0.1 --secure-port "$scheduler_port" --leader-elect=false \
	--kube-api-qps 200 --kube-api-burst 400
launch kwok "$bin/kwok" --kubeconfig "$kubeconfig" --config "$here/kwok-stages.yaml" --node-lease-duration-seconds 40 \
	--manage-all-nodes=false --manage-nodes-with-annotation-selector=kwok.x-k8s.io/node=fake \
	--cidr 10.244.0.0/16 --node-ip 10.0.0.1 --server-address "127.0.0.1:$kwok_port"
KUBECONFIG="$kubeconfig" launch testenv-provisioner "$provisioner"

# --- simulated nodes (one per zone) and storage classes ---
{
	for i in $(seq 0 $((nodes - 1))); do
		zones=(a b c d e f g h i j k l m n o p q r s t u v w x y z)
		zone="zone-${zones[i % 26]}"
		cat <<NODE
---
apiVersion: v1
kind: Node
metadata:
  name: kwok-node-$i
  annotations: {kwok.x-k8s.io/node: fake, node.alpha.kubernetes.io/ttl: "0"}
  labels:
    kubernetes.io/arch: amd64
    kubernetes.io/os: linux
    kubernetes.io/hostname: kwok-node-$i
    topology.kubernetes.io/zone: $zone
    type: kwok
status:
  allocatable: {cpu: "32", memory: 256Gi, pods: "110"}
  capacity: {cpu: "32", memory: 256Gi, pods: "110"}
NODE
	done
	cat <<'STORAGE'
---
apiVersion: storage.k8s.io/v1
kind: StorageClass
metadata:
  name: standard
  annotations: {storageclass.kubernetes.io/is-default-class: "true"}
provisioner: testenv.eventing-manager.local/simulated
allowVolumeExpansion: true
reclaimPolicy: Delete
volumeBindingMode: WaitForFirstConsumer
---
apiVersion: storage.k8s.io/v1
kind: StorageClass
metadata:
  name: fixed-size
provisioner: testenv.eventing-manager.local/simulated
allowVolumeExpansion: false
reclaimPolicy: Delete
volumeBindingMode: WaitForFirstConsumer
STORAGE
} | "$bin/kubectl" --kubeconfig "$kubeconfig" apply -f - >/dev/null

for _ in $(seq 1 120); do
	ready="$("$bin/kubectl" --kubeconfig "$kubeconfig" get nodes -o jsonpath='{range .items[*]}{.status.conditions[?(@.type=="Ready")].status}{"\n"}{end}' | grep -c True || true)"
	[[ "$ready" -ge "$nodes" ]] && break
	sleep 0.25
done
[[ "$ready" -ge "$nodes" ]] || die "kwok nodes not Ready; see $logs/kwok.log"
# Pods need the default ServiceAccount, which the controller manager creates per namespace.
for _ in $(seq 1 120); do
	"$bin/kubectl" --kubeconfig "$kubeconfig" -n default get serviceaccount default >/dev/null 2>&1 && break
	sleep 0.25
done
started_ok=1

log "control plane ready in $((SECONDS - start))s with $nodes kwok nodes (logs in $logs)"
echo "export KUBECONFIG=$kubeconfig"
