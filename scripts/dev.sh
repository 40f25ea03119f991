#!/usr/bin/env bash
# The whole service on 127.0.0.1: local AWS endpoint, every function's routes and the
# third-party emulators, in one process.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
export SORA_PYTHON="$(bash scripts/python-tools.sh)"
exec cargo run -p local-stack --bin local-stack
