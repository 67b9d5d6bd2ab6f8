#!/usr/bin/env bash
# A node's runtime for rkube's kubelet, offline and isolated:
#   containerd 1.6 (CRI) + runc + a CNI bridge, all inside a private network namespace, with
#   busybox and pause images built locally from busybox-static (no registry is reached).
#
#   hack/node.sh up     # images, config, namespace, containerd; then the kubelet if KUBECONFIG is set
#   hack/node.sh down   # stop the kubelet, pods, containerd and its shims; remove namespace,
#                       # mounts, cgroups
#   hack/node.sh env    # print the settings the kubelet needs (shell syntax)
#
# Settings (environment):
#   NODE_DIR   state folder (default $RKUBE_HOME/node, RKUBE_HOME defaults to .rkube)
#   NODE_NETNS network namespace name (default rkube-node)
#   LINK_NET   the /30 linking host and node namespaces, third octet of 169.254.X.0 (default 123):
#              host side 169.254.X.1, node side 169.254.X.2
#   POD_CIDR   pod addresses of this node (default 10.244.1.0/24), routed only inside NODE_NETNS
#   SVC_CIDR   service addresses (default 10.96.0.0/12), routed only inside NODE_NETNS
#   KUBECONFIG when set, `up` also starts the kubelet (target/debug/kubelet, or KUBELET_BIN)
#              as node NODE_NAME (default: the hostname), logging to NODE_DIR/kubelet.log
#
# The pod and service ranges never appear in the host namespace: deleting NODE_NETNS removes
# every pod route, bridge and iptables rule. The kubelet runs in the host namespace and talks
# to containerd through its socket; containerd's streaming server listens on the node side of
# the link so that the kubelet reaches it for exec, attach and port-forward.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
RKUBE_HOME=${RKUBE_HOME:-$ROOT/.rkube}
NODE_DIR=${NODE_DIR:-$RKUBE_HOME/node}
NODE_NETNS=${NODE_NETNS:-rkube-node}
LINK_NET=${LINK_NET:-123}
POD_CIDR=${POD_CIDR:-10.244.1.0/24}
SVC_CIDR=${SVC_CIDR:-10.96.0.0/12}
HOST_IP=169.254.$LINK_NET.1
NODE_IP=169.254.$LINK_NET.2
SOCK=$NODE_DIR/containerd/containerd.sock
CGROUP_ROOT=/rkube-$NODE_NETNS
BUSYBOX=${BUSYBOX:-/bin/busybox}
KUBELET_BIN=${KUBELET_BIN:-${CARGO_TARGET_DIR:-$ROOT/target}/debug/kubelet}
NODE_NAME=${NODE_NAME:-$(hostname | tr '[:upper:]' '[:lower:]')}

say() { printf '==> %s\n' "$*" >&2; }
ctr_() { ctr --address "$SOCK" "$@"; }

print_env() {
  cat <<EOF
NODE_DIR=$NODE_DIR
NODE_NETNS=$NODE_NETNS
CRI_ENDPOINT=unix://$SOCK
HOST_IP=$HOST_IP
NODE_IP=$NODE_IP
POD_CIDR=$POD_CIDR
CGROUP_ROOT=$CGROUP_ROOT
POD_LOGS=$NODE_DIR/pods
EOF
}

# ---------------------------------------------------------------- images
sha() { sha256sum "$1" | cut -d' ' -f1; }

# oci_image NAME ROOTFS CONFIG-FRAGMENT OUT.tar: a one-layer OCI layout archive, deterministic.
oci_image() {
  local name=$1 rootfs=$2 cfg=$3 out=$4 lay
  lay=$(mktemp -d "$NODE_DIR/images/layout.XXXX")
  mkdir -p "$lay/blobs/sha256"
  tar --sort=name --numeric-owner --owner=0 --group=0 --mtime='2024-01-01 00:00Z' -C "$rootfs" -cf "$lay/layer.tar" .
  local diffid; diffid=$(sha "$lay/layer.tar")
  gzip -n -6 "$lay/layer.tar"
  local ldig lsz; ldig=$(sha "$lay/layer.tar.gz"); lsz=$(stat -c %s "$lay/layer.tar.gz")
  mv "$lay/layer.tar.gz" "$lay/blobs/sha256/$ldig"
  printf '{"created":"2024-01-01T00:00:00Z","architecture":"amd64","os":"linux","config":{%s},"rootfs":{"type":"layers","diff_ids":["sha256:%s"]}}' \
    "$cfg" "$diffid" >"$lay/config.json"
  local cdig csz; cdig=$(sha "$lay/config.json"); csz=$(stat -c %s "$lay/config.json")
  mv "$lay/config.json" "$lay/blobs/sha256/$cdig"
  printf '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"sha256:%s","size":%s},"layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar+gzip","digest":"sha256:%s","size":%s}]}' \
    "$cdig" "$csz" "$ldig" "$lsz" >"$lay/manifest.json"
  local mdig msz; mdig=$(sha "$lay/manifest.json"); msz=$(stat -c %s "$lay/manifest.json")
  mv "$lay/manifest.json" "$lay/blobs/sha256/$mdig"
  printf '{"schemaVersion":2,"manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:%s","size":%s,"platform":{"architecture":"amd64","os":"linux"},"annotations":{"io.containerd.image.name":"%s","org.opencontainers.image.ref.name":"%s"}}]}' \
    "$mdig" "$msz" "$name" "${name##*:}" >"$lay/index.json"
  echo '{"imageLayoutVersion":"1.0.0"}' >"$lay/oci-layout"
  tar --numeric-owner --owner=0 --group=0 -C "$lay" -cf "$out" oci-layout index.json blobs
  rm -rf "$lay"
}

build_busybox() {
  local r=$NODE_DIR/images/rootfs-busybox
  rm -rf "$r"; mkdir -p "$r"/{bin,sbin,usr/bin,usr/sbin,etc,tmp,proc,sys,dev,root,var/www,home}
  chmod 1777 "$r/tmp"
  cp "$BUSYBOX" "$r/bin/busybox"
  for a in $("$BUSYBOX" --list); do [ "$a" = busybox ] || ln -sf busybox "$r/bin/$a"; done
  printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/home:/bin/false\n' >"$r/etc/passwd"
  printf 'root:x:0:\nnogroup:x:65534:\n' >"$r/etc/group"
  echo 'hello from busybox httpd' >"$r/var/www/index.html"
  oci_image docker.io/library/busybox:1.35 "$r" \
    '"Env":["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"],"Cmd":["sh"],"WorkingDir":"/"' \
    "$NODE_DIR/images/busybox.tar"
  rm -rf "$r"
}

build_pause() {
  local r=$NODE_DIR/images/rootfs-pause
  rm -rf "$r"; mkdir -p "$r"
  if command -v gcc >/dev/null && [ -e /usr/lib/x86_64-linux-gnu/libc.a ]; then
    cat >"$NODE_DIR/images/pause.c" <<'EOF'
#include <signal.h>
#include <unistd.h>
#include <sys/wait.h>
static void die(int s) { (void)s; _exit(0); }
static void reap(int s) { (void)s; while (waitpid(-1, 0, WNOHANG) > 0) {} }
int main(void) {
  struct sigaction a = {0}; a.sa_handler = die;
  sigaction(SIGINT, &a, 0); sigaction(SIGTERM, &a, 0);
  struct sigaction c = {0}; c.sa_handler = reap; c.sa_flags = SA_NOCLDSTOP;
  sigaction(SIGCHLD, &c, 0);
  for (;;) pause();
}
EOF
    gcc -static -Os -s -o "$r/pause" "$NODE_DIR/images/pause.c"
  else
    mkdir -p "$r/bin"; cp "$BUSYBOX" "$r/bin/busybox"; ln -s busybox "$r/bin/sleep"
    printf '#!/bin/busybox sh\nexec /bin/sleep 2147483647\n' >"$r/pause"; chmod +x "$r/pause"
  fi
  oci_image registry.k8s.io/pause:3.6 "$r" '"Entrypoint":["/pause"],"WorkingDir":"/"' "$NODE_DIR/images/pause.tar"
  rm -rf "$r"
}

build_images() {
  mkdir -p "$NODE_DIR/images"
  [ -x "$BUSYBOX" ] || { echo "missing $BUSYBOX: apt-get install busybox-static" >&2; exit 1; }
  [ -s "$NODE_DIR/images/busybox.tar" ] || build_busybox
  [ -s "$NODE_DIR/images/pause.tar" ] || build_pause
}

# ---------------------------------------------------------------- configuration
write_configs() {
  mkdir -p "$NODE_DIR"/{containerd,cni/net.d,cni/ipam,cni/cache,pods}
  cat >"$NODE_DIR/containerd/config.toml" <<EOF
version = 2
root = "$NODE_DIR/containerd/root"
state = "$NODE_DIR/containerd/state"
[grpc]
  address = "$SOCK"
[ttrpc]
  address = "$SOCK.ttrpc"
[debug]
  level = "warn"
[plugins."io.containerd.internal.v1.opt"]
  path = "$NODE_DIR/containerd/opt"
[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "registry.k8s.io/pause:3.6"
  stream_server_address = "$NODE_IP"
  stream_server_port = "0"
  enable_selinux = false
  # runc cannot set a negative oom_score_adj without CAP_SYS_RESOURCE
  restrict_oom_score_adj = true
  netns_mounts_under_state_dir = true
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        BinaryName = "$(command -v runc)"
        Root = "$NODE_DIR/containerd/runc"
        SystemdCgroup = false
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "/usr/lib/cni"
    conf_dir = "$NODE_DIR/cni/net.d"
    max_conf_num = 1
EOF
  cat >"$NODE_DIR/cni/net.d/10-pods.conflist" <<EOF
{
  "cniVersion": "1.0.0",
  "name": "$NODE_NETNS",
  "plugins": [
    { "type": "bridge", "bridge": "cni0", "isGateway": true, "ipMasq": true, "hairpinMode": true,
      "ipam": { "type": "host-local", "dataDir": "$NODE_DIR/cni/ipam",
                "ranges": [[{ "subnet": "$POD_CIDR" }]], "routes": [{ "dst": "0.0.0.0/0" }] } },
    { "type": "portmap", "capabilities": { "portMappings": true } }
  ]
}
EOF
}

# ---------------------------------------------------------------- namespace
make_netns() {
  [ -e "/run/netns/$NODE_NETNS" ] || ip netns add "$NODE_NETNS"
  ip -n "$NODE_NETNS" link set lo up
  local host_end=rk${LINK_NET}h node_end=rk${LINK_NET}n
  if ! ip link show "$host_end" >/dev/null 2>&1; then
    ip link add "$host_end" type veth peer name "$node_end" netns "$NODE_NETNS"
  fi
  ip addr replace "$HOST_IP/30" dev "$host_end"; ip link set "$host_end" up
  ip -n "$NODE_NETNS" addr replace "$NODE_IP/30" dev "$node_end"
  ip -n "$NODE_NETNS" link set "$node_end" up
  # ClusterIPs need a route for output-path DNAT; no 'dummy' driver here, so a veth pair
  # that stays inside the namespace.
  ip -n "$NODE_NETNS" link show svc0 >/dev/null 2>&1 || ip -n "$NODE_NETNS" link add svc0 type veth peer name svc0p
  ip -n "$NODE_NETNS" link set svc0 up; ip -n "$NODE_NETNS" link set svc0p up
  ip -n "$NODE_NETNS" route replace "$SVC_CIDR" dev svc0
}

# ---------------------------------------------------------------- containerd
start_containerd() {
  local pidfile=$NODE_DIR/containerd/containerd.pid
  if [ -f "$pidfile" ] && kill -0 "$(cat "$pidfile")" 2>/dev/null; then return 0; fi
  nsenter --net="/run/netns/$NODE_NETNS" -- containerd --config "$NODE_DIR/containerd/config.toml" \
    >"$NODE_DIR/containerd/containerd.log" 2>&1 &
  echo $! >"$pidfile"
  for _ in $(seq 300); do ctr_ version >/dev/null 2>&1 && break; sleep 0.05; done
  local plugins; plugins=$(ctr_ plugins ls 2>/dev/null || true)
  grep -qE 'io.containerd.grpc.v1 +cri .* ok' <<<"$plugins" || {
    echo "containerd's CRI plugin is not ok:" >&2; tail -20 "$NODE_DIR/containerd/containerd.log" >&2; exit 1; }
}

import_images() {
  ctr_ -n k8s.io images import "$NODE_DIR/images/busybox.tar" >/dev/null
  ctr_ -n k8s.io images import "$NODE_DIR/images/pause.tar" >/dev/null
  ctr_ -n k8s.io images tag --force docker.io/library/busybox:1.35 docker.io/library/busybox:latest >/dev/null
}

# ---------------------------------------------------------------- kubelet
start_kubelet() {
  local pidfile=$NODE_DIR/kubelet.pid
  if [ -f "$pidfile" ] && kill -0 "$(cat "$pidfile")" 2>/dev/null; then return 0; fi
  [ -x "$KUBELET_BIN" ] || { echo "no kubelet binary at $KUBELET_BIN (cargo build --bins)" >&2; exit 1; }
  # The node shares the developer's disk: like kind, no disk-based eviction
  # (EVICTION_HARD overrides).
  "$KUBELET_BIN" --kubeconfig "$KUBECONFIG" --hostname-override "$NODE_NAME" \
    --node-ip "$HOST_IP" --address "$HOST_IP" --pod-cidr "$POD_CIDR" \
    --eviction-hard "${EVICTION_HARD:-memory.available<100Mi,nodefs.available<0%}" \
    --container-runtime-endpoint "unix://$SOCK" --node-netns "$NODE_NETNS" \
    --root-dir "$NODE_DIR/kubelet" --pod-logs-dir "$NODE_DIR/pods" --cgroup-root "$CGROUP_ROOT" \
    >>"$NODE_DIR/kubelet.log" 2>&1 &
  echo $! >"$pidfile"
  say "kubelet up as node $NODE_NAME (server $HOST_IP:10250, log $NODE_DIR/kubelet.log)"
}

up() {
  build_images
  write_configs
  make_netns
  start_containerd
  import_images
  print_env >"$NODE_DIR/env"
  say "node runtime up: containerd unix://$SOCK in netns $NODE_NETNS (pods $POD_CIDR, link $HOST_IP <-> $NODE_IP)"
  if [ -n "${KUBECONFIG:-}" ]; then start_kubelet; fi
}

# ---------------------------------------------------------------- teardown
stop_pid() { # PIDFILE
  [ -f "$1" ] || return 0
  local p; p=$(cat "$1")
  if kill -0 "$p" 2>/dev/null; then
    kill "$p"
    for _ in $(seq 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
    kill -0 "$p" 2>/dev/null && kill -9 "$p"
  fi
  rm -f "$1"
}

remove_tasks() {
  [ -S "$SOCK" ] && ctr_ version >/dev/null 2>&1 || return 0
  local t c
  for t in $(ctr_ -n k8s.io tasks ls -q 2>/dev/null); do ctr_ -n k8s.io tasks kill -s KILL "$t" >/dev/null 2>&1 || true; done
  sleep 0.3
  for t in $(ctr_ -n k8s.io tasks ls -q 2>/dev/null); do ctr_ -n k8s.io tasks rm -f "$t" >/dev/null 2>&1 || true; done
  for c in $(ctr_ -n k8s.io containers ls -q 2>/dev/null); do ctr_ -n k8s.io containers rm "$c" >/dev/null 2>&1 || true; done
}

# Shims outlive containerd; ours are the ones started with our socket's address.
kill_shims() {
  local pid
  for pid in $(pgrep -f -- "containerd-shim-runc-v2 -namespace k8s.io -address $SOCK " || true); do
    kill -9 "$pid" 2>/dev/null || true
  done
}

down() {
  stop_pid "$NODE_DIR/kubelet.pid"
  remove_tasks
  stop_pid "$NODE_DIR/containerd/containerd.pid"
  kill_shims
  local m
  for m in $(awk -v d="$NODE_DIR/" 'index($2, d) == 1 {print $2}' /proc/mounts | sort -r); do umount -l "$m" 2>/dev/null || true; done
  if [ -e "/run/netns/$NODE_NETNS" ]; then ip netns del "$NODE_NETNS" 2>/dev/null || true; fi
  ip link del "rk${LINK_NET}h" 2>/dev/null || true
  local cg
  for cg in /sys/fs/cgroup/*"$CGROUP_ROOT"; do
    [ -d "$cg" ] && find "$cg" -depth -type d -exec rmdir {} \; 2>/dev/null || true
  done
  rm -f /var/lib/cni/results/"$NODE_NETNS"-* 2>/dev/null || true
  [ "${WIPE:-0}" = 1 ] && rm -rf "$NODE_DIR"
  say "node runtime down ($NODE_NETNS)"
}

case ${1:-up} in
  up) up ;;
  down) down ;;
  env) print_env ;;
  *) echo "usage: $0 up|down|env" >&2; exit 2 ;;
esac
