#!/usr/bin/env bash
# Keras scripts pasted as they are, one per family (R kerasR, R keras pipes,
# Python Keras 2, tf.keras), written the way their users write them: imports,
# data loading, the model, compile, fit with data arguments and callbacks,
# evaluation and plots. Each script as a whole is refused with a message that
# names every data line to delete; with those lines deleted (taken from the
# message itself), `summary` prints the Keras parameter count and the notes,
# and a 1-epoch `train` on a small dataset works and writes the
# ModelCheckpoint file, which `summary` reads back. Then "did you mean" in R
# and Python spelling.
#   paste.sh NNTRAIN [MPIEXEC]
set -u
NN=$(realpath "${1:?usage: paste.sh NNTRAIN [MPIEXEC]}")
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/lib.sh"
T=$(mktemp -d "${TMPDIR:-/tmp}/nntrain-paste.XXXXXX") || exit 1
trap 'rm -rf "$T"' EXIT
cd "$T" || exit 1
export OPENBLAS_NUM_THREADS=1

# has NAME FILE TEXT: FILE holds the line TEXT exactly
has() {
    if grep -qxF -- "$3" "$2"; then ok "$1"; else bad "$1" "no line '$3' in $2: $(head -c 600 "$2")"; fi
}
# contains NAME FILE TEXT: TEXT appears in FILE
contains() {
    if grep -qF -- "$3" "$2"; then ok "$1"; else bad "$1" "no '$3' in $2: $(head -c 600 "$2")"; fi
}
# refused NAME SCRIPT FIRST "REST": summary refuses SCRIPT naming line FIRST
# first and the lines REST ("7, 8 and 9") after it; writes SCRIPT.model, the
# script without the lines the message names.
refused() {
    local name=$1 f=$2 first=$3 rest=$4 lines
    "$NN" summary "$f" >/dev/null 2>"$f.err"
    local rc=$?
    [ $rc -eq 1 ] && ok "$name: refused (exit 1)" || bad "$name: refused" "exit $rc"
    contains "$name: names line $first" "$f.err" "nntrain: error: $f:$first: this line is not part of a model: delete it (the data comes from --data): "
    contains "$name: names the other lines" "$f.err" "(so are lines $rest)"
    lines=$(sed -n 's/^nntrain: error: [^:]*:\([0-9]*\): .*(so are lines \(.*\))$/\1, \2/p' "$f.err" |
        sed 's/ and /, /g; s/ //g')
    sed "$(echo "$lines" | tr ',' '\n' | sed 's/$/d/' | paste -sd ';')" "$f" >"$f.model"
}

# ---- R kerasR: the course's square-root regression ---------------------------
cat >sqrt_kerasr.R <<'EOF'
# Learning the square root with kerasR
library(kerasR)
library(ggplot2)

set.seed(12345)
X <- matrix(runif(5000), ncol = 1)
Y <- sqrt(X)
valX <- matrix(runif(1000), ncol = 1)
valY <- sqrt(valX)

mod <- Sequential()
mod$add(Dense(100, input_shape = c(1)))
mod$add(Activation("relu"))
mod$add(Dense(120))
mod$add(Activation("relu"))
mod$add(Dense(1))

keras_compile(mod, loss = 'mse', optimizer = RMSprop())

callbacks <- list(ModelCheckpoint("sqrt_best.h5", save_best_only = TRUE),
                  EarlyStopping(patience = 5))

keras_fit(mod, X, Y, validation_data = list(valX, valY),
          batch_size = 100, epochs = 25, callbacks = callbacks, verbose = 1)

pred <- keras_predict(mod, valX)
plot(valX, pred)
EOF
refused "kerasR" sqrt_kerasr.R 6 "7, 8, 9 and 26"
f=sqrt_kerasr.R.model
"$NN" summary $f >sum.out 2>sum.err && ok "kerasR: summary" || bad "kerasR: summary" "$(cat sum.err)"
has "kerasR: 12,441 parameters" sum.out "Total params: 12,441"
has "kerasR: optimizer" sum.out "Optimizer: RMSprop(lr=0.001, rho=0.9, epsilon=1e-07, decay=0)"
has "kerasR: library() skipped" sum.err "note: $f:2: skipped library(kerasR): nntrain needs no imports"
! grep -qF "EarlyStopping(...)" sum.err && ok "kerasR: EarlyStopping kept (no note)" || bad "kerasR: EarlyStopping kept" "$(cat sum.err)"
has "kerasR: validation_data noted" sum.err "note: $f:19: validation_data=list(valX, valY) ignored: use --val FILE"
has "kerasR: X, Y noted" sum.err "note: $f:19: X, Y ignored: the data comes from --data"
has "kerasR: plot() skipped" sum.err "note: $f:22: skipped plot(valX, pred): train writes the history to OUT/history.csv"
[ "$(wc -l <sum.err)" -eq 5 ] && ok "kerasR: 5 notes" || bad "kerasR: 5 notes" "$(cat sum.err)"
"$NN" train $f --data synthetic:sqrt:300 --val synthetic:sqrt:100 --epochs 1 --out o1 >train.out 2>train.err &&
    ok "kerasR: train" || bad "kerasR: train" "$(tail -3 train.err)"
contains "kerasR: batch_size from keras_fit" train.out "Global batch 100 over 1 rank"
contains "kerasR: notes once on stderr" train.err "note: $f:19: X, Y ignored: the data comes from --data"
[ "$(grep -c 'X, Y ignored' train.err)" -eq 1 ] && ok "kerasR: each note once" || bad "kerasR: each note once" "$(cat train.err)"
contains "kerasR: ModelCheckpoint saves" train.out "saving model to sqrt_best.h5"
# under MPI, rank 0 alone prints the notes
MPIEXEC=${2:-}
if [ -n "$MPIEXEC" ]; then
    "$MPIEXEC" -n 2 --oversubscribe "$NN" train $f --data synthetic:sqrt:300 --val synthetic:sqrt:100 \
        --epochs 1 --out o1m >train.out 2>train.err || bad "kerasR: train on 2 ranks" "$(tail -3 train.err)"
    [ "$(grep -c '^note: ' train.err)" -eq 5 ] && ok "kerasR: 2 ranks print the 5 notes once" ||
        bad "kerasR: notes on 2 ranks" "$(cat train.err)"
fi
"$NN" summary sqrt_best.h5 >ck.out 2>&1 && grep -qxF "Total params: 12,441" ck.out &&
    ok "kerasR: sqrt_best.h5 written, summary reads it" || bad "kerasR: sqrt_best.h5" "$(cat ck.out)"

# ---- R keras with pipes: the MNIST CNN example ----------------------------------
cat >mnist_cnn.R <<'EOF'
library(keras)

batch_size <- 128
num_classes <- 10
epochs <- 12
img_rows <- 28; img_cols <- 28

mnist <- dataset_mnist()
x_train <- mnist$train$x
y_train <- mnist$train$y
x_train <- array_reshape(x_train, c(nrow(x_train), img_rows, img_cols, 1))
input_shape <- c(img_rows, img_cols, 1)
x_train <- x_train / 255
y_train <- to_categorical(y_train, num_classes)

model <- keras_model_sequential() %>%
  layer_conv_2d(filters = 32, kernel_size = c(3,3), activation = 'relu',
                input_shape = input_shape) %>%
  layer_max_pooling_2d(pool_size = c(2, 2)) %>%
  layer_conv_2d(filters = 64, kernel_size = c(3,3), activation = 'relu') %>%
  layer_max_pooling_2d(pool_size = c(2, 2)) %>%
  layer_conv_2d(filters = 64, kernel_size = c(3,3), activation = 'relu') %>%
  layer_flatten()
model %>% layer_dense(units = 64, activation = 'relu') %>%
  layer_dense(units = num_classes, activation = 'softmax')

summary(model)

model %>% compile(
  loss = 'categorical_crossentropy',
  optimizer = optimizer_rmsprop(lr = 0.001),
  metrics = c('accuracy')
)

history <- model %>% fit(
  x_train, y_train,
  batch_size = batch_size, epochs = epochs, validation_split = 0.2,
  callbacks = list(callback_model_checkpoint("mnist_best.h5", monitor = "val_accuracy",
                                             save_best_only = TRUE),
                   callback_early_stopping(patience = 2))
)
plot(history)
scores <- model %>% evaluate(x_test, y_test, verbose = 0)
cat('Test loss:', scores[[1]], '\n')
EOF
refused "R pipes" mnist_cnn.R 8 "9, 10, 11, 13, 14 and 43"
f=mnist_cnn.R.model
"$NN" summary $f >sum.out 2>sum.err && ok "R pipes: summary" || bad "R pipes: summary" "$(cat sum.err)"
has "R pipes: 93,322 parameters" sum.out "Total params: 93,322"
has "R pipes: summary() skipped" sum.err "note: $f:21: skipped summary(model): nntrain summary and train print the model"
has "R pipes: data noted" sum.err "note: $f:29: x_train, y_train ignored: the data comes from --data"
! grep -qF "callback_early_stopping(...)" sum.err && ok "R pipes: callback_early_stopping kept" || bad "R pipes: callback_early_stopping kept" "$(cat sum.err)"
has "R pipes: cat() skipped" sum.err "note: $f:37: skipped cat('Test loss:', scores[[1]], '\n'): nntrain prints its own output"
idx_dir_random mn 64 28
"$NN" train $f --data mn --epochs 1 --batch-size 16 --out o2 >train.out 2>train.err &&
    ok "R pipes: train" || bad "R pipes: train" "$(tail -3 train.err)"
contains "R pipes: validation_split 0.2 used" train.out "Train on 51 samples, validate on 13 samples"
contains "R pipes: ModelCheckpoint on val_accuracy" train.out "saving model to mnist_best.h5"
[ -s mnist_best.h5 ] && ok "R pipes: mnist_best.h5 written" || bad "R pipes: mnist_best.h5" "missing"

# ---- Python Keras 2: the book's MNIST MLP ----------------------------------------
cat >mnist_mlp.py <<'EOF'
from keras.datasets import mnist
from keras.models import Sequential
from keras import layers, models, optimizers, losses, metrics
from keras.callbacks import ModelCheckpoint, EarlyStopping

(train_images, train_labels), (test_images, test_labels) = mnist.load_data()
train_images = train_images.reshape((60000, 28 * 28))
train_images = train_images.astype('float32') / 255
x_val = train_images[:10000]
partial_x_train = train_images[10000:]

batch_size = 32

model = models.Sequential()
model.add(layers.Dense(512, activation='relu', input_shape=(28 * 28,)))
model.add(layers.Dense(10, activation='softmax'))

model.compile(optimizer=optimizers.RMSprop(lr=0.001),
              loss=losses.sparse_categorical_crossentropy,
              metrics=[metrics.sparse_categorical_accuracy])
model.summary()

callbacks = [ModelCheckpoint('mlp_best.h5', monitor='val_loss', save_best_only=True),
             EarlyStopping(monitor='val_loss', patience=2)]
history = model.fit(partial_x_train, partial_y_train, epochs=20, batch_size=batch_size,
                    validation_data=(x_val, y_val), callbacks=callbacks)
history_dict = history.history
print(history_dict.keys())
model.save('mnist_mlp.h5')
EOF
refused "Python Keras" mnist_mlp.py 6 "7, 8, 9, 10, 27 and 29"
f=mnist_mlp.py.model
"$NN" summary $f >sum.out 2>sum.err && ok "Python Keras: summary" || bad "Python Keras: summary" "$(cat sum.err)"
has "Python Keras: 407,050 parameters" sum.out "Total params: 407,050"
has "Python Keras: import skipped" sum.err "note: $f:3: skipped from keras import layers, models, optimizers, losses, metrics: nntrain needs no imports"
has "Python Keras: model.summary() skipped" sum.err "note: $f:16: skipped model.summary(): nntrain summary and train print the model"
! grep -qF "EarlyStopping(...)" sum.err && ok "Python Keras: EarlyStopping kept" || bad "Python Keras: EarlyStopping kept" "$(cat sum.err)"
has "Python Keras: data noted" sum.err "note: $f:20: partial_x_train, partial_y_train ignored: the data comes from --data"
has "Python Keras: validation_data noted" sum.err "note: $f:21: validation_data=(x_val, y_val) ignored: use --val FILE"
has "Python Keras: print() skipped" sum.err "note: $f:22: skipped print(history_dict.keys()): nntrain prints its own output"
idx_dir_random mv 16 28
"$NN" train $f --data mn --val mv --epochs 1 --out o3 >train.out 2>train.err &&
    ok "Python Keras: train" || bad "Python Keras: train" "$(tail -3 train.err)"
contains "Python Keras: batch_size = 32 used" train.out "Global batch 32 over 1 rank"
contains "Python Keras: metric column" train.out "val_sparse_categorical_accuracy: "
"$NN" summary mlp_best.h5 >ck.out 2>&1 && grep -qxF "Total params: 407,050" ck.out &&
    ok "Python Keras: mlp_best.h5 written, summary reads it" || bad "Python Keras: mlp_best.h5" "$(cat ck.out)"
# the command line overrides the spec's ModelCheckpoint
"$NN" train $f --data mn --val mv --epochs 1 --checkpoint cli.h5 --out o3b >train.out 2>train.err &&
    [ -s cli.h5 ] && ok "Python Keras: --checkpoint overrides ModelCheckpoint" ||
    bad "Python Keras: --checkpoint" "$(tail -3 train.err)"

# ---- tf.keras: a Sequential with a list of layers ------------------------------
cat >iris_tf.py <<'EOF'
import tensorflow as tf
import pandas as pd

df = pd.read_csv('iris.csv')
x = df.iloc[:, :4].values
y = df['species'].values

tf.random.set_seed(7)
model = tf.keras.Sequential([
    tf.keras.Input((4,)),
    tf.keras.layers.Dense(10, activation=tf.nn.relu),
    tf.keras.layers.Dense(10, activation=tf.keras.activations.relu),
    tf.keras.layers.Dense(3, activation='softmax')
])
model.compile(optimizer='adam',
              loss=tf.keras.losses.SparseCategoricalCrossentropy(),
              metrics=['accuracy'])
checkpoint = tf.keras.callbacks.ModelCheckpoint(filepath='iris_best.h5', monitor='accuracy',
                                                mode='max', save_freq='epoch')
model.fit(x, y, epochs=5, batch_size=16,
          callbacks=[checkpoint, tf.keras.callbacks.TensorBoard(log_dir='logs')])
print(model.predict(x[:3]))
model.evaluate(x, y)
EOF
refused "tf.keras" iris_tf.py 4 "5, 6 and 23"
f=iris_tf.py.model
"$NN" summary $f >sum.out 2>sum.err && ok "tf.keras: summary" || bad "tf.keras: summary" "$(cat sum.err)"
has "tf.keras: 193 parameters" sum.out "Total params: 193"
has "tf.keras: the loss class" sum.out "Loss: sparse_categorical_crossentropy (fused with the final activation)"
has "tf.keras: TensorBoard noted" sum.err "note: $f:18: TensorBoard(...) ignored: nntrain runs ModelCheckpoint, EarlyStopping, ReduceLROnPlateau, CSVLogger and TerminateOnNaN"
has "tf.keras: x, y noted" sum.err "note: $f:17: x, y ignored: the data comes from --data"
awk 'BEGIN { srand(1); print "a,b,c,d,species"
             for (i = 0; i < 60; i++) printf "%.3f,%.3f,%.3f,%.3f,%d\n", rand(), rand(), rand(), rand(), i % 3 }' >iris.csv
"$NN" convert csv iris.csv --label-column species -o iris.h5 >/dev/null 2>&1 || bad "tf.keras: iris.h5" "convert failed"
"$NN" train $f --data iris.h5 --out o4 >train.out 2>train.err &&
    ok "tf.keras: train" || bad "tf.keras: train" "$(tail -3 train.err)"
[ "$(grep -c '^Epoch [0-9]/5 ' train.out)" -eq 5 ] && ok "tf.keras: epochs=5 used" || bad "tf.keras: epochs=5" "$(cat train.out)"
[ -s iris_best.h5 ] && ok "tf.keras: iris_best.h5 written" || bad "tf.keras: iris_best.h5" "missing"
# the spec's set_seed(7) is the run's seed: --seed 7 repeats the run, the
# default seed 42 does not
"$NN" train $f --data iris.h5 --seed 7 --out o5 >/dev/null 2>&1
"$NN" train $f --data iris.h5 --seed 42 --out o6 >/dev/null 2>&1
cmp -s o4/history.csv o5/history.csv && ok "tf.keras: tf.random.set_seed(7) is --seed 7" ||
    bad "tf.keras: set_seed" "$(paste -d'|' o4/history.csv o5/history.csv | head -3)"
[ -s o6/history.csv ] && ! cmp -s o4/history.csv o6/history.csv &&
    ok "tf.keras: another seed, another run" || bad "tf.keras: seed 42" "same history as seed 7"

# ---- did you mean, in the script's spelling -------------------------------------
dym() {   # dym NAME FILE TEXT NEEDLE
    printf '%s\n' "$3" >"$2"
    "$NN" summary "$2" >/dev/null 2>dym.err
    local rc=$?
    [ $rc -eq 1 ] && grep -qF -- "$4" dym.err && ok "$1" || bad "$1" "exit $rc: $(cat dym.err)"
}
dym "did you mean: R layer" r1.R 'model <- keras_model_sequential() %>% layer_dens(units = 1, input_shape = c(2))' \
    "unknown layer 'layer_dens': did you mean 'layer_dense'? (known: layer_dense, layer_conv_2d,"
dym "did you mean: R optimizer" r2.R 'model <- keras_model_sequential() %>% layer_dense(units = 1, input_shape = c(2))
model %>% compile(loss = "mse", optimizer = optimizer_adma())' \
    "unknown optimizer 'optimizer_adma': did you mean 'optimizer_adam'?"
dym "did you mean: Python layer" p1.py 'model = Sequential()
model.add(layers.Dens(1, input_shape=(2,)))' \
    "p1.py:2:11: unknown layer 'Dens': did you mean 'Dense'? (known: Dense, Conv2D,"
dym "did you mean: Python argument" p2.py 'model = Sequential()
model.add(layers.Dense(1, activaton="relu", input_shape=(2,)))' \
    "got an unknown argument 'activaton': did you mean 'activation'?"
dym "did you mean: loss" p3.py 'model = Sequential()
model.add(layers.Dense(1, input_shape=(2,)))
model.compile(loss=losses.binary_crosentropy)' \
    "unknown loss 'binary_crosentropy': did you mean 'binary_crossentropy'?"
dym "refused: Python data line" p4.py 'model = Sequential()
x_train = x_train.reshape((60000, 28 * 28))
model.add(layers.Dense(1, input_shape=(2,)))' \
    "p4.py:2: this line is not part of a model: delete it (the data comes from --data): x_train = x_train.reshape((60000, 28 * 28))"

finish
