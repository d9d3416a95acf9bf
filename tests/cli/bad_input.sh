#!/usr/bin/env bash
# Bad-input checks for `nntrain train`: every case must fail with the right
# exit status (1 runtime error, 2 usage error), say on stderr what was wrong
# and where, finish in time, and leave no (half-)written output behind.
# The IDX datasets are generated with printf/head/gzip (tests/cli/lib.sh).
#
# usage: bad_input.sh NNTRAIN [MPIEXEC]   (MPIEXEC is accepted and unused)
set -u
NN=${1:?usage: bad_input.sh NNTRAIN [MPIEXEC]}
T=$(mktemp -d "${TMPDIR:-/tmp}/nntrain-bad.XXXXXX") || exit 1
trap 'rm -rf "$T"' EXIT
export OPENBLAS_NUM_THREADS=${OPENBLAS_NUM_THREADS:-1}

# --- IDX generation (tests/cli/lib.sh) ------------------------------------
. "$(cd "$(dirname "$0")" && pwd)/lib.sh"
images() { idx_images "$@"; }
labels() { idx_labels "$@"; }
idxdir() { idx_dir "$1"; }

idxdir "$T/good"
mkdir -p "$T/good_gz"
images "$T/good_gz/train-images-idx3-ubyte" 20 28 28
labels "$T/good_gz/train-labels-idx1-ubyte" 20
gzip "$T/good_gz/train-images-idx3-ubyte" "$T/good_gz/train-labels-idx1-ubyte"

idxdir "$T/trunc"     # header says 20 images, 10.5 images of pixels follow
images "$T/trunc/train-images-idx3-ubyte" 20 28 28 2051 $((10 * 784 + 392))

idxdir "$T/trunc_gz"  # a gzip stream cut in the middle of the pixels
{ printf "$(be32 2051)$(be32 20)$(be32 28)$(be32 28)"; head -c 15680 /dev/urandom; } |
    gzip -c | head -c 8000 >"$T/trunc_gz/train-images-idx3-ubyte.gz"
rm "$T/trunc_gz/train-images-idx3-ubyte"

idxdir "$T/count"     # 20 images, 19 labels
labels "$T/count/train-labels-idx1-ubyte" 19

idxdir "$T/magic"     # the images file carries the labels magic 0x801
images "$T/magic/train-images-idx3-ubyte" 20 28 28 2049

idxdir "$T/classes"   # labels 0..14 for a 10-output model
labels "$T/classes/train-labels-idx1-ubyte" 20 15

mkdir -p "$T/empty"   # a directory without IDX files
: >"$T/afile"         # a regular file, to put an --out path under

# --- model specs ----------------------------------------------------------
spec() { printf '%s\n' "$2" >"$T/$1"; }
TAIL='compile(loss="sparse_categorical_crossentropy", optimizer=SGD(), metrics=["accuracy"])
fit(batch_size=8, epochs=1, validation_split=0.25, seed=1)'
SQTAIL='compile(loss="mean_squared_error", optimizer=Adam(), metrics=["mae"])
fit(batch_size=32, epochs=1, seed=1)'
spec mlp.nn "Dense(10, activation=\"softmax\", input_shape=(784,))
$TAIL"
spec in100.nn "Dense(10, activation=\"softmax\", input_shape=(100,))
$TAIL"
spec sqrt.nn "Dense(8, activation=\"relu\", input_shape=(1,))
Dense(1)
$SQTAIL"
spec unknown_layer.nn "Dense(8, activation=\"relu\", input_shape=(1,))
Dense2(10)
Dense(1)
$SQTAIL"
spec unknown_opt.nn "Dense(8, activation=\"relu\", input_shape=(1,))
Dense(10, foo=1)
Dense(1)
$SQTAIL"
# Keras: Dense(units, activation, use_bias, kernel_initializer,
# bias_initializer, kernel_regularizer, ...); input_shape, name and trainable
# are keyword-only, so a 6th positional argument must not bind to them.
spec arity.nn "Dense(8, activation=\"relu\", input_shape=(1,))
Dense(10, \"relu\", True, \"zeros\", \"zeros\", 7)
Dense(1)
$SQTAIL"
spec no_flatten.nn "Conv2D(4, (3, 3), activation=\"relu\", input_shape=(28, 28, 1))
Dense(10, activation=\"softmax\")
$TAIL"
spec parse.nn "Dense(8, activation=\"relu\", input_shape=(1,))
Dense(8, activation=\"relu\")
Dense(1,, )
$SQTAIL"
spec nan.nn "Dense(100, activation=\"relu\", input_shape=(1,))
Dense(1)
compile(loss=\"mean_squared_error\", optimizer=SGD(lr=1e30), metrics=[\"mae\"])
fit(batch_size=32, epochs=2, seed=1)"

# --- the cases ------------------------------------------------------------
pass=0
fail=0
ncase=0
ROWS=()

# check NAME WANT_RC OUT PATTERNS -- ARGS...
#   Runs `nntrain ARGS` (under timeout 60) with --out OUT appended unless OUT
#   is "-"; PATTERNS are grep -E regexes that must all match stderr. OUT must
#   hold no file afterwards, and no *.tmp* may be left anywhere under $T.
check() {
    local name=$1 want=$2 out=$3
    shift 3
    local pats=()
    while [ $# -gt 0 ] && [ "$1" != -- ]; do pats+=("$1"); shift; done
    shift
    ncase=$((ncase + 1))
    local err="$T/case$ncase.err" so="$T/case$ncase.out" rc why=""
    local args=("$@")
    [ "$out" != - ] && args+=(--out "$out")
    timeout 60 "$NN" "${args[@]}" >"$so" 2>"$err"
    rc=$?
    if [ $rc -eq 124 ]; then
        why="timed out after 60 s"
    elif [ $rc -ne "$want" ]; then
        why="exit status $rc, expected $want"
    fi
    for p in "${pats[@]}"; do
        [ -z "$why" ] && ! grep -Eq -- "$p" "$err" && why="stderr lacks /$p/"
    done
    if [ -z "$why" ] && [ "$want" -ne 0 ]; then
        if [ "$out" != - ] && [ -d "$out" ] && [ -n "$(find "$out" -type f)" ]; then
            why="left files in --out: $(find "$out" -type f | tr '\n' ' ')"
        fi
        local tmps
        tmps=$(find "$T" -name '*.tmp*')
        [ -n "$tmps" ] && why="left temporary files: $tmps"
    fi
    if [ -z "$why" ] && [ "$want" -ne 0 ] && grep -q '^Epoch' "$so"; then
        why="training started before the error"
    fi
    local msg
    msg=$(grep -m1 'error' "$err" || head -n1 "$err")
    msg=${msg//$T/\$T}
    [ -z "$msg" ] && [ "$rc" -eq 0 ] && msg="(no error)"
    if [ -z "$why" ]; then
        pass=$((pass + 1))
        ROWS+=("$(printf '%-34s | %3d | %s' "$name" "$rc" "${msg:0:150}")")
    else
        fail=$((fail + 1))
        ROWS+=("$(printf '%-34s | %3d | FAIL: %s | %s' "$name" "$rc" "$why" "${msg:0:150}")")
        { echo "--- $name: stderr"; cat "$err"; } >&2
    fi
}

S=synthetic:sqrt:64
check "control: valid IDX trains" 0 "$T/o_ok" \
    -- train "$T/mlp.nn" --data "$T/good" --verbose 0
[ -f "$T/o_ok/history.csv" ] || { fail=$((fail + 1)); ROWS+=("control: history.csv | - | FAIL: missing"); }
check "control: valid IDX .gz trains" 0 "$T/o_okgz" \
    -- train "$T/mlp.nn" --data "$T/good_gz" --verbose 0
check "unknown layer" 1 "$T/o1" 'unknown_layer\.nn:2:1' "unknown layer 'Dense2'" \
    -- train "$T/unknown_layer.nn" --data $S
check "unknown layer option" 1 "$T/o2" 'unknown_opt\.nn:2:[0-9]+' "unknown argument 'foo'" \
    -- train "$T/unknown_opt.nn" --data $S
check "wrong arity (6 positional)" 1 "$T/o3" 'arity\.nn:2:[0-9]+' 'positional argument' \
    -- train "$T/arity.nn" --data $S
check "Dense after Conv2D, no Flatten" 1 "$T/o4" 'no_flatten\.nn:2:1' 'Flatten' \
    -- train "$T/no_flatten.nn" --data "$T/good"
check "parse error line:col" 1 "$T/o5" 'parse\.nn:3:[0-9]+' 'expected' \
    -- train "$T/parse.nn" --data $S
check "missing spec file" 1 "$T/o6" 'nope\.nn' '[Nn]o such file' \
    -- train "$T/nope.nn" --data $S
check "missing --data" 2 "$T/o7" 'needs --data' \
    -- train "$T/sqrt.nn"
check "missing IDX directory" 1 "$T/o8" 'no_such_dir' '[Nn]o such file or directory' \
    -- train "$T/mlp.nn" --data "$T/no_such_dir"
check "directory without IDX files" 1 "$T/o9" 'empty' 'no IDX images file' \
    -- train "$T/mlp.nn" --data "$T/empty"
check "truncated images file" 1 "$T/o10" 'trunc/train-images-idx3-ubyte' 'truncated' \
    -- train "$T/mlp.nn" --data "$T/trunc"
check "truncated images .gz" 1 "$T/o11" 'trunc_gz/train-images-idx3-ubyte\.gz' 'truncated|corrupt' \
    -- train "$T/mlp.nn" --data "$T/trunc_gz"
check "label count != image count" 1 "$T/o12" 'count/train-labels-idx1-ubyte' \
    'image count 20 .*label count 19' \
    -- train "$T/mlp.nn" --data "$T/count"
check "bad IDX magic" 1 "$T/o13" 'magic/train-images-idx3-ubyte' 'bad magic' '0x00000803' \
    -- train "$T/mlp.nn" --data "$T/magic"
check "input size != data" 1 "$T/o14" 'good/train-images-idx3-ubyte' '28, 28, 1\)' 'input is \(None, 100\)' \
    -- train "$T/in100.nn" --data "$T/good"
check "more classes than outputs" 1 "$T/o15" 'classes/train-images-idx3-ubyte' \
    'labels go up to 14' '10 outputs' \
    -- train "$T/mlp.nn" --data "$T/classes"
check "unwritable --out (under a file)" 1 - 'afile/out' 'Not a directory' \
    -- train "$T/sqrt.nn" --data $S --out "$T/afile/out"
check "unwritable --history" 1 "$T/o17" 'no_such_dir/h\.csv' \
    -- train "$T/sqrt.nn" --data $S --history "$T/no_such_dir/h.csv"
check "unknown command-line option" 2 "$T/o18" "unknown option '--frobnicate'" \
    -- train "$T/sqrt.nn" --data $S --frobnicate 3
check "--batch-size 0" 2 "$T/o19" '--batch-size must be >= 1, got 0' \
    -- train "$T/sqrt.nn" --data $S --batch-size 0
check "--epochs not a number" 2 "$T/o20" "--epochs expects an integer, got 'x'" \
    -- train "$T/sqrt.nn" --data $S --epochs x
check "NaN loss (SGD lr=1e30)" 1 "$T/o21" 'loss is (NaN|infinite)' 'learning rate' \
    -- train "$T/nan.nn" --data synthetic:sqrt --verbose 0
check "summary: unknown layer" 1 - 'unknown_layer\.nn:2:1' 'unknown layer' \
    -- summary "$T/unknown_layer.nn"
check "summary: missing spec file" 1 - 'nope\.nn' \
    -- summary "$T/nope.nn"

# --- a cross-entropy over a linear output trains, with a warning -------------
spec linear_out.nn "Dense(10, input_shape=(784,))
$TAIL"
check "warning: sparse CCE after a linear layer" 0 "$T/o_lin" \
    "warning: loss sparse_categorical_crossentropy expects probabilities but the last layer \('dense'\) has activation 'linear': give it activation=\"softmax\"" \
    -- train "$T/linear_out.nn" --data "$T/good" --verbose 0
check "no warning with softmax" 0 "$T/o_soft" -- train "$T/mlp.nn" --data "$T/good" --verbose 0
if grep -q 'expects probabilities' "$T/case$ncase.err"; then
    fail=$((fail + 1)); ROWS+=("softmax: no probability warning | - | FAIL: it warned")
else pass=$((pass + 1)); fi

# --- help texts: what a newcomer reads first --------------------------------
help_has() {   # NAME PATTERN -- ARGS...: exit 0 and stdout matches PATTERN
    local name=$1 pat=$2 out
    shift 3
    out=$(timeout 20 "$NN" "$@" 2>&1)
    if [ $? -eq 0 ] && grep -Eq -- "$pat" <<<"$out"; then
        pass=$((pass + 1)); ROWS+=("$(printf '%-34s | %3d | %s' "$name" 0 "(help text)")")
    else
        fail=$((fail + 1)); ROWS+=("$name | - | FAIL: 'nntrain $*' lacks /$pat/ or failed")
    fi
}
help_has "help: train --help names the .h5 format" '--data SRC .*nntrain HDF5 file' -- train --help
help_has "help: 'nntrain help train' is train --help" '^usage: nntrain train MODEL' -- help train
help_has "help: 'nntrain help convert' is convert --help" '^usage: nntrain convert' -- help convert
help_has "help: the command list has convert sequences" 'convert idx\|cifar10\|csv\|images\|sequences' -- --help
check "help: unknown command after help" 2 - "unknown command 'trian'" -- help trian

# --- issue 16 names: from_logits warnings -------------------------------------
spec logits_soft.nn "Dense(10, activation=\"softmax\", input_shape=(784,))
compile(loss=SparseCategoricalCrossentropy(from_logits=True), metrics=[\"accuracy\"])
fit(batch_size=8, epochs=1, seed=1)"
spec logits_lin.nn "Dense(10, input_shape=(784,))
compile(loss=SparseCategoricalCrossentropy(from_logits=True), metrics=[\"accuracy\"])
fit(batch_size=8, epochs=1, seed=1)"
check "warning: from_logits after softmax" 0 "$T/o_lsoft" \
    "warning: loss SparseCategoricalCrossentropy\(from_logits=True\) expects logits but the last layer \('dense'\) has activation 'softmax', which the loss applies again" \
    -- train "$T/logits_soft.nn" --data "$T/good" --verbose 0
check "no warning: from_logits, linear" 0 "$T/o_llin" -- train "$T/logits_lin.nn" --data "$T/good" --verbose 0
if grep -q 'warning: loss' "$T/case$ncase.err"; then
    fail=$((fail + 1)); ROWS+=("from_logits, linear: no loss warning | - | FAIL: it warned")
else pass=$((pass + 1)); fi

# --- a bad NNTRAIN_CONV_ALGO warns and keeps the direct kernels --------------
NNTRAIN_CONV_ALGO=fast check "warning: NNTRAIN_CONV_ALGO=fast" 0 "$T/o_calgo" \
    "warning: NNTRAIN_CONV_ALGO=fast is not one of direct, winograd, winograd4, auto; using direct" \
    -- train "$T/mlp.nn" --data "$T/good" --verbose 0

echo
printf '%-34s | %3s | %s\n' "case" "rc" "first line of the message"
printf '%s\n' "------------------------------------------------------------------------------"
printf '%s\n' "${ROWS[@]}"
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
