# Generates build/generated/cn_version.h with the version, git revision and target architecture,
# which `claude-nexus --version` prints. CN_GIT_REVISION may be passed in (container builds have
# no .git); otherwise git is asked at configure time.
if(NOT DEFINED CN_GIT_REVISION OR CN_GIT_REVISION STREQUAL "")
  execute_process(COMMAND git rev-parse --short=12 HEAD
    WORKING_DIRECTORY ${CMAKE_SOURCE_DIR} OUTPUT_VARIABLE CN_GIT_REVISION
    OUTPUT_STRIP_TRAILING_WHITESPACE ERROR_QUIET)
  if(CN_GIT_REVISION STREQUAL "")
    set(CN_GIT_REVISION "unknown")
  endif()
endif()
if(CMAKE_SYSTEM_PROCESSOR)
  set(CN_TARGET_ARCH ${CMAKE_SYSTEM_PROCESSOR})
else()
  set(CN_TARGET_ARCH ${CMAKE_HOST_SYSTEM_PROCESSOR})
endif()
configure_file(${CMAKE_SOURCE_DIR}/cmake/cn_version.h.in ${CMAKE_BINARY_DIR}/generated/cn_version.h @ONLY)
add_library(cn_version INTERFACE)
target_include_directories(cn_version INTERFACE ${CMAKE_BINARY_DIR}/generated)
