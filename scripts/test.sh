#!/usr/bin/env bash
# The whole test suite: installs missing Debian packages (scripts/setup.sh),
# builds with warnings as errors and runs every CTest test (unit, golden,
# MPI through mpiexec, CLI, Slurm). .ci/run calls exactly this.
#   scripts/test.sh               normal build in build-test/
#   scripts/test.sh --sanitize    -fsanitize=address,undefined build in build-asan/
set -euo pipefail
cd "$(dirname "$0")/.."

BUILD=build-test
ARGS=(-DNN_WERROR=ON)
if [ "${1:-}" = "--sanitize" ]; then
  BUILD=build-asan
  ARGS+=(-DNN_SANITIZE=ON -DCMAKE_BUILD_TYPE=Debug)
  # Open MPI and HDF5 keep allocations until exit: tests/lsan.supp lists
  # them. Full unwinding (the libraries have no frame pointers) and Open MPI
  # plugins kept loaded make their stacks matchable by library name.
  export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1:fast_unwind_on_malloc=0}
  export LSAN_OPTIONS=${LSAN_OPTIONS:-suppressions=$PWD/tests/lsan.supp:print_suppressions=0:fast_unwind_on_malloc=0}
  export OMPI_MCA_mca_base_component_disable_dlclose=1
fi

scripts/setup.sh --build-dir "$BUILD" "${ARGS[@]}"
# Open MPI refuses to run as root unless told; oversubscription is allowed
# per test (mpiexec --oversubscribe).
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
cd "$BUILD"
ctest --output-on-failure -j2 --timeout 600
