# Toolchain for linux/amd64 (Docker TARGETARCH=amd64) on a Debian build host.
# On an x86-64 host this is the native compiler under its triplet name; on an
# arm64 host (e.g. a native arm64 CI runner) it needs crossbuild-essential-amd64
# and lib*-dev:amd64. Used for both so that every image goes through one path.
set(CN_TARGET_TRIPLET x86_64-linux-gnu)
set(CMAKE_SYSTEM_PROCESSOR x86_64)
include(${CMAKE_CURRENT_LIST_DIR}/debian-multiarch.cmake)
