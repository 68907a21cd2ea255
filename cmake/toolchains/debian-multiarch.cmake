# Shared part of the Debian multiarch toolchains; the including file sets
# CN_TARGET_TRIPLET and CMAKE_SYSTEM_PROCESSOR first.
#
# Contract: everything the build links comes from the target's multiarch
# directories. Host programs (cmake, ninja, ccache, pkg-config) stay native.
set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_C_COMPILER ${CN_TARGET_TRIPLET}-gcc)
set(CMAKE_CXX_COMPILER ${CN_TARGET_TRIPLET}-g++)
set(CMAKE_AR ${CN_TARGET_TRIPLET}-ar CACHE FILEPATH "")
set(CMAKE_RANLIB ${CN_TARGET_TRIPLET}-ranlib CACHE FILEPATH "")
set(CMAKE_STRIP ${CN_TARGET_TRIPLET}-strip CACHE FILEPATH "")
# Makes find_library/find_package look in lib/<triplet> (and only the target's).
set(CMAKE_LIBRARY_ARCHITECTURE ${CN_TARGET_TRIPLET})

set(CMAKE_FIND_ROOT_PATH /usr/${CN_TARGET_TRIPLET})
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
# BOTH (not ONLY): the multiarch libraries live in /usr/lib/<triplet>, outside
# the cross root; CMAKE_LIBRARY_ARCHITECTURE keeps the host's out of the way.
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY BOTH)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE BOTH)
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE BOTH)

# pkg-config must read the target's .pc files, never the host's.
set(ENV{PKG_CONFIG_LIBDIR} "/usr/lib/${CN_TARGET_TRIPLET}/pkgconfig:/usr/share/pkgconfig")
set(ENV{PKG_CONFIG_PATH} "")

# gtest_discover_tests would otherwise run every test binary at build time,
# i.e. execute target code on the build machine. Discover when ctest runs.
set(CMAKE_GTEST_DISCOVER_TESTS_DISCOVERY_MODE PRE_TEST CACHE STRING "")

# Lets ctest run the target's tests on another architecture when the user
# installed qemu-user-static (scripts/cross-test.sh does not need this).
if(NOT CMAKE_HOST_SYSTEM_PROCESSOR STREQUAL CMAKE_SYSTEM_PROCESSOR)
  find_program(CN_QEMU_USER qemu-${CMAKE_SYSTEM_PROCESSOR}-static)
  if(CN_QEMU_USER)
    set(CMAKE_CROSSCOMPILING_EMULATOR ${CN_QEMU_USER})
  endif()
endif()
