#!/usr/bin/env bash
# Real Keras files (../shared/data/keras-real, never committed; skipped with
# status 77 when the folder is absent; NN_KERAS_REAL overrides the place):
#   summary  prints Keras's total parameter count for every file nntrain
#            loads today (the table below: MANIFEST.tsv's weight_values_total);
#   predict  runs on random inputs of the model's shape and matches an
#            independent PyTorch forward pass of the file's weights
#            (scripts/keras_real_check.py; skipped without /usr/bin/python3,
#            h5py and torch): the R keras CNN with a LeakyReLU layer, the
#            Keras 3.6 MLP (InputLayer batch_shape, null optimizer options),
#            and the tf.keras 2.1.6 MLP with BatchNormalization (its first
#            layer; inference with the moving statistics).
# usage: keras_real.sh NNTRAIN
set -u
NN=${1:?usage: keras_real.sh NNTRAIN}
case $NN in /*) ;; *) NN=$PWD/$NN ;; esac
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$HERE/../..
DIR=${NN_KERAS_REAL:-}
# the repository's sibling shared/ folder (main checkout or a worktree one level deeper)
for d in "$ROOT/../shared/data/keras-real" "$ROOT/../../shared/data/keras-real"; do
    [ -z "$DIR" ] && [ -d "$d" ] && DIR=$d
done
if [ -z "$DIR" ] || [ ! -d "$DIR" ]; then
    echo "keras-real folder not found: skipped"
    exit 77
fi
T=$(mktemp -d "${TMPDIR:-/tmp}/nntrain-kreal.XXXXXX") || exit 1
trap 'rm -rf "$T"' EXIT
export OPENBLAS_NUM_THREADS=${OPENBLAS_NUM_THREADS:-1}
PY=/usr/bin/python3

pass=0
fail=0
ok() { pass=$((pass + 1)); printf 'ok   %s\n' "$1"; }
bad() { fail=$((fail + 1)); printf 'FAIL %s: %s\n' "$1" "$2"; }

# file, Keras's total parameter count
while read -r f total; do
    out=$(timeout 120 "$NN" summary "$DIR/$f" 2>&1)
    if grep -q "^Total params: $total\$" <<<"$out"; then
        ok "summary $f: $total"
    else
        bad "summary $f" "expected 'Total params: $total', got: $(tail -n 3 <<<"$out")"
    fi
done <<'TABLE'
keras204_seq_dense_mnist.h5 7,850
keras224_seq_cnn_mnist.h5 34,794
keras360_seq_dense_mnist.h5 101,770
rkeras224_seq_cnn_fruit.h5 133,726
tfkeras212_seq_conv2dtranspose_autoencoder.h5 28,353
tfkeras215_seq_embedding_lstm_imdb.h5 213,301
tfkeras215_seq_embedding_simplernn_imdb.h5 124,889
tfkeras216_seq_mlp_batchnorm.h5 36,945
TABLE

# BatchNormalization's moving statistics are Keras's non-trainable weights
out=$(timeout 120 "$NN" summary "$DIR/tfkeras216_seq_mlp_batchnorm.h5" 2>&1)
if grep -q "^Non-trainable params: 552\$" <<<"$out"; then
    ok "summary tfkeras216_seq_mlp_batchnorm.h5: non-trainable 552"
else
    bad "summary tfkeras216_seq_mlp_batchnorm.h5" "expected 'Non-trainable params: 552'"
fi

for f in rkeras224_seq_cnn_fruit.h5 keras360_seq_dense_mnist.h5 tfkeras216_seq_mlp_batchnorm.h5; do
    mkdir -p "$T/$f"
    "$PY" "$ROOT/scripts/keras_real_check.py" "$DIR/$f" "$T/$f" 6
    rc=$?
    if [ $rc -eq 77 ] || [ ! -x "$PY" ]; then
        echo "skip predict $f: no /usr/bin/python3 with h5py and torch"
        continue
    elif [ $rc -ne 0 ]; then
        bad "predict $f" "keras_real_check.py failed ($rc)"
        continue
    fi
    if ! timeout 120 "$NN" predict "$DIR/$f" --data "$T/$f/data.h5" -o "$T/$f/p.csv" \
        >"$T/$f/out" 2>&1; then
        bad "predict $f" "$(tail -n 3 "$T/$f/out")"
        continue
    fi
    # nntrain's CSV: index, one column per class, predicted, true
    if "$PY" - "$T/$f/p.csv" "$T/$f/expect.csv" <<'PYEOF'; then
import csv, sys
got = [r for r in csv.reader(open(sys.argv[1]))][1:]
want = [[float(v) for v in r] for r in csv.reader(open(sys.argv[2]))]
assert len(got) == len(want) and len(want) > 0, (len(got), len(want))
worst = 0.0
for g, w in zip(got, want):
    vals = [float(v) for v in g[1:1 + len(w)]]
    worst = max(worst, max(abs(a - b) / max(1e-3, abs(b)) for a, b in zip(vals, w)))
print("  max relative difference %.3g over %d rows" % (worst, len(want)))
sys.exit(0 if worst < 1e-3 else 1)
PYEOF
        ok "predict $f matches PyTorch"
    else
        bad "predict $f" "outputs differ from keras_real_check.py's"
    fi
done

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
