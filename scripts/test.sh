#!/usr/bin/env bash
# Every test of the project. Each end-to-end test starts its own local stack on free
# ports, so this runs beside `make dev`.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
started=$(date +%s)
# Each part's heading says when it started, so a slow run shows where its time went.
part() { echo "== $1 (at $(( $(date +%s) - started ))s)"; }

# The lints run inside the tests' own build: clippy-driver compiles the workspace's
# crates (what `cargo clippy` does, with codegen kept), so the dependencies are built
# once instead of once more in check mode. `-D warnings` fails the build on a lint.
export RUSTC_WORKSPACE_WRAPPER="$(rustup which clippy-driver 2>/dev/null || command -v clippy-driver)"
export CLIPPY_ARGS="-D__CLIPPY_HACKERY__warnings__CLIPPY_HACKERY__"
if cargo nextest --version >/dev/null 2>&1; then run_tests=(cargo nextest run); else run_tests=(cargo test); fi
# The build (lints included) starts first, in the background, beside setting up the
# tools below: their downloads and unpacking fill what the build leaves idle (about
# 50 s on a clean clone; pip's installs take CPU too, so not more). It also
# makes the local stack's binary for the browser part, as a member of the workspace
# (see scripts/web-browser-tests.sh).
build_log="$(mktemp)"
( "${run_tests[@]}" --workspace --no-run && cargo build --workspace --bin local-stack ) >"$build_log" 2>&1 &
build=$!
moto_dir=""
cleanup() {
  pkill -P "$build" 2>/dev/null || true
  rm -rf "$build_log" ${moto_dir:+"$moto_dir"}
}
trap cleanup EXIT

# Assigned, then exported: `export X="$(…)"` would hide a failure of the command.
SORA_PYTHON="$(bash scripts/python-tools.sh)"
export SORA_PYTHON
# One zygote of local AWS endpoints for the run (local/moto_server.py): every end-to-end
# test's endpoint is forked from it rather than importing moto anew. It ends with this
# script, when its standard input closes.
moto_dir="$(mktemp -d)"
export SORA_MOTO_ZYGOTE="$moto_dir/moto.sock"
coproc MOTO_ZYGOTE { exec "$SORA_PYTHON" local/moto_server.py zygote "$SORA_MOTO_ZYGOTE" 2>/dev/null; }
read -r _ <&"${MOTO_ZYGOTE[0]}" || { echo "the local AWS endpoint's zygote did not start" >&2; exit 1; }
# The template scanner's own virtualenv (the test that runs it would make it too).
bash scripts/checkov-tools.sh >/dev/null
# The website's packages (pinned) and Debian's Chromium for its browser tests.
bash scripts/web-tools.sh --browser
# Assigned, then exported: `export X="$(…)"` would hide a failure of the command.
POLICY_FILE="$(bash scripts/policy-file.sh --or-test-stand-in)"
export POLICY_FILE

part "website: client up to date with the contract, types, build within budget"
npm --prefix web run --silent build

part "format"
cargo fmt --all -- --check

part "build and lints (begun at 0s)"
built=0; wait "$build" || built=$?
cat "$build_log"
[ "$built" = 0 ] || { echo "the build or its lints failed" >&2; exit "$built"; }

part "tests"
# Every stack leaves its AWS calls here; the least-privilege test reads them all once
# the rest has run (tests/src/calls.rs).
policy_test="r35_each_functions_policy_allows_exactly_the_calls_its_code_makes"
export SORA_AWS_CALLS_DIR="$moto_dir/aws-calls"
mkdir -p "$SORA_AWS_CALLS_DIR"
if [ "${run_tests[*]}" = "cargo nextest run" ]; then
  "${run_tests[@]}" --workspace --no-fail-fast -E "not test($policy_test)"
  "${run_tests[@]}" -p e2e-tests -E "test($policy_test)"
else
  cargo test --workspace --no-fail-fast -- --skip "$policy_test"
  cargo test -p e2e-tests --test e2e -- "$policy_test"
fi

part "website in a browser"
bash scripts/web-browser-tests.sh

echo "== done in $(( $(date +%s) - started ))s"
