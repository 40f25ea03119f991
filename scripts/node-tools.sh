#!/usr/bin/env bash
# Installs (once) the vendors' Node clients the tests drive against the emulators, at
# the versions of tests/vendor-clients/package-lock.json, and prints their folder.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
dir="$root/tests/vendor-clients"
stamp="$dir/node_modules/.lock.sha256"
want="$(sha256sum "$dir/package-lock.json" | cut -d' ' -f1)"
if [ ! -d "$dir/node_modules" ] || [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  (cd "$dir" && npm ci --no-audit --no-fund --silent) >&2
  echo "$want" > "$stamp"
fi
echo "$dir"
