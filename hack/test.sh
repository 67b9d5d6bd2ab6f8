#!/usr/bin/env bash
# Runs every test: unit tests, the storage conformance suite (sled and a real etcd), and the
# whole-cluster integration tests (real kubectl 1.27..1.33, kube-rs, Python client).
set -euo pipefail
source "$(dirname "$0")/lib.sh"

install_packages
install_python_client
if ! command -v cargo-nextest >/dev/null 2>&1; then
  log "installing cargo-nextest"
  cargo install --locked cargo-nextest
fi
build_binaries
log "running the tests"
cd "$ROOT"
cargo nextest run --workspace --no-fail-fast "$@"
