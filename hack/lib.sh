# Shared helpers of hack/up.sh and hack/test.sh: installing what rkube needs on a fresh
# Debian machine, and building the binaries once into the workspace target dir.

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$ROOT/target}

# Debian packages the build and the node need.
APT_PACKAGES=(protobuf-compiler libprotobuf-dev etcd-server containerd runc containernetworking-plugins haproxy curl busybox-static iptables iproute2 openssl)

log() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }

as_root() {
  if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi
}

install_packages() {
  local missing=()
  for p in "${APT_PACKAGES[@]}"; do
    dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
  done
  if [ ${#missing[@]} -gt 0 ]; then
    log "installing Debian packages: ${missing[*]}"
    as_root apt-get update -qq
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
  fi
}

install_python_client() {
  if ! python3 -c 'import kubernetes' >/dev/null 2>&1; then
    log "installing the Python kubernetes client"
    python3 -m pip install -q kubernetes
  fi
}

build_binaries() {
  log "building rkube (debug profile, $CARGO_TARGET_DIR)"
  (cd "$ROOT" && cargo build --workspace --bins)
}
