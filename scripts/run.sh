#!/usr/bin/env bash
# Quick start, command 1: install dependencies, build (Release) and start `claude-nexus serve`
# on :3000, recording into embedded SQLite under ./data. Settings come from the environment or
# ./.env (see README "Configuration"); extra arguments are passed to `serve` (e.g. --port 8080).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
scripts/deps.sh
cmake -S . -B build/release -G Ninja -DCMAKE_BUILD_TYPE=Release -DCN_BUILD_TESTS=OFF >/dev/null
cmake --build build/release --target claude-nexus
echo "Starting claude-nexus: point clients at ANTHROPIC_BASE_URL=http://localhost:${PORT:-3000}"
exec build/release/src/app/claude-nexus serve "$@"
