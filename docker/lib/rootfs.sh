#!/usr/bin/env bash
# Runs inside the builder stage (native build platform, never emulated) and on
# the host. Only binutils' readelf is used, which reads ELF files of any
# architecture, so the target's binaries are inspected without running them.
#
#   rootfs.sh check-elf ARCH FILE...        fail unless every FILE is an ELF for ARCH
#   rootfs.sh collect ARCH ROOT FILE...     copy FILEs' shared-library closure
#                                           (DT_NEEDED walk + PT_INTERP) into ROOT
#   rootfs.sh list-tests BUILD_DIR          unit-test executables (CMake file API)
#   rootfs.sh has-target BUILD_DIR NAME     succeed if the build defines target NAME
set -euo pipefail

triplet_of() {
  case "$1" in
    amd64) echo x86_64-linux-gnu ;;
    arm64) echo aarch64-linux-gnu ;;
    *) echo "rootfs.sh: unsupported architecture '$1'" >&2; exit 2 ;;
  esac
}
machine_of() {
  case "$1" in
    amd64) echo "Advanced Micro Devices X86-64" ;;
    arm64) echo "AArch64" ;;
  esac
}
elf_machine() { LC_ALL=C readelf -h "$1" 2>/dev/null | sed -n 's/^ *Machine: *//p'; }

check_elf() {
  local arch=$1 want got f; shift
  want=$(machine_of "$arch")
  for f in "$@"; do
    got=$(elf_machine "$f")
    if [[ "$got" != "$want" ]]; then
      echo "ELF check FAILED: $f is '${got:-not an ELF file}', expected '$want' for $arch" >&2
      return 1
    fi
    echo "ELF check ok: $f: $got"
  done
}

# Resolves a DT_NEEDED name the way the target's ld.so would by default
# (multiarch dirs first). The machine check rejects a same-named host library.
resolve_lib() {
  local arch=$1 name=$2 triplet dir
  triplet=$(triplet_of "$arch")
  for dir in /lib/"$triplet" /usr/lib/"$triplet" /lib /usr/lib; do
    if [[ -e "$dir/$name" && "$(elf_machine "$dir/$name")" == "$(machine_of "$arch")" ]]; then
      echo "$dir/$name"; return 0
    fi
  done
  echo "rootfs.sh: cannot resolve $name for $arch" >&2
  return 1
}

collect() {
  local arch=$1 root=$2 triplet f name path interp; shift 2
  triplet=$(triplet_of "$arch")
  local -a queue=("$@")
  local -A seen=()
  mkdir -p "$root/usr/lib/$triplet"
  while ((${#queue[@]})); do
    f=${queue[0]}; queue=("${queue[@]:1}")
    interp=$(LC_ALL=C readelf -l "$f" | sed -n 's/.*\[Requesting program interpreter: \(.*\)\]/\1/p')
    if [[ -n "$interp" && -z "${seen[$interp]:-}" ]]; then
      seen[$interp]=1
      mkdir -p "$root$(dirname "$interp")"
      cp -L "$interp" "$root$interp"
    fi
    for name in $(LC_ALL=C readelf -d "$f" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p'); do
      [[ -n "${seen[$name]:-}" ]] && continue
      seen[$name]=1
      path=$(resolve_lib "$arch" "$name")
      # Flattened into the multiarch dir, which the target's ld.so searches by
      # default. libc names the loader too: link to the copy at PT_INTERP.
      if [[ -n "$interp" && "$(readlink -f "$path")" == "$(readlink -f "$interp")" ]]; then
        ln -sf "$interp" "$root/usr/lib/$triplet/$name"
      else
        cp -L "$path" "$root/usr/lib/$triplet/$name"
      fi
      queue+=("$path")
    done
  done
  echo "collected $(( ${#seen[@]} )) libraries for $arch into $root"
}

# Every executable target defined under tests/unit, from CMake's file API
# reply (the query must exist before configuring; see the Dockerfile).
codemodel() {
  local reply=$1/.cmake/api/v1/reply
  echo "$reply/$(jq -r '.reply["codemodel-v2"].jsonFile' "$(ls "$reply"/index-*.json | tail -1)")"
}
has_target() {
  jq -e --arg n "$2" '[.configurations[0].targets[].name] | index($n) != null' "$(codemodel "$1")" >/dev/null
}
list_tests() {
  local reply=$1/.cmake/api/v1/reply tf
  jq -r '.configurations[0].targets[].jsonFile' "$(codemodel "$1")" | while read -r tf; do
    jq -r 'select(.type == "EXECUTABLE" and (.paths.source | startswith("tests/unit")))
           | .artifacts[0].path' "$reply/$tf"
  done | sed "s|^|$1/|" | sort
}

cmd=${1:-}; shift || true
case "$cmd" in
  check-elf) check_elf "$@" ;;
  collect) collect "$@" ;;
  list-tests) list_tests "$@" ;;
  has-target) has_target "$@" ;;
  *) sed -n '2,11p' "$0" >&2; exit 2 ;;
esac
