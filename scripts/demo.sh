#!/usr/bin/env bash
# The main job on the embedded default (a SQLite file, no cluster, no database server): build
# steward, validate the example organisation, seed the Superset content it refers to into a new
# SQLite metadata database, show the plan, apply it, and show that nothing is left to do.
set -euo pipefail
cd "$(dirname "$0")/.."
# STEWARD_BIN: an already built steward to run instead (the test suite passes its debug build).
if [[ -n ${STEWARD_BIN:-} ]]; then
  steward=$STEWARD_BIN
else
  cargo build --release --locked
  steward=./target/release/steward
fi
db=${STEWARD_DEMO_DB:-steward.db}
url="sqlite://$db"
rm -f "$db"

echo "== steward validate examples/"
$steward validate examples/
echo "== steward init --demo (Superset 6.1 tables + the content the examples refer to)"
$steward init --demo --database "$url"
echo "== steward diff examples/ (exit 2: changes to apply)"
code=0
$steward diff examples/ --database "$url" || code=$?
[[ $code == 2 ]] || { echo "expected exit 2 from diff, got $code" >&2; exit 1; }
echo "== steward apply examples/"
$steward apply examples/ --database "$url"
echo "== steward diff examples/ (exit 0: Superset matches the manifests)"
$steward diff examples/ --database "$url"
echo "== done: $db is a Superset 6.1 metadata database holding the example organisation"
