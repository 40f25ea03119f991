#!/usr/bin/env bash
# Creates (once) the virtualenv of the pinned template security scanner, checkov — its
# own, since its pinned dependencies clash with cfn-lint's — and prints its path.
set -euo pipefail
venv="$(bash "$(dirname "${BASH_SOURCE[0]}")/venv.sh" .venv-checkov requirements-checkov.txt checkov)"
echo "$venv/bin/checkov"
