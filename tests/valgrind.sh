#!/usr/bin/env bash
# Valgrind memcheck on short training runs: no invalid read or write, no use
# of uninitialised memory, no definite leak. The MPI, PMIx, hwloc and HDF5
# runtimes' own leaks are suppressed (tests/valgrind.supp, plus Open MPI's
# openmpi-valgrind.supp); nothing from nntrain's code is.
#   valgrind.sh NNTRAIN [MPIEXEC]
# NNTRAIN must not use AVX-512 (valgrind 3.19 cannot run it): CMake passes
# nntrain_portable, built without -march=native. Exit status 77 (skipped)
# when valgrind is not installed. Ends with "N passed, M failed".
set -u
NN=${1:?usage: valgrind.sh NNTRAIN [MPIEXEC]}
MPIEXEC=${2:-mpiexec}
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/cli/lib.sh"
command -v valgrind >/dev/null || { echo "SKIP: valgrind is not installed (scripts/setup.sh installs it)"; exit 77; }
T=$(mktemp -d "${TMPDIR:-/tmp}/nntrain-vg.XXXXXX") || exit 1
trap 'rm -rf "$T"' EXIT
export OPENBLAS_NUM_THREADS=1
# keep the MPI plugins loaded so that their frames have names to match
export OMPI_MCA_mca_base_component_disable_dlclose=1
VG=(valgrind --num-callers=40 --leak-check=full --errors-for-leak-kinds=definite
    --error-exitcode=99 --suppressions="$HERE/valgrind.supp")
[ -f /usr/share/openmpi/openmpi-valgrind.supp ] &&
    VG+=(--suppressions=/usr/share/openmpi/openmpi-valgrind.supp)

# memcheck NAME WANT ARGS...: nntrain ARGS under valgrind exits with WANT
# (valgrind's own errors: 99) and every process reports no error
n=0
memcheck() {
    local name=$1 want=$2 log
    shift 2
    n=$((n + 1))
    log=$T/vg$n.log
    timeout 300 "${VG[@]}" --log-file="$log.%p" "$NN" "$@" >"$T/out$n" 2>&1
    local rc=$?
    local summary
    summary=$(cat "$log".* 2>/dev/null | grep -h "ERROR SUMMARY" | sed 's/^==[0-9]*== //' | sort -u | tr '\n' ' ')
    if [ $rc -eq "$want" ] && [ -n "$summary" ] && ! grep -qv "ERROR SUMMARY: 0 errors" <<<"$(cat "$log".* | grep -h "ERROR SUMMARY")"; then
        ok "$name ($summary)"
    else
        bad "$name" "exit status $rc; $summary"
        cat "$log".* "$T/out$n" | head -80
    fi
}

cat >"$T/cnn.nn" <<'S'
Conv2D(4, (3, 3), activation="relu", input_shape=(8, 8, 1))
MaxPooling2D((2, 2))
Flatten()
Dropout(0.25)
Dense(10, activation="softmax")
compile(loss="sparse_categorical_crossentropy", optimizer=Adam(), metrics=["accuracy"])
fit(batch_size=16, epochs=1, validation_split=0.25, seed=3)
S
h5_from_idx "$NN" "$T/data.h5" 64 8 || { echo "cannot make the test data"; exit 1; }
idx_dir_random "$T/idx" 32 8

memcheck "train sqrt.nn on synthetic:sqrt:200, 1 epoch, evaluate" 0 \
    train "$HERE/../jobs/models/sqrt.nn" --data synthetic:sqrt:200 --epochs 1 --out "$T/o1" --verbose 2
memcheck "train a small CNN on an .h5 (prefetch thread, checkpoint)" 0 \
    train "$T/cnn.nn" --data "$T/data.h5" --out "$T/o2" --verbose 2 --checkpoint "$T/o2/best.h5"
memcheck "summary of the checkpoint (load)" 0 summary "$T/o2/last.h5"
memcheck "convert idx -> .h5" 0 convert idx "$T/idx" -o "$T/idx.h5"
memcheck "inspect the .h5 (checksums, duplicates)" 0 inspect "$T/data.h5"
memcheck "a bad input: missing data directory (error path)" 1 \
    train "$T/cnn.nn" --data "$T/missing_dir" --out "$T/o3" --verbose 2
if [ -x "$(command -v "$MPIEXEC")" ]; then
    n=$((n + 1))
    timeout 300 "$MPIEXEC" -n 2 --oversubscribe "${VG[@]}" --log-file="$T/mpi.log.%p" "$NN" \
        train "$T/cnn.nn" --data "$T/data.h5" --out "$T/o4" --verbose 2 >"$T/mpi.out" 2>&1
    rc=$?
    if [ $rc -eq 0 ] && [ "$(cat "$T"/mpi.log.* | grep -c "ERROR SUMMARY: 0 errors")" -eq 2 ]; then
        ok "mpiexec -n 2: both ranks clean"
    else
        bad "mpiexec -n 2" "exit status $rc"
        cat "$T"/mpi.log.* "$T/mpi.out" | head -80
    fi
fi
finish
