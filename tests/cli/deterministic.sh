#!/usr/bin/env bash
# Deterministic mode (issue 20): a small CNN with dropout and augmentation
# (and a validation split), an LSTM model, a functional model (residual
# add, concatenation), an MLP with a wide Dense layer (its kernel summed from
# gathered rows) and two with BatchNormalization (a chain CNN and a
# functional residual block), trained 2 epochs with --deterministic at N = 1,
# 2, 3, 4 ranks x T = 1, 2, 3 threads (the CNN at all twelve, the others at
# four; the CNN, the MLP and the BN residual model also at N = 8),
# end with the same parameters (BN's moving statistics included), optimizer
# slots and history, bit for bit (nntrain compare); so does a run stopped at
# N = 4 and resumed at N = 3 (the CNN, the BN models). The BN residual model
# with SGD agrees with the plain mode within float noise (its statistics and
# gamma/beta gradients are the global batch's). The
# plain mode at two splits differs (so compare can tell), and a checkpoint
# says deterministic. Data: random HDF5 files from /usr/bin/python3 + h5py
# (exit 77 = skipped without them).
# Usage: deterministic.sh NNTRAIN MPIEXEC [PART]; PART: base (default: the
# CNN, LSTM and functional model) or bn (the BatchNormalization models), two
# CTest entries that can run side by side.
set -u
. "$(cd "$(dirname "$0")" && pwd)/lib.sh"
nntrain=$1 mpiexec=${2:-mpiexec} part=${3:-base}
PY=/usr/bin/python3
if ! have_h5py; then
    echo "SKIP: /usr/bin/python3 with h5py and numpy is needed to write the test data"
    exit 77
fi
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT

"$PY" - "$T" <<'PY'
import sys, h5py, numpy as np
r = np.random.RandomState(3)
n = 200
x = r.randint(0, 256, size=(n, 12, 12, 1)).astype(np.uint8)
y = ((x[:, :6].mean(axis=(1, 2, 3)) > x[:, 6:].mean(axis=(1, 2, 3))).astype(np.int32)
     + 2 * (x[:, :, :6].mean(axis=(1, 2, 3)) > 127.5).astype(np.int32))
with h5py.File(sys.argv[1] + "/img.h5", "w") as f:
    f.create_dataset("train/x", data=x)
    f.create_dataset("train/y", data=y)
s = r.randint(0, 50, size=(n, 10))
with h5py.File(sys.argv[1] + "/seq.h5", "w") as f:
    f.create_dataset("train/x", data=s.astype(np.float32))
    f.create_dataset("train/y", data=(s.sum(1) % 3).astype(np.int32))
PY

cat > "$T/cnn.nn" <<'SPEC'
Conv2D(8, (3, 3), activation="relu", input_shape=(12, 12, 1))
MaxPooling2D((2, 2))
Conv2D(8, (3, 3), activation="relu")
Flatten()
Dense(16, activation="relu")
Dropout(0.3)
Dense(4, activation="softmax")
compile(loss="sparse_categorical_crossentropy", optimizer=Adam(lr=0.01), metrics=["accuracy"])
fit(batch_size=20, epochs=2, seed=3, validation_split=0.2)
ImageDataGenerator(horizontal_flip=True, width_shift_range=0.1, rotation_range=10)
SPEC
# 20 = two full chunks of 8 and a short one: the last rank's share is short
cat > "$T/lstm.nn" <<'SPEC'
Embedding(50, 8, input_length=10)
LSTM(12, return_sequences=True)
LSTM(8)
Dropout(0.2)
Dense(3, activation="softmax")
compile(loss="sparse_categorical_crossentropy", optimizer=RMSprop(lr=0.01), metrics=["accuracy"])
fit(batch_size=24, epochs=2, seed=4, deterministic=True)
SPEC

cat > "$T/res.nn" <<'SPEC'
inputs = Input(shape=(12, 12, 1))
x = Conv2D(6, (3, 3), padding="same", activation="relu")(inputs)
y = Conv2D(6, (3, 3), padding="same")(x)
x = add([x, y])
z = MaxPooling2D((2, 2))(x)
w = Conv2D(4, (1, 1))(z)
z = concatenate([z, w])
z = Dropout(0.2)(Flatten()(z))
outputs = Dense(4, activation="softmax")(z)
model = Model(inputs=inputs, outputs=outputs)
model.compile(loss="sparse_categorical_crossentropy", optimizer=Adam(lr=0.01), metrics=["accuracy"])
model.fit(batch_size=20, epochs=2, validation_split=0.2)
SPEC

# a wide Dense layer at a small batch: over 2 or more ranks its kernel is
# summed from every rank's gathered rows (20 x (144 + 64) floats against
# 144 x 64 int64 sums), the narrow one by the ring
cat > "$T/mlp.nn" <<'SPEC'
Flatten(input_shape=(12, 12, 1))
Dense(64, activation="relu")
Dropout(0.2)
Dense(4, activation="softmax")
compile(loss="sparse_categorical_crossentropy", optimizer=RMSprop(lr=0.01), metrics=["accuracy"])
fit(batch_size=20, epochs=2, seed=6, validation_split=0.2)
SPEC

# BatchNormalization: statistics over the global batch from per-chunk sums
cat > "$T/bncnn.nn" <<'SPEC'
Conv2D(6, (3, 3), input_shape=(12, 12, 1))
BatchNormalization()
Activation("relu")
MaxPooling2D((2, 2))
Conv2D(8, (3, 3))
BatchNormalization(momentum=0.9)
Activation("relu")
Flatten()
Dropout(0.2)
Dense(4, activation="softmax")
compile(loss="sparse_categorical_crossentropy", optimizer=Adam(lr=0.01), metrics=["accuracy"])
fit(batch_size=20, epochs=2, seed=3, validation_split=0.2)
SPEC
cat > "$T/bnres.nn" <<'SPEC'
inputs = Input(shape=(12, 12, 1))
x = Conv2D(6, (3, 3), padding="same")(inputs)
x = BatchNormalization()(x)
x = Activation("relu")(x)
y = Conv2D(6, (3, 3), padding="same")(x)
y = BatchNormalization(momentum=0.9)(y)
y = Activation("relu")(y)
x = add([x, y])
z = MaxPooling2D((2, 2))(x)
z = Conv2D(8, (3, 3))(z)
z = BatchNormalization(scale=False)(z)
z = Flatten()(z)
outputs = Dense(4, activation="softmax")(z)
model = Model(inputs=inputs, outputs=outputs)
model.compile(loss="sparse_categorical_crossentropy", optimizer=Adam(lr=0.01), metrics=["accuracy"])
model.fit(batch_size=20, epochs=2, validation_split=0.2)
SPEC

# train MODEL DATA OUT N T [options]
train() {
    local model=$1 data=$2 out=$3 np=$4 th=$5 L=""
    shift 5
    [ "$np" -gt 1 ] && L="$mpiexec -n $np --oversubscribe"
    timeout 120 $L "$nntrain" train "$T/$model" --data "$T/$data" --out "$T/$out" \
        --threads "$th" --verbose 0 --no-test "$@" >"$T/out" 2>"$T/err"
}
same() { "$nntrain" compare "$T/$1/last.h5" "$T/$2/last.h5" >"$T/cmp" 2>&1 && cmp -s "$T/$1/history.csv" "$T/$2/history.csv"; }

models="cnn lstm res mlp"; [ "$part" = bn ] && models="bncnn bnres"
for model in $models; do
    data=img.h5; [ $model = lstm ] && data=seq.h5
    det=--deterministic; [ $model = lstm ] && det=""   # the LSTM spec says fit(deterministic=True)
    train $model.nn $data ${model}_1x1 1 1 $det
    check "$model: N=1 T=1 trains" '[ $? -eq 0 ] && [ -s "$T/${model}_1x1/last.h5" ]'
    splits="12 13 21 22 23 31 32 33 41 42 43"   # N T
    [ $model = cnn ] || splits="13 22 31 43"       # every N and T, fewer runs
    for s in $splits; do
        np=${s:0:1} th=${s:1:1}
        train $model.nn $data ${model}_${np}x$th "$np" "$th" $det
        check "$model: N=$np T=$th trains" '[ $? -eq 0 ]'
        check "$model: N=$np T=$th identical to N=1 T=1" 'same ${model}_1x1 ${model}_${np}x$th || { cat "$T/cmp"; false; }'
    done
done

if [ "$part" = bn ]; then
train bnres.nn img.h5 bnres_8x1 8 1 --deterministic
check "bnres: N=8 (ranks without chunks join the BN sums) identical to N=1" 'same bnres_1x1 bnres_8x1 || { cat "$T/cmp"; false; }'
for model in bncnn bnres; do
    train $model.nn img.h5 ${model}_resume 4 3 --deterministic --stop-after 13
    check "$model: N=4 --stop-after exits 75" '[ $? -eq 75 ]'
    train $model.nn img.h5 ${model}_resume 3 1 --resume auto
    check "$model: stopped at N=4, resumed at N=3: identical to the uninterrupted run" 'same ${model}_1x1 ${model}_resume || { cat "$T/cmp"; false; }'
done
# the BN statistics and gradients are the global batch's (gamma's and
# beta's counted once): with plain SGD, whose step follows the gradient's
# size, N=2 T=2 agrees with the plain mode's N=1 T=1 within float noise
sed 's/Adam(lr=0.01)/SGD(lr=0.1)/' "$T/bnres.nn" >"$T/bnsgd.nn"
train bnsgd.nn img.h5 bnsgd_plain 1 1
train bnsgd.nn img.h5 bnsgd_det 2 2 --deterministic
check "bnres with SGD: deterministic N=2 T=2 and plain N=1 agree within float noise" \
    '"$PY" - "$T/bnsgd_det/last.h5" "$T/bnsgd_plain/last.h5" <<"PY"
import sys, h5py, numpy as np
a, b = (h5py.File(f, "r")["model_weights"] for f in sys.argv[1:])
worst = 0.0
for l in a:
    for w in (a[l][l] if l in a[l] else []):
        x, y = a[l][l][w][()], b[l][l][w][()]
        worst = max(worst, np.abs(x - y).max() / (np.abs(y).max() + 1e-3))
print("largest relative difference", worst)
sys.exit(not worst < 5e-3)
PY'
finish
exit
fi

train cnn.nn img.h5 cnn_8x1 8 1 --deterministic
check "cnn: N=8 (some ranks without chunks) identical to N=1" 'same cnn_1x1 cnn_8x1 || { cat "$T/cmp"; false; }'
train mlp.nn img.h5 mlp_8x1 8 1 --deterministic
check "mlp: N=8 (ranks without rows join the rows' allgather) identical to N=1" 'same mlp_1x1 mlp_8x1 || { cat "$T/cmp"; false; }'

# stopped at N=4 mid-epoch 2, resumed at N=3 with other threads (the mode
# comes from the checkpoint)
train cnn.nn img.h5 cnn_resume 4 1 --deterministic --stop-after 13
check "cnn: N=4 --stop-after exits 75" '[ $? -eq 75 ]'
train cnn.nn img.h5 cnn_resume 3 2 --resume auto
check "cnn: resumed at N=3 T=2" '[ $? -eq 0 ]'
check "cnn: stopped at N=4, resumed at N=3: identical to the uninterrupted run" 'same cnn_1x1 cnn_resume || { cat "$T/cmp"; false; }'
check "checkpoint says deterministic with chunks of 8" \
    '"$PY" -c "import h5py,sys; g=h5py.File(sys.argv[1],\"r\")[\"nntrain\"]; sys.exit(not (g.attrs[\"deterministic\"] == 1 and g.attrs[\"det_chunk\"] == 8))" "$T/cnn_resume/last.h5"'

# the plain mode's float sums follow the split: compare must see that
train cnn.nn img.h5 plain_1x1 1 1
train cnn.nn img.h5 plain_2x2 2 2
check "plain mode: N=1 T=1 and N=2 T=2 differ (compare exits 1)" \
    '! "$nntrain" compare "$T/plain_1x1/last.h5" "$T/plain_2x2/last.h5" >"$T/cmp" && grep -q "^differ: weights" "$T/cmp"'
check "another --det-chunk gives other bits" \
    'train cnn.nn img.h5 cnn_c4 2 1 --deterministic --det-chunk 4 && ! same cnn_1x1 cnn_c4'
# chunks of 1 row, Dense groups of 5 rows (batch 20) or 3 (batch 12): the
# groups that rank boundaries cut are summed across ranks. Batch 20 at N = 3:
# boundaries at rows 5 and 13 (6 moved to a group's 5; 13 is 2 rows from
# one: kept), so rank 1 has a whole group and begins one that rank 2 ends
# before its whole group; at N = 8 (ranks of 2-3 rows, boundaries not
# moved) ranks begin and end groups, and rank 1 (rows 2-3) continues one
# and passes it on; batch 12 at N = 8: ranks of 1 row, the second inside a
# group that it continues and passes on.
for b in 20 12; do
    train cnn.nn img.h5 cnn_b${b}_1 1 1 --deterministic --det-chunk 1 --batch-size $b
    for s in 32 81; do
        [ $b = 12 ] && [ $s = 32 ] && continue
        np=${s:0:1} th=${s:1:1}
        check "cnn --det-chunk 1 --batch-size $b: N=$np T=$th identical to N=1 T=1" \
            'train cnn.nn img.h5 cnn_b${b}_$s $np $th --deterministic --det-chunk 1 --batch-size $b && same cnn_b${b}_1 cnn_b${b}_$s || { cat "$T/cmp"; false; }'
    done
done

# ranks with different kernels (here: another OpenBLAS core on rank 1) are
# refused, naming them
timeout 120 "$mpiexec" --oversubscribe -n 1 "$nntrain" train "$T/cnn.nn" --data "$T/img.h5" \
    --deterministic --out "$T/isa" --verbose 0 --no-test : -n 1 env OPENBLAS_CORETYPE=Prescott \
    "$nntrain" train "$T/cnn.nn" --data "$T/img.h5" --deterministic --out "$T/isa" --verbose 0 \
    --no-test >"$T/out" 2>"$T/err"
check "different kernels on two ranks refused, naming rank 1" \
    '[ $? -ne 0 ] && grep -q "ranks run different kernels.*rank 1 .*OpenBLAS Prescott" "$T/err" && [ ! -e "$T/isa/last.h5" ]'

finish
