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
set +e
ctest --output-on-failure -j2 --timeout 600 | tee ctest.out
rc=${PIPESTATUS[0]}
set -e
# CTest shows the output of failed tests only. A test that skips (exit status
# 77) prints its reason as a "SKIP: ..." line: repeat those lines, taken from
# CTest's log of the outputs, for every test that did not run.
sed -n '/^The following tests did not run:/,/^$/s/^[[:space:]]*[0-9]* - \(.*\)$/\1/p' ctest.out >ctest.skipped
if [ -s ctest.skipped ]; then
  echo "Skipped tests and their reasons:"
  while read -r name status; do
    why=$(awk -v t="$name" '
      $2 == "Test:" && $3 == t && $1 ~ /^[0-9]+\/[0-9]+$/ { p = 1; next }
      p && /^Output:$/ { o = 1; getline; next }
      p && o && /^<end of output>$/ { exit }
      p && o && NF { last = $0 }
      p && o && /^SKIP/ { print; found = 1 }
      END { if (!found && last != "") print "(no SKIP: line; its last output line:) " last }' \
      Testing/Temporary/LastTest.log 2>/dev/null)
    printf '  %s %s: %s\n' "$name" "$status" "${why:-(no output)}" | sed '2,$s/^/    /'
  done <ctest.skipped
  # CTest's verdict stays the last line of the run
  grep -E '^[0-9]+% tests passed' ctest.out | tail -n 1
fi
exit "$rc"
