#!/usr/bin/env bash
# The bad inputs tried, across every command: model specs, IDX, CIFAR-10,
# image folders, HDF5 datasets, checkpoints and command-line options. Each
# case must fail cleanly: a non-zero exit status below 128 (no crash), an
# "error" message on stderr, within 60 s, leaving no output file and no
# temporary file behind. Prints a Markdown table (input | what was wrong |
# message | exit status), writes it to TABLE.md when given (the README's
# table comes from here), and ends with "N passed, M failed, K skipped".
# A case marked as a known gap (bad_case_gap: accepted today although it
# should not be) is listed and counted as skipped until it is fixed.
#   bad_inputs.sh NNTRAIN [MPIEXEC] [TABLE.md]
set -u
NN=$(realpath "${1:?usage: bad_inputs.sh NNTRAIN [MPIEXEC] [TABLE.md]}")
TABLE=${3:-}
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/cli/lib.sh"
T=$(mktemp -d "${TMPDIR:-/tmp}/nntrain-badin.XXXXXX") || exit 1
trap 'rm -rf "$T"' EXIT
export OPENBLAS_NUM_THREADS=1
cd "$T" || exit 1
PY=/usr/bin/python3
H5PY=0
have_h5py && H5PY=1

# ---- inputs ---------------------------------------------------------------
spec() { printf '%s\n' "$2" >"$1"; }
TAIL='compile(loss="sparse_categorical_crossentropy", optimizer=SGD(), metrics=["accuracy"])
fit(batch_size=8, epochs=1, seed=1)'
spec mlp.nn "Dense(10, activation=\"softmax\", input_shape=(784,))
$TAIL"
spec cnn.nn "Conv2D(2, (3, 3), activation=\"relu\", input_shape=(8, 8, 1))
Flatten()
Dense(10, activation=\"softmax\")
$TAIL"
spec sq.nn 'Dense(4, activation="relu", input_shape=(1,))
Dense(1)
compile(loss="mse", optimizer=Adam())'
spec unknown_layer.nn 'Dense(4, input_shape=(1,))
Dense2(1)'
spec unknown_arg.nn 'Dense(4, input_shape=(1,), unit=3)'
spec unclosed.nn 'Dense(4, input_shape=(1,)
Dense(1)'
spec unterminated.nn 'Dense(4, activation="relu, input_shape=(1,))'
printf 'Dense(4,\0 input_shape=(1,))\n' >nul.nn
spec wrong_layout.nn "Conv2D(2, (3, 3), activation=\"relu\", input_shape=(4, 16, 1))
Flatten()
Dense(10, activation=\"softmax\")
$TAIL"
spec no_flatten.nn 'Conv2D(4, (3, 3), input_shape=(8, 8, 1))
Dense(10)'
spec negative_units.nn 'Dense(-3, input_shape=(1,))'
spec no_input.nn 'Dense(4)
Dense(1)'
spec bad_loss.nn 'Dense(1, input_shape=(1,))
compile(loss="mean_squared_errror")'
spec bad_opt.nn 'Dense(1, input_shape=(1,))
compile(loss="mse", optimizer=Adamax())'
spec deep.nn "Dense(1, input_shape=$(printf '(%.0s' {1..40})1$(printf ')%.0s' {1..40}))"
: >empty.nn
spec two_compile.nn 'Dense(1, input_shape=(1,))
compile(loss="mse")
compile(loss="mae")'
spec other.nn 'Dense(8, activation="relu", input_shape=(1,))
Dense(1)
compile(loss="mse", optimizer=Adam())'
spec huge.nn 'Dense(100000, input_shape=(100000,))
Dense(100000)
compile(loss="mse")'

# IDX (MNIST layout)
idx_dir good 20
idx_dir trunc 20; idx_images trunc/train-images-idx3-ubyte 20 28 28 2051 5000
idx_dir magic 20; idx_images magic/train-images-idx3-ubyte 20 28 28 2049
idx_dir count 20; idx_labels count/train-labels-idx1-ubyte 19
idx_dir classes 20; idx_labels classes/train-labels-idx1-ubyte 20 15
idx_dir huge 20; { printf "$(be32 2051)$(be32 4000000000)$(be32 28)$(be32 28)"; head -c 784 /dev/zero; } >huge/train-images-idx3-ubyte
mkdir -p gz; { printf "$(be32 2051)$(be32 20)$(be32 28)$(be32 28)"; head -c 15680 /dev/urandom; } |
    gzip -c | head -c 4000 >gz/train-images-idx3-ubyte.gz
idx_labels gz/train-labels-idx1-ubyte 20
mkdir -p noidx

# CIFAR-10 binary batches (1 label byte + 3072 pixels per record)
rec() { printf "$(printf '\\x%02x' "$1")"; head -c 3072 /dev/zero; }
mkdir -p c_size c_label c_none c_empty
{ rec 1; rec 2; head -c 100 /dev/zero; } >c_size/data_batch_1.bin
{ rec 1; rec 12; } >c_label/data_batch_1.bin
: >c_none/readme.txt
: >c_empty/data_batch_1.bin

# image folders (valid images from the fuzz seeds, then broken)
S=$HERE/fuzz/corpus/images
mkdir -p i_trunc i_text i_empty i_huge i_mixed i_nofiles i_ok
tail -c +2 "$S/jpeg_baseline_7x5" | head -c 200 >i_trunc/a.jpg
echo "not an image" >i_text/a.png
: >i_empty/a.png
tail -c +2 "$S/png_rgb_4x4" >i_ok/a.png
tail -c +2 "$S/png_rgb_4x4" | head -c 16 >i_huge/a.png
printf '\x00\x00\x40\x00\x00\x00\x40\x00' >>i_huge/a.png        # IHDR 16384 x 16384
tail -c +2 "$S/png_rgb_4x4" | tail -c +25 >>i_huge/a.png
tail -c +2 "$S/png_rgb_4x4" >i_mixed/a.png
tail -c +2 "$S/png_rgb_5x3_resize" >i_mixed/b.png

# HDF5 data sets
h5_from_idx "$NN" good.h5 32 8
echo "not hdf5" >text.h5
head -c 3000 good.h5 >trunc.h5
cp good.h5 changed.h5
if [ $H5PY -eq 1 ]; then
    h5py_file notrain.h5 "f['data/x'] = np.zeros((4, 2), np.float32)"
    h5py_file count.h5 "f['train/x'] = np.zeros((4, 2), np.float32); f['train/y'] = np.zeros(3, np.int32)"
    h5py_file rank3.h5 "f['train/x'] = np.zeros((4, 8, 8), np.uint8); f['train/y'] = np.zeros(4, np.int32)"
    h5py_file neglabel.h5 "f['train/x'] = np.zeros((4, 8, 8, 1), np.uint8); f['train/y'] = np.array([0, 1, -1, 2], np.int32)"
    h5py_file names.h5 "f.attrs['class_names'] = [b'a', b'b']; f['train/x'] = np.zeros((4, 8, 8, 1), np.uint8); f['train/y'] = np.array([0, 1, 2, 1], np.int32)"
    h5py_file strx.h5 "f['train/x'] = np.array([b'a', b'b']); f['train/y'] = np.zeros(2, np.int32)"
    $PY - changed.h5 <<'P'
import sys, h5py
with h5py.File(sys.argv[1], "r+") as f:
    x = f["train/x"]; x[0, 0, 0, 0] = (int(x[0, 0, 0, 0]) + 1) % 256
P
fi
cp "$HERE/fuzz/regressions/h5data/labels_2e62_rows.h5" rows2e62.h5

# checkpoints
spec ck.nn 'Dense(4, activation="relu", input_shape=(1,))
Dense(1)
compile(loss="mse", optimizer=Adam())
fit(batch_size=8, epochs=1, seed=1)'
"$NN" train ck.nn --data synthetic:sqrt:32 --out ck --verbose 0 --no-test >/dev/null 2>&1
head -c 2000 ck/last.h5 >ck_trunc.h5
echo "garbage" >ck_text.h5
if [ $H5PY -eq 1 ]; then
    $PY - ck/last.h5 <<'P'
import sys, shutil, h5py, numpy as np
src = sys.argv[1]
shutil.copy(src, "ck_shape.h5")
with h5py.File("ck_shape.h5", "r+") as f:
    g = f["model_weights/dense/dense"]; del g["kernel:0"]
    g["kernel:0"] = np.zeros((2, 4), np.float32)
shutil.copy(src, "ck_keras_layer.h5")
with h5py.File("ck_keras_layer.h5", "r+") as f:
    del f["nntrain"]
    f.attrs["model_config"] = f.attrs["model_config"].replace('"Dense"', '"GRU"', 1)
shutil.copy(src, "ck_nospec.h5")
with h5py.File("ck_nospec.h5", "r+") as f:
    del f["nntrain"]; del f.attrs["model_config"]
# flip bytes inside the kernel's raw data: the Fletcher-32 checksum fails
shutil.copy(src, "ck_bits.h5")
with h5py.File(src, "r") as f:
    ds = f["model_weights/dense_1/dense_1/kernel:0"]
    off = ds.id.get_chunk_info(0).byte_offset
b = bytearray(open("ck_bits.h5", "rb").read()); b[off] ^= 0xFF; b[off + 1] ^= 0x55
open("ck_bits.h5", "wb").write(bytes(b))
P
fi
: >afile

# ---- the cases ----------------------------------------------------------
pass=0
fail=0
gaps=0
GAP=0
ROWS=()
n=0
# bad INPUT WHAT OUTPUT -- ARGS...: runs nntrain ARGS; OUTPUT (file or
# directory, "-" for none) must not hold a file afterwards
bad_case() {
    local input=$1 what=$2 out=$3
    shift 4
    n=$((n + 1))
    timeout 60 "$NN" "$@" >"o$n.out" 2>"o$n.err"
    local rc=$? why=""
    local msg
    msg=$(grep -m1 -i 'error' "o$n.err" || head -n1 "o$n.err")
    msg=${msg//$T\//}
    msg=${msg//$T/.}
    if [ $rc -eq 124 ]; then why="timed out after 60 s"
    elif [ $rc -eq 0 ]; then why="exit status 0"
    elif [ $rc -ge 128 ]; then why="crashed (status $rc)"
    elif ! grep -qi 'error' "o$n.err"; then why="no error message"
    elif [ "$out" != - ] && [ -e "$out" ] && [ -n "$(find "$out" -type f 2>/dev/null)" ]; then
        why="left output: $(find "$out" -type f | head -3 | tr '\n' ' ')"
    elif [ -n "$(find . -name '*.tmp*' -newer "o$n.out")" ]; then
        why="left temporary files: $(find . -name '*.tmp*' -newer "o$n.out" | tr '\n' ' ')"
    fi
    msg=${msg//|/\\|}
    [ ${#msg} -gt 180 ] && msg="${msg:0:177}..."
    if [ -z "$why" ]; then
        pass=$((pass + 1))
        ROWS+=("| \`$input\` | $what | $msg | $rc |")
    elif [ "$GAP" -eq 1 ]; then
        gaps=$((gaps + 1))
        ROWS+=("| \`$input\` | $what | **known gap: $why** $msg | $rc |")
    else
        fail=$((fail + 1))
        ROWS+=("| \`$input\` | $what | **FAIL: $why** $msg | $rc |")
        { echo "--- $input ($what): $why"; cat "o$n.err"; } >&2
    fi
}
bad_case_gap() {
    GAP=1
    bad_case "$@"
    GAP=0
}
h5case() {   # cases that need h5py-made files
    [ $H5PY -eq 1 ] && bad_case "$@"
}
D="--data synthetic:sqrt:64"

# model specs
bad_case unknown_layer.nn "unknown layer Dense2" o1 -- train unknown_layer.nn $D --out o1
bad_case unknown_arg.nn "unknown argument unit=" o2 -- train unknown_arg.nn $D --out o2
bad_case unclosed.nn "unclosed parenthesis" o3 -- train unclosed.nn $D --out o3
bad_case unterminated.nn "unterminated string" - -- summary unterminated.nn
bad_case nul.nn "a NUL byte (binary file)" - -- summary nul.nn
bad_case no_flatten.nn "Dense after Conv2D without Flatten" - -- summary no_flatten.nn
bad_case negative_units.nn "Dense(-3)" - -- summary negative_units.nn
bad_case no_input.nn "no input_shape" - -- summary no_input.nn
bad_case bad_loss.nn "misspelt loss" - -- summary bad_loss.nn
bad_case bad_opt.nn "unknown optimizer Adamax" - -- summary bad_opt.nn
bad_case deep.nn "40 nested tuples" - -- summary deep.nn
bad_case empty.nn "empty file" - -- summary empty.nn
bad_case two_compile.nn "two compile() lines" - -- summary two_compile.nn
bad_case huge.nn "10^10 parameters (40 GB)" o4 -- train huge.nn $D --out o4
bad_case missing.nn "no such file" - -- summary missing.nn
# IDX
bad_case trunc/ "images file truncated" o5 -- train mlp.nn --data trunc --out o5
bad_case magic/ "labels magic in the images file" o6 -- train mlp.nn --data magic --out o6
bad_case count/ "20 images, 19 labels" o7 -- train mlp.nn --data count --out o7
bad_case classes/ "labels 0..14 for 10 outputs" o8 -- train mlp.nn --data classes --out o8
bad_case huge/ "header claims 4e9 images" o9 -- train mlp.nn --data huge --out o9
bad_case gz/ "gzip stream cut short" o10 -- train mlp.nn --data gz --out o10
bad_case noidx/ "folder without IDX files" out_idx.h5 -- convert idx noidx -o out_idx.h5
bad_case trunc/ "convert: truncated images file" out_idx2.h5 -- convert idx trunc -o out_idx2.h5
# CIFAR-10
bad_case c_size/data_batch_1.bin "size not a multiple of 3073" out_c1.h5 -- convert cifar10 c_size -o out_c1.h5
bad_case c_label/data_batch_1.bin "label 12 in CIFAR-10" out_c2.h5 -- convert cifar10 c_label -o out_c2.h5
bad_case c_none/ "no data_batch_N.bin" out_c3.h5 -- convert cifar10 c_none -o out_c3.h5
bad_case c_empty/data_batch_1.bin "empty batch file" out_c4.h5 -- convert cifar10 c_empty -o out_c4.h5
# image folders
bad_case i_trunc/a.jpg "JPEG cut after 200 bytes" out_i1.h5 -- convert images i_trunc=a i_ok=b -o out_i1.h5
bad_case i_text/a.png "text named .png" out_i2.h5 -- convert images i_text=a i_ok=b -o out_i2.h5
bad_case i_empty/a.png "empty file" out_i3.h5 -- convert images i_empty=a i_ok=b -o out_i3.h5
bad_case i_huge/a.png "PNG header claims 16384x16384" out_i4.h5 -- convert images i_huge=a i_ok=b -o out_i4.h5
bad_case i_mixed/ "4x4 and 3x5 images, no --size" out_i5.h5 -- convert images i_mixed=a -o out_i5.h5
bad_case i_nofiles/ "empty folder" out_i6.h5 -- convert images i_nofiles=a i_ok=b -o out_i6.h5
bad_case i_ok/ "--size 0x5" out_i7.h5 -- convert images i_ok=a --size 0x5 -o out_i7.h5
bad_case i_ok/ "--seed with --no-shuffle" out_i8.h5 -- convert images i_ok=a --seed 3 --no-shuffle -o out_i8.h5
# HDF5 data sets
bad_case text.h5 "not HDF5" o11 -- train cnn.nn --data text.h5 --out o11
bad_case trunc.h5 "HDF5 file cut at 3000 bytes" o12 -- train cnn.nn --data trunc.h5 --out o12
bad_case rows2e62.h5 "x claims 2^62 rows (fuzz regression)" o13 -- train sq.nn --data rows2e62.h5 --out o13
h5case notrain.h5 "no /train group" o14 -- train cnn.nn --data notrain.h5 --out o14
h5case count.h5 "4 x rows, 3 y rows" o15 -- train sq.nn --data count.h5 --out o15
h5case rank3.h5 "uint8 x of rank 3 (no channel axis)" o16 -- train cnn.nn --data rank3.h5 --out o16
h5case neglabel.h5 "label -1" o17 -- train cnn.nn --data neglabel.h5 --out o17
h5case names.h5 "label 2 with 2 class_names" o18 -- train cnn.nn --data names.h5 --out o18
h5case strx.h5 "x holds strings" o19 -- train cnn.nn --data strx.h5 --out o19
h5case changed.h5 "x edited after writing (checksum)" - -- inspect changed.h5
bad_case good.h5 "8x8x1 images, input_shape=(4, 16, 1): same count" o_lay -- train wrong_layout.nn --data good.h5 --out o_lay
bad_case good.h5 "split --val-fraction 0" out_s1.h5 -- split good.h5 --val-fraction 0 -o out_s1.h5 --val-out out_s2.h5
bad_case good.h5 "split: same output twice" out_s3.h5 -- split good.h5 --val-fraction 0.5 -o out_s3.h5 --val-out out_s3.h5
# checkpoints
bad_case ck_trunc.h5 "checkpoint cut at 2000 bytes" - -- summary ck_trunc.h5
bad_case ck_text.h5 "not HDF5" - -- evaluate ck_text.h5 $D
h5case ck_shape.h5 "kernel (2, 4) for a (1, 4) layer" - -- evaluate ck_shape.h5 $D
h5case ck_keras_layer.h5 "Keras config with a GRU layer" - -- summary ck_keras_layer.h5
h5case ck_nospec.h5 "no spec, no model_config" - -- summary ck_nospec.h5
h5case ck_bits.h5 "weight bytes flipped (Fletcher-32)" - -- evaluate ck_bits.h5 $D
h5case ck_keras_layer.h5 "--resume from a Keras file" o20 -- train ck.nn $D --out o20 --resume ck_keras_layer.h5
bad_case ck/last.h5 "--resume with another model" o21 -- train other.nn $D --out o21 --resume ck/last.h5
# command line
bad_case "frobnicate" "unknown command" - -- frobnicate
bad_case "--frobnicate 3" "unknown option" o22 -- train sq.nn $D --frobnicate 3 --out o22
bad_case "--batch-size 0" "batch size 0" o23 -- train sq.nn $D --batch-size 0 --out o23
bad_case "--epochs x" "not a number" o24 -- train sq.nn $D --epochs x --out o24
bad_case "--validation-split 1.5" "fraction above 1" o25 -- train sq.nn $D --validation-split 1.5 --out o25
bad_case "--threads -1" "negative thread count" o26 -- train sq.nn $D --threads -1 --out o26
bad_case "(no --data)" "missing --data" o27 -- train sq.nn --out o27
bad_case "--data synthetic:sqrt:0" "zero samples" o28 -- train sq.nn --data synthetic:sqrt:0 --out o28
bad_case "--data synthetic:cube" "unknown generator" o29 -- train sq.nn --data synthetic:cube --out o29
bad_case "--out afile/out" "output under a regular file" - -- train sq.nn $D --out afile/out
bad_case "convert idx good" "no -o" - -- convert idx good
bad_case "--stall-timeout -5" "negative timeout" o30 -- train sq.nn $D --stall-timeout -5 --out o30
# issue 16 names: loss and metric objects, Rescaling, Nadam, gelu/swish in RNNs
SQ1='Dense(4, activation="relu", input_shape=(1,))
Dense(1)'
spec n_logit_arg.nn "$SQ1
compile(loss=BinaryCrossentropy(from_logit=True))"
spec n_smooth.nn "$SQ1
compile(loss=BinaryCrossentropy(from_logits=True, label_smoothing=0.1))"
spec n_loss_cls.nn "$SQ1
compile(loss=Hinge())"
spec n_mse_logits.nn "$SQ1
compile(loss=MeanSquaredError(from_logits=True))"
spec n_auc_n.nn "$SQ1
compile(loss=\"mse\", metrics=[AUC(num_thresholds=100)])"
spec n_auc_pr.nn "$SQ1
compile(loss=\"mse\", metrics=[AUC(curve=\"PR\")])"
spec n_prec_t.nn "$SQ1
compile(loss=\"mse\", metrics=[Precision(thresholds=0.7)])"
spec n_met_cls.nn "$SQ1
compile(loss=\"mse\", metrics=[F1Score()])"
spec n_three_auc.nn "$SQ1
compile(loss=\"mse\", metrics=[\"auc\", \"auc\", \"auc\"])"
spec n_nadam.nn "$SQ1
compile(loss=\"mse\", optimizer=Nadam(decay=0.01))"
spec n_nadam_sd.nn "$SQ1
compile(loss=\"mse\", optimizer=Nadam(schedule_decay=-1))"
spec n_resc.nn 'Rescaling(input_shape=(1,))
Dense(1)'
spec n_resc_off.nn 'Rescaling(1, offset=1e39, input_shape=(1,))
Dense(1)'
spec n_rnn_gelu.nn 'SimpleRNN(4, activation="gelu", input_shape=(1, 1))
Dense(1)'
bad_case n_logit_arg.nn "BinaryCrossentropy(from_logit=True)" o_n1 -- train n_logit_arg.nn $D --out o_n1
bad_case n_smooth.nn "label_smoothing=0.1" o_n2 -- train n_smooth.nn $D --out o_n2
bad_case n_loss_cls.nn "loss=Hinge()" o_n3 -- train n_loss_cls.nn $D --out o_n3
bad_case n_mse_logits.nn "MeanSquaredError(from_logits=True)" o_n4 -- train n_mse_logits.nn $D --out o_n4
bad_case n_auc_n.nn "AUC(num_thresholds=100)" o_n5 -- train n_auc_n.nn $D --out o_n5
bad_case n_auc_pr.nn "AUC(curve=\"PR\")" o_n6 -- train n_auc_pr.nn $D --out o_n6
bad_case n_prec_t.nn "Precision(thresholds=0.7)" o_n7 -- train n_prec_t.nn $D --out o_n7
bad_case n_met_cls.nn "metrics=[F1Score()]" o_n8 -- train n_met_cls.nn $D --out o_n8
bad_case n_three_auc.nn "three AUC metrics: too many counts" o_n9 -- train n_three_auc.nn $D --out o_n9
bad_case n_nadam.nn "Nadam(decay=0.01)" o_n10 -- train n_nadam.nn $D --out o_n10
bad_case n_nadam_sd.nn "Nadam(schedule_decay=-1)" o_n11 -- train n_nadam_sd.nn $D --out o_n11
bad_case n_resc.nn "Rescaling() without scale" o_n12 -- train n_resc.nn $D --out o_n12
bad_case n_resc_off.nn "Rescaling offset 1e39" o_n13 -- train n_resc_off.nn $D --out o_n13
bad_case n_rnn_gelu.nn "SimpleRNN(activation=\"gelu\")" o_n14 -- train n_rnn_gelu.nn $D --out o_n14
# signals and aborts (issue 16): the timeline, written even when a run is
# aborted, is checked before training like the other outputs
bad_case "--timeline nodir/t.json" "timeline in a missing directory" o31 -- train sq.nn $D --timeline nodir/t.json --out o31
# image folders as Keras users have them, paths in the wrong place (issue 16, folders)
mkdir -p f_cls/a f_cls/b f_bad/a f_bad/b f_thumbs
cp i_ok/a.png f_cls/a/ && cp i_ok/a.png f_cls/b/ && cp i_ok/a.png f_bad/a/
echo "not a png" >f_bad/b/broken.png
echo thumbs >f_thumbs/Thumbs.db
bad_case f_cls/ "a folder of class folders as evaluate --data" - -- evaluate ck/last.h5 --data f_cls
bad_case i_ok/ "a folder of images as evaluate --data" - -- evaluate ck/last.h5 --data i_ok
bad_case good.h5 "a dataset as the model of evaluate" - -- evaluate good.h5 --data good.h5
bad_case good.h5 "a dataset as train's model spec" o_f2 -- train good.h5 $D --out o_f2
bad_case ck/last.h5 "a checkpoint as train --data" o_f3 -- train sq.nn --data ck/last.h5 --out o_f3
bad_case ck/last.h5 "a checkpoint as predict --data" - -- predict ck/last.h5 --data ck/last.h5
bad_case good.h5 "a dataset as predict --images" - -- predict ck/last.h5 --images good.h5
bad_case f_thumbs/ "predict --images: only a Thumbs.db" - -- predict "$HERE/fixtures/keras_cnn.h5" --images f_thumbs
bad_case f_bad/b/broken.png "train --data class folders, text named .png" o_f4 -- train cnn.nn --data f_bad --out o_f4
bad_case f_cls/ "train --data class folders, model input (1,)" o_f5 -- train sq.nn --data f_cls --out o_f5
bad_case f_cls/ "a folder of class folders as convert idx" out_f6.h5 -- convert idx f_cls -o out_f6.h5
bad_case ck/last.h5 "a checkpoint as inspect's dataset" - -- inspect ck/last.h5
bad_case f_cls/ "predict --images: a folder of class folders" - -- predict "$HERE/fixtures/keras_cnn.h5" --images f_cls

# ---- Keras scripts pasted as they are (src/spec/paste.c) --------------------
PM='model = Sequential()
model.add(Dense(1, input_shape=(2,)))'
spec paste_data.R 'library(keras)
mnist <- dataset_mnist()
x_train <- mnist$train$x
model <- keras_model_sequential() %>% layer_dense(units = 1, input_shape = c(2))'
spec paste_data.py "(x_train, y_train), (x_test, y_test) = mnist.load_data()
$PM"
spec paste_eval.py "$PM
model.evaluate(x_test, y_test)"
spec paste_save.py "$PM
model.save('m.h5')"
spec paste_r_layer.R 'model <- keras_model_sequential() %>% layer_dens(units = 1, input_shape = c(2))'
spec paste_py_layer.py 'model = Sequential()
model.add(layers.Dens(1, input_shape=(2,)))'
spec paste_r_opt.R 'model <- keras_model_sequential() %>% layer_dense(units = 1, input_shape = c(2))
model %>% compile(loss = "mse", optimizer = optimizer_adma())'
spec paste_loss.py "$PM
model.compile(loss=losses.binary_crosentropy)"
spec paste_metric.py "$PM
model.compile(loss='mse', metrics=['acuracy'])"
spec paste_act.py 'model = Sequential()
model.add(Dense(1, activation="rleu", input_shape=(2,)))'
spec paste_arg.py 'model = Sequential()
model.add(Dense(1, activaton="relu", input_shape=(2,)))'
spec paste_lossval.py "$PM
model.compile(loss=[1, 2])"
spec paste_ck_epoch.py "$PM
model.compile(loss='mse')
model.fit(x, y, callbacks=[ModelCheckpoint('w{epoch:02d}.h5')])"
spec paste_ck_freq.py "$PM
model.compile(loss='mse')
model.fit(x, y, callbacks=[ModelCheckpoint('w.h5', save_freq=100)])"
spec paste_ck_two.py "$PM
model.compile(loss='mse')
model.fit(x, y, callbacks=[ModelCheckpoint('a.h5'), ModelCheckpoint('b.h5')])"
spec paste_ck_nofile.py "$PM
model.compile(loss='mse')
model.fit(x, y, callbacks=[ModelCheckpoint(monitor='loss')])"
spec paste_ck_notcb.py "$PM
model.compile(loss='mse')
model.fit(x, y, callbacks=['best.h5'])"
spec paste_ck_period.py "$PM
model.compile(loss='mse')
model.fit(x, y, callbacks=[ModelCheckpoint('w.h5', period=0)])"
spec paste_ck_val.py "$PM
model.compile(loss='mse')
model.fit(x, y, callbacks=[ModelCheckpoint('w.h5')])"
spec paste_seed.R 'set.seed(-1)
model <- keras_model_sequential() %>% layer_dense(units = 1, input_shape = c(2))'
spec paste_mul.py "model = Sequential()
model.add(Dense(2 * 'a', input_shape=(2,)))"
spec paste_big.py "model = Sequential()
model.add(Dense(1e300 * 1e300, input_shape=(2,)))"
spec paste_seqlist.py "model = Sequential([Dense(1, input_shape=(2,)), 3])"
spec paste_pipe.R 'model <- keras_model_sequential() %>% 3'
spec paste_nomodel.R 'model %>% layer_dense(units = 1, input_shape = c(2))'
spec paste_functional.py 'inputs = keras.Input(shape=(784,))
x = layers.Dense(64, activation="relu")(inputs)'
bad_case paste_data.R "R data loading lines" - -- summary paste_data.R
bad_case paste_data.py "Python tuple assignment from load_data()" - -- summary paste_data.py
bad_case paste_eval.py "model.evaluate(...)" - -- summary paste_eval.py
bad_case paste_save.py "model.save(...)" - -- summary paste_save.py
bad_case paste_r_layer.R "R layer_dens: did you mean" - -- summary paste_r_layer.R
bad_case paste_py_layer.py "Python layers.Dens: did you mean" - -- summary paste_py_layer.py
bad_case paste_r_opt.R "optimizer_adma: did you mean" - -- summary paste_r_opt.R
bad_case paste_loss.py "losses.binary_crosentropy: did you mean" - -- summary paste_loss.py
bad_case paste_metric.py "metric acuracy: did you mean" - -- summary paste_metric.py
bad_case paste_act.py "activation rleu: did you mean" - -- summary paste_act.py
bad_case paste_arg.py "argument activaton: did you mean" - -- summary paste_arg.py
bad_case paste_lossval.py "loss=[1, 2]" - -- summary paste_lossval.py
bad_case paste_ck_epoch.py "ModelCheckpoint('w{epoch:02d}.h5')" - -- summary paste_ck_epoch.py
bad_case paste_ck_freq.py "ModelCheckpoint(save_freq=100)" - -- summary paste_ck_freq.py
bad_case paste_ck_two.py "two ModelCheckpoints" - -- summary paste_ck_two.py
bad_case paste_ck_nofile.py "ModelCheckpoint without a file" - -- summary paste_ck_nofile.py
bad_case paste_ck_notcb.py "callbacks=['best.h5']" - -- summary paste_ck_notcb.py
bad_case paste_ck_period.py "ModelCheckpoint(period=0)" - -- summary paste_ck_period.py
bad_case paste_ck_val.py "ModelCheckpoint on val_loss, no validation data" o_pv -- train paste_ck_val.py --data synthetic:sqrt:64 --out o_pv
bad_case paste_seed.R "set.seed(-1)" - -- summary paste_seed.R
bad_case paste_mul.py "2 * 'a'" - -- summary paste_mul.py
bad_case paste_big.py "1e300 * 1e300" - -- summary paste_big.py
bad_case paste_seqlist.py "Sequential([Dense(..), 3])" - -- summary paste_seqlist.py
bad_case paste_pipe.R "%>% 3" - -- summary paste_pipe.R
bad_case paste_nomodel.R "model %>% ... with no model made" - -- summary paste_nomodel.R
bad_case paste_functional.py "functional layers but no Model(...) line" - -- summary paste_functional.py

# ---- pooling and padding layers (issue 17): AveragePooling2D, global pools, ZeroPadding2D
spec avg_big.nn 'AveragePooling2D((2, 7), input_shape=(4, 6, 1))'
spec zpad_neg.nn 'ZeroPadding2D(((1, 0), (2, -3)), input_shape=(4, 4, 1))'
spec zpad_form.nn 'ZeroPadding2D((1, 2, 3), input_shape=(4, 4, 1))'
spec zpad_huge.nn 'ZeroPadding2D(1000000000, input_shape=(4, 4, 1))'
spec gmp_huge.nn 'GlobalMaxPooling2D(input_shape=(50000, 50000, 1))'
bad_case avg_big.nn "AveragePooling2D pool wider than the input" - -- summary avg_big.nn
bad_case zpad_neg.nn "ZeroPadding2D with a negative side" - -- summary zpad_neg.nn
bad_case zpad_form.nn "ZeroPadding2D((1, 2, 3))" - -- summary zpad_form.nn
bad_case zpad_huge.nn "ZeroPadding2D(1e9): over 2^31 elements" - -- summary zpad_huge.nn
bad_case gmp_huge.nn "GlobalMaxPooling2D of over 2^31 elements" - -- summary gmp_huge.nn
if [ $H5PY -eq 1 ]; then
    $PY - ck/last.h5 <<'P'
import sys, shutil, json, h5py
shutil.copy(sys.argv[1], "ck_nchw.h5")
with h5py.File("ck_nchw.h5", "r+") as f:
    del f["nntrain"]
    f.attrs["model_config"] = json.dumps({"class_name": "Sequential", "config": {"layers": [
        {"class_name": "InputLayer", "config": {"batch_input_shape": [None, 2, 6, 6]}},
        {"class_name": "AveragePooling2D", "config": {"name": "avg", "pool_size": [2, 2],
                                                      "data_format": "channels_first"}}]}})
P
fi
h5case ck_nchw.h5 "Keras AveragePooling2D channels_first" - -- summary ck_nchw.h5
# ---- small layers (issue 17): LeakyReLU, ReLU, Softmax, Reshape, Input lines,
# Keras 3 optimizer options that are not no-ops
spec sl_leaky_none.nn 'LeakyReLU(alpha=None, input_shape=(1,))
Dense(1)'
spec sl_leaky_big.nn 'LeakyReLU(alpha=1e39, input_shape=(1,))
Dense(1)'
spec sl_relu_max.nn 'ReLU(max_value=-1, input_shape=(1,))
Dense(1)'
spec sl_relu_slope.nn 'ReLU(negative_slope=-0.1, input_shape=(1,))
Dense(1)'
spec sl_relu_thr.nn 'ReLU(threshold=-1, input_shape=(1,))
Dense(1)'
spec sl_softmax_axis.nn 'Softmax(axis=1, input_shape=(2, 2, 1))
Flatten()
Dense(1)'
spec sl_reshape_none.nn 'Reshape(input_shape=(1,))
Dense(1)'
spec sl_reshape_two.nn 'Reshape((-1, -1), input_shape=(1,))
Dense(1)'
spec sl_reshape_5d.nn 'Reshape((1, 1, 1, 1, 1), input_shape=(1,))
Dense(1)'
spec sl_reshape_size.nn 'Reshape((2,), input_shape=(1,))
Dense(1)'
spec sl_in_dtype.nn 'Input(shape=(1,), dtype="float64")
Dense(1)'
spec sl_in_batch.nn 'Input(batch_shape=(None, -3))
Dense(1)'
spec sl_in_sparse.nn 'InputLayer(input_shape=(1,), sparse=True)
Dense(1)'
bad_case sl_leaky_none.nn "LeakyReLU(alpha=None)" o_sl1 -- train sl_leaky_none.nn $D --out o_sl1
bad_case sl_leaky_big.nn "LeakyReLU(alpha=1e39)" - -- summary sl_leaky_big.nn
bad_case sl_relu_max.nn "ReLU(max_value=-1)" - -- summary sl_relu_max.nn
bad_case sl_relu_slope.nn "ReLU(negative_slope=-0.1)" - -- summary sl_relu_slope.nn
bad_case sl_relu_thr.nn "ReLU(threshold=-1)" - -- summary sl_relu_thr.nn
bad_case sl_softmax_axis.nn "Softmax(axis=1) on an image" - -- summary sl_softmax_axis.nn
bad_case sl_reshape_none.nn "Reshape() without target_shape" - -- summary sl_reshape_none.nn
bad_case sl_reshape_two.nn "Reshape((-1, -1))" - -- summary sl_reshape_two.nn
bad_case sl_reshape_5d.nn "Reshape to 5 dimensions" - -- summary sl_reshape_5d.nn
bad_case sl_reshape_size.nn "Reshape((2,)) of 1 value" o_sl2 -- train sl_reshape_size.nn $D --out o_sl2
bad_case sl_in_dtype.nn "Input(dtype=\"float64\")" - -- summary sl_in_dtype.nn
bad_case sl_in_batch.nn "Input(batch_shape=(None, -3))" - -- summary sl_in_batch.nn
bad_case sl_in_sparse.nn "InputLayer(sparse=True)" - -- summary sl_in_sparse.nn
# (a Keras 3 loss_scale_factor=128 is a warning now: see the Keras training_config block)
# ---- weight regularizers (issue 17): negative factors, unknown regularizers,
# a regularizer on a layer without (those) weights, a Keras file's unknown one
spec rg_neg.nn 'Dense(4, input_shape=(1,), kernel_regularizer=l2(-0.01))
Dense(1)'
spec rg_neg_r.nn 'layer_dense(units = 4, input_shape = c(1), bias_regularizer = regularizer_l1_l2(l1 = -1))
layer_dense(units = 1)'
spec rg_unknown.nn 'Dense(4, input_shape=(1,), kernel_regularizer=l3(0.01))
Dense(1)'
spec rg_unknown_str.nn 'Dense(4, input_shape=(1,), kernel_regularizer="l2_l1")
Dense(1)'
spec rg_noweights.nn 'Dense(4, input_shape=(1,))
Dropout(0.5, kernel_regularizer=l2(0.01))
Dense(1)'
spec rg_norecurrent.nn 'Dense(4, input_shape=(1,), recurrent_regularizer=l2(0.01))
Dense(1)'
spec rg_activity.nn 'Dense(4, input_shape=(1,), activity_regularizer=l2(0.01))
Dense(1)'
if [ $H5PY -eq 1 ]; then
    $PY - ck/last.h5 <<'P'
import sys, shutil, json, h5py
shutil.copy(sys.argv[1], "rg_keras.h5")
with h5py.File("rg_keras.h5", "r+") as f:
    del f["nntrain"]
    mc = json.loads(f.attrs["model_config"])
    for L in mc["config"]["layers"]:
        if L["class_name"] == "Dense":
            L["config"]["kernel_regularizer"] = {"class_name": "OrthogonalRegularizer",
                                                 "config": {"factor": 0.01}}
    f.attrs["model_config"] = json.dumps(mc)
P
fi
bad_case rg_neg.nn "kernel_regularizer=l2(-0.01)" o_rg1 -- train rg_neg.nn $D --out o_rg1
bad_case rg_neg_r.nn "R regularizer_l1_l2(l1 = -1)" - -- summary rg_neg_r.nn
bad_case rg_unknown.nn "unknown regularizer l3(0.01)" - -- summary rg_unknown.nn
bad_case rg_unknown_str.nn "unknown regularizer \"l2_l1\"" - -- summary rg_unknown_str.nn
bad_case rg_noweights.nn "kernel_regularizer on Dropout (no weights)" - -- summary rg_noweights.nn
bad_case rg_norecurrent.nn "recurrent_regularizer on Dense" - -- summary rg_norecurrent.nn
bad_case rg_activity.nn "activity_regularizer (not supported)" - -- summary rg_activity.nn
h5case rg_keras.h5 "Keras OrthogonalRegularizer" - -- summary rg_keras.h5

# ---- BatchNormalization ----
spec bn_axis.nn 'Conv2D(2, (3, 3), input_shape=(6, 6, 1))
BatchNormalization(axis=1)
Flatten()
Dense(1)'
spec bn_momentum.nn 'Dense(4, input_shape=(1,))
BatchNormalization(momentum=1)
Dense(1)'
spec bn_epsilon.nn 'Dense(4, input_shape=(1,))
BatchNormalization(epsilon=0)
Dense(1)'
spec bn_ok.nn 'Dense(4, input_shape=(1,))
BatchNormalization()
Dense(1)
compile(loss="mse")'
bad_case bn_axis.nn "BatchNormalization(axis=1) on an image (not the channels)" - -- summary bn_axis.nn
bad_case bn_momentum.nn "BatchNormalization momentum=1" - -- summary bn_momentum.nn
bad_case bn_epsilon.nn "BatchNormalization epsilon=0" - -- summary bn_epsilon.nn
bad_case bn_ok.nn "--accumulate with BatchNormalization" o_bn1 -- train bn_ok.nn $D --accumulate 2 --out o_bn1

# ---- functional models in the spec (issue 17, parser side: src/spec/paste_graph.c) ----
spec fn_undefined.py 'inputs = Input(shape=(4,))
x = Dense(4)(inptus)
model = Model(inputs, x)'
spec fn_shared.py 'inputs = Input(shape=(4,))
d = Dense(4)
x = d(inputs)
x = d(x)
model = Model(inputs, x)'
spec fn_two_outputs.py 'inputs = Input(shape=(4,))
a = Dense(4)(inputs)
b = Dense(2)(inputs)
model = Model(inputs=inputs, outputs=[a, b])'
spec fn_two_inputs.R 'a <- layer_input(shape = c(4))
b <- layer_input(shape = c(4))
x <- layer_add(list(a, b))
model <- keras_model(inputs = list(a, b), outputs = x)'
spec fn_other_input.py 'a = Input(shape=(4,))
b = Input(shape=(4,))
x = add([a, b])
model = Model(inputs=a, outputs=x)'
spec fn_not_tensor.py 'inputs = Input(shape=(4,))
x = Dense(4)(3)
model = Model(inputs, x)'
spec fn_not_layer.py 'inputs = Input(shape=(4,))
x = tf.nn.relu(inputs)
model = Model(inputs, x)'
spec fn_unrelated_input.py 'inputs = Input(shape=(4,))
other = Input(shape=(4,))
x = Dense(4)(inputs)
model = Model(inputs=other, outputs=x)'
spec fn_input_not_input.R 'inputs <- layer_input(shape = c(4))
x <- inputs %>% layer_dense(units = 4)
model <- keras_model(x, x)'
spec fn_no_model.R 'inputs <- layer_input(shape = c(4))
x <- inputs %>% layer_dense(units = 4)
model %>% compile(loss = "mse")'
spec fn_list_var.py 'inputs = Input(shape=(4,))
xs = [inputs, inputs]'
spec fn_tensor_arg.py 'inputs = Input(shape=(4,))
x = Dense(4, activation=inputs)(inputs)'
spec fn_call_tensor.py 'inputs = Input(shape=(4,))
x = Dense(4)(inputs)(inputs)'
spec fn_training.py 'inputs = Input(shape=(4,))
x = Dropout(0.5)(inputs, training=True)'
spec fn_apply_kw.py 'inputs = Input(shape=(4,))
x = Dropout(0.5)(mask=inputs)'
spec fn_apply_empty.py 'inputs = Input(shape=(4,))
x = Dense(4)()'
spec fn_no_outputs.py 'inputs = Input(shape=(4,))
x = Dense(4)(inputs)
model = Model(inputs)'
spec fn_model_extra.py 'inputs = Input(shape=(4,))
x = Dense(4)(inputs)
model = Model(inputs, x, x)'
spec fn_two_models.py 'inputs = Input(shape=(4,))
x = Dense(4)(inputs)
model = Model(inputs, x)
model2 = Model(inputs, x)'
spec fn_seq_and_model.py 'model = Sequential()
inputs = Input(shape=(4,))
x = Dense(4)(inputs)
model = Model(inputs, x)'
spec fn_input_tensor.py 'inputs = Input(shape=(4,))
x = Input(inputs)'
spec fn_apply_input.py 'inputs = Input(shape=(4,))
x = Input(shape=(4,))(inputs)'
spec fn_model_nested.py 'inputs = Input(shape=(4,))
x = Dense(4)(Model(inputs, inputs))'
spec fn_pipe_tensor.R 'inputs <- layer_input(shape = c(4))
x <- inputs %>% layer_add(list(inputs, inputs))'
spec fn_nested_list.py 'inputs = Input(shape=(4,))
x = add([[inputs, inputs], inputs])'
spec fn_merge_extra.R 'inputs <- layer_input(shape = c(4))
x <- layer_dense(inputs, units = 4, kernel_initializer = inputs)'
bad_case fn_undefined.py "functional: a variable used before it is defined" - -- summary fn_undefined.py
bad_case fn_shared.py "functional: a layer object applied twice (shared)" - -- summary fn_shared.py
bad_case fn_two_outputs.py "functional: Model(outputs=[a, b])" - -- summary fn_two_outputs.py
bad_case fn_two_inputs.R "functional: keras_model(inputs = list(a, b))" - -- summary fn_two_inputs.R
bad_case fn_other_input.py "functional: the output depends on a second Input" - -- summary fn_other_input.py
bad_case fn_not_tensor.py "functional: Dense(4)(3), a layer applied to a number" - -- summary fn_not_tensor.py
bad_case fn_not_layer.py "functional: tf.nn.relu(x), not a Keras layer" - -- summary fn_not_layer.py
bad_case fn_unrelated_input.py "functional: Model(inputs=) an Input the output does not use" - -- summary fn_unrelated_input.py
bad_case fn_input_not_input.R "functional: keras_model(x, x), x not an Input" - -- summary fn_input_not_input.R
bad_case fn_no_model.R "functional: layers applied but no keras_model()" - -- summary fn_no_model.R
bad_case fn_list_var.py "functional: a variable holding a list of tensors" - -- summary fn_list_var.py
bad_case fn_tensor_arg.py "functional: a tensor as an option (activation=inputs)" - -- summary fn_tensor_arg.py
bad_case fn_call_tensor.py "functional: a tensor applied as a layer" - -- summary fn_call_tensor.py
bad_case fn_training.py "functional: Dropout(..)(x, training=True)" - -- summary fn_training.py
bad_case fn_apply_kw.py "functional: Dropout(..)(mask=x)" - -- summary fn_apply_kw.py
bad_case fn_apply_empty.py "functional: Dense(4)() with no tensor" - -- summary fn_apply_empty.py
bad_case fn_no_outputs.py "functional: Model(inputs) without outputs" - -- summary fn_no_outputs.py
bad_case fn_model_extra.py "functional: Model(inputs, x, x)" - -- summary fn_model_extra.py
bad_case fn_two_models.py "functional: two Model() lines" - -- summary fn_two_models.py
bad_case fn_seq_and_model.py "functional: Sequential() and Model() in one script" - -- summary fn_seq_and_model.py
bad_case fn_input_tensor.py "functional: Input(x), a tensor as a shape" - -- summary fn_input_tensor.py
bad_case fn_apply_input.py "functional: Input(..)(x)" - -- summary fn_apply_input.py
bad_case fn_model_nested.py "functional: Model(..) inside an expression" - -- summary fn_model_nested.py
bad_case fn_pipe_tensor.R "functional: a pipe stage given another tensor" - -- summary fn_pipe_tensor.R
bad_case fn_nested_list.py "functional: add([[a, b], c])" - -- summary fn_nested_list.py
bad_case fn_merge_extra.R "functional: layer_dense(x, kernel_initializer = x)" - -- summary fn_merge_extra.R

# ---- functional Keras files (Model / Functional model_config) ----
if [ $H5PY -eq 1 ]; then
    $PY - <<'P'
import copy, json, h5py
def dense(name, units, ins, cls="Dense"):
    return {"class_name": cls, "config": {"name": name, "units": units}, "name": name,
            "inbound_nodes": [[[n, 0, 0, {}] for n in ins]]}
base = {"class_name": "Functional", "config": {"name": "model", "layers": [
    {"class_name": "InputLayer", "config": {"batch_input_shape": [None, 4], "name": "input_1"},
     "name": "input_1", "inbound_nodes": []},
    dense("dense", 5, ["input_1"]), dense("dense_1", 2, ["dense"])],
    "input_layers": [["input_1", 0, 0]], "output_layers": [["dense_1", 0, 0]]}}
def save(fname, edit):
    mc = copy.deepcopy(base)
    L = {l["name"]: l for l in mc["config"]["layers"]}
    edit(mc["config"], L)
    with h5py.File(fname, "w") as f:
        f.attrs["model_config"] = json.dumps(mc)
        f.attrs["keras_version"] = "2.4.0"
        f.create_group("model_weights").attrs["layer_names"] = []
save("kf_undefined.h5", lambda c, L: L["dense_1"]["inbound_nodes"][0][0].__setitem__(0, "densee"))
save("kf_cycle.h5", lambda c, L: L["dense"]["inbound_nodes"][0][0].__setitem__(0, "dense_1"))
save("kf_shared.h5", lambda c, L: L["dense_1"]["inbound_nodes"].append([["input_1", 0, 0, {}]]))
save("kf_two_outputs.h5", lambda c, L: c["output_layers"].append(["dense", 0, 0]))
save("kf_unknown.h5", lambda c, L: L["dense_1"].__setitem__("class_name", "GRU"))
save("kf_training.h5", lambda c, L: L["dense_1"]["inbound_nodes"][0][0].__setitem__(3, {"training": False}))
def merge(c, L):   # dense_2 = Add()([dense, dense_1]): (None, 5) + (None, 2)
    c["layers"].append({"class_name": "Add", "config": {"name": "add"}, "name": "add",
                        "inbound_nodes": [[["dense", 0, 0, {}], ["dense_1", 0, 0, {}]]]})
    c["output_layers"] = [["add", 0, 0]]
save("kf_merge_shapes.h5", merge)
save("kf_nocompile.h5", lambda c, L: None)   # saved without compile(): no training_config
json.dump(base, open("kf_model.json", "w"))   # model.to_json(): no compile()
P
fi
printf '{"class_name": "Functional", "config": {"layers": [' >kf_cut.json
h5case kf_undefined.h5 "functional Keras file: a layer's input is not a layer of the model" - -- summary kf_undefined.h5
h5case kf_cycle.h5 "functional Keras file: inbound_nodes form a cycle" - -- summary kf_cycle.h5
h5case kf_shared.h5 "functional Keras file: a layer called twice (shared weights)" - -- summary kf_shared.h5
h5case kf_two_outputs.h5 "functional Keras file: two output_layers" - -- summary kf_two_outputs.h5
h5case kf_unknown.h5 "functional Keras file: unknown layer class GRU" - -- summary kf_unknown.h5
h5case kf_training.h5 "functional Keras file: a layer called with training=False" - -- summary kf_training.h5
h5case kf_merge_shapes.h5 "functional Keras file: Add of (None, 5) and (None, 2)" - -- summary kf_merge_shapes.h5
h5case kf_model.json "train a Keras model.to_json() file (no compile)" o_kf1 -- train kf_model.json $D --out o_kf1
h5case kf_nocompile.h5 "train a Keras .h5 saved without compile()" o_kf2 -- train kf_nocompile.h5 $D --out o_kf2
bad_case kf_cut.json "Keras model JSON cut short" - -- summary kf_cut.json

# ---- callbacks (issue 18): EarlyStopping, ReduceLROnPlateau in fit(callbacks=...) and on train's command line
CBHEAD='Dense(4, activation="relu", input_shape=(1,))
Dense(1)
compile(loss="mse", optimizer=Adam(), metrics=["mae"])'
spec cb_monitor.nn "$CBHEAD
fit(batch_size=8, epochs=1, validation_split=0.25, callbacks=list(EarlyStopping(monitor=\"val_mea\")))"
spec cb_patience.nn "$CBHEAD
fit(callbacks=list(EarlyStopping(patience=-1)))"
spec cb_factor.nn "$CBHEAD
fit(callbacks=list(ReduceLROnPlateau(factor=1.5)))"
spec cb_unknown.nn "$CBHEAD
fit(callbacks=list(EarlyStoping(patience=3)))"
spec cb_unknown_r.nn "$CBHEAD
fit(callbacks = list(callback_reduce_lr_on_platau(patience = 2)))"
bad_case cb_monitor.nn "EarlyStopping(monitor=\"val_mea\"): unknown monitor" o_cb1 -- train cb_monitor.nn $D --out o_cb1
bad_case cb_patience.nn "EarlyStopping(patience=-1)" - -- summary cb_patience.nn
bad_case cb_factor.nn "ReduceLROnPlateau(factor=1.5)" - -- summary cb_factor.nn
bad_case cb_unknown.nn "unknown callback EarlyStoping" - -- summary cb_unknown.nn
bad_case cb_unknown_r.nn "unknown callback callback_reduce_lr_on_platau (R)" - -- summary cb_unknown_r.nn
bad_case sq.nn "--early-stopping-patience -2" o_cb2 -- train sq.nn $D --out o_cb2 --early-stopping-patience -2
bad_case sq.nn "--reduce-lr-factor 1" o_cb3 -- train sq.nn $D --out o_cb3 --reduce-lr-factor 1
bad_case sq.nn "--reduce-lr-patience 3: val_loss without validation data" o_cb4 -- train sq.nn $D --out o_cb4 --reduce-lr-patience 3

# ---- learning-rate schedules and gradient clipping (issue 18: lr_schedule.c, optim.c) ----
spec sc_decreasing.nn 'Dense(4, input_shape=(1,))
Dense(1)
compile(loss="mse", optimizer=SGD(learning_rate=PiecewiseConstantDecay(boundaries=[2000, 1000], values=[0.1, 0.01, 0.001])))'
spec sc_values.nn 'Dense(4, input_shape=(1,))
Dense(1)
compile(loss="mse", optimizer=SGD(learning_rate=PiecewiseConstantDecay(boundaries=[1000, 2000], values=[0.1, 0.01])))'
spec sc_neg_steps.nn 'Dense(4, input_shape=(1,))
Dense(1)
compile(loss="mse", optimizer=Adam(learning_rate=ExponentialDecay(0.1, decay_steps=-1000, decay_rate=0.96)))'
spec sc_zero_steps.R 'model <- keras_model_sequential() %>% layer_dense(units = 1, input_shape = c(1))
model %>% compile(loss = "mse", optimizer = optimizer_sgd(learning_rate = learning_rate_schedule_inverse_time_decay(0.1, decay_steps = 0, decay_rate = 0.5)))'
spec sc_unknown.nn 'Dense(1, input_shape=(1,))
compile(loss="mse", optimizer=Adam(learning_rate=ExponentalDecay(0.1, 1000, 0.96)))'
spec cl_zero.nn 'Dense(1, input_shape=(1,))
compile(loss="mse", optimizer=Adam(clipnorm=0))'
spec cl_neg.nn 'Dense(1, input_shape=(1,))
compile(loss="mse", optimizer=RMSprop(clipvalue=-0.5))'
spec cl_both.nn 'Dense(1, input_shape=(1,))
compile(loss="mse", optimizer=SGD(clipnorm=1.0, global_clipnorm=1.0))'
bad_case sc_decreasing.nn "PiecewiseConstantDecay with decreasing boundaries" o_sc1 -- train sc_decreasing.nn $D --out o_sc1
bad_case sc_values.nn "PiecewiseConstantDecay: len(values) != len(boundaries) + 1" o_sc2 -- train sc_values.nn $D --out o_sc2
bad_case sc_neg_steps.nn "ExponentialDecay decay_steps=-1000" o_sc3 -- train sc_neg_steps.nn $D --out o_sc3
bad_case sc_zero_steps.R "R learning_rate_schedule_inverse_time_decay(decay_steps = 0)" - -- summary sc_zero_steps.R
bad_case sc_unknown.nn "misspelt schedule ExponentalDecay" - -- summary sc_unknown.nn
bad_case cl_zero.nn "clipnorm=0 (not set is -1 or None)" o_cl1 -- train cl_zero.nn $D --out o_cl1
bad_case cl_neg.nn "clipvalue=-0.5" - -- summary cl_neg.nn
bad_case cl_both.nn "clipnorm and global_clipnorm together" - -- summary cl_both.nn
spec sc_rlr.nn 'Dense(4, input_shape=(1,))
Dense(1)
compile(loss="mse", optimizer=Adam(learning_rate=ExponentialDecay(0.01, 100, 0.9)))
fit(callbacks=list(ReduceLROnPlateau(monitor="loss")))'
bad_case sc_rlr.nn "ReduceLROnPlateau on a learning-rate schedule" o_sc4 -- train sc_rlr.nn $D --out o_sc4

# ---- Keras training_configs (issue 18, part 3: src/io/keras_compile.c). What nntrain cannot
# train with (an optimizer, option or loss it lacks) is only a warning for summary, predict and
# evaluate (tests/cli/eval_predict.sh, test_checkpoint); a malformed training_config or a
# schedule with bad values is still an error
if [ $H5PY -eq 1 ]; then
    $PY - ck/last.h5 <<'P'
import sys, shutil, json, h5py
def variant(name, edit):
    shutil.copy(sys.argv[1], name)
    with h5py.File(name, "r+") as f:
        del f["nntrain"]
        tc = json.loads(f.attrs["training_config"])
        f.attrs["training_config"] = edit(tc)
def opt_list(tc):
    tc["optimizer_config"] = [1]
    return json.dumps(tc)
def sched(tc):
    tc["optimizer_config"]["config"]["learning_rate"] = {
        "module": "keras.optimizers.schedules", "class_name": "ExponentialDecay",
        "config": {"initial_learning_rate": 0.01, "decay_steps": 0, "decay_rate": 0.9,
                   "staircase": False, "name": "ExponentialDecay"}, "registered_name": None}
    return json.dumps(tc)
def loss_num(tc):
    tc["loss"] = 3
    return json.dumps(tc)
variant("kq_opt_list.h5", opt_list)
variant("kq_tc_text.h5", lambda tc: '{"loss": "mse", ')
variant("kq_sched.h5", sched)
variant("kq_loss_num.h5", loss_num)
P
fi
h5case kq_opt_list.h5 "Keras training_config: optimizer_config is a list" - -- summary kq_opt_list.h5
h5case kq_tc_text.h5 "Keras training_config: not JSON" - -- summary kq_tc_text.h5
h5case kq_sched.h5 "Keras training_config: ExponentialDecay with decay_steps 0" - -- summary kq_sched.h5
h5case kq_loss_num.h5 "Keras training_config: loss is a number" - -- summary kq_loss_num.h5

# ---- plot-model (issue 19: src/cli/cmd_plot_model.c): the format from -o's extension, the
# options, and Graphviz's dot missing from PATH or failing (a fake dot that writes half a PNG)
mkdir -p pm_nodot pm_fake
for c in timeout grep head find tr; do ln -sf "$(command -v $c)" pm_nodot/$c; done
printf '#!/bin/sh\nwhile [ $# -gt 1 ]; do [ "$1" = -o ] && printf half >"$2"; shift; done\necho "Error: syntax error in line 1" >&2\nexit 1\n' >pm_fake/dot
chmod +x pm_fake/dot
bad_case mlp.nn "plot-model -o model.jpg: unknown extension" model.jpg -- plot-model mlp.nn -o model.jpg
bad_case mlp.nn "plot-model --rankdir XY" pm1.png -- plot-model mlp.nn -o pm1.png --rankdir XY
bad_case mlp.nn "plot-model --dpi 0" pm2.png -- plot-model mlp.nn -o pm2.png --dpi 0
bad_case mlp.nn "plot-model --show-layer-names --hide-layer-names" pm3.png -- plot-model mlp.nn -o pm3.png --show-layer-names --hide-layer-names
bad_case - "plot-model without a model" pm4.png -- plot-model -o pm4.png
bad_case missing.nn "plot-model: no such model" pm5.png -- plot-model missing.nn -o pm5.png
bad_case pm_none/m.png "plot-model -o into a missing folder" pm_none -- plot-model mlp.nn -o pm_none/m.png
PM_PATH=$PATH
PATH=$T/pm_nodot
bad_case mlp.nn "plot-model -o .png without Graphviz's dot on PATH" pm6.png -- plot-model mlp.nn -o pm6.png
PATH=$T/pm_fake:$PM_PATH
bad_case mlp.nn "plot-model: Graphviz's dot fails (half a PNG written)" pm7.png -- plot-model mlp.nn -o pm7.png
PATH=$PM_PATH
# ---- explain (issue 19: src/cli/cmd_explain.c, src/train/attribution.c): refused before any
# PNG or --raw file is written
"$NN" train cnn.nn --data good.h5 --out ex_ck --verbose 0 --no-test >/dev/null 2>&1
spec ex_emb.nn 'Embedding(100, 2, input_length=1)
Flatten()
Dense(1)
compile(loss="mse", optimizer=Adam())'
"$NN" train ex_emb.nn --data synthetic:sqrt:32 --out ex_emb --verbose 0 --no-test >/dev/null 2>&1
[ $H5PY -eq 1 ] && h5py_file ex_rgb.h5 "f['train/x'] = np.zeros((4, 8, 8, 3), np.uint8); f['train/y'] = np.zeros(4, np.int32)"
bad_case ex_ck/last.h5 "explain --method lime (unknown method)" o_ex1 -- explain ex_ck/last.h5 --data good.h5 --method lime -o o_ex1 --raw o_ex1/raw.h5
bad_case ex_ck/last.h5 "explain --class 10 of a 10-class model" o_ex2 -- explain ex_ck/last.h5 --data good.h5 --method saliency --class 10 -o o_ex2 --raw o_ex2/raw.h5
h5case ex_rgb.h5 "explain: RGB samples for a grey (8, 8, 1) model" o_ex3 -- explain ex_ck/last.h5 --data ex_rgb.h5 --method grad_input -o o_ex3 --raw o_ex3/raw.h5
bad_case ex_emb/last.h5 "explain: a model whose first layer is an Embedding (ids have no gradient)" o_ex4 -- explain ex_emb/last.h5 --data synthetic:sqrt:8 --method saliency -o o_ex4 --raw o_ex4/raw.h5
bad_case ex_ck/last.h5 "explain --method all --layer naming a Dense layer (Grad-CAM)" o_ex5 -- explain ex_ck/last.h5 --data good.h5 --method all --layer dense -o o_ex5 --raw o_ex5/raw.h5
bad_case ex_ck/last.h5 "explain --indices past the end" o_ex6 -- explain ex_ck/last.h5 --data good.h5 --method saliency --indices 1,99999 -o o_ex6 --raw o_ex6/raw.h5
bad_case ex_ck/last.h5 "explain --window larger than the image" o_ex7 -- explain ex_ck/last.h5 --data good.h5 --method occlusion --window 9 -o o_ex7 --raw o_ex7/raw.h5
bad_case ex_ck/last.h5 "explain --baseline of a word" o_ex8 -- explain ex_ck/last.h5 --data good.h5 --method deeplift --baseline black -o o_ex8
bad_case ex_ck/last.h5 "explain without --method" o_ex9 -- explain ex_ck/last.h5 --data good.h5 -o o_ex9
bad_case ex_ck/last.h5 "explain without -o DIR" - -- explain ex_ck/last.h5 --data good.h5 --method saliency
bad_case ex_ck/last.h5 "explain --mistakes with --indices" o_ex10 -- explain ex_ck/last.h5 --data good.h5 --method saliency --mistakes 2 --indices 1 -o o_ex10
bad_case i_ok/ "explain --images with --indices" o_ex11 -- explain ex_ck/last.h5 --images i_ok --method saliency --indices 1 -o o_ex11
bad_case ex_ck/last.h5 "explain --epsilon 0" o_ex12 -- explain ex_ck/last.h5 --data good.h5 --method elrp --epsilon 0 -o o_ex12
bad_case ex_ck/last.h5 "explain --class -1" o_ex13 -- explain ex_ck/last.h5 --data good.h5 --method saliency --class -1 -o o_ex13
bad_case ck/last.h5 "explain --mistakes of a regression model" o_ex14 -- explain ck/last.h5 --data synthetic:sqrt:16 --method saliency --mistakes 2 -o o_ex14 --raw o_ex14/raw.h5
# ---- keras zip / writers (issue 18: src/io/keras_zip.c, src/data/csv_sklearn.c): Keras 3
# .keras files cut short, corrupt (CRC), without config.json or with weights that do not match
# it; scikit-learn style CSV files (convert csv --sklearn) whose header counts are wrong
KZ=$HERE/fixtures/keras_writers/keras3_seq_bn.keras
KZD="--data $HERE/fixtures/keras_writers/keras3_seq_bn.io.h5"
head -c 9000 "$KZ" >kz_cut.keras
cp "$KZ" kz_crc.keras && chmod u+w kz_crc.keras
printf 'XXXXXXXX' | dd of=kz_crc.keras bs=1 seek=6000 conv=notrunc 2>/dev/null
LC_ALL=C sed 's/config\.json/config.jsun/g' "$KZ" >kz_noconfig.keras
echo "not a zip" >kz_text.keras
cp "$KZ" kz_seq.keras
if [ -x "$PY" ]; then
    $PY - "$KZ" <<'P'
import json, sys, zipfile
src = zipfile.ZipFile(sys.argv[1])
with zipfile.ZipFile("kz_mismatch.keras", "w") as z:
    for n in src.namelist():
        d = src.read(n)
        if n == "config.json":   # 7 units in the config, 6 in the weights
            c = json.loads(d)
            c["config"]["layers"][1]["config"]["units"] = 7
            d = json.dumps(c).encode()
        z.writestr(n, d)
P
fi
printf 'Dense(6, activation="relu", input_shape=(4,), name="hidden")\nDense(3, name="probs")\n' >kz_spec.nn
bad_case kz_cut.keras ".keras zip cut at 9000 bytes" - -- summary kz_cut.keras
bad_case kz_crc.keras ".keras zip with 8 bytes overwritten (CRC)" - -- predict kz_crc.keras $KZD
bad_case kz_noconfig.keras ".keras zip without config.json" o_kz1 -- train kz_noconfig.keras $KZD --out o_kz1
bad_case kz_text.keras "a text file named .keras" - -- evaluate kz_text.keras $KZD
[ -x "$PY" ] && bad_case kz_mismatch.keras ".keras: Dense(7) in config.json, (4, 6) kernel in model.weights.h5" - -- summary kz_mismatch.keras
bad_case kz_crc.keras "--init-weights from a corrupt .keras" o_kz2 -- train kz_spec.nn $KZD --init-weights kz_crc.keras --out o_kz2
bad_case kz_seq.keras "--resume from a .keras file" o_kz3 -- train kz_spec.nn $KZD --out o_kz3 --resume kz_seq.keras
printf '150,4,setosa,versicolor,virginica\n5.1,3.5,1.4,0.2,0\n4.9,3.0,1.4,0.2,0\n' >sk_count.csv
printf '3,4,setosa,versicolor,virginica\n5.1,3.5,1.4,0.2,0\n4.9,3.0,1.4,0\n7.0,3.2,4.7,1.4,1\n' >sk_fields.csv
printf 'sepal_length,sepal_width,petal_length,petal_width,species\n5.1,3.5,1.4,0.2,0\n' >sk_header.csv
printf '2,4,setosa,versicolor\n5.1,3.5,1.4,0.2,0\n6.3,3.3,6.0,2.5,2\n' >sk_class.csv
bad_case sk_count.csv "--sklearn: the header says 150 samples, 2 rows" sk1.h5 -- convert csv sk_count.csv --sklearn -o sk1.h5
bad_case sk_fields.csv "--sklearn: a row of 4 fields for 4 features + class" sk2.h5 -- convert csv sk_fields.csv --sklearn -o sk2.h5
bad_case sk_header.csv "--sklearn on a CSV with a named header" sk3.h5 -- convert csv sk_header.csv --sklearn -o sk3.h5
bad_case sk_class.csv "--sklearn: class index 2 with 2 class names" sk4.h5 -- convert csv sk_class.csv --sklearn -o sk4.h5
bad_case sk_count.csv "--sklearn with --label-column" sk5.h5 -- convert csv sk_count.csv --sklearn --label-column species -o sk5.h5
# ---- deterministic mode (issue 20) ----
spec det_bool.nn 'Dense(1, input_shape=(1,))
compile(loss="mse")
fit(deterministic="yes")'
"$NN" train sq.nn $D --deterministic --epochs 1 --out det_ck --verbose 0 --no-test >/dev/null 2>&1
bad_case "--det-chunk 0" "chunk of 0 rows" o_det1 -- train sq.nn $D --deterministic --det-chunk 0 --out o_det1
bad_case "--det-chunk 4" "without --deterministic" o_det2 -- train sq.nn $D --det-chunk 4 --out o_det2
bad_case "--accumulate 2 --deterministic" "both at once" o_det5 -- train sq.nn $D --deterministic --accumulate 2 --out o_det5
bad_case det_bool.nn "fit(deterministic=\"yes\")" - -- summary det_bool.nn
bad_case "--resume det.h5 --det-chunk 4" "another chunk size than the deterministic checkpoint's 8" o_det6 -- train sq.nn $D --resume det_ck/last.h5 --det-chunk 4 --out o_det6
"$NN" train sq.nn $D --epochs 1 --out plain_ck --verbose 0 --no-test >/dev/null 2>&1
bad_case "--resume plain.h5 --det-chunk 4" "a chunk size for a checkpoint not trained deterministic" o_det7 -- train sq.nn $D --resume plain_ck/last.h5 --det-chunk 4 --out o_det7
bad_case "bench --det-chunk 4" "without --deterministic" - -- bench sq.nn --det-chunk 4
bad_case "bench --deterministic --det-chunk 0" "chunk of 0 rows" - -- bench sq.nn --deterministic --det-chunk 0
bad_case "compare A.h5" "one checkpoint" - -- compare det_ck/last.h5
bad_case "compare A.h5 sq.nn" "not a checkpoint" - -- compare det_ck/last.h5 sq.nn
# ---- convolution algorithm (--conv-algo, Winograd) -------------------------
bad_case "--conv-algo fast" "train: unknown convolution algorithm" o_ca1 -- train cnn.nn $D --conv-algo fast --out o_ca1
bad_case "--conv-algo Winograd" "bench: algorithm names are lower case" - -- bench cnn.nn --conv-algo Winograd --steps 1
# ---- deterministic mode with BatchNormalization (issue 20) -----------------
spec bn_unsync.nn 'Dense(4, input_shape=(1,))
BatchNormalization(synchronized=False)
Dense(1)
compile(loss="mse")'
bad_case bn_unsync.nn "--deterministic with BatchNormalization(synchronized=False)" o_dbn1 -- train bn_unsync.nn $D --deterministic --out o_dbn1

# ---- bf16 mixed precision (issue 21: set_global_policy, --precision) ----
spec bf_f16.nn 'mixed_precision.set_global_policy("mixed_float16")
Dense(1, input_shape=(1,))
compile(loss="mse")'
spec bf_name.nn 'set_global_policy("bfloat16")
Dense(1, input_shape=(1,))
compile(loss="mse")'
spec bf_num.nn 'set_global_policy(16)
Dense(1, input_shape=(1,))
compile(loss="mse")'
spec bf_late.nn 'Dense(1, input_shape=(1,))
mixed_precision.set_global_policy("mixed_bfloat16")
compile(loss="mse")'
bad_case bf_f16.nn "set_global_policy(\"mixed_float16\"): fp16 is for GPUs" - -- summary bf_f16.nn
bad_case bf_name.nn "an unknown policy name" o_bf1 -- train bf_name.nn $D --out o_bf1
bad_case bf_num.nn "a number as the policy" - -- summary bf_num.nn
bad_case bf_late.nn "the policy after the first layer" - -- summary bf_late.nn
bad_case "--precision fp16" "train: not bf16 or fp32" o_bf2 -- train sq.nn $D --precision fp16 --out o_bf2
bad_case "--precision half" "bench: not bf16 or fp32" - -- bench sq.nn --precision half --steps 1
bad_case "--precision bf8" "evaluate: not bf16 or fp32" - -- evaluate ck/last.h5 $D --precision bf8

{
    echo "| input | what was wrong | message (first line) | exit status |"
    echo "|---|---|---|---:|"
    printf '%s\n' "${ROWS[@]}"
} >table.md
cat table.md
[ -n "$TABLE" ] && mkdir -p "$(dirname "$TABLE")" && cp table.md "$TABLE"
echo "$pass passed, $fail failed, $gaps skipped"
[ "$fail" -eq 0 ]
