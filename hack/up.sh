#!/usr/bin/env bash
# Brings up a local rkube cluster (the apiserver on sled storage, the controller-manager, the
# scheduler, and a node: containerd and the kubelet, via hack/node.sh) and writes its
# kubeconfig to $RKUBE_HOME/kubeconfig (default .rkube/). `--down` stops it.
set -euo pipefail
source "$(dirname "$0")/lib.sh"

RKUBE_HOME=${RKUBE_HOME:-$ROOT/.rkube}
API_ADDR=${RKUBE_API_ADDR:-127.0.0.1:8080}
mkdir -p "$RKUBE_HOME"

stop() {
  if [ "${RKUBE_NODE:-1}" = 1 ]; then as_root env RKUBE_HOME="$RKUBE_HOME" "$ROOT/hack/node.sh" down; fi
  for name in kube-scheduler kube-controller-manager kube-apiserver; do
    local pidfile=$RKUBE_HOME/$name.pid
    if [ -f "$pidfile" ] && kill -0 "$(cat "$pidfile")" 2>/dev/null; then
      log "stopping $name (pid $(cat "$pidfile"))"
      kill "$(cat "$pidfile")"
      for _ in $(seq 50); do kill -0 "$(cat "$pidfile")" 2>/dev/null || break; sleep 0.1; done
    fi
    rm -f "$pidfile"
  done
}

# start NAME ARGS...: runs a component in the background, logging to $RKUBE_HOME/NAME.log.
start() {
  local name=$1
  shift
  nohup "$CARGO_TARGET_DIR/debug/$name" "$@" >"$RKUBE_HOME/$name.log" 2>&1 &
  echo $! >"$RKUBE_HOME/$name.pid"
}

if [ "${1:-}" = "--down" ]; then
  stop
  exit 0
fi

install_packages
build_binaries
stop

log "starting kube-apiserver on http://$API_ADDR (sled data in $RKUBE_HOME/data)"
start kube-apiserver --storage-backend=sled --data-dir "$RKUBE_HOME/data" --insecure-bind-address "$API_ADDR"

for _ in $(seq 100); do
  curl -fsS "http://$API_ADDR/readyz" >/dev/null 2>&1 && break
  sleep 0.1
done
curl -fsS "http://$API_ADDR/readyz" >/dev/null || { cat "$RKUBE_HOME/kube-apiserver.log"; exit 1; }

cat >"$RKUBE_HOME/kubeconfig" <<KUBECONFIG
apiVersion: v1
kind: Config
clusters:
- name: rkube
  cluster:
    server: http://$API_ADDR
contexts:
- name: rkube
  context:
    cluster: rkube
    user: admin
    namespace: default
current-context: rkube
users:
- name: admin
  user: {}
KUBECONFIG

log "starting kube-controller-manager and kube-scheduler"
start kube-controller-manager --kubeconfig "$RKUBE_HOME/kubeconfig" --bind-address 127.0.0.1
start kube-scheduler --kubeconfig "$RKUBE_HOME/kubeconfig" --bind-address 127.0.0.1

if [ "${RKUBE_NODE:-1}" = 1 ]; then
  # A node (containerd + CNI in its own network namespace) and its kubelet; RKUBE_NODE=0 skips it.
  as_root env RKUBE_HOME="$RKUBE_HOME" KUBECONFIG="$RKUBE_HOME/kubeconfig" CARGO_TARGET_DIR="$CARGO_TARGET_DIR" "$ROOT/hack/node.sh" up
fi

log "rkube is up. Use it with:"
echo "  export KUBECONFIG=$RKUBE_HOME/kubeconfig"
echo "  kubectl get namespaces"
echo "Stop it with: ./hack/up.sh --down"
