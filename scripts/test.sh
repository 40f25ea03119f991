#!/usr/bin/env bash
# Every test of the project. Each end-to-end test starts its own local stack on free
# ports, so this runs beside `make dev`.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
started=$(date +%s)

export SORA_PYTHON="$(bash scripts/python-tools.sh)"
# The template scanner's own virtualenv (the test that runs it would make it too).
bash scripts/checkov-tools.sh >/dev/null
# The website's packages (pinned) and Debian's Chromium for its browser tests.
bash scripts/web-tools.sh --browser
export POLICY_FILE="$(bash scripts/policy-file.sh --or-test-stand-in)"

echo "== website: client up to date with the contract, types, build within budget"
npm --prefix web run --silent build

echo "== format"
cargo fmt --all -- --check

echo "== lints"
cargo clippy --workspace --all-targets --quiet -- -D warnings

echo "== tests"
if cargo nextest --version >/dev/null 2>&1; then
  cargo nextest run --workspace --no-fail-fast
else
  cargo test --workspace --no-fail-fast
fi

echo "== website in a browser"
bash scripts/web-browser-tests.sh

echo "== done in $(( $(date +%s) - started ))s"
