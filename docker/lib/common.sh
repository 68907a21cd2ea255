# Sourced by the host-side scripts in docker/ and scripts/cross-test.sh.
# Engine detection, the local debian:bookworm-slim base, logging and timing.
# Nothing here runs inside an image build.

CN_REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
CN_DOCKERFILE="${CN_REPO_ROOT}/docker/Dockerfile"
CN_BASE_IMAGE="${CN_BASE_IMAGE:-debian:bookworm-slim}"

cn_log() { printf '[%s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
cn_die() { printf 'error: %s\n' "$*" >&2; exit 1; }

# Runs "$@" and prints how long it took, labelled $1 (timings are part of
# what CI reports: keep the format stable, "timing: <label> <seconds>s").
cn_timed() {
  local label=$1; shift
  local start=$SECONDS rc=0
  "$@" || rc=$?
  printf 'timing: %s %ss%s\n' "$label" "$((SECONDS - start))" "$([[ $rc -ne 0 ]] && echo " (FAILED rc=$rc)")" >&2
  return "$rc"
}

# Sets CN_ENGINE to docker | podman | buildah (override with CONTAINER_ENGINE).
# docker counts only when a daemon answers and buildx is present: the CLI alone
# (as on machines without an engine) cannot build anything.
cn_detect_engine() {
  if [[ -n "${CONTAINER_ENGINE:-}" ]]; then
    CN_ENGINE=$CONTAINER_ENGINE
  elif command -v docker >/dev/null && docker info >/dev/null 2>&1 && docker buildx version >/dev/null 2>&1; then
    CN_ENGINE=docker
  elif command -v podman >/dev/null && podman info >/dev/null 2>&1; then
    CN_ENGINE=podman
  elif command -v buildah >/dev/null; then
    CN_ENGINE=buildah
  else
    cn_die "no container engine: need 'docker buildx' (with a running daemon), podman or buildah"
  fi
  if [[ $CN_ENGINE == buildah || $CN_ENGINE == podman ]]; then
    # Root without overlay support (nested containers, CI VMs): vfs always works.
    export STORAGE_DRIVER="${STORAGE_DRIVER:-vfs}"
    export BUILDAH_ISOLATION="${BUILDAH_ISOLATION:-chroot}"
  fi
}

# linux/amd64 style platform of this machine.
cn_host_platform() {
  case "$(uname -m)" in
    x86_64) echo linux/amd64 ;;
    aarch64|arm64) echo linux/arm64 ;;
    *) cn_die "unsupported build machine $(uname -m)" ;;
  esac
}

cn_arch_of() { echo "${1#*/}"; }                     # linux/arm64 -> arm64
cn_elf_machine_of() {                                 # readelf's "Machine:" text
  case "$1" in
    amd64) echo "Advanced Micro Devices X86-64" ;;
    arm64) echo "AArch64" ;;
    *) cn_die "unsupported architecture $1" ;;
  esac
}

# Image tool wrapper for the daemonless engines (same CLI subset).
cn_img() { if [[ $CN_ENGINE == podman ]]; then podman "$@"; else buildah "$@"; fi; }

cn_image_exists() {
  case "$CN_ENGINE" in
    docker) docker image inspect "$1" >/dev/null 2>&1 ;;
    podman) podman image exists "$1" ;;
    buildah) buildah inspect --type image "$1" >/dev/null 2>&1 ;;
  esac
}

# The builder stage runs FROM debian:bookworm-slim on the build platform. Where
# no registry is reachable (this workplace) an equivalent base is made from the
# Debian mirror with mmdebstrap and committed under the same name, once.
cn_ensure_base_image() {
  [[ $CN_ENGINE == docker ]] && return 0    # buildx pulls it (multi-arch official image)
  if cn_image_exists "docker.io/library/${CN_BASE_IMAGE}"; then return 0; fi
  if [[ ${CN_PULL_BASE:-try} != never ]] && cn_img pull -q "docker.io/library/${CN_BASE_IMAGE}" >/dev/null 2>&1; then
    return 0
  fi
  command -v mmdebstrap >/dev/null || cn_die "base image ${CN_BASE_IMAGE} is missing and mmdebstrap is not installed (apt-get install mmdebstrap)"
  [[ $CN_BASE_IMAGE == debian:bookworm-slim ]] || cn_die "can only synthesise debian:bookworm-slim, not ${CN_BASE_IMAGE}"
  local arch tmp ctr
  arch=$(cn_arch_of "$(cn_host_platform)")
  tmp=$(mktemp -d)
  cn_log "creating ${CN_BASE_IMAGE} (${arch}) with mmdebstrap"
  # Same trimming as the official slim image: minbase, no docs/man/locales.
  mmdebstrap --quiet --variant=minbase --architectures="$arch" \
    --dpkgopt='path-exclude=/usr/share/man/*' --dpkgopt='path-exclude=/usr/share/doc/*' \
    --dpkgopt='path-include=/usr/share/doc/*/copyright' --dpkgopt='path-exclude=/usr/share/locale/*' \
    --customize-hook='rm -f "$1"/etc/resolv.conf "$1"/etc/hostname' \
    bookworm "$tmp/rootfs.tar" \
    "deb http://deb.debian.org/debian bookworm main" \
    "deb http://deb.debian.org/debian bookworm-updates main" \
    "deb http://deb.debian.org/debian-security bookworm-security main" || { rm -rf "$tmp"; return 1; }
  ctr=$(cn_img from --pull=false scratch)
  cn_img add "$ctr" "$tmp/rootfs.tar" / >/dev/null
  cn_img config --arch "$arch" --os linux --env PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    --cmd bash "$ctr"
  cn_img commit -q --rm "$ctr" "docker.io/library/${CN_BASE_IMAGE}" >/dev/null
  rm -rf "$tmp"
}

# Common build args: revision/version/created feed the OCI labels and
# `claude-nexus --version`. SOURCE_URL is the repository the image is built from.
cn_build_args() {
  local rev version created
  rev=${GIT_REVISION:-$(git -C "$CN_REPO_ROOT" rev-parse --short=12 HEAD 2>/dev/null || echo unknown)}
  version=${VERSION:-$(sed -n 's/^project(claude_nexus VERSION \([0-9.]*\).*/\1/p' "$CN_REPO_ROOT/CMakeLists.txt")}
  created=${CREATED:-$(date -u +%Y-%m-%dT%H:%M:%SZ)}
  printf '%s\n' --build-arg "GIT_REVISION=$rev" --build-arg "VERSION=${version:-0.0.0}" \
    --build-arg "CREATED=$created" --build-arg "SOURCE_URL=${SOURCE_URL:-https://github.com/moonsonglabs/claude-nexus}"
}
