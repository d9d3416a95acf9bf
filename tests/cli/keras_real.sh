#!/usr/bin/env bash
# Real Keras files (../shared/data/keras-real, never committed; skipped with
# status 77 when the folder is absent; NN_KERAS_REAL overrides the place):
#   summary  prints Keras's total parameter count for every file nntrain
#            loads today (the table below: MANIFEST.tsv's weight_values_total),
#            the non-trainable count of the BatchNormalization files, and the
#            functional table of the ResNet;
#   predict  runs on random inputs of the model's shape and matches an
#            independent PyTorch forward pass of the file's weights
#            (scripts/keras_real_check.py; skipped without /usr/bin/python3,
#            h5py and torch): the R keras CNN with a LeakyReLU layer, the
#            Keras 3.6 MLP (InputLayer batch_shape, null optimizer options),
#            the tf.keras 2.1.6 MLP with BatchNormalization (its first
#            layer; inference with the moving statistics), and the three
#            functional files, each with its writer's quirks:
#              keras222_functional_unet_concat_convT.h5  Keras 2.2.2 "Model";
#                a flat 5184 input reshaped to 72x72x1 and back; the Reshape
#                layers carry batch_input_shape (ignored, as Keras does);
#                Concatenate on axis 3 and on -1; stride-2 Conv2DTranspose;
#                a custom metric "PSNR" in training_config (left out)
#              tfkeras230_functional_resnet_add_bn.h5  tf.keras 2.3 "Model";
#                input_layers/output_layers are dicts ({"data_in": [...]});
#                BN axis written as [3]; 7x7 stride-2 "same" Conv2D and 3x3
#                stride-2 "same" MaxPooling2D (TF's asymmetric padding);
#                AveragePooling2D "same" with stride 1; loss as a class dict
#              tfkeras240_functional_unet_concat_upsample.h5  tf.keras 2.4
#                "Functional"; UpSampling2D + Concatenate(axis=3) skips
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
keras222_functional_unet_concat_convT.h5 116,753
tfkeras230_functional_resnet_add_bn.h5 274,691
tfkeras240_functional_unet_concat_upsample.h5 93,889
TABLE

# BatchNormalization's moving statistics are Keras's non-trainable weights
while read -r f nt; do
    out=$(timeout 120 "$NN" summary "$DIR/$f" 2>&1)
    if grep -q "^Non-trainable params: $nt\$" <<<"$out"; then
        ok "summary $f: non-trainable $nt"
    else
        bad "summary $f" "expected 'Non-trainable params: $nt'"
    fi
done <<'TABLE'
tfkeras216_seq_mlp_batchnorm.h5 552
tfkeras230_functional_resnet_add_bn.h5 3,136
TABLE

# The functional files' summaries are Keras's functional table: the
# InputLayer first, "Connected to" with a line per input of a merge.
out=$(timeout 120 "$NN" summary "$DIR/tfkeras230_functional_resnet_add_bn.h5" 2>&1)
if grep -q '^input_5 (InputLayer) *\[(None, 128, 128, 3)\] *0 *$' <<<"$out" &&
    grep -A1 -q '^add_40 (Add) *(None, 32, 32, 128) *0 *conv2d_168\[0\]\[0\] *$' <<<"$out" &&
    grep -A1 '^add_40 (Add)' <<<"$out" | grep -q '^ *batch_normalization_127\[0\]\[0\] *$'; then
    ok "summary tfkeras230_functional_resnet_add_bn.h5: functional table"
else
    bad "summary tfkeras230_functional_resnet_add_bn.h5" "no InputLayer line or add_40's two inputs"
fi

# file, input scale, floor of the relative difference. The ResNet's softmax
# saturates (one class ~1, the others 1e-13 to 1e-10 on any input): its tiny
# probabilities are compared relatively, which tests every layer below.
while read -r f scale floor; do
    mkdir -p "$T/$f"
    "$PY" "$ROOT/scripts/keras_real_check.py" "$DIR/$f" "$T/$f" 6 "$scale"
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
    if "$PY" - "$T/$f/p.csv" "$T/$f/expect.csv" "$floor" <<'PYEOF'; then
import csv, sys
got = [r for r in csv.reader(open(sys.argv[1]))][1:]
want = [[float(v) for v in r] for r in csv.reader(open(sys.argv[2]))]
floor = float(sys.argv[3])
assert len(got) == len(want) and len(want) > 0, (len(got), len(want))
worst = 0.0
for g, w in zip(got, want):
    vals = [float(v) for v in g[1:1 + len(w)]]
    assert len(vals) == len(w), (len(vals), len(w))
    worst = max(worst, max(abs(a - b) / max(floor, abs(b)) for a, b in zip(vals, w)))
print("  max relative difference %.3g over %d rows of %d outputs" % (worst, len(want), len(want[0])))
sys.exit(0 if worst < 1e-3 else 1)
PYEOF
        ok "predict $f matches PyTorch"
    else
        bad "predict $f" "outputs differ from keras_real_check.py's"
    fi
done <<'TABLE'
rkeras224_seq_cnn_fruit.h5 1 1e-3
keras360_seq_dense_mnist.h5 1 1e-3
tfkeras216_seq_mlp_batchnorm.h5 1 1e-3
keras222_functional_unet_concat_convT.h5 1 1e-3
tfkeras230_functional_resnet_add_bn.h5 255 1e-30
tfkeras240_functional_unet_concat_upsample.h5 1 1e-3
TABLE

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
