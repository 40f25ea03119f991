#!/usr/bin/env bash
# `make package`: every function of the template, built for Lambda (arm64, release
# profile) with cargo-lambda, each bootstrap zipped; prints each zip's size.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
export PATH="$(bash scripts/lambda-tools.sh):$PATH"
# cargo-lambda adds the Rust target through rustup when it is missing.
rustup target add aarch64-unknown-linux-gnu >/dev/null 2>&1 || true

functions=$(grep -E '^\s+Binary: ' infra/template.yaml | awk '{print $2}')
args=()
for f in $functions; do args+=(--bin "$f"); done
cargo lambda build --release --arm64 --output-format zip "${args[@]}"

printf '\n%-20s %12s\n' "function" "bootstrap.zip"
for f in $functions; do
  size=$(stat -c %s "target/lambda/$f/bootstrap.zip")
  awk -v f="$f" -v s="$size" 'BEGIN { printf "%-20s %9.2f MB\n", f, s / 1e6 }'
done
