#!/usr/bin/env bash
# `venv.sh <dir> <requirements> <program>`: creates (once, and again whenever the pinned
# requirements change) the project's virtualenv `<dir>` with `<requirements>`
# installed, and prints the virtualenv's path. `<program>` is what must be in its bin.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
venv="$root/$1"
requirements="$root/scripts/$2"
stamp="$venv/.requirements.sha256"
want="$(sha256sum "$requirements" | cut -d' ' -f1)"

if [ ! -x "$venv/bin/$3" ] || [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  python3 -m venv "$venv" >&2
  "$venv/bin/python" -m pip install --quiet --disable-pip-version-check -r "$requirements" >&2
  echo "$want" > "$stamp"
fi
echo "$venv"
