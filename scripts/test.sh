#!/usr/bin/env bash
# Quick start, command 2: the whole test suite — unit, integration (the real binary against the
# fake upstream, real SQLite files, a real PostgreSQL server), and real clients (Anthropic SDK,
# Claude Code) — on this machine's architecture. Prints how long each step took.
#   BUILD_DIR   build directory (default build/test)
#   CTEST_ARGS  extra ctest arguments, e.g. "-L unit" or "-R Proxy"
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
BUILD_DIR=${BUILD_DIR:-build/test}
start_all=$SECONDS
step() {  # label command...
  local label=$1 t0=$SECONDS rc=0
  shift
  echo "=== $label"
  "$@" || rc=$?
  echo "timing: $label $((SECONDS - t0))s (rc=$rc)"
  return $rc
}

step "dependencies" scripts/deps.sh --test
step "configure" cmake -S . -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCN_BUILD_TESTS=ON
step "build" cmake --build "$BUILD_DIR"

# A throw-away PostgreSQL server for the storage tests (they fail under CI=true without one),
# unless the caller already provides one (.ci/run keeps one up for the arm64 run as well).
if [[ -z "${CN_TEST_DATABASE_URL:-}" ]]; then
  t0=$SECONDS
  echo "=== postgresql"
  pg_env=$(scripts/ci-postgres.sh start)
  eval "$pg_env"
  trap 'scripts/ci-postgres.sh stop "$CN_TEST_PG_DIR" >/dev/null 2>&1 || true' EXIT
  echo "timing: postgresql $((SECONDS - t0))s"
fi


# shellcheck disable=SC2086
step "tests" ctest --test-dir "$BUILD_DIR" --output-on-failure --timeout 300 -j2 ${CTEST_ARGS:-}
echo "timing: test.sh total $((SECONDS - start_all))s"
