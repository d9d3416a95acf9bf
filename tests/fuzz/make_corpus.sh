#!/usr/bin/env bash
# Regenerates the seed corpora under tests/fuzz/corpus/<target>/ (small
# files, committed). HDF5 seeds come from nntrain's own writers (convert,
# train --checkpoint) and from h5py (Debian's /usr/bin/python3 with
# python3-h5py), the latter in the oldest file format: its metadata carries
# no checksums, so the fuzzer's mutations reach our schema checks instead of
# stopping at HDF5's checksum test.
#   tests/fuzz/make_corpus.sh NNTRAIN
set -euo pipefail
cd "$(dirname "$0")/../.."
NN=$(realpath "${1:?usage: make_corpus.sh NNTRAIN}")
C=tests/fuzz/corpus
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
PY=/usr/bin/python3
export OPENBLAS_NUM_THREADS=1

# --- spec: the seed models plus R spellings, Input(), quotients ----------
mkdir -p $C/spec
for m in sqrt mnist_cnn cifar10_cnn imdb_rnn rick_aug text_lstm fashion_autoencoder; do
  cp jobs/models/$m.nn $C/spec/
done
cat >$C/spec/r_style.nn <<'S'
layer_input(shape = c(28, 28, 1))
layer_conv_2d(filters = 8, kernel_size = c(3, 3), padding = "same", activation = "relu")
layer_max_pooling_2d(pool_size = c(2, 2)); layer_flatten()
layer_dropout(rate = 0.25)
layer_dense(units = 10, activation = "softmax", use_bias = TRUE)
compile(loss = "categorical_crossentropy", optimizer = optimizer_sgd(lr = 1/100, momentum = 0.9, nesterov = TRUE), metrics = c("accuracy"))
fit(batch_size = 16, epochs = 2, validation_split = 0.2, shuffle = FALSE, seed = 7, verbose = 2)
S
cat >$C/spec/keras_paste.nn <<'S'
model.add(keras.layers.Dense(64, activation='tanh', input_shape=(10,), kernel_initializer="he_normal", name="h1"))
model.add(keras.layers.Dense(3, activation="elu", trainable=False))  # comment
Activation("softmax")
compile(loss="sparse_categorical_crossentropy", optimizer=Adam(learning_rate=1e-3, beta_1=0.9, decay=1e-6), metrics=["accuracy", "mae"])
S
cat >$C/spec/paste_r.nn <<'S'
library(keras)
set.seed(1); n <- 4
model <- keras_model_sequential() %>%
  layer_dense(units = n * 2, activation = 'relu', input_shape = c(2^2)) %>%
  layer_dropout(rate = 0.5)
mod$add(Dense(3, activation = "softmax"))
model %>% compile(loss = loss_categorical_crossentropy, optimizer = optimizer_rmsprop(lr = 0.001), metrics = c('accuracy'))
cb <- list(callback_model_checkpoint("b.h5", monitor = "val_loss", save_best_only = TRUE), callback_early_stopping())
history <- model %>% fit(x_train, y_train, batch_size = n, epochs = 2, validation_data = list(a, b), callbacks = cb)
summary(model)
S
cat >$C/spec/paste_py.nn <<'S'
import tensorflow as tf
from keras import layers, models, optimizers, losses, metrics
batch_size = 32
model = tf.keras.Sequential([tf.keras.Input((4,)), layers.Dense(10, activation=tf.nn.relu)], name="m")
model.add(layers.Dense(1, activation='sigmoid'))
model.compile(optimizer=optimizers.RMSprop(lr=1/1000), loss=tf.keras.losses.BinaryCrossentropy(), metrics=[metrics.binary_accuracy])
model.fit(x, y, epochs=2, batch_size=batch_size, validation_data=(xv, yv), callbacks=[tf.keras.callbacks.ModelCheckpoint('b.h5', save_freq='epoch')])
print(model.summary())
S
cat >$C/spec/functional_py.nn <<'S'
inputs = keras.Input(shape=(8, 8, 1))
x = layers.Conv2D(4, 3, padding="same")(inputs)
d = layers.Dense(4)
y = layers.Activation("relu")(layers.BatchNormalization()(x))
x = layers.add([x, y]); x = Concatenate(axis=-1)([x, y])
outputs = Dense(10, activation="softmax")(Flatten()(x))
model = keras.Model(inputs=inputs, outputs=outputs, name="f")
model.compile(loss="sparse_categorical_crossentropy", optimizer="adam")
S
cat >$C/spec/functional_r.nn <<'S'
inputs <- layer_input(shape = c(8, 8, 1))
x <- inputs %>% layer_conv_2d(filters = 4, kernel_size = 3) %>% layer_batch_normalization()
y <- layer_add(list(x, x %>% layer_activation("relu")))
z <- list(y, x) %>% layer_concatenate(axis = -1)
model <- keras_model(inputs, layer_dense(layer_flatten(z), 10))
model %>% compile(loss = "mse", optimizer = "adam")
S

# --- keras_json: model_config NUL training_config from Keras files ---------
mkdir -p $C/keras_json
$PY - "$C/keras_json" tests/fixtures/keras_mlp.h5 tests/fixtures/keras_cnn.h5 <<'P'
import sys, h5py, os
out = sys.argv[1]
for p in sys.argv[2:]:
    f = h5py.File(p, "r")
    mc = f.attrs["model_config"]; tc = f.attrs.get("training_config")
    mc = mc if isinstance(mc, bytes) else mc.encode()
    name = os.path.basename(p)[:-3]
    open(f"{out}/{name}.json", "wb").write(mc)
    if tc is not None:
        tc = tc if isinstance(tc, bytes) else tc.encode()
        open(f"{out}/{name}_compiled.json", "wb").write(mc + b"\0" + tc)
P

# --- idx: u16 LE images length, images file, labels file -------------------
mkdir -p $C/idx
$PY - "$C/idx" <<'P'
import sys, struct, gzip
out = sys.argv[1]
def idx(n, r, c, gz=False, nlab=None):
    img = struct.pack(">IIII", 0x803, n, r, c) + bytes((i * 37) % 256 for i in range(n * r * c))
    nlab = n if nlab is None else nlab
    lab = struct.pack(">II", 0x801, nlab) + bytes(i % 10 for i in range(nlab))
    if gz:
        img, lab = gzip.compress(img, mtime=0), gzip.compress(lab, mtime=0)
    return struct.pack("<H", len(img)) + img + lab
open(f"{out}/plain_3x4x4", "wb").write(idx(3, 4, 4))
open(f"{out}/gzip_2x5x3", "wb").write(idx(2, 5, 3, gz=True))
open(f"{out}/one_28x28", "wb").write(idx(1, 28, 28))
open(f"{out}/count_mismatch", "wb").write(idx(2, 2, 2, nlab=3))
P

# --- cifar10: u16 LE meta length, batches.meta.txt, data_batch_1.bin ------
mkdir -p $C/cifar10
$PY - "$C/cifar10" <<'P'
import sys, struct
out = sys.argv[1]
def rec(label, k):
    return bytes([label]) + bytes((k * 7 + i) % 256 for i in range(3072))
open(f"{out}/two_records", "wb").write(struct.pack("<H", 0) + rec(3, 1) + rec(9, 2))
meta = b"cat\ndog\n\nbird\n"
open(f"{out}/meta_three_classes", "wb").write(struct.pack("<H", len(meta)) + meta + rec(2, 5))
open(f"{out}/duplicate", "wb").write(struct.pack("<H", 0) + rec(1, 4) + rec(1, 4))
P

# --- images: options byte, then a PNG / JPEG / BMP / GIF file ------------
mkdir -p $C/images
$PY - "$C/images" <<'P'
import sys, struct, zlib
out = sys.argv[1]
def chunk(t, d): return struct.pack(">I", len(d)) + t + d + struct.pack(">I", zlib.crc32(t + d))
def png(w, h, ctype, ch, interlace=0):
    raw = b"".join(b"\x01" + bytes((x * 13 + y * 7 + c) % 256 for x in range(w) for c in range(ch)) for y in range(h))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, ctype, 0, 0, interlace))
            + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))
def bmp(w, h):
    row = (w * 3 + 3) & ~3
    px = b"".join(bytes((x * 20 + y) % 256 for x in range(w * 3)) + b"\0" * (row - w * 3) for y in range(h))
    hdr = b"BM" + struct.pack("<IHHI", 54 + len(px), 0, 0, 54)
    return hdr + struct.pack("<IiiHHIIiiII", 40, w, h, 1, 24, 0, len(px), 2835, 2835, 0, 0) + px
gif = bytes.fromhex("47494638396101000100800000000000ffffff21f90401000000002c00000000010001000002024401003b")
open(f"{out}/png_rgb_5x3_resize", "wb").write(b"\x01" + png(5, 3, 2, 3))
open(f"{out}/png_rgb_4x4", "wb").write(b"\x00" + png(4, 4, 2, 3))
open(f"{out}/png_grey_4x4_resize", "wb").write(b"\x13" + png(4, 4, 0, 1))
open(f"{out}/png_rgba_6x4", "wb").write(b"\x07" + png(6, 4, 6, 4))
open(f"{out}/bmp_4x4", "wb").write(b"\x04" + bmp(4, 4))
open(f"{out}/bmp_5x2_dedupe", "wb").write(b"\x19" + bmp(5, 2))
open(f"{out}/gif_1x1", "wb").write(b"\x01" + gif)
P
# JPEG (baseline, progressive, 4:2:0), GIF and TGA written by PIL
# (python3-pil, which python3-matplotlib brings)
$PY - "$C/images" <<'P'
import sys, io
from PIL import Image
out = sys.argv[1]
img = Image.new("RGB", (7, 5))
img.putdata([((x * 40) % 256, (y * 60) % 256, (x * y * 9) % 256) for y in range(5) for x in range(7)])
def save(name, opt, **kw):
    b = io.BytesIO(); img.save(b, **kw)
    open(f"{out}/{name}", "wb").write(bytes([opt]) + b.getvalue())
save("jpeg_baseline_7x5", 0x01, format="JPEG", quality=90)
save("jpeg_progressive_7x5", 0x07, format="JPEG", quality=75, progressive=True)
save("jpeg_420_7x5_grey", 0x03, format="JPEG", subsampling=2)
save("gif_7x5", 0x01, format="GIF")
save("tga_7x5", 0x01, format="TGA")
P
# --- h5data: nntrain's writer and h5py (oldest format) -------------------
mkdir -p $C/h5data "$T/idx"
$PY - "$T/idx" <<'P'
import sys, struct
d = sys.argv[1]
for split, n in (("train", 3), ("t10k", 2)):
    open(f"{d}/{split}-images-idx3-ubyte", "wb").write(struct.pack(">IIII", 0x803, n, 4, 4) + bytes((i * 11) % 256 for i in range(n * 16)))
    open(f"{d}/{split}-labels-idx1-ubyte", "wb").write(struct.pack(">II", 0x801, n) + bytes(range(n)))
P
"$NN" convert idx "$T/idx" -o $C/h5data/nntrain_idx.h5 >/dev/null
$PY - "$C/h5data" <<'P'
import sys, h5py, numpy as np
out = sys.argv[1]
def new(name):
    return h5py.File(f"{out}/{name}", "w", libver="earliest")
with new("h5py_images_classes.h5") as f:
    f.attrs["format"] = "nntrain-dataset"; f.attrs["version"] = np.int32(1)
    f.attrs["class_names"] = np.array([b"a", b"b", b"c"])
    f["train/x"] = (np.arange(2 * 3 * 2 * 1) % 256).astype(np.uint8).reshape(2, 3, 2, 1)
    f["train/y"] = np.array([0, 2], dtype=np.int32)
    f["train/x"].attrs["checksum"] = "0123456789abcdef"
with new("h5py_features_targets.h5") as f:
    f.create_dataset("train/x", data=np.linspace(0, 1, 8, dtype=np.float32).reshape(4, 2), chunks=(1, 2))
    f["train/y"] = np.ones((4, 1), dtype=np.float32)
    f["test/x"] = np.zeros((1, 2), dtype=np.float32)
    f["test/y"] = np.zeros((1, 1), dtype=np.float32)
with new("h5py_int64_labels_gzip.h5") as f:
    f.create_dataset("train/x", data=np.ones((3, 2, 2, 3), np.uint8), chunks=(1, 2, 2, 3), compression="gzip")
    f["train/y"] = np.array([1, 0, 1], dtype=np.int64)
P

# --- checkpoint: nntrain checkpoints, a Keras file, h5py copies ---------
mkdir -p $C/checkpoint
cat >"$T/tiny.nn" <<'S'
Dense(3, activation="relu", input_shape=(1,))
Dropout(0.1)
Dense(1)
compile(loss="mse", optimizer=Adam(lr=0.01), metrics=["mae"])
fit(batch_size=8, epochs=1, seed=1)
S
cat >"$T/tinycnn.nn" <<'S'
Conv2D(2, (2, 2), activation="relu", input_shape=(4, 4, 1))
MaxPooling2D((2, 2))
Flatten()
Dense(10, activation="softmax")
compile(loss="sparse_categorical_crossentropy", optimizer=SGD(lr=0.1, momentum=0.9), metrics=["accuracy"])
fit(batch_size=2, epochs=1, seed=1)
S
"$NN" train "$T/tiny.nn" --data synthetic:sqrt:16 --out "$T/o1" --no-test --verbose 0 \
  --checkpoint "$T/o1/ck.h5" --monitor loss >/dev/null 2>&1 || true
[ -f "$T/o1/last.h5" ] && cp "$T/o1/last.h5" $C/checkpoint/nntrain_mlp_last.h5
[ -f "$T/o1/ck.h5" ] && [ ! -f "$T/o1/last.h5" ] && cp "$T/o1/ck.h5" $C/checkpoint/nntrain_mlp.h5
"$NN" train "$T/tinycnn.nn" --data $C/h5data/nntrain_idx.h5 --out "$T/o2" --no-test --verbose 0 \
  --checkpoint "$T/o2/ck.h5" --monitor loss >/dev/null 2>&1 || true
for f in "$T"/o2/last.h5 "$T"/o2/ck.h5; do [ -f "$f" ] && cp "$f" $C/checkpoint/nntrain_cnn.h5 && break; done
cp tests/fixtures/keras_mlp.h5 $C/checkpoint/keras_mlp.h5
# the same files rewritten by h5py in the oldest format (no metadata checksums)
$PY - $C/checkpoint <<'P'
import sys, os, h5py
d = sys.argv[1]
for name in sorted(os.listdir(d)):
    if name.startswith(("old_", "keras_")):
        continue
    src = h5py.File(f"{d}/{name}", "r")
    with h5py.File(f"{d}/old_{name}", "w", libver="earliest") as dst:
        for k, v in src.attrs.items():
            dst.attrs[k] = v
        def copy(n, o):
            if isinstance(o, h5py.Group):
                g = dst.require_group(n)
            else:
                g = dst.create_dataset(n, data=o[()])
            for k, v in o.attrs.items():
                g.attrs[k] = v
        src.visititems(copy)
P
ls -la $C/*/ | awk '{s += $5} END {print "corpus bytes:", s}'
