# Toolchain for linux/arm64 (Docker TARGETARCH=arm64) on a Debian build host.
# Debian multiarch keeps the target's libraries and headers beside the host's
# (/usr/lib/aarch64-linux-gnu, /usr/include/aarch64-linux-gnu), so no separate
# sysroot is needed: install crossbuild-essential-arm64 and lib*-dev:arm64.
set(CN_TARGET_TRIPLET aarch64-linux-gnu)
set(CMAKE_SYSTEM_PROCESSOR aarch64)
include(${CMAKE_CURRENT_LIST_DIR}/debian-multiarch.cmake)
