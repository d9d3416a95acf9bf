#!/usr/bin/env bash
# End-to-end checks of `nntrain explain` on a small CNN trained here (8x8 RGB
# images that tests/cli/mkimage.c writes, two classes):
#   --images DIR --method all: one PNG per image named after it, decoding to
#       the expected size (the image and 8 maps of 128x128 with 6 px gaps and
#       the caption strips), the first panel the image and a map panel not
#       blank; --raw: a float32 (N, 8, 8, 3) dataset per method, predictions
#       (N, 2) and names, the maps' channel sums equal to what the PNG shows;
#   --data --indices / --mistakes, --class, and a graph model (Add);
#   MPI: 2 ranks write the same maps as 1 rank, printed once.
# usage: explain.sh NNTRAIN [MPIEXEC] MKIMAGE
set -u
NN=${1:?usage: explain.sh NNTRAIN [MPIEXEC] MKIMAGE}
MPIEXEC=${2:-}
MK=${3:?usage: explain.sh NNTRAIN [MPIEXEC] MKIMAGE}
case $NN in /*) ;; *) NN=$PWD/$NN ;; esac
case $MK in /*) ;; *) MK=$PWD/$MK ;; esac
T=$(mktemp -d "${TMPDIR:-/tmp}/nntrain-explain.XXXXXX") || exit 1
trap 'rm -rf "$T"' EXIT
export OPENBLAS_NUM_THREADS=1
cd "$T" || exit 1
PY=/usr/bin/python3
HAVE_PY=0
$PY -c 'import h5py, numpy, PIL' >/dev/null 2>&1 && HAVE_PY=1

pass=0
fail=0
ok() { pass=$((pass + 1)); printf 'ok   %s\n' "$1"; }
bad() { fail=$((fail + 1)); printf 'FAIL %s: %s\n' "$1" "$2"; }
expect() { local n=$1; shift; if "$@"; then ok "$n"; else bad "$n" "check failed: $*"; fi; }
nn() {
    local name=$1
    shift
    timeout 300 "$NN" "$@" >"$name.out" 2>"$name.err"
    echo $? >"$name.rc"
}
check() {
    local name=$1 want=$2 rc why=""
    shift 2
    rc=$(cat "$name.rc")
    [ "$rc" -ne "$want" ] && why="exit status $rc, expected $want"
    for p in "$@"; do
        [ -z "$why" ] && ! cat "$name.out" "$name.err" | grep -Eq -- "$p" && why="output lacks /$p/"
    done
    if [ -z "$why" ]; then ok "$name"; else
        bad "$name" "$why"
        sed 's/^/    | /' "$name.out" "$name.err" | head -n 20
    fi
}
is_png() { [ "$(head -c 8 "$1" 2>/dev/null | od -An -tx1 | tr -d ' \n')" = 89504e470d0a1a0a ]; }
# png_size FILE: "WIDTHxHEIGHT" from the IHDR chunk
png_size() { echo "$(od -An -tu4 --endian=big -j16 -N4 "$1" | tr -d ' ')x$(od -An -tu4 --endian=big -j20 -N4 "$1" | tr -d ' ')"; }

# two classes of 8x8 RGB images: left-right and top-bottom gradients
for c in 0 1; do
    mkdir -p "cls/c$c"
    for i in $(seq 1 10); do "$MK" "cls/c$c/im_$i.png" 8 8 3 $((c * 100 + i)) "$c"; done
done
mkdir -p pics
for i in 1 2 3; do "$MK" "pics/frame_$i.png" 8 8 3 "$((500 + i))" $((i % 2)); done
cat >cnn.nn <<'S'
Conv2D(4, (3, 3), activation="relu", input_shape=(8, 8, 3))
MaxPooling2D((2, 2))
Flatten()
Dense(2, activation="softmax")
compile(loss="sparse_categorical_crossentropy", optimizer=Adam(), metrics=["accuracy"])
fit(batch_size=10, epochs=3, seed=1)
S
nn train train cnn.nn --data cls --out run --checkpoint cnn.h5 --monitor loss --verbose 2
check train 0
nn conv convert images cls/c0=a cls/c1=b -o data.h5
check conv 0

# --- images, every method, --raw ----------------------------------------------
nn all explain cnn.h5 --images pics --method all -o ex --raw raw.h5 --steps 20 --samples 2
check all 0 'Wrote 3 PNG files to ex and the maps to raw.h5'
expect png_names test -f ex/frame_1.png -a -f ex/frame_2.png -a -f ex/frame_3.png
expect png_valid is_png ex/frame_1.png
# 9 panels of 8 px x 16 = 128, gaps of 6: 9 * 128 + 10 * 6 wide; 14 + 128 + 14 + 6 high
expect png_size test "$(png_size ex/frame_2.png)" = 1212x162
expect no_temp test -z "$(find . -name '*.tmp*')"
if [ $HAVE_PY -eq 1 ]; then
    $PY - ex raw.h5 >py.out 2>&1 <<'P'
import sys
import h5py
import numpy as np
from PIL import Image
d, raw = sys.argv[1], h5py.File(sys.argv[2], "r")
meths = ["saliency", "grad_input", "integrated_gradients", "elrp", "deeplift", "occlusion",
         "shapley_sampling", "gradcam"]
bad = []
for m in meths:
    if raw[m].shape != (3, 8, 8, 3) or raw[m].dtype != np.float32:
        bad.append("%s: %s %s" % (m, raw[m].shape, raw[m].dtype))
if raw["predictions"].shape != (3, 2):
    bad.append("predictions %s" % (raw["predictions"].shape,))
names = [n.decode() if isinstance(n, bytes) else n for n in raw["names"][()]]
if names != ["frame_1.png", "frame_2.png", "frame_3.png"]:
    bad.append("names %s" % names)
im = np.asarray(Image.open(d + "/frame_2.png").convert("RGB")).astype(int)
# the map panels against the raw maps: blue-white-red of sum / max|sum|
for k, m in enumerate(meths):
    v = raw[m][1].sum(-1)
    mx = np.abs(v).max()
    x0 = 6 + (k + 1) * (128 + 6)
    panel = im[14:14 + 128, x0:x0 + 128]
    for (yy, xx) in [(0, 0), (40, 100), (127, 127), (64, 17)]:
        t = np.float32(v[yy // 16, xx // 16] / mx) if mx > 0 else np.float32(0)
        f = int(np.rint(np.float32(255) * (np.float32(1) - np.abs(t))))
        want = (f, f, 255) if t < 0 else (255, f, f) if t > 0 else (255, 255, 255)
        if tuple(panel[yy, xx]) != want:
            bad.append("%s pixel (%d, %d): %s, want %s" % (m, yy, xx, tuple(panel[yy, xx]), want))
    if mx == 0:
        bad.append("%s: an all-zero map" % m)
if np.abs(raw["gradcam"][()]).min() < 0 or (raw["gradcam"][()] < 0).any():
    bad.append("gradcam has negative values")
print("\n".join(bad) if bad else "pictures match the raw maps")
sys.exit(1 if bad else 0)
P
    expect png_matches_raw grep -q 'pictures match the raw maps' py.out
    [ -s py.out ] && sed 's/^/    | /' py.out | head -n 8
fi

# --- data: --indices, --class, --mistakes ---------------------------------------
nn idx explain cnn.h5 --data data.h5 --indices 3,0 --method saliency,gradcam --class 1 -o exi
check idx 0 'Wrote 2 PNG files to exi'
expect idx_names test -f exi/00003.png -a -f exi/00000.png
expect idx_size test "$(png_size exi/00003.png)" = 408x162
nn mis explain cnn.h5 --data data.h5 --mistakes 2 --method grad_input -o exm
if [ "$(cat mis.rc)" -eq 0 ]; then
    check mis 0 'Wrote [12] PNG files? to exm'
else
    check mis 1 'nothing to explain: no misclassified samples'
fi

# --- a graph model ----------------------------------------------------------------
cat >g.nn <<'S'
inputs = Input(shape=(8, 8, 3))
a = Conv2D(4, 3, padding="same", activation="relu")(inputs)
b = Conv2D(4, 3, padding="same")(a)
x = add([a, b])
x = Activation("relu")(x)
x = GlobalAveragePooling2D()(x)
outputs = Dense(2, activation="softmax")(x)
model = Model(inputs=inputs, outputs=outputs)
model.compile(loss="sparse_categorical_crossentropy", optimizer="adam")
model.fit(batch_size=10, epochs=1)
S
nn gtrain train g.nn --data cls --out grun --checkpoint g.h5 --monitor loss --verbose 2
check gtrain 0
nn graph explain g.h5 --images pics --method deeplift,elrp,gradcam -o exg
check graph 0 'Wrote 3 PNG files to exg'

# --- MPI: the same maps on 2 ranks ---------------------------------------------
if [ -n "$MPIEXEC" ] && [ $HAVE_PY -eq 1 ]; then
    nn one explain cnn.h5 --data data.h5 --limit 5 --batch-size 2 --method grad_input,occlusion -o ex1 --raw r1.h5
    check one 0
    timeout 300 "$MPIEXEC" -n 2 --oversubscribe "$NN" explain cnn.h5 --data data.h5 --limit 5 \
        --batch-size 2 --method grad_input,occlusion -o ex2 --raw r2.h5 >two.out 2>two.err
    echo $? >two.rc
    check two 0
    expect two_prints_once test "$(grep -c 'Wrote 5 PNG' two.out)" -eq 1
    expect two_same_maps $PY -c "
import h5py, numpy as np, sys
a, b = h5py.File('r1.h5', 'r'), h5py.File('r2.h5', 'r')
sys.exit(0 if all(np.allclose(a[k][()], b[k][()], rtol=1e-5, atol=1e-6) for k in ('grad_input', 'occlusion', 'predictions')) and np.abs(a['grad_input'][()]).sum() > 0 else 1)"
fi

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
