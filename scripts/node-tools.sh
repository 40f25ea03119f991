#!/usr/bin/env bash
# Installs (once) the vendors' Node clients the tests drive against the emulators, at
# the versions of tests/vendor-clients/package-lock.json, and prints their folder.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
dir="$root/tests/vendor-clients"
bash "$root/scripts/npm-ci.sh" "$dir"
echo "$dir"
