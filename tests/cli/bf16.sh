#!/usr/bin/env bash
# mixed_bfloat16 end to end: a small CNN whose spec sets the policy trains a
# few epochs (the header says so), writes an fp32 checkpoint that keeps the
# policy (summary, evaluate, Keras weights float32); the emulation
# (NNTRAIN_BF16=emulated) warns that it is slow and ends with the same bits;
# --precision fp32 turns the policy off (other weights) and --precision bf16
# turns it on for a plain spec (the same weights as the policy line);
# --deterministic with the policy gives the same bits on 1 and 3 threads.
# Its second Conv2D (8 x 8 channels) would keep fp32 by default (too few
# channels for bf16 to pay): NNTRAIN_BF16_CONV=all puts it on bf16 here.
# Data: a random HDF5 file from /usr/bin/python3 + h5py (exit 77 = skipped
# without them).
# Usage: bf16.sh NNTRAIN
set -u
. "$(cd "$(dirname "$0")" && pwd)/lib.sh"
nntrain=$1
PY=/usr/bin/python3
export NNTRAIN_BF16_CONV=all
if ! have_h5py; then
    echo "SKIP: /usr/bin/python3 with h5py and numpy is needed to write the test data"
    exit 77
fi
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT

"$PY" - "$T" <<'PY'
import sys, h5py, numpy as np
r = np.random.RandomState(5)
x = r.randint(0, 256, size=(120, 12, 12, 1)).astype(np.uint8)
y = (x[:, :6].mean(axis=(1, 2, 3)) > x[:, 6:].mean(axis=(1, 2, 3))).astype(np.int32)
with h5py.File(sys.argv[1] + "/img.h5", "w") as f:
    f.create_dataset("train/x", data=x)
    f.create_dataset("train/y", data=y)
PY
body='Conv2D(8, (3, 3), activation="relu", input_shape=(12, 12, 1))
MaxPooling2D((2, 2))
Conv2D(8, (3, 3), activation="relu")
Flatten()
Dense(16, activation="relu")
Dense(2, activation="softmax")
compile(loss="sparse_categorical_crossentropy", optimizer=Adam(lr=0.01), metrics=["accuracy"])
fit(batch_size=20, epochs=3, seed=3)'
printf 'tf.keras.mixed_precision.set_global_policy("mixed_bfloat16")\n%s\n' "$body" >"$T/bf.nn"
printf '%s\n' "$body" >"$T/plain.nn"

train() {   # train SPEC OUT [options]: stdout+stderr in OUT.log
    local spec=$1 out=$2
    shift 2
    "$nntrain" train "$T/$spec" --data "$T/img.h5" --out "$T/$out" --threads 2 --verbose 2 \
        --no-test "$@" >"$T/$out.log" 2>&1
}
policy='Policy mixed_bfloat16: Dense and Conv2D products on bf16'

train bf.nn a
check "the policy spec trains" '[ $? -eq 0 ] && [ -s "$T/a/last.h5" ]'
check "the header names the policy and the kernel" 'grep -q "$policy" "$T/a.log"'
check "its loss is finite" 'grep "Epoch 3/3" "$T/a.log" | grep -q "loss: [0-9]"'
"$nntrain" summary "$T/a/last.h5" >"$T/sum.log" 2>&1
check "the checkpoint keeps the policy" 'grep -q "$policy" "$T/sum.log"'
"$nntrain" evaluate "$T/a/last.h5" --data "$T/img.h5" >"$T/ev.log" 2>&1
check "evaluate loads it" '[ $? -eq 0 ] && grep -q "accuracy" "$T/ev.log"'
check "its Keras weights are float32" \
    '"$PY" -c "import h5py, sys
f = h5py.File(sys.argv[1], \"r\")
ds = []
f[\"model_weights\"].visititems(lambda n, o: ds.append(o) if isinstance(o, h5py.Dataset) else None)
sys.exit(0 if len(ds) == 8 and all(d.dtype == \"float32\" for d in ds) else 1)" "$T/a/last.h5"'

NNTRAIN_BF16=emulated train bf.nn b
check "the emulation trains" '[ $? -eq 0 ]'
check "the emulation warns that it is slow" \
    'grep -q "NNTRAIN_BF16=emulated is set: mixed_bfloat16 runs its products in an emulation" "$T/b.log"'
"$nntrain" compare "$T/a/last.h5" "$T/b/last.h5" >"$T/cmp1.log" 2>&1
check "the emulation ends with the same bits" 'grep -q "^identical" "$T/cmp1.log"'

train bf.nn c --precision fp32
check "--precision fp32 trains without the policy" '[ $? -eq 0 ] && ! grep -q "Policy" "$T/c.log"'
"$nntrain" compare "$T/a/last.h5" "$T/c/last.h5" >"$T/cmp2.log" 2>&1
check "fp32 ends elsewhere" 'grep -q "^differ" "$T/cmp2.log"'

train plain.nn d --precision bf16
check "--precision bf16 turns it on for a plain spec" '[ $? -eq 0 ] && grep -q "$policy" "$T/d.log"'
"$nntrain" compare "$T/a/last.h5" "$T/d/last.h5" >"$T/cmp3.log" 2>&1
check "... with the same weights as the policy line" \
    'grep -q "differ: history\|^identical" "$T/cmp3.log" && ! grep -q "differ: weights\|differ: optimizer" "$T/cmp3.log"'

# deterministic mode under the policy: 1 and 3 threads give the same bits
# (a Dense kernel's gradient is then summed from fp32 x and dz, exactly)
for t in 1 3; do
    "$nntrain" train "$T/bf.nn" --data "$T/img.h5" --out "$T/det$t" --threads $t --no-test \
        --deterministic >"$T/det$t.log" 2>&1
done
check "deterministic bf16 trains" '[ -s "$T/det1/last.h5" ] && [ -s "$T/det3/last.h5" ]'
"$nntrain" compare "$T/det1/last.h5" "$T/det3/last.h5" >"$T/cmp4.log" 2>&1
check "... with the same bits on 1 and 3 threads" 'grep -q "^identical" "$T/cmp4.log"'

"$nntrain" bench "$T/bf.nn" --steps 2 --warmup 1 --threads 1 >"$T/bench.log" 2>&1
check "bench reports precision=bf16" 'grep -q "^BENCH .*precision=bf16$" "$T/bench.log"'

finish
