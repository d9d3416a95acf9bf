#!/usr/bin/env bash
# Callbacks in `nntrain train` (issue 18): ReduceLROnPlateau and EarlyStopping
# print Keras's lines and stop the run; a run interrupted mid-patience and
# after a reduction (--stop-after) and resumed gives bitwise the same weights,
# history and CSVLogger file as an uninterrupted one, on 1 and 2 ranks; the
# command-line options do what the spec's callbacks do.
# Usage: callbacks.sh NNTRAIN MPIEXEC
set -u
. "$(cd "$(dirname "$0")" && pwd)/lib.sh"
nntrain=$(realpath "$1") mpiexec=${2:-mpiexec}
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT

# min_delta=100 on a loss below 20: nothing improves after epoch 1, so
# ReduceLROnPlateau (patience 1, cooldown 2) reduces after epochs 2 and 4
# (and would after 6), and EarlyStopping (patience 4) stops after epoch 5,
# restoring epoch 1's weights.
cat > "$T/m.nn" <<'SPEC'
Dense(32, activation="relu", input_shape=(1,))
Dropout(0.2)
Dense(1)
compile(loss="mse", optimizer=Adam(lr=0.01), metrics=["mae"])
fit(batch_size=32, epochs=8, validation_split=0.2, seed=5, callbacks=list(
    ReduceLROnPlateau(monitor="loss", factor=0.5, patience=1, cooldown=2, min_delta=100),
    EarlyStopping(min_delta=100, patience=4, restore_best_weights=True),
    CSVLogger("log.csv")))
SPEC
data=synthetic:sqrt:3000     # 75 steps per epoch
weights() {   # model weights of a checkpoint as one comparable text
  /usr/bin/python3 - "$1" <<'PY'
import sys, h5py
f = h5py.File(sys.argv[1], "r")
def show(name, o):
    if isinstance(o, h5py.Dataset):
        print(name, o.shape, o[()].tobytes().hex())
f["model_weights"].visititems(show)
PY
}
run() { timeout 120 "$@" --no-test >"$T/out" 2>"$T/err"; }

for np in 1 2; do
  L=""; [ "$np" -gt 1 ] && L="$mpiexec -n $np --oversubscribe"
  A=$T/a$np B=$T/b$np
  mkdir -p "$A" "$B"
  (cd "$A" && run $L "$nntrain" train "$T/m.nn" --data $data --out "$A" --threads 1 --verbose 2)
  check "np=$np uninterrupted run" '[ -s "$A/last.h5" ]'
  check "np=$np reduction after epoch 2" 'grep -qx "Epoch 00002: ReduceLROnPlateau reducing learning rate to 0.005." "$T/out"'
  check "np=$np reduction after epoch 4" 'grep -qx "Epoch 00004: ReduceLROnPlateau reducing learning rate to 0.0025." "$T/out"'
  check "np=$np two reductions only" '[ "$(grep -c ReduceLROnPlateau "$T/out")" -eq 2 ]'
  check "np=$np restores epoch 1" 'grep -qx "Restoring model weights from the end of the best epoch: 1." "$T/out"'
  check "np=$np early stopping after epoch 5" 'grep -qx "Epoch 00005: early stopping" "$T/out"'
  check "np=$np history has 5 epochs" '[ "$(wc -l < "$A/history.csv")" -eq 6 ]'
  check "np=$np CSVLogger file" '[ "$(head -1 "$A/log.csv")" = "epoch,loss,lr,mae,val_loss,val_mae" ] && [ "$(wc -l < "$A/log.csv")" -eq 6 ] && [ "$(tail -1 "$A/log.csv" | cut -d, -f1)" = 4 ]'
  # stopped at step 255, in epoch 4: after the first reduction, in its
  # cooldown, and EarlyStopping 2 epochs into its patience
  (cd "$B" && run $L "$nntrain" train "$T/m.nn" --data $data --out "$B" --threads 1 --verbose 2 --stop-after 255)
  check "np=$np --stop-after mid-patience exits 75" '[ -s "$B/last.h5" ] && grep -q "stopped by --stop-after at epoch 4" "$T/err"'
  (cd "$B" && run $L "$nntrain" train "$T/m.nn" --data $data --out "$B" --threads 1 --verbose 2 --resume auto)
  check "np=$np resumed run finishes" '[ $? -eq 0 ] && grep -qx "Epoch 00005: early stopping" "$T/out"' ||
    sed 's/^/     | /' "$T/err" | tail -n 5
  check "np=$np resumed run reduces once more, after epoch 4" '[ "$(grep -c ReduceLROnPlateau "$T/out")" -eq 1 ] && grep -q "Epoch 00004: ReduceLROnPlateau reducing learning rate to 0.0025." "$T/out"'
  check "np=$np resumed weights bitwise equal" '[ -s "$A/last.h5" ] && [ -s "$B/last.h5" ] && [ "$(weights "$A/last.h5")" = "$(weights "$B/last.h5")" ]'
  check "np=$np resumed history equal" 'cmp -s "$A/history.csv" "$B/history.csv"'
  check "np=$np resumed CSVLogger file equal" 'cmp -s "$A/log.csv" "$B/log.csv"'
  (cd "$B" && run $L "$nntrain" train "$T/m.nn" --data $data --out "$B" --threads 1 --verbose 2 --resume auto)
  check "np=$np resuming a stopped run trains nothing" '[ $? -eq 0 ] && grep -q "EarlyStopping stopped this run after epoch 5: nothing left to train" "$T/out" && cmp -s "$A/history.csv" "$B/history.csv"'
done

# the command-line options, without callbacks in the spec; a frozen model's
# loss never improves: reductions after epochs 2 (0.005) and 3 (floor 0.004),
# a stop after epoch 3 (patience 2)
cat > "$T/p.nn" <<'SPEC'
Dense(1, input_shape=(1,), trainable=False)
compile(loss="mse", optimizer=SGD(lr=0.01))
fit(batch_size=32, epochs=6, seed=5)
SPEC
C=$T/c
run "$nntrain" train "$T/p.nn" --data synthetic:sqrt:600 --out "$C" --threads 1 --verbose 2 \
  --early-stopping-monitor loss --early-stopping-patience 2 --reduce-lr-monitor loss \
  --reduce-lr-patience 0 --reduce-lr-factor 0.5 --min-lr 0.004
check "CLI: ReduceLROnPlateau by the options" 'grep -qx "Epoch 00002: ReduceLROnPlateau reducing learning rate to 0.005." "$T/out"'
check "CLI: --min-lr floors the learning rate" 'grep -qx "Epoch 00003: ReduceLROnPlateau reducing learning rate to 0.004." "$T/out" && [ "$(grep -c ReduceLROnPlateau "$T/out")" -eq 2 ]'
check "CLI: EarlyStopping by the options" 'grep -qx "Epoch 00003: early stopping" "$T/out" && [ "$(wc -l < "$C/history.csv")" -eq 4 ]'
run "$nntrain" train "$T/p.nn" --data synthetic:sqrt:600 --out "$C" --threads 1 --verbose 0 --early-stopping-monitor val_los --validation-split 0.2
check "CLI: unknown monitor names the metrics" 'grep -q "monitor .val_los. is not one of this run.s metrics: did you mean .val_loss.? (monitors: loss, val_loss, lr)" "$T/err"'
run "$nntrain" train "$T/p.nn" --data synthetic:sqrt:600 --out "$C" --threads 1 --verbose 0 --early-stopping-patience 2
check "CLI: val_loss without validation data" 'grep -q "there is no validation data" "$T/err"'
run "$nntrain" train "$T/p.nn" --data synthetic:sqrt:600 --out "$C" --threads 1 --verbose 0 --reduce-lr-factor 1
check "CLI: --reduce-lr-factor 1 refused (usage)" '[ $? -eq 2 ] && grep -q "reduce-lr-factor must be in (0, 1)" "$T/err"'

finish
