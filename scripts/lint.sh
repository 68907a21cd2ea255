#!/usr/bin/env bash
# Lint (docs/style.md): (a) clang-format --dry-run -Werror over every .h/.cc under src/, tests/ and
# bench/ in git, (b) clang-tidy with the repo's .clang-tidy over the compile database. Prints how
# long each part took and exits non-zero on any finding.
#   LINT_BASE       a git revision: tidy only the pure layers (common sse record metrics anthropic
#                   conversation proxy, with their unit tests) plus the translation units changed
#                   since LINT_BASE or including a header changed since it. Default: the whole tree
#                   (~13 min of CPU: ~6.5 min on 2 idle cores, much longer on a busy machine).
#   LINT_BUILD_DIR  build directory for compile_commands.json (default build/lint). Configured here
#                   when missing, never built: cn_version.h, the one generated header, is written at
#                   configure time. Do not point it at a GCC-built directory: clang cannot read
#                   GCC's precompiled header of src/net.
#   LINT_JOBS       parallel clang-tidy processes (default: nproc)
#   LINT_ONLY       format | tidy: run one part only
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
BUILD_DIR=${LINT_BUILD_DIR:-build/lint}
JOBS=${LINT_JOBS:-$(nproc)}
ONLY=${LINT_ONLY:-}
PURE_LAYERS=(common sse record metrics anthropic conversation proxy)

pick() {  # first of the given programs on PATH
  local p
  for p in "$@"; do
    if command -v "$p" >/dev/null 2>&1; then echo "$p"; return 0; fi
  done
  echo "lint: none of $* found (scripts/deps.sh --test installs them)" >&2
  return 1
}

rc=0
start_all=$SECONDS

# ---- (a) clang-format ----------------------------------------------------------------------------
if [[ "$ONLY" != "tidy" ]]; then
  t0=$SECONDS
  fmt=$(pick clang-format-14 clang-format)
  echo "=== lint: clang-format ($($fmt --version | sed 's/.*version //'))"
  mapfile -t files < <(git ls-files -- 'src/*.h' 'src/*.cc' 'tests/*.h' 'tests/*.cc' \
    'bench/*.h' 'bench/*.cc')
  out=$(printf '%s\0' "${files[@]}" | xargs -0 "$fmt" --dry-run -Werror 2>&1) || true
  violations=$(grep -c -- '-Wclang-format-violations' <<<"$out" || true)
  if ((violations > 0)); then
    echo "lint: clang-format: $violations places in these files differ from .clang-format" \
      "(fix: clang-format -i <file>):"
    grep -- '-Wclang-format-violations' <<<"$out" | cut -d: -f1 | sort | uniq -c |
      awk '{printf "  %s (%d)\n", $2, $1}'
    rc=1
  elif grep -q 'error' <<<"$out"; then  # clang-format itself failed (bad .clang-format, ...)
    echo "$out"
    rc=1
  else
    echo "lint: clang-format: ${#files[@]} files clean"
  fi
  echo "timing: lint clang-format $((SECONDS - t0))s (${#files[@]} files)"
fi

# ---- (b) clang-tidy ------------------------------------------------------------------------------
if [[ "$ONLY" != "format" ]]; then
  t0=$SECONDS
  tidy=$(pick clang-tidy-14 clang-tidy)
  runner=$(pick run-clang-tidy-14 run-clang-tidy)
  echo "=== lint: clang-tidy ($($tidy --version | sed -n 's/.*version //p'))"
  if [[ ! -f "$BUILD_DIR/compile_commands.json" ]]; then
    cmake -S . -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCN_BUILD_TESTS=ON \
      -DCN_BUILD_BENCH=ON >/dev/null
  fi
  root=$(pwd)
  mapfile -t all_tus < <(python3 -c '
import json, os, sys
for e in json.load(open(sys.argv[1])):
    print(os.path.normpath(os.path.join(e["directory"], e["file"])))' \
    "$BUILD_DIR/compile_commands.json" | sort -u)
  if [[ -z "${LINT_BASE:-}" ]]; then
    tus=("${all_tus[@]}")
    scope="whole tree"
  else
    changed=$(git diff --name-only "$LINT_BASE" -- '*.h' '*.cc')
    # Translation units that include a changed header (matched by its file name).
    headers=$(grep '\.h$' <<<"$changed" | xargs -r -n1 basename | sed 's/[.]/\\./g' | paste -sd'|')
    including=""
    if [[ -n "$headers" ]]; then
      including=$(grep -lE "#include \"([^\"]*/)?($headers)\"" "${all_tus[@]}" || true)
    fi
    tus=()
    for tu in "${all_tus[@]}"; do
      rel=${tu#"$root"/}
      keep=0
      for layer in "${PURE_LAYERS[@]}"; do
        [[ "$rel" == src/$layer/* || "$rel" == tests/unit/$layer/* ]] && keep=1
      done
      grep -qxF -- "$rel" <<<"$changed" && keep=1
      grep -qxF -- "$tu" <<<"$including" && keep=1
      ((keep)) && tus+=("$tu")
    done
    scope="pure layers + changes since $LINT_BASE"
  fi
  echo "lint: clang-tidy over ${#tus[@]} of ${#all_tus[@]} translation units ($scope), -j$JOBS"
  log=$(mktemp)
  trap 'rm -f "$log"' EXIT
  tidy_rc=0
  if ((${#tus[@]} > 0)); then
    # Arguments are regexes on the file paths: anchor and escape them.
    mapfile -t patterns < <(printf '%s\n' "${tus[@]}" | sed 's/[].[^$*+?(){}|\\]/\\&/g; s/.*/^&$/')
    # The compile database holds GCC's flags; clang does not know -Wshadow=local or -Wno-restrict.
    "$runner" -clang-tidy-binary "$(command -v "$tidy")" -p "$BUILD_DIR" -j "$JOBS" -quiet \
      -extra-arg=-Wno-unknown-warning-option "${patterns[@]}" >"$log" 2>/dev/null || tidy_rc=$?
  fi
  sed -i 's/\x1b\[[0-9;]*m//g' "$log"
  findings=$(grep -E '^[^ ]+:[0-9]+:[0-9]+: (warning|error): ' "$log" | sort -u || true)
  count=$(grep -c . <<<"$findings" || true)
  if ((count > 0)); then
    # Every finding with its notes, once (a header's finding repeats for each TU that includes it).
    awk '/^[^ ]+:[0-9]+:[0-9]+: (warning|error): / {show = !seen[$0]++} show' "$log" |
      grep -Ev '^([^ ]*/)?clang-tidy[-0-9]* |^[0-9]+ warnings? generated' || true
    echo "lint: clang-tidy: $count findings, per check:"
    grep -oE '\[[a-z0-9.,-]+\]$' <<<"$findings" | sort | uniq -c | sort -rn | awk '{print "  " $1 " " $2}'
    rc=1
  elif ((tidy_rc != 0)); then
    cat "$log"
    echo "lint: clang-tidy failed (rc=$tidy_rc)"
    rc=1
  else
    echo "lint: clang-tidy: clean"
  fi
  echo "timing: lint clang-tidy $((SECONDS - t0))s (${#tus[@]} translation units)"
fi

echo "timing: lint total $((SECONDS - start_all))s (rc=$rc)"
exit $rc
