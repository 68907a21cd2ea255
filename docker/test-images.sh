#!/usr/bin/env bash
# Builds the real images for linux/amd64 and linux/arm64 with the detected
# engine (via build-images.sh) and checks them without any registry or daemon:
#   - the manifest list holds both platforms;
#   - each image's binary and libraries have its platform's ELF machine, its
#     config has the non-root user, ports, /data volume, healthcheck and labels,
#     and its size is at most MAX_IMAGE_MB (default 30) uncompressed;
#   - each image's root filesystem is run as that image would run (chroot as
#     uid 65532, arm64 through a static qemu-user inside the chroot, so only
#     the image's own files are visible): --version names the architecture,
#     `serve` answers /health, `healthcheck` succeeds, a streaming request is
#     proxied to a fake upstream, and the exchange is recorded under /data.
#
# Usage: docker/test-images.sh [TAG]     (default "ci"; env as build-images.sh)
#   SKIP_BUILD=1  test images already built under TAG
# Fails (non-zero) when anything is missing, including the binary itself.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"
[[ ${1:-} == -h || ${1:-} == --help ]] && { sed -n '2,17p' "$0" | sed 's/^# \{0,1\}//'; exit 0; }

TAG=${1:-ci}
PREFIX=${IMAGE_PREFIX:-claude-nexus-}
read -r -a TARGETS <<<"${IMAGES:-proxy all-in}"
MAX_BYTES=$(( ${MAX_IMAGE_MB:-30} * 1000 * 1000 ))
WORK=${TEST_IMAGES_DIR:-$CN_REPO_ROOT/build/test-images}
ARCHS=(amd64 arm64)
RUNTIME_IMAGE=${RUNTIME_IMAGE:-all-in}    # the target whose rootfs is run
failures=0
fail() { echo "FAIL: $*" >&2; failures=$((failures + 1)); }
ok() { echo "ok: $*"; }

cn_detect_engine
[[ $EUID -eq 0 ]] || cn_die "needs root (chroot into the extracted image filesystems)"
for tool in jq curl python3 readelf; do command -v $tool >/dev/null || cn_die "$tool is required"; done

if [[ -z ${SKIP_BUILD:-} ]]; then
  BUILD_PLATFORMS=linux/amd64,linux/arm64 BUILD_ACTION=load IMAGE_PREFIX=$PREFIX IMAGES="${TARGETS[*]}" \
    ALSO_LATEST=no cn_timed "build images (${TARGETS[*]} x ${ARCHS[*]})" "$CN_REPO_ROOT/docker/build-images.sh" "$TAG"
fi

# ---- per-engine accessors --------------------------------------------------
platforms_of() {      # image:tag -> "os/arch" lines of its manifest list
  case "$CN_ENGINE" in
    docker)   # per-arch tags (classic store) or one multi-platform image (containerd)
      local a; for a in "${ARCHS[@]}"; do
        docker image inspect -f '{{.Os}}/{{.Architecture}}' "$1-$a" 2>/dev/null ||
          docker image inspect --platform "linux/$a" -f '{{.Os}}/{{.Architecture}}' "$1" 2>/dev/null || true
      done ;;
    *) cn_img manifest inspect "$1" | jq -r '.manifests[].platform | "\(.os)/\(.architecture)"' ;;
  esac
}
image_config() {      # image -> docker-style config JSON
  case "$CN_ENGINE" in
    docker) docker image inspect "$1" | jq '.[0].Config' ;;
    *) cn_img inspect --type image "$1" | jq '.Docker.config // .OCIv1.config' ;;
  esac
}
extract_rootfs() {    # image dest
  rm -rf "$2"; mkdir -p "$2"
  case "$CN_ENGINE" in
    docker)
      local c; c=$(docker create "$1"); docker export "$c" | tar -x -C "$2"; docker rm "$c" >/dev/null ;;
    *)
      local c m; c=$(cn_img from --pull=never "$1"); m=$(cn_img mount "$c")
      cp -a "$m/." "$2/"; cn_img umount "$c" >/dev/null; cn_img rm "$c" >/dev/null ;;
  esac
}
# ---- static checks ---------------------------------------------------------
check_image() {       # target arch
  local target=$1 arch=$2 image="$PREFIX$1:$TAG-$2" root cfg bytes
  root=$WORK/$target-$arch
  cn_image_exists "$image" || [[ $CN_ENGINE == docker ]] || { fail "$image was not built"; return; }
  extract_rootfs "$image" "$root"
  if [[ ! -f $root/usr/local/bin/claude-nexus ]]; then fail "$image has no /usr/local/bin/claude-nexus"; return; fi
  if "$CN_REPO_ROOT/docker/lib/rootfs.sh" check-elf "$arch" "$root/usr/local/bin/claude-nexus" \
       $(find "$root/usr/lib" -name '*.so*' -type f) $(find "$root"/lib* -maxdepth 1 -name 'ld-*' -type f 2>/dev/null) >/dev/null; then
    ok "$image: binary and $(find "$root/usr/lib" -name '*.so*' -type f | wc -l) libraries are $(cn_elf_machine_of "$arch")"
  else fail "$image: ELF machine is not $(cn_elf_machine_of "$arch")"; fi
  cfg=$(image_config "$image")
  [[ $(jq -r '.User' <<<"$cfg") == 65532:65532 ]] && ok "$image: user 65532" || fail "$image: user is $(jq -r .User <<<"$cfg")"
  jq -e '.Volumes["/data"] != null' <<<"$cfg" >/dev/null && ok "$image: VOLUME /data" || fail "$image: no /data volume"
  jq -e '.Healthcheck.Test | index("healthcheck") != null' <<<"$cfg" >/dev/null && ok "$image: HEALTHCHECK" || fail "$image: no healthcheck"
  jq -e '.ExposedPorts["3000/tcp"] // .ExposedPorts["3001/tcp"]' <<<"$cfg" >/dev/null && ok "$image: EXPOSE $(jq -r '.ExposedPorts|keys|join(" ")' <<<"$cfg")" || fail "$image: no exposed port"
  local l; for l in source revision version created licenses; do
    jq -e --arg l "org.opencontainers.image.$l" '.Labels[$l] | length > 0' <<<"$cfg" >/dev/null || fail "$image: label $l missing"
  done
  # buildah caches LABEL steps by their text, not the args' values: catch a stale label.
  local want_rev; want_rev=${GIT_REVISION:-$(git -C "$CN_REPO_ROOT" rev-parse --short=12 HEAD 2>/dev/null || echo unknown)}
  [[ $(jq -r '.Labels["org.opencontainers.image.revision"]' <<<"$cfg") == "$want_rev" ]] &&
    ok "$image: OCI labels, revision $want_rev" || fail "$image: revision label is not $want_rev"
  bytes=$(du -sb "$root" | cut -f1)
  printf 'size: %-34s %6.1f MB uncompressed (%d bytes)\n' "$image" \
    "$(awk -v b="$bytes" 'BEGIN{print b/1e6}')" "$bytes"
  ((bytes <= MAX_BYTES)) || fail "$image: $bytes bytes exceeds ${MAX_IMAGE_MB:-30} MB"
}

# ---- run the image's filesystem -------------------------------------------
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
# Sets RUN to the command prefix that runs a program as the image would: chroot
# into its extracted filesystem as uid 65532 (arm64 through a static qemu-user
# copied into the chroot), so only the image's own files are visible.
RUN=()
in_image_prefix() {   # root arch
  local root=$1 arch=$2 q
  RUN=(/usr/sbin/chroot --userspec=65532:65532 "$root")
  if [[ "linux/$arch" != "$(cn_host_platform)" ]]; then
    q=qemu-$([[ $arch == arm64 ]] && echo aarch64 || echo x86_64)-static
    command -v $q >/dev/null || cn_die "$q not found (apt-get install qemu-user-static)"
    install -m 0755 "$(command -v $q)" "$root/.qemu"
    RUN+=(/.qemu)
  fi
}

run_image() {         # target arch
  local target=$1 arch=$2 root=$WORK/$1-$2 v up_port port dport pid up_pid body nonce out i
  [[ -f $root/usr/local/bin/claude-nexus ]] || return 0
  in_image_prefix "$root" "$arch"
  v=$(env -i PATH=/usr/local/bin "${RUN[@]}" /usr/local/bin/claude-nexus --version 2>&1) || true
  local want; want=$([[ $arch == arm64 ]] && echo aarch64 || echo x86_64)
  grep -q "$want" <<<"$v" && ok "$target/$arch --version: $v" || fail "$target/$arch --version does not report $want: $v"

  up_port=$(free_port); port=$(free_port); dport=$(free_port)
  python3 "$CN_REPO_ROOT/docker/lib/fake_upstream.py" "$up_port" >"$root.upstream.log" 2>&1 & up_pid=$!
  env -i PATH=/usr/local/bin HOST=127.0.0.1 PORT=$port DASHBOARD_PORT=$dport DATA_DIR=/data \
    SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt CLAUDE_API_BASE_URL="http://127.0.0.1:$up_port" \
    STORAGE_ENABLED=true \
    "${RUN[@]}" /usr/local/bin/claude-nexus serve \
    >"$root.serve.log" 2>&1 & pid=$!
  for ((i = 0; i < 120; i++)); do      # bounded: QEMU start-up is slow on a loaded machine
    curl -fsS -m 2 "http://127.0.0.1:$port/health" >/dev/null 2>&1 && break
    kill -0 $pid 2>/dev/null || break
    sleep 0.5
  done
  if curl -fsS -m 5 "http://127.0.0.1:$port/health" >"$root.health" 2>&1; then
    ok "$target/$arch serve: /health $(head -c 200 "$root.health")"
    if env -i PATH=/usr/local/bin PORT=$port "${RUN[@]}" /usr/local/bin/claude-nexus healthcheck >/dev/null 2>&1; then
      ok "$target/$arch healthcheck subcommand"; else fail "$target/$arch healthcheck subcommand failed"; fi
    nonce="image-test-$arch-$RANDOM$RANDOM"
    body='{"model":"claude-3-5-haiku-20241022","max_tokens":32,"stream":true,"messages":[{"role":"user","content":"'$nonce'"}]}'
    out=$(curl -sS -N -m 60 "http://127.0.0.1:$port/v1/messages" -H 'content-type: application/json' \
          -H 'anthropic-version: 2023-06-01' -H 'x-api-key: sk-ant-test' -H 'authorization: Bearer sk-ant-test' \
          -d "$body" 2>&1) || true
    if grep -q 'event: message_stop' <<<"$out" && grep -q "echo: $nonce" <<<"$out"; then
      ok "$target/$arch proxied a streaming request ($(grep -c '^event:' <<<"$out") events)"
    else fail "$target/$arch streaming request: $(head -c 400 <<<"$out")"; fi
  else
    fail "$target/$arch serve did not answer /health; log:"; tail -20 "$root.serve.log" >&2
  fi
  kill -TERM $pid 2>/dev/null || true
  for ((i = 0; i < 60; i++)); do kill -0 $pid 2>/dev/null || break; sleep 0.5; done   # graceful drain
  kill -KILL $pid 2>/dev/null || true; wait $pid 2>/dev/null || true
  kill $up_pid 2>/dev/null || true; wait $up_pid 2>/dev/null || true
  if [[ -n ${nonce:-} ]]; then
    if grep -rqa "$nonce" "$root/data" 2>/dev/null; then ok "$target/$arch recorded the exchange under /data ($(ls "$root/data" | tr '\n' ' '))"
    else fail "$target/$arch: request $nonce not found under /data after shutdown"; fi
  fi
}

# ---- main ------------------------------------------------------------------
mkdir -p "$WORK"
for target in "${TARGETS[@]}"; do
  found=$(platforms_of "$PREFIX$target:$TAG" | sort -u | tr '\n' ' ')
  for a in "${ARCHS[@]}"; do
    grep -qw "linux/$a" <<<"$found" || fail "$PREFIX$target:$TAG lacks linux/$a (has: ${found:-nothing})"
  done
  ok "$PREFIX$target:$TAG platforms: $found"
  for a in "${ARCHS[@]}"; do check_image "$target" "$a"; done
done
if [[ " ${TARGETS[*]} " == *" $RUNTIME_IMAGE "* ]]; then
  for a in arm64 amd64; do cn_timed "run $RUNTIME_IMAGE ($a)" run_image "$RUNTIME_IMAGE" "$a"; done
fi
if ((failures)); then echo "image tests: $failures failure(s)" >&2; exit 1; fi
echo "image tests: all checks passed"
