#!/usr/bin/env bash
# Smoke test of `nntrain train`: jobs/models/sqrt.nn on synthetic:sqrt for 3
# epochs. Checks the exit status, the Keras-style epoch lines, the history
# CSV, that the loss goes down, --verbose 0, and that two runs with the same
# seed write byte-identical histories.
#
# usage: train_smoke.sh NNTRAIN [MPIEXEC]   (MPIEXEC is accepted and unused)
set -u
NN=${1:?usage: train_smoke.sh NNTRAIN [MPIEXEC]}
HERE=$(cd "$(dirname "$0")" && pwd)
SPEC=$HERE/../../jobs/models/sqrt.nn
T=$(mktemp -d "${TMPDIR:-/tmp}/nntrain-smoke.XXXXXX") || exit 1
trap 'rm -rf "$T"' EXIT
export OPENBLAS_NUM_THREADS=${OPENBLAS_NUM_THREADS:-1}

pass=0
fail=0
ok() { pass=$((pass + 1)); printf 'ok   %s\n' "$1"; }
bad() { fail=$((fail + 1)); printf 'FAIL %s: %s\n' "$1" "$2"; }
# expect NAME COMMAND...: passes when COMMAND succeeds
expect() { local n=$1; shift; if "$@"; then ok "$n"; else bad "$n" "check failed: $*"; fi; }

# run NAME OUTDIR ARGS...: trains into OUTDIR; stdout/stderr in $T/NAME.{out,err}
run() {
    local name=$1 out=$2
    shift 2
    timeout 60 "$NN" train "$SPEC" --data synthetic:sqrt --epochs 3 --out "$out" "$@" \
        >"$T/$name.out" 2>"$T/$name.err"
}

run a "$T/a"   # the spec's verbose (1): no progress bar off a terminal
rc=$?
if [ $rc -eq 0 ]; then ok "exit status 0"; else bad "exit status 0" "got $rc: $(head -n3 "$T/a.err")"; fi

re='^Epoch [1-3]/3 .* - loss: [0-9.e+-]+ - mae: [0-9.e+-]+ - val_loss: [0-9.e+-]+ - val_mae: [0-9.e+-]+$'
n=$(grep -Ec "$re" "$T/a.out")
if [ "$n" -eq 3 ]; then ok "three epoch lines with loss and val_loss"; else
    bad "three epoch lines with loss and val_loss" "found $n: $(grep Epoch "$T/a.out" | head -n 5)"; fi
for k in 1 2 3; do
    expect "line 'Epoch $k/3' appears exactly once" \
        test "$(grep -c "^Epoch $k/3 " "$T/a.out")" -eq 1
done

H=$T/a/history.csv
if [ -f "$H" ]; then ok "history.csv written"; else bad "history.csv written" "no $H"; fi
expect "history header" test "$(head -n1 "$H" 2>/dev/null)" = "epoch,loss,mae,val_loss,val_mae,lr"
expect "history has 3 rows" test "$(tail -n +2 "$H" 2>/dev/null | wc -l)" -eq 3
expect "history epochs are 1,2,3" \
    test "$(tail -n +2 "$H" 2>/dev/null | cut -d, -f1 | tr '\n' ' ')" = "1 2 3 "
expect "no temporary file left" test -z "$(find "$T/a" -name '*.tmp*')"
# loss decreased: epoch 3's loss below epoch 1's (and finite numbers)
expect "loss decreased (epoch 3 < epoch 1)" awk -F, '
    NR == 2 { first = $2 } NR == 4 { last = $2 }
    END { exit !(first + 0 == first && last + 0 == last && last < first) }' "$H"
expect "epoch-line loss matches the CSV" awk -v l="$(grep '^Epoch 3/3 ' "$T/a.out" |
    sed -E 's/.* - loss: ([0-9.e+-]+) .*/\1/')" -F, 'NR == 4 {
    d = $2 - l; exit !(l != "" && d < 5e-5 && d > -5e-5) }' "$H"

run quiet "$T/q" --verbose 0
rc=$?
expect "--verbose 0 exits 0" test $rc -eq 0
expect "--verbose 0 prints no epoch lines" test "$(grep -c 'Epoch' "$T/quiet.out")" -eq 0
expect "--verbose 0 still writes the history" test -f "$T/q/history.csv"

run b "$T/b" --verbose 2
rc=$?
expect "second run exits 0" test $rc -eq 0
expect "same seed => byte-identical history" cmp -s "$H" "$T/b/history.csv"
expect "--verbose 0 history identical too" cmp -s "$H" "$T/q/history.csv"

run c "$T/c" --verbose 0 --seed 7
expect "another seed => different history" test -f "$T/c/history.csv" -a \
    -n "$(cmp "$H" "$T/c/history.csv" 2>&1)"

# train MODEL.h5: the file's architecture, compile() and weights, trained further:
# its first epoch starts where the first run ended, not from a fresh model
timeout 60 "$NN" train "$T/a/last.h5" --data synthetic:sqrt --epochs 1 --out "$T/h5" --verbose 2 \
    >"$T/h5.out" 2>"$T/h5.err"
rc=$?
expect "train last.h5 exits 0" test $rc -eq 0
expect "train last.h5 says it starts from the file's weights" grep -q "Weights loaded from $T/a/last.h5" "$T/h5.out"
l3=$(sed -n 4p "$H" | cut -d, -f2)
l1=$(sed -n 2p "$T/h5/history.csv" | cut -d, -f2)
f1=$(sed -n 2p "$H" | cut -d, -f2)
expect "train last.h5: first epoch's loss ($l1) nearer the first run's last ($l3) than its first ($f1)" \
    awk -v a="$l1" -v b="$l3" -v c="$f1" 'BEGIN { d1 = a - b; d2 = a - c; exit !(d1 * d1 < d2 * d2) }'

echo
echo "history.csv of the first run:"
cat "$H" 2>/dev/null
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
