#!/usr/bin/env bash
# Every test of the project. Each end-to-end test starts its own local stack on free
# ports, so this runs beside `make dev`.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
started=$(date +%s)
# Each part's heading says when it started, so a slow run shows where its time went.
part() { echo "== $1 (at $(( $(date +%s) - started ))s)"; }

export SORA_PYTHON="$(bash scripts/python-tools.sh)"
# One zygote of local AWS endpoints for the run (local/moto_server.py): every end-to-end
# test's endpoint is forked from it rather than importing moto anew. It ends with this
# script, when its standard input closes.
moto_dir="$(mktemp -d)"
trap 'rm -rf "$moto_dir"' EXIT
export SORA_MOTO_ZYGOTE="$moto_dir/moto.sock"
coproc MOTO_ZYGOTE { exec "$SORA_PYTHON" local/moto_server.py zygote "$SORA_MOTO_ZYGOTE" 2>/dev/null; }
read -r _ <&"${MOTO_ZYGOTE[0]}" || { echo "the local AWS endpoint's zygote did not start" >&2; exit 1; }
# The template scanner's own virtualenv (the test that runs it would make it too).
bash scripts/checkov-tools.sh >/dev/null
# The website's packages (pinned) and Debian's Chromium for its browser tests.
bash scripts/web-tools.sh --browser
export POLICY_FILE="$(bash scripts/policy-file.sh --or-test-stand-in)"

part "website: client up to date with the contract, types, build within budget"
npm --prefix web run --silent build

part "format"
cargo fmt --all -- --check

part "lints and tests"
# The lints run inside the tests' own build: clippy-driver compiles the workspace's
# crates (what `cargo clippy` does, with codegen kept), so the dependencies are built
# once instead of once more in check mode. `-D warnings` fails the build on a lint.
export RUSTC_WORKSPACE_WRAPPER="$(rustup which clippy-driver 2>/dev/null || command -v clippy-driver)"
export CLIPPY_ARGS="-D__CLIPPY_HACKERY__warnings__CLIPPY_HACKERY__"
if cargo nextest --version >/dev/null 2>&1; then
  cargo nextest run --workspace --no-fail-fast
else
  cargo test --workspace --no-fail-fast
fi

part "website in a browser"
bash scripts/web-browser-tests.sh

echo "== done in $(( $(date +%s) - started ))s"
