#!/usr/bin/env bash
# `nntrain bench`: a 3-step run of jobs/models/mnist_mlp.nn prints one BENCH
# line whose fields are present and consistent (ranks, threads, batch, steps,
# positive img/s and GFLOP/s, img_s = batch / ms_step, the time split inside
# the step time, a peak RSS), --per-rank-batch and --csv work, and bad options
# are usage errors (exit 2) with a message; a spec without compile() fails (1).
# --profile prints a row per layer whose times add up to the "layers:" line
# and stay inside the step; --threads 3 runs and says so. With MPIEXEC, the
# same run on 2 ranks reports 2 ranks and 2 RSS values, and the benchmark
# scripts run end to end on a tiny configuration: scripts/scaling.sh (1 and 2
# ranks, a CSV with an efficiency per row) and scripts/bench.sh (one model
# against PyTorch, when Debian's python3-torch is there: a table row with a
# ratio, a geometric mean and the sgemm peak; with avx512_bf16, the bf16
# columns).
#
# usage: bench_cli.sh NNTRAIN [MPIEXEC]
set -u
NN=${1:?usage: bench_cli.sh NNTRAIN [MPIEXEC]}
MPIEXEC=${2:-}
HERE=$(cd "$(dirname "$0")" && pwd)
SPEC=$HERE/../../jobs/models/mnist_mlp.nn
T=$(mktemp -d "${TMPDIR:-/tmp}/nntrain-bench.XXXXXX") || exit 1
trap 'rm -rf "$T"' EXIT
export OPENBLAS_NUM_THREADS=${OPENBLAS_NUM_THREADS:-1}

pass=0
fail=0
ok() { pass=$((pass + 1)); printf 'ok   %s\n' "$1"; }
bad() { fail=$((fail + 1)); printf 'FAIL %s: %s\n' "$1" "$2"; }
expect() { local n=$1; shift; if "$@"; then ok "$n"; else bad "$n" "check failed: $*"; fi; }
# field NAME FILE: the value of NAME= on the BENCH line
field() { grep '^BENCH ' "$2" | tail -n1 | tr ' ' '\n' | sed -n "s/^$1=//p"; }
isnum() { awk -v v="$1" 'BEGIN { exit !(v != "" && v + 0 == v) }'; }
positive() { awk -v v="$1" 'BEGIN { exit !(v != "" && v + 0 == v && v > 0) }'; }

timeout 120 "$NN" bench "$SPEC" --steps 3 --threads 1 >"$T/a.out" 2>"$T/a.err"
rc=$?
if [ $rc -eq 0 ]; then ok "bench exits 0"; else bad "bench exits 0" "got $rc: $(head -n3 "$T/a.err")"; fi
expect "exactly one BENCH line" test "$(grep -c '^BENCH ' "$T/a.out")" -eq 1
for f in model ranks threads batch img_s ms_step gflops compute_s comm_s data_s rss_mb; do
    v=$(field "$f" "$T/a.out")
    if [ -n "$v" ]; then ok "BENCH has $f= ($v)"; else bad "BENCH has $f=" "$(grep '^BENCH ' "$T/a.out")"; fi
done
expect "model=mnist_mlp" test "$(field model "$T/a.out")" = mnist_mlp
expect "ranks=1" test "$(field ranks "$T/a.out")" = 1
expect "threads=1" test "$(field threads "$T/a.out")" = 1
expect "batch=128 (the spec's)" test "$(field batch "$T/a.out")" = 128
expect "steps=3" test "$(field steps "$T/a.out")" = 3
for f in img_s ms_step gflops rss_mb gflop_sample; do
    expect "$f is positive" positive "$(field "$f" "$T/a.out")"
done
for f in compute_s comm_s data_s; do
    expect "$f is a number" isnum "$(field "$f" "$T/a.out")"
done
# 784*128 + 128*10 multiply-adds: forward 2x, training 3x minus layer 0's dx
expect "gflop_sample = (2*100352 + 3*1280)*2 / 1e9" awk -v g="$(field gflop_sample "$T/a.out")" \
    'BEGIN { want = (2 * 100352 + 3 * 1280) * 2 / 1e9; exit !(g > want * 0.999 && g < want * 1.001) }'
expect "img_s = batch * 1000 / ms_step" awk -v i="$(field img_s "$T/a.out")" \
    -v m="$(field ms_step "$T/a.out")" 'BEGIN { w = 128 * 1000 / m; exit !(i > 0.99 * w && i < 1.01 * w) }'
expect "compute + comm + data <= step time" awk -v c="$(field compute_s "$T/a.out")" \
    -v a="$(field comm_s "$T/a.out")" -v d="$(field data_s "$T/a.out")" \
    -v m="$(field ms_step "$T/a.out")" 'BEGIN { exit !((c + a + d) * 1000 <= m * 1.01 + 0.01) }'
expect "human-readable img/s line" grep -q 'img/s total' "$T/a.out"

timeout 120 "$NN" bench "$SPEC" --steps 2 --warmup 0 --per-rank-batch 16 --csv "$T/r.csv" \
    >"$T/b.out" 2>"$T/b.err"
expect "--per-rank-batch 16 on 1 rank: batch=16" test "$(field batch "$T/b.out")" = 16
expect "--csv writes a header and one row" test "$(wc -l <"$T/r.csv" 2>/dev/null)" -eq 2
timeout 120 "$NN" bench "$SPEC" --steps 1 --warmup 0 --csv "$T/r.csv" >/dev/null 2>&1
expect "--csv appends a second row, one header" test "$(wc -l <"$T/r.csv")" -eq 3 -a \
    "$(grep -c '^model,' "$T/r.csv")" -eq 1

timeout 120 "$NN" bench "$HERE/../../jobs/models/mnist_cnn.nn" --steps 2 --warmup 1 --threads 3 \
    --batch-size 16 --profile >"$T/p.out" 2>"$T/p.err"
expect "--profile --threads 3: exit 0, threads=3" test $? -eq 0 -a "$(field threads "$T/p.out")" = 3
expect "--profile: a row per layer (8)" test "$(grep -cE '^    [a-z_0-9]+ \((Conv2D|MaxPooling2D|Flatten|Dense)\)' "$T/p.out")" -eq 8
expect "--profile: rows add up to the layers: line, inside the step" awk '
    /^    [a-z_0-9]+ \(/ { f = $(NF - 3); b = $(NF - 2); if (f ~ /^[0-9.]+$/) s += f + b }
    /^    layers:/ { l = $2; st = $(NF) }
    END { exit !(l > 0 && s > 0.98 * l && s < 1.02 * l + 0.01 && l <= st * 1.01) }' "$T/p.out"
expect "--profile: the BENCH line stays last" test "$(tail -n1 "$T/p.out" | cut -c1-6)" = "BENCH "
expect "--profile: no team layer in the MNIST CNN" test "$(grep -c ' \* ' "$T/p.out")" -eq 0
# the MLP's 784x512 Dense runs on both threads together; its 512x10 one by rows
timeout 120 "$NN" bench "$HERE/../../jobs/models/mnist_mlp512.nn" --steps 2 --warmup 1 --threads 2 \
    --batch-size 16 --profile >"$T/p2.out" 2>"$T/p2.err"
expect "--profile: the team layer is marked, the other not" test \
    "$(grep -cE '^    dense \(Dense\) \* ' "$T/p2.out")" -eq 1 -a \
    "$(grep -cE '^    dense_1 \(Dense\) +\(' "$T/p2.out")" -eq 1
expect "--profile: the mark is explained" grep -q '^    \* run by all threads together' "$T/p2.out"

# usage errors: exit 2 and a message naming the problem
usage_case() {   # NAME PATTERN ARGS...
    local name=$1 pat=$2
    shift 2
    timeout 60 "$NN" bench "$@" >"$T/u.out" 2>"$T/u.err"
    local rc=$?
    if [ $rc -eq 2 ] && grep -q -- "$pat" "$T/u.err"; then ok "$name: exit 2"; else
        bad "$name" "rc=$rc, stderr: $(head -n1 "$T/u.err")"; fi
    expect "$name: no BENCH line" test "$(grep -c '^BENCH' "$T/u.out")" -eq 0
}
usage_case "unknown option" "unknown option '--bogus'" "$SPEC" --bogus 1
usage_case "--steps 0" "--steps must be >= 1" "$SPEC" --steps 0
usage_case "--steps abc" "expects an integer" "$SPEC" --steps abc
usage_case "--batch-size and --per-rank-batch" "not both" "$SPEC" --batch-size 8 --per-rank-batch 4
usage_case "--allreduce bad" "--allreduce must be" "$SPEC" --allreduce ring
usage_case "no model" "needs one model spec"

printf 'Dense(4, input_shape=(3,))\n' >"$T/nocompile.nn"
timeout 60 "$NN" bench "$T/nocompile.nn" --steps 1 >"$T/n.out" 2>"$T/n.err"
rc=$?
if [ $rc -eq 1 ] && grep -q compile "$T/n.err"; then
    ok "spec without compile(): exit 1 and a message"
else
    bad "spec without compile(): exit 1 and a message" "got $rc: $(head -c 600 "$T/n.err")"
fi

if [ -n "$MPIEXEC" ]; then
    timeout 120 "$MPIEXEC" -np 2 --oversubscribe "$NN" bench "$SPEC" --steps 2 --warmup 1 \
        --threads 1 >"$T/m.out" 2>"$T/m.err"
    rc=$?
    expect "2 ranks: exit 0" test $rc -eq 0
    expect "2 ranks: one BENCH line (rank 0 speaks)" test "$(grep -c '^BENCH ' "$T/m.out")" -eq 1
    expect "2 ranks: ranks=2" test "$(field ranks "$T/m.out")" = 2
    expect "2 ranks: two RSS values" test "$(field rss_mb_ranks "$T/m.out" | tr ',' '\n' | wc -l)" -eq 2
    expect "2 ranks: a line per rank" test "$(grep -c '^  rank [01]:' "$T/m.out")" -eq 2

    ROOT=$HERE/../..
    BUILD=$(dirname "$NN")
    timeout 300 bash "$ROOT/scripts/scaling.sh" --build "$BUILD" --model "$SPEC" --ranks "1 2" \
        --steps 2 --warmup 1 --repeat 1 --mode both --out-dir "$T/scal" >"$T/s.out" 2>"$T/s.err"
    rc=$?
    expect "scaling.sh: exit 0 (or 1 for a missing plot only)" test $rc -eq 0 -o \
        "$(grep -c 'no plot' "$T/s.err")" -eq 1
    expect "scaling.sh: CSV with a header and 4 rows" test "$(wc -l <"$T/scal/scaling.csv")" -eq 5
    expect "scaling.sh: efficiency 1.00 for 1 rank, positive for 2" awk -F, '
        NR > 1 && $2 == 1 && $10 != "1.000" { bad = 1 } NR > 1 && $2 == 2 && !($10 > 0) { bad = 1 }
        END { exit bad }' "$T/scal/scaling.csv"
    expect "scaling.sh: table rows" test "$(grep -cE '^\| (weak|strong) \| [12] \|' "$T/s.out")" -eq 4
fi

if /usr/bin/python3 -c 'import torch' 2>/dev/null; then
    ROOT=$HERE/../..
    timeout 300 bash "$ROOT/scripts/bench.sh" --build "$(dirname "$NN")" --models mnist_mlp512:32:2 \
        --threads-list 1 --logdir "$T/bench" >"$T/t.out" 2>"$T/t.err"
    expect "bench.sh: exit 0" test $? -eq 0
    expect "bench.sh: a row with a ratio and a peak" grep -qE '^\| mnist_mlp512 \| 32 \| 1 \| [0-9]+ \| [0-9]+ \| [0-9.]+ \| [0-9.]+ \| [0-9]+ \| [0-9]+% \|' "$T/t.out"
    expect "bench.sh: a geometric mean" grep -q '^Geometric mean of nntrain/PyTorch at 1 thread(s): ' "$T/t.out"
    expect "bench.sh: the sgemm peak" grep -qE 'sgemm 2048 peak: 1T: [0-9.]+ GFLOP/s' "$T/t.out"
    expect "bench.sh: an MLP at 1 thread has one PyTorch configuration" \
        test "$(ls "$T/bench" | grep -c '^mnist_mlp512_b32_t1\.torch\.1\.')" -eq 1
    expect "bench.sh: the row names the PyTorch run" grep -qE '^\| mnist_mlp512 .*\| contiguous, default \|' "$T/t.out"
    if grep -qw avx512_bf16 /proc/cpuinfo; then   # the bf16 columns close the row
        expect "bench.sh: bf16 img/s, ratio, GFLOP/s and PyTorch autocast" \
            grep -qE '^\| mnist_mlp512 .*\| contiguous, default \| [0-9]+ \| [0-9.]+ \| [0-9.]+ \| [0-9]+ \|$' "$T/t.out"
        expect "bench.sh: a geometric mean of bf16 / fp32" \
            grep -q '^Geometric mean of mixed_bfloat16 / fp32 at 1 thread(s): ' "$T/t.out"
    else
        expect "bench.sh: no bf16 columns without avx512_bf16" \
            grep -qE '^\| mnist_mlp512 .*\| contiguous, default \|$' "$T/t.out"
    fi
    # a convolution model at 2 threads: both layouts x both OpenMP wait policies
    timeout 300 bash "$ROOT/scripts/bench.sh" --build "$(dirname "$NN")" --models mnist_cnn:8:1 \
        --threads-list 2 --logdir "$T/bench2" >"$T/t2.out" 2>"$T/t2.err"
    expect "bench.sh (conv, 2 threads): exit 0" test $? -eq 0
    expect "bench.sh (conv, 2 threads): four PyTorch configurations" \
        test "$(ls "$T/bench2" | grep -cE '^mnist_cnn_b8_t2\.torch\.1\.(contiguous|channels_last)(\.PASSIVE)?\.log$')" -eq 4
    best=$(awk '/^TORCH / { for (i = 1; i <= NF; i++) if ($i ~ /^img_s=/) v = substr($i, 7) + 0; if (v > m) m = v }
        END { printf "%.0f", m }' "$T"/bench2/mnist_cnn_b8_t2.torch.1.*.log)
    expect "bench.sh (conv, 2 threads): the row shows the fastest PyTorch run ($best img/s)" \
        grep -qE "^\| mnist_cnn \| 8 \| 2 \| [0-9]+ \| $best \|" "$T/t2.out"
else
    echo "skip bench.sh (no python3-torch)"
fi

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
