#!/usr/bin/env bash
# A dataset file changed under a job is detected on resume: the checkpoint
# keeps the checksum attribute of the training data's /train/x (written by
# nntrain's converters), and `train --resume` refuses data whose checksum
# differs, naming the file and both checksums. The same file, unchanged,
# resumes. A file without a checksum attribute (h5py) cannot be checked and
# resumes.
#   data_changed.sh NNTRAIN [MPIEXEC]
set -u
NN=${1:?usage: data_changed.sh NNTRAIN [MPIEXEC]}
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/../cli/lib.sh"
T=$(mktemp -d "${TMPDIR:-/tmp}/nntrain-chg.XXXXXX") || exit 1
trap 'rm -rf "$T"' EXIT
export OPENBLAS_NUM_THREADS=1
"$NN" train --help 2>&1 | grep -q -- '--resume' ||
    { echo "SKIP: nntrain train has no --resume yet"; exit 77; }

cat >"$T/m.nn" <<'S'
Conv2D(2, (3, 3), activation="relu", input_shape=(8, 8, 1))
Flatten()
Dense(10, activation="softmax")
compile(loss="sparse_categorical_crossentropy", optimizer=Adam(), metrics=["accuracy"])
fit(batch_size=8, epochs=3, seed=2)
S
h5_from_idx "$NN" "$T/data.h5" 64 8 || { echo "cannot make the data"; exit 1; }
h5_from_idx "$NN" "$T/other.h5" 64 8 || exit 1
run() { timeout 120 "$NN" train "$T/m.nn" --no-test --verbose 2 "$@" >"$T/out" 2>"$T/err"; }

# stop after 10 steps (as a preemption): DIR/last.h5, exit status 75
run --data "$T/data.h5" --out "$T/a" --stop-after 10
rc=$?
[ $rc -eq 75 ] && [ -f "$T/a/last.h5" ] && ok "stopped mid-run with a checkpoint (exit 75)" ||
    { bad "stop mid-run" "exit $rc: $(tail -2 "$T/err")"; finish; exit 1; }

# the data is replaced by a different file under the same name
cp "$T/other.h5" "$T/data.h5"
run --data "$T/data.h5" --out "$T/a" --resume auto
rc=$?
msg=$(grep -m1 error "$T/err")
echo "     changed data: exit $rc: $msg"
[ $rc -eq 1 ] && ok "resume on changed data fails (exit 1)" || bad "resume on changed data" "exit $rc"
grep -q 'data.h5' <<<"$msg" && grep -qi 'changed\|checksum' <<<"$msg" &&
    ok "the message names the file and the checksum" || bad "message" "$msg"
grep -q '^Epoch' "$T/out" && bad "no training" "an Epoch line was printed" || ok "no step was trained"

# unchanged data resumes
run --data "$T/other.h5" --out "$T/c" --stop-after 10
run --data "$T/other.h5" --out "$T/c" --resume auto
rc=$?
[ $rc -eq 0 ] && ok "resume on the same data finishes" || bad "resume on the same data" "exit $rc: $(tail -2 "$T/err")"

# a file without a checksum attribute (h5py): nothing to compare, resumes
if have_h5py; then
    /usr/bin/python3 - "$T/other.h5" "$T/plain.h5" <<'P'
import sys, h5py
src = h5py.File(sys.argv[1], "r")
with h5py.File(sys.argv[2], "w") as f:
    for s in ("train", "test"):
        f[s + "/x"] = src[s + "/x"][()]
        f[s + "/y"] = src[s + "/y"][()]
P
    run --data "$T/plain.h5" --out "$T/d" --stop-after 10
    run --data "$T/plain.h5" --out "$T/d" --resume auto
    rc=$?
    [ $rc -eq 0 ] && ok "no checksum attribute: resumes" || bad "no checksum attribute" "exit $rc: $(tail -2 "$T/err")"
fi
finish
