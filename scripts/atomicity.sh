#!/usr/bin/env bash
# Kills `steward apply` with SIGKILL at random moments, 100 trials per backend (the suite keeps
# 20), and checks after each that the database is exactly as before or exactly as planned.
# Needs the test services: starts them unless STEWARD_TEST_PG_URL is already set.
set -euo pipefail
cd "$(dirname "$0")/.."
if [[ -z ${STEWARD_TEST_PG_URL:-} ]]; then
  trap 'bash scripts/services.sh stop' EXIT
  bash scripts/services.sh start
  # shellcheck disable=SC1091
  source "${STEWARD_SERVICES_DIR:-/tmp/steward-services}/env"
fi
STEWARD_ATOMICITY_TRIALS=${STEWARD_ATOMICITY_TRIALS:-100} \
  cargo test --locked --test suite atomicity::sigkill -- --nocapture
