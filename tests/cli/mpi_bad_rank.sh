#!/usr/bin/env bash
# `nntrain train` under mpiexec: a failure on one rank only (rank 1's IDX
# images file is truncated, rank 0's is fine) must stop every rank quickly
# with rank 0 naming the rank and the file; a good 2-rank run prints each
# epoch line once; a global batch smaller than the rank count is refused;
# ranks that opened different data under one path stop at the start.
#
# usage: mpi_bad_rank.sh NNTRAIN MPIEXEC
# As root, Open MPI needs OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1.
set -u
NN=${1:?usage: mpi_bad_rank.sh NNTRAIN MPIEXEC}
MPIEXEC=${2:?usage: mpi_bad_rank.sh NNTRAIN MPIEXEC}
T=$(mktemp -d "${TMPDIR:-/tmp}/nntrain-mpi.XXXXXX") || exit 1
trap 'rm -rf "$T"' EXIT
export OPENBLAS_NUM_THREADS=${OPENBLAS_NUM_THREADS:-1}
export OMPI_MCA_btl_vader_single_copy_mechanism=${OMPI_MCA_btl_vader_single_copy_mechanism:-none}

be32() {
    printf '\\x%02x\\x%02x\\x%02x\\x%02x' $(($1 >> 24 & 255)) $(($1 >> 16 & 255)) \
        $(($1 >> 8 & 255)) $(($1 & 255))
}
# idxdir DIR [PIXEL_BYTES]: 20 images of 28x28 and labels i % 10; fewer
# pixel bytes than 20*784 make a truncated images file.
idxdir() {
    local s="" i
    mkdir -p "$1"
    { printf "$(be32 2051)$(be32 20)$(be32 28)$(be32 28)"
      head -c "${2:-15680}" /dev/zero | tr '\0' '\200'; } >"$1/train-images-idx3-ubyte"
    for ((i = 0; i < 20; i++)); do s+=$(printf '\\x%02x' $((i % 10))); done
    { printf "$(be32 2049)$(be32 20)"; printf "$s"; } >"$1/train-labels-idx1-ubyte"
}
idxdir "$T/good"
idxdir "$T/bad" 5000
cat >"$T/m.nn" <<'EOF'
Dense(10, activation="softmax", input_shape=(784,))
compile(loss="sparse_categorical_crossentropy", optimizer=SGD(), metrics=["accuracy"])
fit(batch_size=8, epochs=1, validation_split=0.25, seed=1)
EOF
cp "$(cd "$(dirname "$0")" && pwd)/../../jobs/models/sqrt.nn" "$T/sqrt.nn"

pass=0
fail=0
ok() { pass=$((pass + 1)); printf 'ok   %s\n' "$1"; }
bad() { fail=$((fail + 1)); printf 'FAIL %s: %s\n' "$1" "$2"; }
expect() { local n=$1; shift; if "$@"; then ok "$n"; else bad "$n" "check failed: $*"; fi; }
MPI=("$MPIEXEC" --oversubscribe --tag-output)
[ "$(id -u)" -eq 0 ] && [ -z "${OMPI_ALLOW_RUN_AS_ROOT:-}" ] &&
    echo "note: as root, Open MPI needs OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1"

# 1. MPMD: rank 0 reads good data, rank 1 a truncated images file.
start=$(date +%s)
timeout 30 "${MPI[@]}" -n 1 "$NN" train "$T/m.nn" --data "$T/good" --out "$T/o1" \
    : -n 1 "$NN" train "$T/m.nn" --data "$T/bad" --out "$T/o1" >"$T/1.out" 2>"$T/1.err"
rc=$?
secs=$(($(date +%s) - start))
# --tag-output prefixes each line with [job,rank]<stream>:
r0err=$(cat "$T/1.out" "$T/1.err" | grep -a '^\[[0-9]*,0\]<stderr>:' |
    sed 's/^\[[0-9]*,0\]<stderr>://')
expect "bad rank: non-zero exit" test $rc -ne 0
expect "bad rank: no hang (exit ${rc}, ${secs} s < 30 s)" test $rc -ne 124 -a $rc -ne 137
expect "bad rank: rank 0's stderr says 'rank 1:'" grep -q 'rank 1:' <<<"$r0err"
expect "bad rank: rank 0's stderr names the truncated file" \
    grep -q "$T/bad/train-images-idx3-ubyte.*truncated" <<<"$r0err"
expect "bad rank: the error is printed once (rank 0 speaks)" \
    test "$(cat "$T/1.out" "$T/1.err" | grep -c 'nntrain: error:')" -eq 1
expect "bad rank: no epoch line" test "$(grep -c 'Epoch' "$T/1.out")" -eq 0
expect "bad rank: no history written" test ! -e "$T/o1/history.csv"
echo "     rank 0 said: ${r0err//$T/\$T}"

# 2. A good 2-rank run: each epoch line exactly once (rank 0 speaks).
timeout 60 "$MPIEXEC" --oversubscribe -n 2 "$NN" train "$T/sqrt.nn" --data synthetic:sqrt:200 \
    --epochs 2 --out "$T/o2" >"$T/2.out" 2>"$T/2.err"
rc=$?
expect "np=2: exit 0" test $rc -eq 0
[ $rc -eq 0 ] || head -n 5 "$T/2.err"
# Open MPI gives ranks a pty, so the progress bar may be drawn ("\r\e[K"
# redraws before the final epoch line): split at \r and drop the escapes.
tr '\r' '\n' <"$T/2.out" | sed 's/\x1b\[K//g' >"$T/2.lines"
for k in 1 2; do
    expect "np=2: 'Epoch $k/2' line printed exactly once" \
        test "$(grep -c "^Epoch $k/2 - .* - loss: .* - val_loss: " "$T/2.lines")" -eq 1
done
expect "np=2: 'Total params' printed once" test "$(grep -c 'Total params' "$T/2.out")" -eq 1
expect "np=2: history has 2 rows" test "$(tail -n +2 "$T/o2/history.csv" 2>/dev/null | wc -l)" -eq 2

# 3. Global batch 2 over 3 ranks is refused.
timeout 60 "$MPIEXEC" --oversubscribe -n 3 "$NN" train "$T/sqrt.nn" --data synthetic:sqrt:200 \
    --epochs 1 --batch-size 2 --out "$T/o3" >"$T/3.out" 2>"$T/3.err"
rc=$?
expect "np=3, batch 2: non-zero exit (got $rc)" test $rc -ne 0 -a $rc -ne 124 -a $rc -ne 137
expect "np=3, batch 2: 'smaller than the number of ranks'" \
    grep -q 'smaller than the number of ranks' "$T/3.err"
expect "np=3, batch 2: said once (rank 0 speaks)" \
    test "$(grep -c 'smaller than the number of ranks' "$T/3.err")" -eq 1
echo "     np=3 said: $(grep -m1 error "$T/3.err")"

# 3b. The end-of-run time split is one rank's (the slowest): its parts add up
# to the total printed, and the percentage is the wait over that total, also
# when 3 ranks share 2 cores (oversubscribed, as the issue saw it).
timeout 120 "$MPIEXEC" --oversubscribe -n 3 "$NN" train "$T/sqrt.nn" --data synthetic:sqrt:200000 \
    --epochs 1 --no-test --verbose 2 --out "$T/o3b" >"$T/3b.out" 2>"$T/3b.err"
line=$(grep -m1 '^Training steps took' "$T/3b.out")
expect "time split: the parts add up to the total ($line)" awk -v l="$line" 'BEGIN {
    n = split(l, w, /[^0-9.]+/); t = w[2]; c = w[5]; a = w[6]; p = w[7]; r = w[8]
    d = c + a + r - t; q = t > 0 ? 100 * a / t - p : 99; tol = t > 0 ? 10 / t + 1 : 0
    exit !(t > 0 && d < 0.151 && d > -0.151 && q < tol && q > -tol) }'

# 4. MPMD: the same path names different data on each rank (ranks started
# in different folders: 20 vs 40 samples under one name). They must stop at
# the start, naming both ranks, their hosts and what each opened, not hang.
mkdir -p "$T/w0" "$T/w1"
idxdir "$T/w0/d"
idxdir "$T/w1/d40"
(cd "$T/w1/d40" && mv train-images-idx3-ubyte i && mv train-labels-idx1-ubyte l &&
    { printf "$(be32 2051)$(be32 40)$(be32 28)$(be32 28)"; tail -c +17 i; tail -c +17 i; } \
        >train-images-idx3-ubyte &&
    { printf "$(be32 2049)$(be32 40)"; tail -c +9 l; tail -c +9 l; } >train-labels-idx1-ubyte &&
    rm i l && mv "$T/w1/d40" "$T/w1/d")
start=$(date +%s)
timeout 60 "${MPI[@]}" -n 1 --wdir "$T/w0" "$NN" train "$T/m.nn" --data d --out "$T/o4" \
    : -n 1 --wdir "$T/w1" "$NN" train "$T/m.nn" --data d --out "$T/o4" >"$T/4.out" 2>"$T/4.err"
rc=$?
secs=$(($(date +%s) - start))
expect "different data: non-zero exit, no hang (exit $rc, $secs s < 60 s)" \
    test $rc -ne 0 -a $rc -ne 124 -a $rc -ne 137
all4=$(cat "$T/4.out" "$T/4.err")
expect "different data: names both ranks and what each opened" grep -q \
    "ranks opened different data: rank 0 (host [^,]*, pid [0-9]*) has --data: 20 samples.*rank 1 (host [^,]*, pid [0-9]*) has --data: 40 samples" <<<"$all4"
expect "different data: no epoch line" test "$(grep -c 'Epoch' "$T/4.out")" -eq 0
echo "     said: $(grep -m1 -o 'ranks opened different data.*' <<<"$all4" | cut -c1-200)"

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
