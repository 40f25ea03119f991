#!/usr/bin/env bash
# The fast tier, to run while working: format, lints, every unit test, and the tests
# that need no local stack (docs, template, contract, region, workspace, layers,
# the vendors' schemas).
# Nothing here starts a local AWS endpoint, a browser or a Python tool, so a wrong
# decision fails in seconds; `make test` is the full gate that CI runs.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
started=$(date +%s)

# The same lints, wrapper and flags as `make test` (scripts/test.sh): the two share one
# target directory, so neither rebuilds what the other built.
export RUSTC_WORKSPACE_WRAPPER="$(rustup which clippy-driver 2>/dev/null || command -v clippy-driver)"
export CLIPPY_ARGS="-D__CLIPPY_HACKERY__warnings__CLIPPY_HACKERY__"

cargo fmt --all -- --check

# The end-to-end binary's modules that read files and run no stack. A module added to
# this list must start no `TestStack` (tests/tests/e2e/workspace.rs holds it).
fast_modules="docs infra_template contract region workspace vendor_inputs"
# schemathesis, in `contract`, drives a whole stack: it belongs to `make test`.
if cargo nextest --version >/dev/null 2>&1; then
  pattern="$(echo "$fast_modules" | sed 's/ /|/g')"
  cargo nextest run --workspace --no-fail-fast --status-level fail --final-status-level fail \
    -E "not binary(e2e) or (binary(e2e) and test(/^($pattern)::/) and not test(schemathesis))"
else
  cargo test --workspace --lib --bins --test layers
  # shellcheck disable=SC2086
  cargo test -p e2e-tests --test e2e -- $(printf '%s:: ' $fast_modules) --skip schemathesis
fi
echo "== make check done in $(( $(date +%s) - started ))s"
