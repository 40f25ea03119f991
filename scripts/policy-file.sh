#!/usr/bin/env bash
# Prints the path of the privacy policy the website is built with: POLICY_FILE when set,
# else the site owner's file beside the project (../shared/seed/privacy-policy.txt).
# With --or-test-stand-in (the tests only), a clean clone without the owner's file gets
# the tests' stand-in, tests/fixtures/privacy-policy-stand-in.txt, which is never
# published; otherwise its absence is an error.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
if [ -n "${POLICY_FILE:-}" ]; then
  [ -f "$POLICY_FILE" ] || { echo "POLICY_FILE=$POLICY_FILE is not a file" >&2; exit 1; }
  realpath "$POLICY_FILE"
elif [ -f "$root/../shared/seed/privacy-policy.txt" ]; then
  realpath "$root/../shared/seed/privacy-policy.txt"
elif [ "${1:-}" = "--or-test-stand-in" ]; then
  echo "the site owner's policy is not beside the project: the tests build the site with their stand-in" >&2
  echo "$root/tests/fixtures/privacy-policy-stand-in.txt"
else
  echo "no privacy policy to build the website with: set POLICY_FILE to the site owner's policy text" >&2
  exit 1
fi
