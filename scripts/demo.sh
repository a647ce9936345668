#!/usr/bin/env bash
# The main job on the embedded default: build steward and check the example organisation.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --locked
./target/release/steward validate examples/
