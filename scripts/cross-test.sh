#!/usr/bin/env bash
# Cross-builds the unit tests for ARCH exactly as the image builder does (the
# Dockerfile's `unit-tests` target: native compiler, Debian multiarch libraries)
# and runs every unit-test binary as a target binary: under qemu-user for a
# foreign ARCH, natively otherwise, always through the exported loader and
# libraries so the library collection used for the images is exercised too.
#
#   scripts/cross-test.sh [ARCH...]        default: arm64
#   env: CONTAINER_ENGINE, CROSS_TEST_OUT (export dir, default build/cross-test)
#
# Prints per binary the gtest summary and finally "N passed, N failed".
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../docker/lib/common.sh"

[[ ${1:-} == -h || ${1:-} == --help ]] && { sed -n '2,11p' "$0"; exit 0; }
archs=("${@:-arm64}")
out_root=${CROSS_TEST_OUT:-$CN_REPO_ROOT/build/cross-test}
cn_detect_engine
cn_ensure_base_image

build_export() {      # ARCH DEST
  local arch=$1 dest=$2
  local -a args=(--platform "linux/$arch" --target unit-tests -f "$CN_DOCKERFILE"
                 --build-arg "SRC_DIR=$CN_REPO_ROOT" $(cn_build_args))
  rm -rf "$dest"; mkdir -p "$dest"
  case "$CN_ENGINE" in
    docker) docker buildx build "${args[@]}" --output "type=local,dest=$dest" "$CN_REPO_ROOT" ;;
    podman|buildah)
      cn_img build --layers --pull=never --format docker \
        --build-arg "BUILDPLATFORM=$(cn_host_platform)" "${args[@]}" \
        --output "type=local,dest=$dest" "$CN_REPO_ROOT" ;;
  esac
}

run_tests() {         # ARCH DIR -> sets passed/failed counters
  local arch=$1 dir=$2 triplet runner t log p f
  triplet=$([[ $arch == arm64 ]] && echo aarch64-linux-gnu || echo x86_64-linux-gnu)
  local -a cmd
  if [[ "linux/$arch" == "$(cn_host_platform)" ]]; then
    local loader
    loader=$(find "$dir/lib" "$dir/lib64" -maxdepth 1 -name 'ld-linux*' 2>/dev/null | head -1)
    cmd=("$loader" --library-path "$dir/usr/lib/$triplet")
  else
    runner=qemu-$([[ $arch == arm64 ]] && echo aarch64 || echo x86_64)-static
    command -v "$runner" >/dev/null || cn_die "$runner not found (apt-get install qemu-user-static)"
    cmd=("$runner" -L "$dir" -E "LD_LIBRARY_PATH=$dir/usr/lib/$triplet")
  fi
  [[ "$(cat "$dir/tests/ARCH")" == "$arch" ]] || cn_die "$dir holds $(cat "$dir/tests/ARCH") tests, not $arch"
  "$CN_REPO_ROOT/docker/lib/rootfs.sh" check-elf "$arch" "$dir"/tests/*_test* >/dev/null
  for t in "$dir"/tests/*; do
    [[ -x "$t" && -f "$t" ]] || continue
    log=$(mktemp)
    if timeout 900 "${cmd[@]}" "$t" --gtest_brief=1 >"$log" 2>&1; then :; else
      cat "$log"; failed_bins+=("$(basename "$t")")
    fi
    p=$(sed -n 's/^\[  PASSED  \] \([0-9]*\) test.*/\1/p' "$log" | tail -1)
    f=$(sed -n 's/^\[  FAILED  \] \([0-9]*\) test.*/\1/p' "$log" | tail -1)
    printf '  %-6s %-28s passed %3s  failed %s\n' "$arch" "$(basename "$t")" "${p:-0}" "${f:-0}"
    passed=$((passed + ${p:-0})); failed=$((failed + ${f:-0}))
    # A binary that died before gtest's summary is a failure even with no count.
    if [[ -z "$p$f" ]]; then failed=$((failed + 1)); fi
    rm -f "$log"
  done
}

passed=0 failed=0 failed_bins=()
for arch in "${archs[@]}"; do
  dest=$out_root/$arch
  cn_timed "cross-build unit tests ($arch, $CN_ENGINE)" build_export "$arch" "$dest"
  cn_log "running unit tests as $arch binaries"
  cn_timed "run unit tests ($arch)" run_tests "$arch" "$dest"
done
if ((${#failed_bins[@]})); then echo "failing binaries: ${failed_bins[*]}" >&2; fi
echo "qemu-${archs[*]// /+}: ${passed} passed, ${failed} failed"
((failed == 0 && ${#failed_bins[@]} == 0))
