#!/usr/bin/env bash
# Keras files as each real writer lays them out (tests/fixtures/keras_writers,
# written by scripts/gen_keras_writers.py; its README.md says which writer
# and quirks each file carries): summary prints Keras's parameter total, and
# predict on STEM.io.h5 gives the outputs the generator computed in PyTorch
# from the same weights (STEM.expect.csv). The save_weights file (no
# architecture) goes onto tfkeras_save_weights.nn with train --init-weights
# (SGD with learning rate 0 for one epoch: the weights stay as loaded); the
# .keras files also load for --init-weights, train MODEL.keras and evaluate.
#   keras_writers.sh NNTRAIN
set -u
NN=$(realpath "${1:?usage: keras_writers.sh NNTRAIN}")
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/lib.sh"
FIX=$HERE/../fixtures/keras_writers
T=$(mktemp -d "${TMPDIR:-/tmp}/nntrain-kwriters.XXXXXX") || exit 1
trap 'rm -rf "$T"' EXIT
cd "$T" || exit 1
export OPENBLAS_NUM_THREADS=1

# same GOT EXPECT: nntrain's predict CSV (index, class columns, predicted,
# true) against the expected rows (one value per output; a single sigmoid
# output is nntrain's class_1 column), to 1e-5 (the CSV has 6 digits)
same() {
    awk -F, 'NR == FNR { n = NF; for (i = 1; i <= NF; i++) w[FNR, i] = $i; rows = FNR; next }
        FNR == 1 { next }
        { r = FNR - 1; got++
          for (i = 1; i <= n; i++) {
              g = (n == 1) ? $3 : $(i + 1); d = g - w[r, i]; if (d < 0) d = -d
              t = w[r, i] < 0 ? -w[r, i] : w[r, i]
              if (d > 1e-5 + 1e-5 * t) { print "row " r " output " i ": " g " vs " w[r, i]; bad = 1 }
          } }
        END { if (got != rows || rows == 0) { print got " rows, expected " rows; bad = 1 }
              exit bad }' "$2" "$1"
}

# predict_check NAME MODEL STEM
predict_check() {
    if ! "$NN" predict "$2" --data "$FIX/$3.io.h5" -o "$3.csv" >p.out 2>&1; then
        bad "predict $1" "$(tail -n 3 p.out)"
    elif msg=$(same "$3.csv" "$FIX/$3.expect.csv"); then
        ok "predict $1 matches PyTorch"
    else
        bad "predict $1" "$msg"
    fi
}

# stem, model file extension, Keras's total parameter count
while read -r stem ext total; do
    f=$FIX/$stem.$ext
    if "$NN" summary "$f" >s.out 2>&1 && grep -qx "Total params: $total" s.out &&
        ! grep -q "left out" s.out; then
        ok "summary $stem.$ext: $total"
    else
        bad "summary $stem.$ext" "expected 'Total params: $total' and nothing left out: $(tail -n 3 s.out)"
    fi
    predict_check "$stem.$ext" "$f" "$stem"
done <<'TABLE'
keras204_seq_mlp h5 51
rkeras224_seq_cnn h5 83
keras224_seq_dropout h5 26
tfkeras211_seq_mlp h5 51
tfkeras_slash_names h5 51
keras3_seq_bn keras 75
keras3_func_add keras 67
TABLE

# tf.keras 2.13-2.15 wrote the .keras weights under _layer_checkpoint_dependencies/ rather
# than layers/; newer Keras 3 InputLayers add "optional": false. A copy of the Functional
# with both (needs h5py to rewrite model.weights.h5) predicts the same outputs.
if /usr/bin/python3 -c 'import h5py' 2>/dev/null; then
    /usr/bin/python3 - "$FIX/keras3_func_add.keras" tf213.keras <<'PY'
import io, json, sys, zipfile, h5py
src = zipfile.ZipFile(sys.argv[1])
h5 = io.BytesIO(src.read("model.weights.h5"))
with h5py.File(h5, "r+") as f:
    f.move("layers", "_layer_checkpoint_dependencies")
cfg = json.loads(src.read("config.json"))
cfg["config"]["layers"][0]["config"]["optional"] = False
with zipfile.ZipFile(sys.argv[2], "w") as z:
    z.writestr("metadata.json", json.dumps({"keras_version": "2.13.1"}))
    z.writestr("config.json", json.dumps(cfg))
    z.writestr("model.weights.h5", h5.getvalue())
PY
    predict_check "a tf.keras 2.13 .keras (_layer_checkpoint_dependencies)" tf213.keras keras3_func_add
else
    echo "skip tf.keras 2.13 .keras variant: no /usr/bin/python3 with h5py"
fi

# the Keras 3 Sequential keeps its layer names (its weights file does not)
if "$NN" summary "$FIX/keras3_seq_bn.keras" >s.out 2>&1 && grep -q '^ hidden (Dense)' s.out &&
    grep -q '^ norm (BatchNormalization) .* 24 *$' s.out && grep -qx 'Non-trainable params: 12' s.out; then
    ok "summary keras3_seq_bn.keras: layer names and BN's non-trainable statistics"
else
    bad "summary keras3_seq_bn.keras" "$(head -n 12 s.out)"
fi

# a save_weights file: the weights of a spec with the same layer names
if "$NN" train "$FIX/tfkeras_save_weights.nn" --data "$FIX/tfkeras_save_weights.io.h5" \
    --epochs 1 --init-weights "$FIX/tfkeras_save_weights.h5" --checkpoint sw.h5 \
    --monitor loss --no-test --verbose 0 --out o >t.out 2>&1; then
    predict_check "tfkeras_save_weights.h5 (train --init-weights)" sw.h5 tfkeras_save_weights
else
    bad "train --init-weights tfkeras_save_weights.h5" "$(tail -n 3 t.out)"
fi

# a .keras file's weights into a spec by layer name (the Functional's)
cat >func.py <<'PY'
inputs = Input(shape=(4,), name="input_layer")
t = Dense(5, activation="relu", name="trunk")(inputs)
b = Dense(5, activation="tanh", name="branch")(t)
s = Add(name="add")([t, b])
out = Dense(2, activation="softmax", name="head")(s)
model = Model(inputs=inputs, outputs=out)
model.compile(optimizer=SGD(learning_rate=0.0), loss="categorical_crossentropy")
PY
if "$NN" train func.py --data "$FIX/keras3_func_add.io.h5" --epochs 1 \
    --init-weights "$FIX/keras3_func_add.keras" --checkpoint kf.h5 --monitor loss --no-test \
    --verbose 0 --out o >t.out 2>&1; then
    predict_check "keras3_func_add.keras (train --init-weights)" kf.h5 keras3_func_add
else
    bad "train --init-weights keras3_func_add.keras" "$(tail -n 3 t.out)"
fi

# train MODEL.keras: its compile_config (Adam, sparse CE, accuracy) trains it further
if "$NN" train "$FIX/keras3_seq_bn.keras" --data "$FIX/keras3_seq_bn.io.h5" --epochs 2 \
    --batch-size 5 --checkpoint k3.h5 --monitor loss --no-test --verbose 2 --out o >t.out 2>&1 &&
    grep -q 'accuracy' t.out && "$NN" summary k3.h5 >s.out 2>&1 && grep -qx 'Total params: 75' s.out; then
    ok "train keras3_seq_bn.keras: 2 epochs, checkpoint saved"
else
    bad "train keras3_seq_bn.keras" "$(tail -n 3 t.out)"
fi
if "$NN" evaluate "$FIX/keras3_seq_bn.keras" --data "$FIX/keras3_seq_bn.io.h5" >e.out 2>&1 &&
    grep -q 'loss' e.out; then
    ok "evaluate keras3_seq_bn.keras"
else
    bad "evaluate keras3_seq_bn.keras" "$(tail -n 3 e.out)"
fi
finish
