#!/usr/bin/env bash
# Installs what claude-nexus needs on Debian 12 (bookworm) from Debian's own packages.
#   scripts/deps.sh          build dependencies (enough to build and run the proxy)
#   scripts/deps.sh --test   also what the test suite uses (GoogleTest, PostgreSQL server,
#                            Node.js for the real-client tests, sqlite3 CLI) and scripts/lint.sh
#                            (clang-format and clang-tidy 14, which ships run-clang-tidy)
# Idempotent: only missing packages are installed. Uses sudo when not root.
set -euo pipefail

BUILD_PKGS=(build-essential cmake ninja-build ccache pkg-config git ca-certificates
  libboost1.81-dev libboost-json1.81-dev libssl-dev libsqlite3-dev libcli11-dev libpcre2-dev
  libpq-dev libmimalloc-dev)
TEST_PKGS=(libgtest-dev libgmock-dev libbenchmark-dev sqlite3 postgresql curl clang-format
  clang-tidy)

pkgs=("${BUILD_PKGS[@]}")
if [[ "${1:-}" == "--test" ]]; then
  pkgs+=("${TEST_PKGS[@]}")
  command -v node >/dev/null 2>&1 || pkgs+=(nodejs npm)
fi

missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]} == 0)); then
  echo "deps: all ${#pkgs[@]} packages present"
  exit 0
fi
SUDO=""
if [[ $(id -u) -ne 0 ]]; then SUDO="sudo"; fi
echo "deps: installing ${missing[*]}"
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
echo "deps: done"
