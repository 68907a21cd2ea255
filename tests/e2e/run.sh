#!/usr/bin/env bash
# End-to-end tests with real clients (Anthropic TypeScript SDK, Claude Code) against claude-nexus
# in front of the fake upstream. See docs/testing.md.
#
# Usage: tests/e2e/run.sh [CLAUDE_NEXUS_BINARY FAKE_UPSTREAM_BINARY] [-- node --test args...]
#   The binaries may also come from CN_BINARY / CN_FAKE_UPSTREAM. Installs the pinned npm
#   packages (npm ci) when node_modules is missing or older than package-lock.json.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"

if [[ $# -ge 2 && $1 != -- ]]; then
  CN_BINARY="$1"
  CN_FAKE_UPSTREAM="$2"
  shift 2
fi
[[ ${1:-} == -- ]] && shift
: "${CN_BINARY:?pass the claude-nexus binary as the first argument or set CN_BINARY}"
: "${CN_FAKE_UPSTREAM:?pass the fake-upstream binary as the second argument or set CN_FAKE_UPSTREAM}"
# Absolute, as the tests run from this directory.
CN_BINARY="$(realpath "$CN_BINARY")"
CN_FAKE_UPSTREAM="$(realpath "$CN_FAKE_UPSTREAM")"
export CN_BINARY CN_FAKE_UPSTREAM

for tool in node npm sqlite3; do
  if ! command -v "$tool" >/dev/null; then
    echo "e2e: '$tool' is required (Node >= 20 with npm; sqlite3 CLI: apt-get install sqlite3)" >&2
    exit 1
  fi
done

cd "$here"
# npm ci writes node_modules/.package-lock.json; it is newer than package-lock.json after a good
# install, so a changed lock file (or a half-finished install) triggers a clean reinstall.
if [[ ! -f node_modules/.package-lock.json || package-lock.json -nt node_modules/.package-lock.json ]]; then
  echo "e2e: npm ci" >&2
  timeout 600 npm ci --no-audit --no-fund --loglevel=error >&2
fi

# One file at a time: each starts its own proxy + fake, and Claude Code is CPU-hungry on a
# shared machine. The per-test timeout keeps a hung client from stalling the run.
exec timeout 300 node --test --test-concurrency=1 --test-timeout=90000 "$@" ./*.test.mjs
