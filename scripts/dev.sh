#!/usr/bin/env bash
# The whole service on 127.0.0.1: local AWS endpoint, every function's routes and the
# third-party emulators and the website, in one process.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
# Assigned, then exported: `export X="$(…)"` would hide a failure of the command.
SORA_PYTHON="$(bash scripts/python-tools.sh)"
export SORA_PYTHON
# The website, built into web/dist and served at / (`npm --prefix web run watch` for
# a live-reloading copy on :5173 against this stack).
bash scripts/web-tools.sh
# Assigned, then exported: `export X="$(…)"` would hide a failure of the command.
POLICY_FILE="$(bash scripts/policy-file.sh)"
export POLICY_FILE
npm --prefix web run --silent build
# Built as a member of the workspace, as `make test` builds it, so that one's compiled
# dependencies serve both (see scripts/web-browser-tests.sh).
cargo build --workspace --bin local-stack
exec "${CARGO_TARGET_DIR:-target}/debug/local-stack"
