#!/usr/bin/env bash
# Builds the claude-nexus images (proxy, all-in; dashboard when listed) for
# several platforms from docker/Dockerfile. The compiler never runs emulated:
# each platform is cross-compiled on this machine's architecture.
#
# Usage: docker/build-images.sh [TAG]          (TAG defaults to "latest")
#
# Environment:
#   BUILD_PLATFORMS  comma list, default linux/amd64,linux/arm64 (alias PLATFORMS)
#   BUILD_ACTION     load (local images, default) | push (registry) | oci (archive on disk)
#   IMAGE_PREFIX     name prefix, default "claude-nexus-" (e.g. ghcr.io/acme/claude-nexus-)
#   IMAGES           space list of Dockerfile targets, default "proxy all-in"
#   ALSO_LATEST      yes|no: also tag/push :latest when TAG is not latest (default yes)
#   OCI_DIR          where BUILD_ACTION=oci writes <image>-<tag>.oci.tar (default build/oci)
#   CONTAINER_ENGINE docker | podman | buildah (default: detected in that order)
#   GIT_REVISION, VERSION, CREATED, SOURCE_URL   label/version overrides
#
# With docker and several platforms, "load" needs the containerd image store to
# keep a multi-platform image; without it each platform is loaded as TAG-<arch>
# and the build machine's own platform also as TAG (never nothing, silently).
# podman/buildah keep a manifest list TAG plus TAG-<arch> images in local storage.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"

usage() { sed -n '2,24p' "$0" | sed 's/^# \{0,1\}//'; }
[[ ${1:-} == -h || ${1:-} == --help ]] && { usage; exit 0; }
[[ $# -le 1 ]] || { usage >&2; exit 2; }

TAG=${1:-latest}
PLATFORMS=${BUILD_PLATFORMS:-${PLATFORMS:-linux/amd64,linux/arm64}}
ACTION=${BUILD_ACTION:-load}
PREFIX=${IMAGE_PREFIX:-claude-nexus-}
read -r -a TARGETS <<<"${IMAGES:-proxy all-in}"
OCI_DIR=${OCI_DIR:-$CN_REPO_ROOT/build/oci}
case "$ACTION" in load|push|oci) ;; *) cn_die "BUILD_ACTION must be load, push or oci, not '$ACTION'" ;; esac
IFS=, read -r -a PLATFORM_LIST <<<"$PLATFORMS"
for p in "${PLATFORM_LIST[@]}"; do
  case "$p" in linux/amd64|linux/arm64) ;; *) cn_die "unsupported platform '$p' (linux/amd64, linux/arm64)" ;; esac
done

tags_for() {          # image -> the tags to apply
  echo "$1:$TAG"
  if [[ $TAG != latest && ${ALSO_LATEST:-yes} == yes ]]; then echo "$1:latest"; fi
}

cn_detect_engine
cn_log "engine: $CN_ENGINE; platforms: $PLATFORMS; action: $ACTION; images: ${TARGETS[*]}; tag: $TAG"
mapfile -t BUILD_ARGS < <(cn_build_args)

# ---- docker buildx --------------------------------------------------------
docker_containerd_store() { docker info -f '{{.DriverStatus}}' 2>/dev/null | grep -q 'io.containerd.snapshotter'; }
docker_ensure_builder() {
  # Multi-platform builds and OCI exports need the docker-container driver
  # (the default "docker" driver cannot, unless the containerd store is on).
  if ! docker buildx inspect claude-nexus-builder >/dev/null 2>&1; then
    docker buildx create --name claude-nexus-builder --driver docker-container >/dev/null
  fi
  docker buildx inspect --bootstrap claude-nexus-builder >/dev/null
  BUILDX=(docker buildx build --builder claude-nexus-builder)
}
docker_build() {      # target image
  local target=$1 image=$2 t
  local -a tag_args=() common=(-f "$CN_DOCKERFILE" --target "$target" "${BUILD_ARGS[@]}")
  for t in $(tags_for "$image"); do tag_args+=(-t "$t"); done
  case "$ACTION" in
    push)
      docker_ensure_builder
      "${BUILDX[@]}" "${common[@]}" --platform "$PLATFORMS" "${tag_args[@]}" \
        --provenance=true --sbom=true --push "$CN_REPO_ROOT" ;;
    oci)
      docker_ensure_builder; mkdir -p "$OCI_DIR"
      "${BUILDX[@]}" "${common[@]}" --platform "$PLATFORMS" "${tag_args[@]}" \
        --output "type=oci,dest=$OCI_DIR/${image##*/}-$TAG.oci.tar" "$CN_REPO_ROOT" ;;
    load)
      if [[ ${#PLATFORM_LIST[@]} -eq 1 ]] || docker_containerd_store; then
        docker buildx build "${common[@]}" --platform "$PLATFORMS" "${tag_args[@]}" --load "$CN_REPO_ROOT"
      else
        docker_ensure_builder
        cn_log "the docker image store cannot hold a multi-platform image: loading one image per platform"
        local p arch
        for p in "${PLATFORM_LIST[@]}"; do
          arch=$(cn_arch_of "$p")
          "${BUILDX[@]}" "${common[@]}" --platform "$p" -t "$image:$TAG-$arch" --load "$CN_REPO_ROOT"
          if [[ $p == "$(cn_host_platform)" ]]; then
            for t in $(tags_for "$image"); do docker tag "$image:$TAG-$arch" "$t"; done
          fi
        done
        cn_log "loaded ${PLATFORM_LIST[*]/#/$image:$TAG-} (push a multi-platform tag with BUILD_ACTION=push)"
      fi ;;
  esac
}

# ---- podman / buildah -----------------------------------------------------
# One build per platform (buildah 1.28 sets TARGETARCH from --platform but not
# BUILDPLATFORM, so it is passed), then a manifest list over the results.
oci_build() {         # target image
  local target=$1 image=$2 p arch list t
  list="$image:$TAG"
  cn_img manifest rm "$list" >/dev/null 2>&1 || true
  cn_img rmi "$list" >/dev/null 2>&1 || true
  cn_img manifest create "$list" >/dev/null
  for p in "${PLATFORM_LIST[@]}"; do
    arch=$(cn_arch_of "$p")
    cn_timed "build $image ($arch, $CN_ENGINE)" \
      cn_img build --layers --pull=never --format docker -f "$CN_DOCKERFILE" --target "$target" \
        --platform "$p" --build-arg "BUILDPLATFORM=$(cn_host_platform)" "${BUILD_ARGS[@]}" \
        -t "$image:$TAG-$arch" "$CN_REPO_ROOT"
    cn_img manifest add "$list" "$image:$TAG-$arch" >/dev/null
  done
  case "$ACTION" in
    load) cn_log "built manifest list $list over ${PLATFORM_LIST[*]/#/$image:$TAG-}" ;;
    push)
      for t in $(tags_for "$image"); do
        cn_img manifest push --all --format v2s2 "$list" "docker://$t"
      done ;;
    oci)
      mkdir -p "$OCI_DIR"; rm -f "$OCI_DIR/${image##*/}-$TAG.oci.tar"
      cn_img manifest push --all --format oci "$list" "oci-archive:$OCI_DIR/${image##*/}-$TAG.oci.tar:$TAG"
      cn_log "wrote $OCI_DIR/${image##*/}-$TAG.oci.tar" ;;
  esac
}

[[ $CN_ENGINE == docker ]] || cn_ensure_base_image
for target in "${TARGETS[@]}"; do
  image="$PREFIX$target"
  if [[ $CN_ENGINE == docker ]]; then
    cn_timed "build $image (${PLATFORMS}, docker)" docker_build "$target" "$image"
  else
    oci_build "$target" "$image"
  fi
done
