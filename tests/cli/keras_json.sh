#!/usr/bin/env bash
# Keras model.to_json() files on the command line (tests/fixtures/keras_func,
# written by scripts/gen_keras_func.py as Keras 2.2 and Keras 3 write them):
# `summary` prints the functional table and Keras's totals; `train` refuses
# one (it has no compile()) without leaving files (bad_inputs.sh has the
# row); a functional spec trained here saves a Functional checkpoint that
# summary, predict and --resume read back.
#   keras_json.sh NNTRAIN
set -u
NN=$(realpath "${1:?usage: keras_json.sh NNTRAIN}")
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/lib.sh"
FIX=$HERE/../fixtures/keras_func
T=$(mktemp -d "${TMPDIR:-/tmp}/nntrain-kjson.XXXXXX") || exit 1
trap 'rm -rf "$T"' EXIT
cd "$T" || exit 1
export OPENBLAS_NUM_THREADS=1

for f in resnet_k222.json resnet_k3.json; do
    if "$NN" summary "$FIX/$f" >s.out 2>s.err &&
        grep -qx "Total params: 267" s.out && grep -qx "Non-trainable params: 8" s.out &&
        grep -A1 '^add (Add) .*  conv2d_1\[0\]\[0\] *$' s.out | grep -q '^ *conv2d_2\[0\]\[0\] *$'; then
        ok "summary $f"
    else
        bad "summary $f" "$(cat s.err; tail -n 4 s.out)"
    fi
done

cat >fn.py <<'PY'
inputs = Input(shape=(1,))
a = Dense(8, activation="relu")(inputs)
b = Dense(8, activation="relu")(a)
out = Dense(1)(add([a, b]))
model = Model(inputs=inputs, outputs=out)
model.compile(loss="mse", optimizer="adam")
model.fit(epochs=1, batch_size=16)
PY
if "$NN" train fn.py --data synthetic:sqrt:128 --out run --verbose 2 >t.out 2>&1 &&
    "$NN" summary run/last.h5 >s.out 2>&1 && grep -q '^add (Add) ' s.out &&
    grep -qx "Total params: 97" s.out; then
    ok "a functional spec's checkpoint: summary"
else
    bad "a functional spec's checkpoint" "$(tail -n 3 t.out s.out)"
fi
if [ -x /usr/bin/python3 ] && /usr/bin/python3 -c "import h5py" 2>/dev/null; then
    if /usr/bin/python3 - run/last.h5 <<'PY'; then
import sys, json, h5py
mc = json.loads(h5py.File(sys.argv[1], "r").attrs["model_config"])
c = mc["config"]
assert mc["class_name"] == "Functional", mc["class_name"]
assert c["input_layers"] == [["input_1", 0, 0]] and c["output_layers"] == [["dense_2", 0, 0]]
nodes = {L["name"]: L["inbound_nodes"] for L in c["layers"]}
assert nodes["add"] == [[["dense", 0, 0, {}], ["dense_1", 0, 0, {}]]], nodes["add"]
assert nodes["input_1"] == []
PY
        ok "a functional spec's checkpoint: Functional model_config"
    else
        bad "a functional spec's checkpoint" "model_config is not the Functional one expected"
    fi
fi
if "$NN" train fn.py --data synthetic:sqrt:128 --out run --resume auto --epochs 2 \
    --verbose 2 >r.out 2>&1 && grep -q "^Epoch 2/2" r.out; then
    ok "a functional spec's checkpoint: --resume"
else
    bad "a functional spec's checkpoint: --resume" "$(tail -n 3 r.out)"
fi
finish
