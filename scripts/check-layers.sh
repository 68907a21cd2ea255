#!/usr/bin/env bash
# Checks that every #include "<folder>/..." in src/ goes down the floors of docs/architecture.md:
# a folder may include its own headers and those of folders on lower floors, never of a folder on
# its own floor (sideways) or above (upward). Also checks that docs/architecture.md and the
# README state the same floors as this script. Exit 1 with one line per violation.
#   scripts/check-layers.sh [SRC_DIR]
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
src=${1:-$root/src}

# The floors: the one machine-readable statement of the layering (mirrored in the docs).
FLOORS=(
  "common"
  "sse record metrics"
  "anthropic conversation proxy storage"
  "recording oauth query"
  "api dashboard"
  "net"
  "app"
)

declare -A floor_of
for i in "${!FLOORS[@]}"; do
  for f in ${FLOORS[$i]}; do floor_of[$f]=$i; done
done

bad=0
# Folders under src/ that the floors do not name are violations too (a new folder needs a floor).
for dir in "$src"/*/; do
  d=$(basename "$dir")
  if [[ -z ${floor_of[$d]+x} ]]; then
    echo "src/$d: folder has no floor in scripts/check-layers.sh (add it and to docs/architecture.md)"
    bad=1
  fi
done

while IFS= read -r line; do
  file=${line%%:*}
  rest=${line#*:}
  lineno=${rest%%:*}
  inc=${rest#*:}
  rel=${file#"$src"/}
  from=${rel%%/*}
  target=$(sed -E 's/^[[:space:]]*#[[:space:]]*include[[:space:]]*"([^/"]+)\/.*/\1/' <<<"$inc")
  [[ $target == "$from" ]] && continue
  [[ -z ${floor_of[$target]+x} ]] && continue  # generated headers (cn_version.h), not a layer
  [[ -z ${floor_of[$from]+x} ]] && continue    # reported above
  if ((floor_of[$target] >= floor_of[$from])); then
    kind=sideways
    ((floor_of[$target] > floor_of[$from])) && kind=upward
    echo "src/$rel:$lineno: $kind include of $target/ (floor ${floor_of[$target]}) from $from/ (floor ${floor_of[$from]})"
    bad=1
  fi
done < <(grep -rnE '^[[:space:]]*#[[:space:]]*include[[:space:]]*"[^/"]+/' "$src" --include='*.h' --include='*.cc' || true)

# The docs state the same floors: a line "| N | `a` `b` ... |" per floor in docs/architecture.md.
for i in "${!FLOORS[@]}"; do
  want="| $i |"
  for f in ${FLOORS[$i]}; do want+=" \`$f\`"; done
  want+=" |"
  if ! grep -qF -- "$want" "$root/docs/architecture.md"; then
    echo "docs/architecture.md: missing the floor line: $want"
    bad=1
  fi
done

if ((bad)); then
  echo "check-layers: FAILED"
  exit 1
fi
echo "check-layers: ok (${#floor_of[@]} folders on ${#FLOORS[@]} floors)"
