#!/usr/bin/env bash
# End-to-end checks of the HDF5 dataset tools: `nntrain convert idx` on IDX
# files generated here (with two duplicate images and one test image equal
# to a train image), `inspect` (shapes, classes, duplicates, checksums, and a
# tampered file), `split` (determinism, --dedupe), training one epoch of
# jobs/models/mnist_mlp.nn on the .h5 (1 and 2 MPI ranks), and bad inputs
# (missing or corrupt files, a file without /test given as --test, a bad CSV,
# usage errors, scripts/get_cifar10.sh without network) with their exit
# status and message.
#
# usage: h5_cli.sh NNTRAIN [MPIEXEC]
set -u
NN=${1:?usage: h5_cli.sh NNTRAIN [MPIEXEC]}
MPIEXEC=${2:-}
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$HERE/../..
SPEC=$ROOT/jobs/models/mnist_mlp.nn
T=$(mktemp -d "${TMPDIR:-/tmp}/nntrain-h5.XXXXXX") || exit 1
trap 'rm -rf "$T"' EXIT
export OPENBLAS_NUM_THREADS=${OPENBLAS_NUM_THREADS:-1}

pass=0
fail=0
ok() { pass=$((pass + 1)); printf 'ok   %s\n' "$1"; }
bad() { fail=$((fail + 1)); printf 'FAIL %s: %s\n' "$1" "$2"; }
expect() { local n=$1; shift; if "$@"; then ok "$n"; else bad "$n" "check failed: $*"; fi; }

# nn NAME ARGS...: runs nntrain (timeout 120); output in $T/NAME.{out,err}, status in $T/NAME.rc
nn() {
    local name=$1
    shift
    timeout 120 "$NN" "$@" >"$T/$name.out" 2>"$T/$name.err"
    echo $? >"$T/$name.rc"
}
# check NAME WANT_RC PATTERN...: status of run NAME, and stdout+stderr match every regex
check() {
    local name=$1 want=$2 rc why=""
    shift 2
    rc=$(cat "$T/$name.rc")
    [ "$rc" -ne "$want" ] && why="exit status $rc, expected $want"
    for p in "$@"; do
        [ -z "$why" ] && ! cat "$T/$name.out" "$T/$name.err" | grep -Eq -- "$p" &&
            why="output lacks /$p/"
    done
    if [ -z "$why" ]; then ok "$name"; else
        bad "$name" "$why"
        sed 's/^/    | /' "$T/$name.out" "$T/$name.err" | head -n 20
    fi
}
no_temp() { test -z "$(find "$T" -name '*.tmp-*')"; }

# --- IDX generation (28x28, 200 train + 50 t10k images) ----------------------
be32() {
    printf '\\x%02x\\x%02x\\x%02x\\x%02x' $(($1 >> 24 & 255)) $(($1 >> 16 & 255)) \
        $(($1 >> 8 & 255)) $(($1 & 255))
}
labels() {   # labels FILE N: labels i % 10
    local s="" i
    for ((i = 0; i < $2; i++)); do s+=$(printf '\\x%02x' $((i % 10))); done
    { printf "$(be32 2049)$(be32 "$2")"; printf "$s"; } >"$1"
}
D=$T/fashion-like
mkdir -p "$D"
head -c $((784 * 197)) /dev/urandom >"$T/pix"
{   printf "$(be32 2051)$(be32 200)$(be32 28)$(be32 28)"
    head -c 784 "$T/pix"                              # image 0
    head -c 784 /dev/zero | tr '\0' '\253'            # image 1: all 0xab (a marker)
    tail -c +785 "$T/pix"                             # images 2..197
    head -c 784 "$T/pix"; head -c 784 "$T/pix"        # 198, 199: copies of image 0
} >"$D/train-images-idx3-ubyte"
labels "$D/train-labels-idx1-ubyte" 200
{   printf "$(be32 2051)$(be32 50)$(be32 28)$(be32 28)"
    head -c $((784 * 49)) /dev/urandom
    tail -c +$((784 * 5 + 1)) "$T/pix" | head -c 784     # = train image 6
} >"$D/t10k-images-idx3-ubyte"
labels "$D/t10k-labels-idx1-ubyte" 50
gzip "$D/train-images-idx3-ubyte"

# --- convert and inspect -------------------------------------------------------
nn convert convert idx "$D" -o "$T/d.h5"
check convert 0 'Wrote .*d\.h5: train 200, test 50 samples of \(None, 28, 28, 1\) uint8, 10 classes' \
    'train +200 read, 2 byte-identical duplicates' 'test +50 read, 0 .*, 1 also in train'
expect "convert leaves no temporary file" no_temp
nn inspect inspect "$T/d.h5"
check inspect 0 '^/train: 200 samples' 'x: uint8 \(200, 28, 28, 1\), chunks of 1 sample' \
    'y: int32 \(200,\) class labels' 'T-shirt/top +20' 'duplicates: 2 byte-identical' \
    '1 also in /train' 'source: +IDX files in .*fashion-like' 'creator: +nntrain '
expect "inspect verifies both checksums" test "$(grep -c 'checksum: [0-9a-f]\{16\} OK' "$T/inspect.out")" -eq 2
nn dedupe convert idx "$D" -o "$T/dd.h5" --dedupe --compress 4
check dedupe 0 'train 198, test 49 samples' '(duplicates dropped)'
nn inspect_gz inspect "$T/dd.h5"
check inspect_gz 0 'gzip 4' 'duplicates: 0 byte-identical samples; 0 also in /train'

# --- split -----------------------------------------------------------------------
nn split split "$T/d.h5" --val-fraction 0.2 --seed 1 -o "$T/tr.h5" --val-out "$T/va.h5" --dedupe
check split 0 'gets 158' 'va\.h5 gets 40' '\(and /test: 50\)'
nn split2 split "$T/d.h5" --val-fraction 0.2 --seed 1 -o "$T/tr2.h5" --val-out "$T/va2.h5" --dedupe
expect "same seed => byte-identical train file" cmp -s "$T/tr.h5" "$T/tr2.h5"
expect "same seed => byte-identical val file" cmp -s "$T/va.h5" "$T/va2.h5"
nn split3 split "$T/d.h5" --val-fraction 0.2 --seed 2 -o "$T/tr3.h5" --val-out "$T/va3.h5" --dedupe
expect "another seed => another split" test -n "$(cmp "$T/va.h5" "$T/va3.h5" 2>&1)"
nn split_leak split "$T/d.h5" --val-fraction 0.5 --seed 3 -o "$T/tl.h5" --val-out "$T/vl.h5"
check split_leak 0 'gets 100'

# --- training on the .h5 ------------------------------------------------------------
nn train train "$SPEC" --data "$T/tr.h5" --val "$T/va.h5" --epochs 1 --batch-size 32 \
    --out "$T/run1" --verbose 2
check train 0 '^Epoch 1/1 .* - loss: [0-9.]+ - accuracy: [0-9.]+ - val_loss: [0-9.]+' \
    'Test \(50 samples\) - loss'
expect "history written" test -f "$T/run1/history.csv"
if [ -n "$MPIEXEC" ] && command -v "$MPIEXEC" >/dev/null 2>&1; then
    timeout 120 "$MPIEXEC" -n 2 --oversubscribe "$NN" train "$SPEC" --data "$T/tr.h5" \
        --val "$T/va.h5" --epochs 1 --batch-size 32 --out "$T/run2" --verbose 0 \
        >"$T/mpi.out" 2>&1
    expect "2 ranks train on the .h5" test $? -eq 0
    expect "2 ranks: same loss as 1 rank (1e-4)" awk -F, 'NR == FNR && FNR == 2 { a = $2 }
        NR != FNR && FNR == 2 { b = $2 } END { d = a - b; ok = a != "" && d < 1e-4 && d > -1e-4
        if (!ok) print "loss 1 rank " a ", 2 ranks " b > "/dev/stderr"; exit !ok }' \
        "$T/run1/history.csv" "$T/run2/history.csv"
fi

# --- bad inputs --------------------------------------------------------------------
nn missing_dir convert idx "$T/nope" -o "$T/x.h5"
check missing_dir 1 'nope' 'not a directory'
expect "failed convert leaves no output" test ! -e "$T/x.h5"
nn inspect_missing inspect "$T/nope.h5"
check inspect_missing 1 'nope\.h5: No such file or directory'
head -c 3000 "$T/d.h5" >"$T/cut.h5"
nn inspect_cut inspect "$T/cut.h5"
check inspect_cut 1 'cut\.h5: cannot open HDF5 file, truncated or corrupt\?'
printf 'not hdf5\n' >"$T/text.h5"
nn inspect_text inspect "$T/text.h5"
check inspect_text 1 'text\.h5: not an HDF5 file'
nn train_cut train "$SPEC" --data "$T/cut.h5" --out "$T/run_cut"
check train_cut 1 'error: .*cut\.h5: cannot open HDF5 file'
nn train_notest train "$SPEC" --data "$T/tr.h5" --test "$T/va.h5" --epochs 1 --out "$T/run_nt"
check train_notest 1 'va\.h5: no /test split \(the file has: /train\)'

# tamper with one pixel of the marker image: inspect must notice
cp "$T/d.h5" "$T/tampered.h5"
off=$(LC_ALL=C grep -obUaP '\xab{784}' "$T/tampered.h5" 2>/dev/null | head -n1 | cut -d: -f1)
if [ -n "$off" ]; then
    printf '\x01' | dd of="$T/tampered.h5" bs=1 seek="$off" conv=notrunc status=none
    nn tampered inspect "$T/tampered.h5"
    check tampered 1 'checksum: MISMATCH' 'error: .*tampered\.h5: /train/x checksum mismatch'
else
    bad "tampered" "could not locate the marker image (grep -P missing?)"
fi

printf 'a,b,label\n1,2,x\n3,oops,y\n' >"$T/bad.csv"
nn csv_bad convert csv "$T/bad.csv" --label-column label -o "$T/csv.h5"
check csv_bad 1 "bad\.csv:3: column 'b': 'oops'"
printf 'a,b,label\n1,2,x\n3,4,y\n3,4,y\n' >"$T/good.csv"
nn csv_good convert csv "$T/good.csv" --label-column label -o "$T/csv.h5"
check csv_good 0 'train 3 samples of \(None, 2\) float32, 2 classes' '1 byte-identical duplicate'
nn no_out convert idx "$D"
check no_out 2 'needs an output file: -o OUT\.h5'
nn bad_kind convert mnist "$D" -o "$T/y.h5"
check bad_kind 2 "unknown dataset kind 'mnist'"
nn split_frac split "$T/d.h5" --val-fraction 1.5 -o "$T/a.h5" --val-out "$T/b.h5"
check split_frac 2 'between 0 and 1'

# the downloader fails clearly without network (an unreachable mirror here)
CIFAR10_URL=http://127.0.0.1:9/cifar-10-binary.tar.gz NNTRAIN=$NN timeout 60 \
    bash "$ROOT/scripts/get_cifar10.sh" "$T/cifar" >"$T/get.out" 2>"$T/get.err"
echo $? >"$T/get.rc"
check get 1 'get_cifar10\.sh: error: download failed .*no network access'
expect "no partial download left" test -z "$(find "$T/cifar" -name '*.part')"
expect "no temporary file left anywhere" no_temp

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
