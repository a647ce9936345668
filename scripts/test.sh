#!/usr/bin/env bash
# The whole test suite, from a fresh clone: formatting, lints, unit and integration tests.
# Installs and starts what the tests need (PostgreSQL and a real Superset 6.1, on 127.0.0.1; a
# Kubernetes control plane built from its Go modules; then Superset 5.0 and 6.0 in turn for the
# version matrix) and stops whatever it starts. Used by .ci/run.
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
# The Kubernetes control plane the operator tests run on (etcd, kube-apiserver,
# kube-controller-manager, kubectl), built once from its Go modules and cached.
echo "== Kubernetes control plane binaries (scripts/kube.sh build)"
bash scripts/kube.sh build >/dev/null

# The real components the tests use (PostgreSQL, Superset 6.1), on 127.0.0.1 only; stopped on exit.
echo "== starting PostgreSQL and Superset 6.1 (scripts/services.sh)"
trap 'bash scripts/services.sh stop' EXIT
bash scripts/services.sh start
# shellcheck disable=SC1091
source "${STEWARD_SERVICES_DIR:-/tmp/steward-services}/env"

# steward runs spawned by the tests keep their manifest cache in a directory of this run, not in
# the user's ~/.cache (tests that check the default location set their own HOME).
manifest_cache=$(mktemp -d)
trap 'bash scripts/kube.sh stop; bash scripts/services.sh stop; rm -rf "$manifest_cache"' EXIT
export STEWARD_MANIFEST_CACHE="$manifest_cache/manifests"

echo "== starting the Kubernetes control plane (scripts/kube.sh)"
bash scripts/kube.sh start
# shellcheck disable=SC1091
source "${STEWARD_KUBE_DIR:-/tmp/steward-kube}/env"

# cargo test ARGS, its output kept; on a failure, what the services say (a crashed or stalled
# Superset fails many tests at once), then the services stopped quietly and, last, why each
# test failed (scripts/test_failures.awk), so the end of the log names the cause.
cargo_test() {
  local log status
  log=$(mktemp)
  set +e
  cargo test --locked "$@" 2>&1 | tee "$log"
  status=${PIPESTATUS[0]}
  set -e
  if ((status == 0)); then
    rm -f "$log"
    return 0
  fi
  bash scripts/services.sh report || true
  { bash scripts/kube.sh stop; bash scripts/services.sh stop; } >/dev/null 2>&1 || true
  echo "== why the tests failed (each failing test's last steps, where it panicked, its message)"
  awk -f scripts/test_failures.awk "$log"
  rm -f "$log"
  exit "$status"
}

echo "== cargo test"
cargo_test

# The version matrix: each other supported Superset release, from its own cached virtualenv,
# initialised into PostgreSQL and SQLite by its own `superset db upgrade` + `init`, and the tests
# that hold for every release (README.md, "Superset versions"). 5.0.0 applies no group roles, so
# the full end-to-end run and the SIP-209 tests (which apply examples/ with its groups) are left
# to the releases that do; its examples are the groups given to their members.
matrix_tests() { # matrix_tests VERSION: the test filters for that release
  case $1 in
    5.0.0) echo "superset_matrix:: superset_e2e::a_slack_recipient" ;;
    *) echo "superset_matrix:: superset_e2e:: sip_209::" ;;
  esac
}
for version in 5.0.0 6.0.0; do
  echo "== Superset $version: scripts/services.sh, then $(matrix_tests "$version")"
  STEWARD_SUPERSET_VERSION=$version bash scripts/services.sh start
  # shellcheck disable=SC1091
  source "${STEWARD_SERVICES_DIR:-/tmp/steward-services}/env"
  # shellcheck disable=SC2046
  cargo_test --test suite -- $(matrix_tests "$version")
done
