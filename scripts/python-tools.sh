#!/usr/bin/env bash
# Creates (once) the project's own Python virtualenv with the pinned local AWS endpoint
# (moto's server mode) and template linter, and prints the path of its python.
set -euo pipefail
venv="$(bash "$(dirname "${BASH_SOURCE[0]}")/venv.sh" .venv requirements.txt python)"
echo "$venv/bin/python"
