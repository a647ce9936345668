#!/usr/bin/env bash
# The whole test suite, from a fresh clone: formatting, lints, unit and integration tests.
# Installs and starts what the tests need (PostgreSQL and a real Superset 6.1, on 127.0.0.1) and
# stops whatever it starts. Used by .ci/run.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v cargo >/dev/null 2>&1; then
  echo "steward's tests need a Rust toolchain (cargo, rustc >= $(sed -n 's/^rust-version = "\(.*\)"/\1/p' Cargo.toml)); install it with rustup" >&2
  exit 1
fi
rustup component list --installed 2>/dev/null | grep -q '^clippy' || rustup component add clippy rustfmt 2>/dev/null || true

echo "== cargo fmt --check"
cargo fmt --all -- --check
echo "== cargo clippy --all-targets -- -D warnings"
cargo clippy --locked --all-targets -- -D warnings
echo "== building tests"
cargo test --locked --no-run
# The pinned kustomize the kustomize-base test renders manifests/ with, built from its Go module
# once and cached under ~/.cache/steward/kustomize/ (the test runs the same script).
echo "== kustomize (scripts/kustomize.sh)"
bash scripts/kustomize.sh

# The real components the tests use (PostgreSQL, Superset 6.1), on 127.0.0.1 only; stopped on exit.
echo "== starting PostgreSQL and Superset 6.1 (scripts/services.sh)"
trap 'bash scripts/services.sh stop' EXIT
bash scripts/services.sh start
# shellcheck disable=SC1091
source "${STEWARD_SERVICES_DIR:-/tmp/steward-services}/env"

echo "== cargo test"
cargo test --locked
