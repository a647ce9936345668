#!/usr/bin/env bash
# Builds the pinned kustomize from its Go module (the Go module proxy) once, caches the binary
# under $STEWARD_CACHE_DIR/kustomize/<version>/, and prints its path. The suite's kustomize test
# runs this script; scripts/test.sh runs it before the tests so the build is not inside a test.
#
#   bash scripts/kustomize.sh            # build if missing; print the binary's path
#
# Environment (optional):
#   STEWARD_CACHE_DIR   cache root; default ~/.cache/steward
set -euo pipefail

# v5.8.1 builds with this machine's Go (its go.mod asks go 1.24); newer ones need a newer Go.
KUSTOMIZE_VERSION=v5.8.1
MODULE=sigs.k8s.io/kustomize/kustomize/v5

CACHE_DIR=${STEWARD_CACHE_DIR:-${HOME:-/root}/.cache/steward}
BIN_DIR=$CACHE_DIR/kustomize/$KUSTOMIZE_VERSION
BIN=$BIN_DIR/kustomize

die() { printf '[kustomize] error: %s\n' "$*" >&2; exit 1; }

if [[ ! -x $BIN ]]; then
  command -v go >/dev/null 2>&1 || die "building kustomize needs Go (go >= 1.24 on PATH)"
  mkdir -p "$BIN_DIR"
  # Build into a temporary directory and move the binary in place: a build killed half way
  # leaves no binary that looks complete, and two builds at once do not write one file.
  tmp=$(mktemp -d "$BIN_DIR/.build.XXXXXX")
  trap 'rm -rf "$tmp"' EXIT
  printf '[kustomize] building %s@%s (once; cached in %s)\n' "$MODULE" "$KUSTOMIZE_VERSION" "$BIN_DIR" >&2
  GOBIN=$tmp GOFLAGS=-buildvcs=false go install "$MODULE@$KUSTOMIZE_VERSION" >&2 \
    || die "go install $MODULE@$KUSTOMIZE_VERSION failed"
  mv -f "$tmp/kustomize" "$BIN"
fi
"$BIN" version >/dev/null 2>&1 || die "$BIN does not run; remove $BIN_DIR and run this script again"
printf '%s\n' "$BIN"
