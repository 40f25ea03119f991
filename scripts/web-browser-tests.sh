#!/usr/bin/env bash
# The browser journeys (web/e2e): a local stack of its own on a free port, serving the
# built site, and Debian's Chromium driven by Playwright against it. Screenshots of
# the pages land in docs/screenshots/.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"
log="$(mktemp)"
# Built as a member of the whole workspace, as the tests are: `-p local-stack` alone
# would resolve the SDK crates' features without the operator's and build all of them
# a second time (two and a half minutes), where this only links the binary.
cargo build -q --workspace --bin local-stack
PORT="$port" "${CARGO_TARGET_DIR:-target}/debug/local-stack" >"$log" 2>&1 &
stack=$!
trap 'kill $stack 2>/dev/null || true; rm -f "$log"' EXIT
for _ in $(seq 1 240); do
  curl -fs "http://127.0.0.1:$port/v1/models" >/dev/null 2>&1 && break
  kill -0 $stack 2>/dev/null || { cat "$log"; exit 1; }
  sleep 0.5
done
# The stack's local AWS endpoint, for the fixtures a journey needs (an account that
# accepted an older policy).
aws_endpoint="$(sed -n 's/.*local AWS endpoint: \(http[^ ]*\).*/\1/p' "$log" | head -1)"
SORA_BASE_URL="http://127.0.0.1:$port" SORA_AWS_ENDPOINT="$aws_endpoint" npm --prefix web run --silent browser
