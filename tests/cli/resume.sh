#!/usr/bin/env bash
# Checkpoints and resume (issue: checkpoints): a run stopped mid-epoch (as a
# preemption: --stop-after, and a real SIGUSR1) and resumed gives bitwise the
# same parameters and history as an uninterrupted run, on 1 and 2 ranks;
# ModelCheckpoint writes the best model; a stop exits with status 75.
# Usage: resume.sh NNTRAIN MPIEXEC
set -u
. "$(cd "$(dirname "$0")" && pwd)/lib.sh"
nntrain=$1 mpiexec=${2:-mpiexec}
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT

cat > "$T/m.nn" <<'SPEC'
Dense(32, activation="relu", input_shape=(1,))
Dropout(0.2)
Dense(1)
compile(loss="mse", optimizer=Adam(lr=0.01), metrics=["mae"])
fit(batch_size=32, epochs=3, validation_split=0.2, seed=5)
SPEC
data=synthetic:sqrt:3000     # 75 steps per epoch
weights() {   # model weights of a checkpoint as one comparable text
  /usr/bin/python3 - "$1" <<'PY'
import sys, h5py, numpy as np
f = h5py.File(sys.argv[1], "r")
def show(name, o):
    if isinstance(o, h5py.Dataset):
        print(name, o.shape, o[()].tobytes().hex())
f["model_weights"].visititems(show)
PY
}
run() { timeout 120 "$@" --verbose 0 --no-test >/dev/null 2>"$T/err"; }

for np in 1 2; do
  L=""; [ "$np" -gt 1 ] && L="$mpiexec -n $np --oversubscribe"
  A=$T/a$np B=$T/b$np
  run $L "$nntrain" train "$T/m.nn" --data $data --out "$A" --threads 1
  check "np=$np uninterrupted run" '[ -s "$A/last.h5" ]'
  run $L "$nntrain" train "$T/m.nn" --data $data --out "$B" --threads 1 --stop-after 100
  rc=$?
  check "np=$np --stop-after exits 75 (got $rc)" '[ "$rc" -eq 75 ]'
  check "np=$np stop message names the checkpoint" 'grep -q "checkpoint written to $B/last.h5" "$T/err"'
  check "np=$np stop message says --stop-after, not a signal" 'grep -q "stopped by --stop-after at epoch" "$T/err"'
  check "np=$np stopped checkpoint loads" '"$nntrain" summary "$B/last.h5" >/dev/null 2>&1'
  run $L "$nntrain" train "$T/m.nn" --data $data --out "$B" --threads 1 --resume auto
  check "np=$np resumed run finishes" '[ $? -eq 0 ]'
  check "np=$np resumed weights bitwise equal" '[ -s "$A/last.h5" ] && [ -s "$B/last.h5" ] && [ "$(weights "$A/last.h5")" = "$(weights "$B/last.h5")" ]'
  check "np=$np resumed history equal" 'cmp -s "$A/history.csv" "$B/history.csv"'
  timeout 60 $L "$nntrain" train "$T/m.nn" --data $data --out "$B" --threads 1 --resume auto \
      --no-test >"$T/again.out" 2>&1
  check "np=$np resume with nothing left says so" '[ $? -eq 0 ] && grep -q "Nothing left to train: $B/last.h5 has all" "$T/again.out"'
done

# A real signal mid-epoch (SIGUSR1 to the process), then resume. The model
# and data are big enough that an epoch takes several seconds (300000 rows
# took 5 s on a slower day's machine and 1.5 s on an idle one, where the
# signal at 1.5 s came after the end: 10^6 rows, about 5 s there; the
# sanitizer build's run stays inside the 120 s timeout of the resumed run).
cat > "$T/big.nn" <<'SPEC'
Dense(256, activation="relu", input_shape=(1,))
Dense(256, activation="relu")
Dense(1)
compile(loss="mse", optimizer="adam")
fit(batch_size=64, epochs=1, seed=5)
SPEC
C=$T/c
"$nntrain" train "$T/big.nn" --data synthetic:sqrt:1000000 --out "$C" --threads 1 \
  --verbose 0 --no-test 2>"$T/err" &
pid=$!
sleep 1.5
kill -USR1 $pid
wait $pid
rc=$?
check "SIGUSR1 exits 75 (got $rc)" '[ "$rc" -eq 75 ]'
check "SIGUSR1 leaves a loadable checkpoint" '"$nntrain" summary "$C/last.h5" >/dev/null 2>&1'
run "$nntrain" train "$T/big.nn" --data synthetic:sqrt:1000000 --out "$C" --threads 1 --resume "$C/last.h5"
check "resumed after SIGUSR1 finishes" '[ $? -eq 0 ] && [ "$(wc -l < "$C/history.csv")" -eq 2 ]'

# A signal during start-up (a job signalled right after it started): taken
# from the first instruction, so training stops at its first step with a
# checkpoint instead of the process dying.
E=$T/e
"$nntrain" train "$T/big.nn" --data synthetic:sqrt:300000 --out "$E" --threads 1 \
  --verbose 2 --no-test >"$T/e.out" 2>&1 &
pid=$!
for _ in $(seq 600); do grep -q 'Total params' "$T/e.out" 2>/dev/null && break; sleep 0.1; done
kill -USR1 $pid
wait $pid
rc=$?
check "SIGUSR1 during start-up exits 75 (got $rc)" '[ "$rc" -eq 75 ]'
check "SIGUSR1 during start-up leaves a checkpoint" '"$nntrain" summary "$E/last.h5" >/dev/null 2>&1'

# ModelCheckpoint: best model by val_mae (min), Keras messages.
D=$T/d
timeout 120 "$nntrain" train "$T/m.nn" --data $data --out "$D" --checkpoint "$D/best.h5" \
  --monitor val_mae --save-best-only --verbose 2 --no-test >"$T/out" 2>&1
check "best checkpoint written" '[ -s "$D/best.h5" ] && grep -q "saving model to $D/best.h5" "$T/out"'
check "unknown monitor refused before training" '! "$nntrain" train "$T/m.nn" --data $data --out "$D" --checkpoint "$D/x.h5" --monitor val_f1 --verbose 0 2>"$T/err" && grep -q "not one of this run" "$T/err" && [ ! -e "$D/x.h5" ]'
check "resume from a corrupt checkpoint refused" 'head -c 3000 "$D/best.h5" > "$T/bad.h5"; ! "$nntrain" train "$T/m.nn" --data $data --out "$T/e" --resume "$T/bad.h5" --verbose 0 2>"$T/err" && grep -q "bad.h5" "$T/err"'

finish
