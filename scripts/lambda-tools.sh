#!/usr/bin/env bash
# Creates (once) the virtualenv of the pinned Lambda build tools — cargo-lambda and
# the zig it cross-links with — and prints its bin directory, to put first on PATH.
set -euo pipefail
venv="$(bash "$(dirname "${BASH_SOURCE[0]}")/venv.sh" .venv-lambda requirements-lambda.txt cargo-lambda)"
echo "$venv/bin"
