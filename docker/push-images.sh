#!/usr/bin/env bash
# Pushes the images that build-images.sh left locally as multi-platform
# manifest lists (every platform that was built, not only this machine's).
#
# Usage: docker/push-images.sh [TAG]           (TAG defaults to "latest")
#   IMAGE_PREFIX  must name a registry, e.g. ghcr.io/acme/claude-nexus-
#   IMAGES        default "proxy all-in"
#   PUSH_LATEST   yes|no: also push :latest when TAG is a version (default yes)
#   CONTAINER_ENGINE docker | podman | buildah (default: detected)
#
# podman/buildah push the local manifest list with --all. docker pushes the
# per-platform TAG-<arch> images (classic image store) and joins them with
# `docker manifest create`, or pushes the multi-platform image directly when
# the containerd store holds one. For docker, `BUILD_ACTION=push
# docker/build-images.sh TAG` (buildx) does build and push in one step.
# Afterwards the pushed list is inspected and must hold linux/amd64 and linux/arm64.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"
[[ ${1:-} == -h || ${1:-} == --help ]] && { sed -n '2,17p' "$0" | sed 's/^# \{0,1\}//'; exit 0; }

TAG=${1:-latest}
PREFIX=${IMAGE_PREFIX:-claude-nexus-}
read -r -a TARGETS <<<"${IMAGES:-proxy all-in}"
[[ $PREFIX == */* ]] || cn_die "IMAGE_PREFIX='$PREFIX' names no registry (e.g. ghcr.io/acme/claude-nexus-)"
cn_detect_engine

dests_for() {
  echo "$1:$TAG"
  if [[ $TAG != latest && ${PUSH_LATEST:-yes} == yes ]]; then echo "$1:latest"; fi
}

remote_platforms() {
  case "$CN_ENGINE" in
    docker) docker buildx imagetools inspect --raw "$1" ;;
    *) skopeo inspect --raw "docker://$1" 2>/dev/null || cn_img manifest inspect "docker://$1" ;;
  esac | jq -r '[.manifests[]?.platform | select(.os != "unknown") | .os + "/" + .architecture] | sort | unique | join(",")'
}

push_docker() {       # image
  local image=$1 arches=() a d
  for a in amd64 arm64; do docker image inspect "$image:$TAG-$a" >/dev/null 2>&1 && arches+=("$a"); done
  for d in $(dests_for "$image"); do
    if ((${#arches[@]})); then
      for a in "${arches[@]}"; do docker push -q "$image:$TAG-$a"; done
      docker manifest rm "$d" >/dev/null 2>&1 || true
      docker manifest create "$d" "${arches[@]/#/$image:$TAG-}"
      docker manifest push --purge "$d"
    else
      docker image inspect "$image:$TAG" >/dev/null 2>&1 ||
        cn_die "$image:$TAG is not a local image; build it with docker/build-images.sh $TAG"
      [[ "$d" == "$image:$TAG" ]] || docker tag "$image:$TAG" "$d"
      docker push "$d"
    fi
  done
}

push_oci() {          # image
  local image=$1 d
  cn_img manifest inspect "$image:$TAG" >/dev/null 2>&1 ||
    cn_die "no local manifest list $image:$TAG; build it with docker/build-images.sh $TAG"
  for d in $(dests_for "$image"); do
    cn_img manifest push --all --format v2s2 "$image:$TAG" "docker://$d"
  done
}

for target in "${TARGETS[@]}"; do
  image="$PREFIX$target"
  if [[ $CN_ENGINE == docker ]]; then push_docker "$image"; else push_oci "$image"; fi
  for d in $(dests_for "$image"); do
    got=$(remote_platforms "$d")
    echo "$d: $got"
    [[ $got == *linux/amd64*linux/arm64* ]] || cn_die "$d lacks a platform (has '$got')"
  done
done
