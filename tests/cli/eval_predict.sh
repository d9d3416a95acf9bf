#!/usr/bin/env bash
# End-to-end checks of the commands that use a trained model file:
#   summary  of the Keras fixtures (tests/fixtures/keras_{mlp,cnn}.h5);
#   evaluate loss/metrics, confusion matrix (table and --confusion-csv),
#            per-class accuracy, most confident mistakes; an autoencoder;
#   predict  CSV rows and columns from a dataset (probabilities sum to 1, the
#            predicted class is the argmax, equal to Keras's outputs in
#            keras_expect.h5 when python3-h5py is there), from a folder of
#            JPEGs of another size (the resize note), --recon-dir PNG pairs;
#   analyze  first-layer weight images and the most confident examples, the
#            tiles and legend against the checkpoint's kernel (check_analyze_png.py);
#   models trained here with `train --checkpoint` on generated images;
#   class folders: convert images DIR in byte order, train --data DIR (cached
#            conversion reused / rebuilt), class names kept in checkpoints and
#            printed, the swapped-class hint and warning, skipped non-image
#            files, --images FILE, hints for paths in the wrong place;
#   errors   corrupt/missing model, a spec instead of a model, a missing or
#            bad image folder, usage (exit 1 / 2 and the message);
#   MPI      evaluate and predict on 2 ranks print once and match 1 rank;
#            train --data DIR converts once, a broken image fails both ranks.
# Images are written by tests/cli/mkimage.c (stb_image_write).
#
# usage: eval_predict.sh NNTRAIN [MPIEXEC] MKIMAGE
set -u
NN=${1:?usage: eval_predict.sh NNTRAIN [MPIEXEC] MKIMAGE}
MPIEXEC=${2:-}
MK=${3:?usage: eval_predict.sh NNTRAIN [MPIEXEC] MKIMAGE}
case $NN in /*) ;; *) NN=$PWD/$NN ;; esac   # the checks run inside a temporary folder
case $MK in /*) ;; *) MK=$PWD/$MK ;; esac
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$HERE/../..
FIX=$ROOT/tests/fixtures
T=$(mktemp -d "${TMPDIR:-/tmp}/nntrain-eval.XXXXXX") || exit 1
trap 'rm -rf "$T"' EXIT
export OPENBLAS_NUM_THREADS=${OPENBLAS_NUM_THREADS:-1}
cd "$T" || exit 1

pass=0
fail=0
ok() { pass=$((pass + 1)); printf 'ok   %s\n' "$1"; }
bad() { fail=$((fail + 1)); printf 'FAIL %s: %s\n' "$1" "$2"; }
expect() { local n=$1; shift; if "$@"; then ok "$n"; else bad "$n" "check failed: $*"; fi; }

# nn NAME ARGS...: runs nntrain (timeout 120); output in NAME.{out,err}, status in NAME.rc
nn() {
    local name=$1
    shift
    timeout 120 "$NN" "$@" >"$name.out" 2>"$name.err"
    echo $? >"$name.rc"
}
# check NAME WANT_RC PATTERN...: status of run NAME, and stdout+stderr match every regex
check() {
    local name=$1 want=$2 rc why=""
    shift 2
    rc=$(cat "$name.rc")
    [ "$rc" -ne "$want" ] && why="exit status $rc, expected $want"
    for p in "$@"; do
        [ -z "$why" ] && ! cat "$name.out" "$name.err" | grep -Eq -- "$p" &&
            why="output lacks /$p/"
    done
    if [ -z "$why" ]; then ok "$name"; else
        bad "$name" "$why"
        sed 's/^/    | /' "$name.out" "$name.err" | head -n 20
    fi
}
is_png() { [ "$(head -c 8 "$1" 2>/dev/null | od -An -tx1 | tr -d ' \n')" = 89504e470d0a1a0a ]; }
no_temp() { test -z "$(find "$T" -name '*.tmp-*')"; }

# --- summary of Keras files ----------------------------------------------------
nn sum_mlp summary "$FIX/keras_mlp.h5"
check sum_mlp 0 'dense \(Dense\) +\(None, 16\) +144' 'Total params: 195' \
    'Loss: sparse_categorical_crossentropy'
nn sum_cnn summary "$FIX/keras_cnn.h5"
check sum_cnn 0 'conv2d_1 \(Conv2D\) +\(None, 6, 6, 4\) +76' 'Total params: 187'
nn sum_spec summary "$ROOT/jobs/models/mnist_mlp.nn"
check sum_spec 0 'Total params: 101,770'

# --- a 3-class dataset of 8 features (the MLP's input) ------------------------
awk 'BEGIN { srand(7); print "f0,f1,f2,f3,f4,f5,f6,f7,animal"; split("cat dog bird", nm, " ")
    for (i = 0; i < 60; i++) { s = ""; for (k = 0; k < 8; k++) s = s sprintf("%.4f,", 2 * rand() - 1)
        print s nm[i % 3 + 1] } }' >d.csv
nn conv convert csv d.csv --label-column animal -o d.h5
check conv 0 'train 60 samples of \(None, 8\) float32, 3 classes'

# --- evaluate --------------------------------------------------------------------
nn eval evaluate "$FIX/keras_mlp.h5" --data d.h5 --confusion-csv cm.csv --errors 4
check eval 0 'data: d\.h5 \(train split: 60 samples\)' \
    '^60 samples - loss: [0-9.]+ - accuracy: [0-9.]+$' \
    '^Confusion matrix \(rows: true class, columns: predicted class\):' \
    'true \\ predicted +bird +cat +dog$' '^  bird( +[0-9]+){3}$' \
    '^Per-class accuracy:' '^  dog +20 +[0-9]+ +[0-9.]+ +[0-9.-]+$' \
    '^Most confident wrong predictions' 'sample +true +predicted +probability' \
    'Confusion matrix written to cm\.csv'
expect "4 mistakes listed, most confident first" awk '
    /^Most confident wrong/ { on = 1; next } on && /^  [0-9]+ / { n++; if (n > 1 && $4 > last) bad = 1; last = $4 }
    END { exit !(n == 4 && !bad) }' eval.out
expect "confusion CSV header" test "$(head -n1 cm.csv)" = 'true\predicted,bird,cat,dog'
expect "confusion CSV: 3 rows of 20 samples each" awk -F, 'NR > 1 { s = 0; for (i = 2; i <= NF; i++) s += $i
    if (s != 20 || NF != 4) bad = 1; n++ } END { exit !(n == 3 && !bad) }' cm.csv
acc=$(sed -nE 's/^60 samples - loss: [0-9.]+ - accuracy: ([0-9.]+)$/\1/p' eval.out)
expect "accuracy = trace of the matrix / 60" awk -F, -v a="$acc" 'NR > 1 { t += $(NR) }
    END { d = t / 60 - a; exit !(a != "" && d < 6e-5 && d > -6e-5) }' cm.csv
expect "evaluate leaves no temporary file" no_temp
if /usr/bin/python3 -c 'import matplotlib' 2>/dev/null; then
    /usr/bin/python3 "$ROOT/scripts/plot_confusion.py" cm.csv -o cm.png >plot.out 2>&1
    expect "plot_confusion.py draws a PNG" is_png cm.png
else
    echo "skip plot_confusion.py (no python3-matplotlib)"
fi
nn eval_split evaluate "$FIX/keras_mlp.h5" --data d.h5 --split test
check eval_split 1 'd\.h5.*(test|/test)'
nn eval_names evaluate "$FIX/keras_mlp.h5" --data d.h5 --class-names a,b --errors 0
check eval_names 1 '--class-names gives 2 names but the model has 3 classes'

# --- predict from a dataset ---------------------------------------------------------
nn pred predict "$FIX/keras_mlp.h5" --data d.h5 -o p.csv
check pred 0 'Wrote 60 predictions of d\.h5'
expect "CSV header: index, one column per class, predicted, true" \
    test "$(head -n1 p.csv)" = 'index,bird,cat,dog,predicted,true'
expect "CSV has 60 rows of 6 fields, indices 0..59" awk -F, 'NR > 1 { n++; if (NF != 6 || $1 != NR - 2) bad = 1 }
    END { exit !(n == 60 && !bad) }' p.csv
expect "probabilities sum to 1, predicted = argmax, true = the label" awk -F, '
    NR == 1 { for (i = 2; i <= 4; i++) name[i] = $i; next }
    { s = $2 + $3 + $4; m = 2; for (i = 3; i <= 4; i++) if ($i > $m) m = i
      if (s < 0.9999 || s > 1.0001 || $5 != name[m]) bad = 1
      split("cat dog bird", lab, " "); if ($6 != lab[(NR - 2) % 3 + 1]) bad = 1 }
    END { exit bad }' p.csv
nn pred_stdout predict "$FIX/keras_mlp.h5" --data d.h5 --limit 5
check pred_stdout 0 '^index,bird,cat,dog,predicted,true$' '^4,'
expect "--limit 5: 5 rows on stdout" test "$(wc -l <pred_stdout.out)" -eq 6

# --- keras_mlp.h5 with the training_config other writers write (issue 18) -------
# (scripts/gen_keras_fixtures.py): the same weights, so the same predictions;
# what nntrain cannot train with is a warning naming it, never an error
for w in rkeras tf211 k3 amsgrad adagrad; do
    nn "pw_$w" predict "$FIX/keras_mlp_$w.h5" --data d.h5 -o "pw_$w.csv"
    check "pw_$w" 0 'Wrote 60 predictions of d\.h5'
    expect "predict keras_mlp_$w.h5 = predict keras_mlp.h5" cmp -s p.csv "pw_$w.csv"
done
expect "R keras clipnorm -1 / tf.keras 2.11 / Keras 3 configs: nothing left out" \
    test -z "$(grep training_config pw_rkeras.err pw_tf211.err pw_k3.err)"
check pw_amsgrad 0 '^warning: .*keras_mlp_amsgrad\.h5:model_config: training_config: Adam amsgrad=true is not supported: left out'
check pw_adagrad 0 '^warning: .*training_config: loss Huber is not one nntrain has: left out'
nn ew_amsgrad evaluate "$FIX/keras_mlp_amsgrad.h5" --data d.h5 --errors 0
check ew_amsgrad 0 '^60 samples - loss: [0-9.]+ - accuracy: [0-9.]+$' 'warning: .*amsgrad'
nn ew_adagrad evaluate "$FIX/keras_mlp_adagrad.h5" --data d.h5 --errors 0
check ew_adagrad 0 'warning: .*Huber'
nn tw_amsgrad train "$FIX/keras_mlp_amsgrad.h5" --data d.h5 --out runq --epochs 1
check tw_amsgrad 1 'keras_mlp_amsgrad\.h5: train cannot use this file.s training_config as saved \(.*amsgrad=true'
nn sw_amsgrad summary "$FIX/keras_mlp_amsgrad.h5"
check sw_amsgrad 0 'Total params: 195' 'warning: .*amsgrad'
expect "stdout rows = file rows" test "$(tail -n +2 pred_stdout.out)" = "$(sed -n 2,6p p.csv)"

# predictions equal Keras's (keras_expect.h5, written by scripts/gen_keras_fixtures.py)
if /usr/bin/python3 -c 'import h5py, numpy' 2>/dev/null; then
    /usr/bin/python3 - "$FIX/keras_expect.h5" <<'EOF'
import sys, h5py, numpy as np
f = h5py.File(sys.argv[1], "r")
for k in ("mlp", "cnn"):
    x = f[k + "/x"][()].reshape(len(f[k + "/x"]), -1)
    np.savetxt(k + "_y.csv", f[k + "/y"][()], delimiter=",", fmt="%.9g")
    with open(k + ".csv", "w") as o:
        o.write(",".join("f%d" % i for i in range(x.shape[1])) + ",label\n")
        for i, r in enumerate(x):   # labels 0, 1, 2, ...: every class present
            o.write(",".join("%.9g" % v for v in r) + ",%d\n" % (i % 3))
EOF
    for k in mlp cnn; do
        nn "conv_$k" convert csv "$k.csv" --label-column label -o "$k.h5"
        nn "keras_$k" predict "$FIX/keras_$k.h5" --data "$k.h5" -o "pk_$k.csv"
        check "keras_$k" 0
        expect "predict $k = Keras's outputs (1e-5)" awk -F, 'NR == FNR { for (i = 1; i <= NF; i++) y[FNR, i] = $i; n = FNR; next }
            FNR > 1 { for (i = 1; i <= 3; i++) { d = $(i + 1) - y[FNR - 1, i]; if (d > 1e-5 || d < -1e-5) bad = 1 } m++ }
            END { exit !(m == n && !bad) }' "${k}_y.csv" "pk_$k.csv"
    done
else
    echo "skip the Keras output comparison (no python3-h5py)"
fi

# --- predict --images: JPEGs of another size, a PNG of the model's size -----------
mkdir pics
for i in 1 2 3; do "$MK" "pics/photo_$i.jpg" 10 8 3 "$i"; done
"$MK" pics/exact.png 6 6 1 9
nn img predict "$FIX/keras_cnn.h5" --images pics --class-names red,green,blue -o pi.csv
check img 0 'note: resized 3 of 4 images from their sizes \(e\.g\. 8x10\) to the model.s input 6x6x2 \(HxWxC\)' \
    'note: 4 of 4 images converted to 2 channels'
expect "image CSV header: file, class names, predicted" test "$(head -n1 pi.csv)" = 'file,red,green,blue,predicted'
expect "image CSV rows: the files in name order" test "$(tail -n +2 pi.csv | cut -d, -f1 | tr '\n' ' ')" = \
    "exact.png photo_1.jpg photo_2.jpg photo_3.jpg "
expect "image CSV: probabilities sum to 1, predicted is a class" awk -F, 'NR > 1 { s = $2 + $3 + $4
    if (s < 0.9999 || s > 1.0001 || $5 !~ /^(red|green|blue)$/) bad = 1; n++ } END { exit !(n == 4 && !bad) }' pi.csv
mkdir exact && cp pics/exact.png exact/
nn img_exact predict "$FIX/keras_cnn.h5" --images exact
check img_exact 0 'note: 1 of 1 images converted to 2 channels \(grey \+ alpha\)' '^exact\.png,'
expect "no resize note for an image of the model's size" test -z "$(grep resized img_exact.err)"

# --- errors ---------------------------------------------------------------------------
head -c 3000 "$FIX/keras_mlp.h5" >corrupt.h5
nn bad_model predict corrupt.h5 --images pics
check bad_model 1 'nntrain: error: .*corrupt\.h5.*(truncated|corrupt)'
nn bad_model_eval evaluate corrupt.h5 --data d.h5
check bad_model_eval 1 'nntrain: error: .*corrupt\.h5'
nn bad_model_sum summary corrupt.h5
check bad_model_sum 1 'nntrain: error: .*corrupt\.h5'
nn no_model evaluate missing.h5 --data d.h5
check no_model 1 'nntrain: error: .*missing\.h5'
nn spec_model predict "$ROOT/jobs/models/mnist_mlp.nn" --data d.h5
check spec_model 1 'is a model spec without weights'
nn no_dir predict "$FIX/keras_cnn.h5" --images no_such_folder
check no_dir 1 'nntrain: error: --images no_such_folder: No such file or directory'
mkdir mixed && cp pics/photo_1.jpg mixed/ && echo hello >mixed/notes.txt && echo x >mixed/Thumbs.db
nn skip_other predict "$FIX/keras_cnn.h5" --images mixed
check skip_other 0 'note: skipped 2 files that are not images \(e\.g\. mixed/Thumbs\.db\)' '^photo_1\.jpg,'
expect "one note for the skipped files" test "$(grep -c skipped skip_other.err)" -eq 1
echo hello >mixed/notes.png
nn not_image predict "$FIX/keras_cnn.h5" --images mixed
check not_image 1 'mixed/notes\.png: not an image'
nn one_file predict "$FIX/keras_cnn.h5" --images pics/photo_2.jpg
check one_file 0 '^file,class_0,class_1,class_2,predicted$' '^photo_2\.jpg,'
expect "one image file: one row" test "$(wc -l <one_file.out)" -eq 2
nn not_dir predict "$FIX/keras_cnn.h5" --images d.csv
check not_dir 1 'not an image file name'
nn wrong_input predict "$FIX/keras_cnn.h5" --data d.h5
check wrong_input 1 'samples have shape \(None, 8\) but the model.s input is \(None, 6, 6, 2\)'
nn flat_images predict "$FIX/keras_mlp.h5" --images pics
check flat_images 1 'not an image'
nn usage_none predict "$FIX/keras_mlp.h5"
check usage_none 2 'either --data SRC or --images DIR'
nn usage_both predict "$FIX/keras_mlp.h5" --data d.h5 --images pics
check usage_both 2 'either --data SRC or --images DIR'
nn usage_eval evaluate "$FIX/keras_mlp.h5"
check usage_eval 2 'evaluate needs --data SRC'
nn usage_opt evaluate "$FIX/keras_mlp.h5" --data d.h5 --bogus
check usage_opt 2 "unknown option '--bogus'"
nn recon_mlp predict "$FIX/keras_mlp.h5" --data d.h5 --recon-dir rd
check recon_mlp 1 'needs an autoencoder'
expect "errors leave no temporary file" no_temp

# --- models trained here (train --checkpoint) ---------------------------------------------
for c in 0 1 2; do
    mkdir -p "cls/c$c"
    for i in $(seq 1 12); do "$MK" "cls/c$c/im_$i.png" 12 12 1 $((c * 100 + i)) "$c"; done
done
nn conv_img convert images cls/c0=horizontal cls/c1=vertical cls/c2=stripes -o imgs.h5 --no-shuffle
check conv_img 0 'wrote imgs\.h5: 36 images 12x12x1' 'stored in file order'
nn conv_shuf convert images cls/c0=horizontal cls/c1=vertical cls/c2=stripes -o shuf.h5
check conv_shuf 0 'wrote shuf\.h5: 36 images 12x12x1' 'stored in a shuffled order \(seed 42'
nn conv_both convert images cls/c0=a -o both.h5 --no-shuffle --seed 3
check conv_both 2 'seed and --no-shuffle exclude each other'
cat >val.nn <<'EOF'
Flatten(input_shape=(12, 12, 1))
Dense(3, activation="softmax")
compile(loss="sparse_categorical_crossentropy", optimizer="adam", metrics=["accuracy"])
fit(batch_size=12, epochs=1, validation_split=0.25)
EOF
# Keras's validation_split takes the last quarter: one class in file order
nn val_fileorder train val.nn --data imgs.h5 --out runv1 --verbose 2
check val_fileorder 0 'validation set \(9 samples, the last of the training file\) looks like one class: the 9 labels read across it are all 2'
nn val_shuffled train val.nn --data shuf.h5 --out runv2 --verbose 2
check val_shuffled 0 'val_accuracy'
expect "shuffled: no one-class warning" test -z "$(cat val_shuffled.out val_shuffled.err | grep 'looks like one class')"
cat >soft.nn <<'EOF'
Flatten(input_shape=(12, 12, 1))
Dense(3, activation="softmax")
compile(loss="sparse_categorical_crossentropy", optimizer=Adam(lr=0.01), metrics=["accuracy"])
fit(batch_size=12, epochs=6)
EOF
cat >ae.nn <<'EOF'
Conv2D(4, (3, 3), padding="same", activation="relu", input_shape=(12, 12, 1))
Conv2D(1, (3, 3), padding="same", activation="sigmoid")
compile(loss="binary_crossentropy", optimizer="adam", metrics=["mse"])
fit(batch_size=12, epochs=1, target="input")
EOF
if "$NN" train --help 2>/dev/null | grep -q -- '--checkpoint'; then
    nn train_soft train soft.nn --data imgs.h5 --checkpoint soft.h5 --monitor loss --out run1 --verbose 2
    check train_soft 0 'Epoch 6/6'
    nn train_ae train ae.nn --data imgs.h5 --checkpoint ae.h5 --monitor loss --out run2 --verbose 2
    check train_ae 0 'Epoch 1/1'
    nn sum_ckpt summary soft.h5
    check sum_ckpt 0 'dense \(Dense\) +\(None, 3\) +435' 'Total params: 435'
    nn eval_ckpt evaluate soft.h5 --data imgs.h5 --errors 2
    check eval_ckpt 0 '^36 samples - loss: [0-9.]+ - accuracy: [0-9.]+$' \
        'true \\ predicted +horizontal +vertical +stripes$' '^  stripes +12 '
    nn pred_ckpt predict soft.h5 --images cls/c1 --class-names h,v,s
    check pred_ckpt 0 '^file,h,v,s,predicted$' '^im_9\.png,'
    expect "12 image rows" test "$(wc -l <pred_ckpt.out)" -eq 13
    nn eval_ae evaluate ae.h5 --data imgs.h5
    check eval_ae 0 '^36 samples - loss: [0-9.]+ - mse: [0-9.]+$'
    expect "autoencoder: no confusion matrix" test -z "$(grep Confusion eval_ae.out)"
    nn recon predict ae.h5 --data imgs.h5 --recon-dir rec --limit 3
    check recon 0 'Wrote 3 PNG pairs \(original \| reconstruction, [0-9]+x[0-9]+ pixels\) to rec'
    expect "three PNG pairs" is_png rec/00002.png
    nn recon_img predict ae.h5 --images cls/c2 --recon-dir rec2 --limit 2
    check recon_img 0 'Wrote 2 PNG pairs'
    expect "PNG pairs named after the images" is_png rec2/00001_im_10.png
    nn analyze analyze soft.h5 --data imgs.h5 -o an
    check analyze 0 'first_layer_weights\.png: 3 of 3 units of layer .dense. \(Dense\) as 12x12x1 images, one per class, 11x larger' \
        'most_confident\.png: the most confident example of 3 of 3 classes'
    expect "analyze: weight and example PNGs" is_png an/first_layer_weights.png
    expect "analyze: example PNG" is_png an/most_confident.png
    expect "analyze: templates listed by class" test "$(cut -d, -f5 an/first_layer_weights.csv | tr '\n' ' ')" = \
        "label horizontal vertical stripes "
    if /usr/bin/python3 -c 'import h5py, PIL' 2>/dev/null; then
        /usr/bin/python3 "$HERE/check_analyze_png.py" an soft.h5 dense 3 >an_check.out 2>&1
        expect "analyze: tiles and legend use the same colour map (PIL, h5py)" test $? -eq 0
        sed 's/^/    | /' an_check.out | head -n 5
    else
        echo "skip the analyze PNG check (no python3-h5py or python3-pil)"
    fi
    # classes are samples 0-11, 12-23, 24-35 (imgs.h5 was converted --no-shuffle)
    expect "analyze: one example per class, of that class" awk -F, 'NR > 1 { n++
        if ($3 == "" || $3 < 12 * (NR - 2) || $3 >= 12 * (NR - 1)) bad = 1 }
        END { exit !(n == 3 && !bad) }' an/most_confident.csv
else
    echo "skip models trained here: nntrain train has no --checkpoint yet"
fi
# --- class folders (flow_from_directory): train --data DIR, class names kept --------------
mkdir -p fold/rick fold/notrick fold/Zed
for i in $(seq 1 12); do
    "$MK" "fold/notrick/n_$i.png" 12 12 1 $((500 + i)) 0
    "$MK" "fold/rick/r_$i.png" 12 12 1 $((600 + i)) 1
done
echo thumbs >fold/rick/Thumbs.db
cp fold/rick/r_1.png fold/Zed/z.png
nn conv_fold convert images fold -o fold.h5 --no-shuffle
check conv_fold 0 'in 3 classes \(Zed 1, notrick 12, rick 12\)' \
    'note: skipped 1 file that is not an image \(e\.g\. fold/rick/Thumbs\.db\)'
rm -r fold/Zed
cat >bin.nn <<'EOF'
Flatten(input_shape=(12, 12, 1))
Dense(1, activation="sigmoid")
compile(loss="binary_crossentropy", optimizer=Adam(lr=0.05), metrics=["accuracy"])
fit(batch_size=8, epochs=15)
EOF
nn train_fold train bin.nn --data fold --out runf --checkpoint runf/best.h5 --monitor loss --verbose 2
check train_fold 0 'Converted fold \(24 images in 2 classes: 0 = notrick 12, 1 = rick 12;' \
    'into runf/data-[0-9a-f]{16}\.h5' 'Epoch 15/15'
cache=$(ls runf/data-*.h5 2>/dev/null)
nn train_fold2 train bin.nn --data fold --out runf --epochs 1 --verbose 2
check train_fold2 0 "Reusing $cache: converted from fold before"
touch fold/rick/r_3.png
nn train_fold3 train bin.nn --data fold --out runf --epochs 1 --verbose 2
check train_fold3 0 'Converted fold \(24 images' "Removed $cache"
expect "one cache file after a rebuild" test "$(ls runf/data-*.h5 | wc -l)" -eq 1
nn train_fold4 train bin.nn --data fold --out runf --epochs 2 --resume auto --verbose 2
check train_fold4 0 'Reusing runf/data-' 'Resuming from runf/last\.h5: 1 epoch done' 'Epoch 2/2'
nn pred_resumed predict runf/last.h5 --images fold/notrick/n_2.png
check pred_resumed 0 '^file,notrick,rick,predicted$'
nn conv_pair convert images fold -o pair.h5
nn conv_swap convert images fold/rick=notrick fold/notrick=rick -o swap.h5
nn eval_fold evaluate runf/best.h5 --data pair.h5 --errors 0
check eval_fold 0 'true \\ predicted +notrick +rick$' '^  rick +12 '
expect "no order hint when the classes match" test -z "$(grep hint eval_fold.err)"
nn eval_swap evaluate runf/best.h5 --data swap.h5 --errors 0
check eval_swap 0 "nntrain: hint: accuracy 0\.[0-2][0-9] is far below chance: the classes may be in the other order than when the model was trained \(class 0 = 'notrick', 1 = 'rick' here\)"
nn conv_rfirst convert images fold/rick=rick fold/notrick=notrick -o rfirst.h5
nn eval_rfirst evaluate runf/best.h5 --data rfirst.h5 --errors 0
check eval_rfirst 0 "warning: rfirst\.h5:/train has its classes in the order 0, 1, \.\.\. = \(rick, notrick\) but runf/best\.h5 was trained with \(notrick, rick\)" \
    "hint: accuracy 0\.[0-2]"
expect "no order warning when the names agree" test -z "$(grep 'in the order' eval_fold.err eval_swap.err)"
nn pred_fold predict runf/best.h5 --images fold/rick
check pred_fold 0 '^file,notrick,rick,predicted$' '^r_1\.png,[0-9.e-]+,[0-9.e-]+,rick$'
nn pred_keras predict "$FIX/keras_cnn.h5" --images pics/photo_1.jpg
check pred_keras 0 '^file,class_0,class_1,class_2,predicted$'
nn analyze_fold analyze runf/best.h5 --data pair.h5 -o anf
expect "analyze: class names from the data" grep -q '^1,rick,' anf/most_confident.csv
# a path in the wrong place: the hint names the right command
nn hint_eval_dir evaluate runf/best.h5 --data fold/rick
check hint_eval_dir 1 'fold/rick is a folder of images: use predict --images fold/rick or convert images fold/rick -o out\.h5'
nn hint_model_data evaluate pair.h5 --data pair.h5
check hint_model_data 1 'pair\.h5 is a dataset, not a trained model'
# a checkpoint as train's model is trained further from its weights (no hint)
nn train_ckpt train runf/best.h5 --data pair.h5 --out runh --epochs 1
check train_ckpt 0 'Weights loaded from runf/best\.h5: training it further'
nn hint_data_ckpt train bin.nn --data runf/best.h5 --out runh
check hint_data_ckpt 1 'runf/best\.h5 is a checkpoint \(a trained model\), not a dataset'

nn analyze_cnn analyze "$FIX/keras_cnn.h5" --data d.h5 -o an2
check analyze_cnn 1 'samples have shape \(None, 8\)'
nn analyze_mlp analyze "$FIX/keras_mlp.h5" --data d.h5 -o an3
check analyze_mlp 0 'does not take an image: no weight images' 'not images: no most_confident'

# --- MPI: 2 ranks print once and agree with 1 rank ------------------------------------
if [ -n "$MPIEXEC" ] && command -v "$MPIEXEC" >/dev/null 2>&1; then
    timeout 120 "$MPIEXEC" -n 2 --oversubscribe "$NN" evaluate "$FIX/keras_mlp.h5" --data d.h5 \
        --errors 4 --batch-size 7 >mpi_eval.out 2>mpi_eval.err
    expect "2 ranks: evaluate exits 0" test $? -eq 0
    expect "2 ranks: printed once" test "$(grep -c '^Model: ' mpi_eval.out)" -eq 1
    expect "2 ranks: same confusion matrix and mistakes" test -n "$(grep Confusion mpi_eval.out)" -a \
        "$(grep -v 'samples - loss' mpi_eval.out)" = "$(grep -v 'samples - loss\|written to' eval.out)"
    expect "2 ranks: same loss and accuracy (1e-4)" awk '/samples - loss/ { l[++n] = $5; a[n] = $8 }
        END { d = l[1] - l[2]; e = a[1] - a[2]; exit !(n == 2 && d < 1e-4 && d > -1e-4 && e == 0) }' \
        eval.out mpi_eval.out
    timeout 120 "$MPIEXEC" -n 2 --oversubscribe "$NN" predict "$FIX/keras_mlp.h5" --data d.h5 \
        --batch-size 8 -o p2.csv >mpi_pred.out 2>&1
    expect "2 ranks: predict exits 0" test $? -eq 0
    expect "2 ranks: the same CSV" cmp -s p.csv p2.csv
    timeout 120 "$MPIEXEC" -n 2 --oversubscribe "$NN" evaluate corrupt.h5 --data d.h5 \
        >mpi_bad.out 2>&1
    expect "2 ranks: a corrupt model exits 1" test $? -ne 0
    expect "2 ranks: one error message" test "$(grep -c 'nntrain: error' mpi_bad.out)" -eq 1
    # train --data DIR of class folders: rank 0 converts, rank 1 waits; an error reaches both
    timeout 120 "$MPIEXEC" -n 2 --oversubscribe "$NN" train bin.nn --data fold --out runm \
        --epochs 2 --verbose 2 >mpi_fold.out 2>&1
    expect "2 ranks: train --data DIR exits 0" test $? -eq 0
    expect "2 ranks: converted once" test "$(grep -c '^Converted fold' mpi_fold.out)" -eq 1
    expect "2 ranks: the cache has the 1-rank run's name (same files, shape, seed)" \
        test "$(cd runm && ls data-*.h5)" = "$(cd runf && ls data-*.h5)"
    mkdir -p foldbad/a foldbad/b && cp fold/rick/r_1.png foldbad/a/ && cp fold/notrick/n_1.png foldbad/b/
    echo "not a png" >foldbad/b/broken.png
    timeout 120 "$MPIEXEC" -n 2 --oversubscribe "$NN" train bin.nn --data foldbad --out runm2 \
        --epochs 1 >mpi_foldbad.out 2>&1
    rc=$?
    expect "2 ranks: a broken image fails both ranks, no hang" test "$rc" -ne 0 -a "$rc" -ne 124
    expect "2 ranks: one error naming the file" test "$(grep -c 'nntrain: error: .*foldbad/b/broken\.png' mpi_foldbad.out)" -eq 1
    expect "2 ranks: no cache left" test -z "$(ls runm2 2>/dev/null | grep data-)"
    # node-local output folders: ranks started in different folders (Open MPI's --wdir), the
    # same relative --out: rank 1 cannot see rank 0's cache and converts its own copy
    if "$MPIEXEC" --version 2>&1 | grep -Eq 'Open MPI|OpenRTE|open-mpi'; then
        mkdir -p wA wB
        timeout 120 "$MPIEXEC" --oversubscribe -n 1 --wdir "$T/wA" "$NN" train "$T/bin.nn" \
            --data "$T/fold" --out runl --epochs 1 --verbose 2 : -n 1 --wdir "$T/wB" "$NN" \
            train "$T/bin.nn" --data "$T/fold" --out runl --epochs 1 --verbose 2 >mpi_local.out 2>&1
        expect "node-local --out: train exits 0" test $? -eq 0
        expect "node-local --out: each rank's folder holds the same cache" \
            test -n "$(cd wA/runl && ls data-*.h5)" -a "$(cd wA/runl && ls data-*.h5)" = "$(cd wB/runl 2>/dev/null && ls data-*.h5)"
        expect "node-local --out: rank 0 speaks once" test "$(grep -c '^Converted' mpi_local.out)" -eq 1
    fi
else
    echo "skip MPI checks (no mpiexec)"
fi

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
