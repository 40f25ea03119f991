#!/usr/bin/env bash
# Installs (once) a folder's npm packages at the versions of its package-lock.json:
# again only when the lock file changed. Usage: npm-ci.sh FOLDER
set -euo pipefail
dir="$1"
stamp="$dir/node_modules/.lock.sha256"
want="$(sha256sum "$dir/package-lock.json" | cut -d' ' -f1)"
if [ ! -d "$dir/node_modules" ] || [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  (cd "$dir" && npm ci --no-audit --no-fund --silent) >&2
  echo "$want" > "$stamp"
fi
