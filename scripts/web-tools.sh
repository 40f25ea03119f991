#!/usr/bin/env bash
# Installs (once) the website's npm packages at the versions of web/package-lock.json.
# With --browser, also Debian's Chromium for the browser tests (browser downloads from
# other hosts do not work on these machines; Playwright drives this one).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
dir="$root/web"
bash "$root/scripts/npm-ci.sh" "$dir"
if [ "${1:-}" = "--browser" ] && [ ! -x /usr/bin/chromium ]; then
  echo "installing Debian's chromium for the browser tests" >&2
  sudo=""; [ "$(id -u)" = 0 ] || sudo="sudo"
  export DEBIAN_FRONTEND=noninteractive
  $sudo apt-get install -y -qq chromium >&2 || { $sudo apt-get update -qq >&2 && $sudo apt-get install -y -qq chromium >&2; }
fi
