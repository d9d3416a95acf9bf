#!/usr/bin/env bash
# Training throughput of nntrain against PyTorch on the seed models, one process each.
#
#   scripts/bench.sh [--build DIR] [--steps S] [--models LIST] [--threads-list "1 2"]
#                    [--repeat R] [--out FILE] [--readme FILE] [--logdir DIR]
#                    [--deterministic] [--winograd ALGO] [--bf16 on|off]
#
# For each thread count T of --threads-list (default "1 2"): measures the sgemm peak
# of the machine at T threads (scripts/sgemm_peak.c, compiled into DIR with cc and
# pkg-config openblas; the best of three runs), then for each model runs, one right
# after the other,
#   DIR/nntrain bench jobs/models/MODEL.nn --batch-size B --threads T --steps S
#   /usr/bin/python3 scripts/torch_bench.py --model MODEL --batch B --threads T --steps S
# (synthetic data, RMSprop, warm-up steps first; $PYTHON overrides the interpreter).
# PyTorch runs in every configuration that can make it faster and the fastest run
# counts: convolution models also with --memory-format channels_last (NHWC, as
# nntrain), and at T > 1 also with OMP_WAIT_POLICY=PASSIVE (its spinning OpenMP
# workers slowed its OpenBLAS Linear products up to 8x); see torch_bench.py.
# Models with Conv2D layers also run nntrain with --conv-algo ALGO (--winograd; default
# auto: Winograd F(4x4,3x3) where it was measured faster; none skips it) right after
# each direct run.
# --bf16 on (the default where /proc/cpuinfo has avx512_bf16; off elsewhere, where it
# would measure the emulation) also runs nntrain with --precision bf16 (mixed_bfloat16)
# right after, and PyTorch with --autocast bf16 (torch.autocast on the CPU, the
# memory format that won the fp32 run), adding four columns: bf16 img/s, bf16 / fp32
# (nntrain's direct fp32 run of the row), its effective GFLOP/s (the fp32 FLOP count
# over its time) and PyTorch's bf16 autocast img/s; and a geometric mean of bf16 / fp32.
# It prints a Markdown table:
#   model | batch | threads | nntrain img/s | PyTorch img/s | ratio | GFLOP/s |
#   sgemm peak GFLOP/s | % of sgemm peak | Winograd img/s | Winograd / direct |
#   Winograd effective GFLOP/s | % of sgemm peak | peak RSS MB | PyTorch RSS MB | PyTorch run
# ratio = nntrain / PyTorch images/s; GFLOP/s is nntrain's, from its FLOP count of the
# Dense and Conv2D layers (forward + both backward products, no input gradient for
# the first layer with parameters; with Winograd the same count over its time, an
# "effective" rate that can pass the sgemm peak); the row's sgemm peak is the best of runs of
# sgemm_peak right after each nntrain run of the row (a shared machine's speed drifts
# over minutes: the peak the percentage is taken against is the machine of that
# moment; the best of three at the start is in the last line); peak RSS is nntrain's
# (ru_maxrss, synthetic data included); PyTorch run is the memory format and OpenMP
# wait policy of the PyTorch run that counted; then the geometric mean of the ratios per
# thread count.
#
# --models is a space-separated list of MODEL[:BATCH[:STEPS]] (MODEL a spec basename
# under jobs/models); the default is the seed set with steps chosen to keep the whole
# run to a few minutes on a small machine:
#   mnist_mlp512:128:50 mnist_cnn:64:20 cifar10_cnn:32:20 cifar10_cnn:128:10
#   rick_cnn:100:10 rick_dense:500:10 resnet20:32:10 resnet20:128:4
# --steps S overrides every model's step count. --repeat R (default 1) runs each pair R
# times, alternating, and keeps each side's best images/s: on a shared machine the
# best run is the one least disturbed by other processes. --out FILE also writes the table
# there; --readme FILE replaces the text between the lines "<!-- bench:begin -->"
# and "<!-- bench:end -->" of FILE with the table (via a temporary file and rename).
# --deterministic runs every nntrain bench with --deterministic too (the same steps
# again in deterministic mode, right after the plain ones) and adds two columns: the
# deterministic images/s and its slowdown against the plain run of that bench call.
# Logs of every run are kept in --logdir (default: a new temporary directory).
# Exit status: 0, or 1 when a run failed (its row shows "fail"), 2 on a usage error.
set -u -o pipefail

build=build
steps=
models="mnist_mlp512:128:50 mnist_cnn:64:20 cifar10_cnn:32:20 cifar10_cnn:128:10 rick_cnn:100:10 rick_dense:500:10 resnet20:32:10 resnet20:128:4"
threads_list="1 2"
repeat=1
coretype=auto
out=
readme=
logdir=
det=
walgo=auto
bf16=auto
usage() { sed -n '2,/^set /{/^#/s/^# \{0,1\}//p;}' "$0" >&2; }
need() { [ $# -ge 2 ] || { echo "bench.sh: option $1 needs a value" >&2; exit 2; }; }
while [ $# -gt 0 ]; do
    case "$1" in
        --build) need "$@"; build=$2; shift 2 ;;
        --steps) need "$@"; steps=$2; shift 2 ;;
        --models) need "$@"; models=$2; shift 2 ;;
        --threads-list) need "$@"; threads_list=$2; shift 2 ;;
        --repeat) need "$@"; repeat=$2; shift 2 ;;
        --out) need "$@"; out=$2; shift 2 ;;
        --readme) need "$@"; readme=$2; shift 2 ;;
        --logdir) need "$@"; logdir=$2; shift 2 ;;
        --winograd) need "$@"; walgo=$2; shift 2 ;;
        --bf16) need "$@"; bf16=$2; shift 2 ;;
        --coretype) need "$@"; coretype=$2; shift 2 ;;
        --deterministic) det=--deterministic; shift ;;
        --*=*) set -- "${1%%=*}" "${1#*=}" "${@:2}" ;;
        -h|--help) usage; exit 0 ;;
        *) echo "bench.sh: unknown option '$1'" >&2; usage; exit 2 ;;
    esac
done
case "$walgo" in none|auto|winograd|winograd4) ;; *) echo "bench.sh: --winograd takes auto, winograd, winograd4 or none" >&2; exit 2 ;; esac
case "$bf16" in on|off) ;; auto) bf16=off; grep -qw avx512_bf16 /proc/cpuinfo 2>/dev/null && bf16=on ;;
    *) echo "bench.sh: --bf16 takes on or off" >&2; exit 2 ;; esac
case "$repeat" in ''|0|*[!0-9]*) echo "bench.sh: --repeat must be a positive integer" >&2; exit 2 ;; esac
case "$steps" in ''|*[!0-9]*) [ -z "$steps" ] || { echo "bench.sh: --steps must be a positive integer" >&2; exit 2; } ;; esac
for t in $threads_list; do
    case "$t" in ''|0|*[!0-9]*) echo "bench.sh: --threads-list takes positive integers, got '$t'" >&2; exit 2 ;; esac
done

root=$(cd "$(dirname "$0")/.." && pwd)
PYTHON=${PYTHON:-/usr/bin/python3}
nn=$build/nntrain
[ -x "$nn" ] || { echo "bench.sh: no $nn: build first (cmake --build $build)" >&2; exit 2; }
if [ -n "$readme" ] && ! { grep -q '^<!-- bench:begin -->$' "$readme" && grep -q '^<!-- bench:end -->$' "$readme"; }; then
    echo "bench.sh: $readme has no '<!-- bench:begin -->' / '<!-- bench:end -->' lines" >&2
    exit 2
fi
[ -n "$logdir" ] || logdir=$(mktemp -d "${TMPDIR:-/tmp}/nntrain-bench.XXXXXX")

# Debian's OpenBLAS 0.3.21 does not know newer CPUs and may run AVX2 (or
# generic) kernels on an AVX-512 machine; some sites also force
# OPENBLAS_CORETYPE. With --coretype auto (the default) the benchmark uses the
# SkylakeX kernels when the CPU has AVX-512 and they give the same sgemm result
# as the current kernel; --coretype keep leaves the environment alone.
coretype_note="OpenBLAS core type from the environment"
if [ "$coretype" = auto ] && grep -qw avx512f /proc/cpuinfo 2>/dev/null; then
    want=SkylakeX
elif [ "$coretype" != auto ] && [ "$coretype" != keep ]; then
    want=$coretype
else
    want=""
fi
mkdir -p "$logdir" || exit 2

peak_bin=$build/sgemm_peak
if [ ! -x "$peak_bin" ] || [ "$root/scripts/sgemm_peak.c" -nt "$peak_bin" ]; then
    # shellcheck disable=SC2046
    cc -O2 -o "$peak_bin" "$root/scripts/sgemm_peak.c" $(pkg-config --cflags --libs openblas) ||
        { echo "bench.sh: cannot compile scripts/sgemm_peak.c" >&2; exit 2; }
fi
if [ -n "$want" ] && [ "${OPENBLAS_CORETYPE:-}" != "$want" ]; then
    c0=$(OPENBLAS_NUM_THREADS=1 "$peak_bin" 256 2>/dev/null | sed -n 's/.*check=//p')
    c1=$(OPENBLAS_CORETYPE=$want OPENBLAS_NUM_THREADS=1 "$peak_bin" 256 2>/dev/null | sed -n 's/.*check=//p')
    if [ -n "$c1" ] && [ "$c0" = "$c1" ]; then
        coretype_note="OPENBLAS_CORETYPE=$want set by bench.sh (was ${OPENBLAS_CORETYPE:-unset}; same sgemm result)"
        export OPENBLAS_CORETYPE=$want
    else
        coretype_note="OPENBLAS_CORETYPE=$want gave a different sgemm result: kept ${OPENBLAS_CORETYPE:-the default}"
    fi
fi
echo "bench.sh: $coretype_note" >&2

# field NAME FILE: value of NAME= on the last BENCH/TORCH/SGEMM line of FILE (not
# the deterministic run's BENCH line); dfield: on its BENCH_DET line
field() { grep -E '^(BENCH|TORCH|SGEMM) ' "$2" | grep -v '^BENCH model=[^ ]*+det ' | tail -n1 |
          tr ' ' '\n' | sed -n "s/^$1=//p"; }
dfield() { grep -E '^BENCH_DET ' "$2" | tail -n1 | tr ' ' '\n' | sed -n "s/^$1=//p"; }
# best PREFIX: prints the PREFIX.R.log with the highest img_s (all, if none has one)
best() {
    local f b='' bi=-1 v
    for f in "$1".[0-9]*.log; do
        v=$(field img_s "$f")
        if [ -n "$v" ] && awk -v a="$v" -v b="$bi" 'BEGIN { exit !(a > b) }'; then b=$f; bi=$v; fi
    done
    if [ -n "$b" ]; then cat "$b"; else cat "$1".[0-9]*.log; fi
}

export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
failed=0
table=$logdir/table.md
start=$(date +%s)
load0=$(cut -d' ' -f1 /proc/loadavg 2>/dev/null)
{
    echo "| model | batch | threads | nntrain img/s | PyTorch img/s | ratio | GFLOP/s | sgemm peak GFLOP/s | % of sgemm peak | Winograd ($walgo) img/s | Winograd / direct | Winograd effective GFLOP/s | % of sgemm peak | peak RSS MB | PyTorch RSS MB | PyTorch run |"
    echo "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|"
} >"$table"
if [ -n "$det" ]; then
    sed -i '1s/$/ deterministic img\/s | deterministic slowdown |/; 2s/$/---:|---:|/' "$table"
fi
if [ "$bf16" = on ]; then
    sed -i '1s/$/ bf16 img\/s | bf16 \/ fp32 | bf16 effective GFLOP\/s | PyTorch bf16 autocast img\/s |/; 2s/$/---:|---:|---:|---:|/' "$table"
fi
geo=""
peaks=""
warn=""
peak1=
# peak_of T: the best of three sgemm_peak runs at T threads (each the best call
# of about a second): a slow phase of a shared machine lowers one run, not the
# reference the ratios are taken against.
peak_of() {
    local k v best=
    for k in 1 2 3; do
        OPENBLAS_NUM_THREADS=$1 "$peak_bin" 2048 >"$logdir/sgemm_t$1.$k.log" 2>&1
        v=$(field gflops "$logdir/sgemm_t$1.$k.log")
        [ -n "$v" ] && { [ -z "$best" ] || awk -v a="$v" -v b="$best" 'BEGIN { exit !(a > b) }'; } && best=$v
    done
    echo "$best"
}
for t in $threads_list; do
    peak=$(peak_of "$t")
    peaks="$peaks ${t}T: ${peak:-?} GFLOP/s,"
    echo "sgemm 2048 at $t thread(s), best of 3: ${peak:-failed} GFLOP/s" >&2
    [ "$t" = 1 ] && peak1=$peak
    if [ "$t" != 1 ] && [ -n "${peak1:-}" ] && [ -n "$peak" ] &&
        awk -v p="$peak" -v p1="$peak1" -v t="$t" 'BEGIN { exit !(p < 0.75 * t * p1) }'; then
        warn="$warn
Warning: sgemm at $t threads reached only $(awk -v p="$peak" -v p1="$peak1" 'BEGIN { printf "%.2f", p / p1 }')x its 1-thread rate: other processes were using the cores, so the $t-thread rows are unreliable."
        echo "bench.sh: ${warn##*$'\n'}" >&2
    fi
    logsum=0
    nratio=0
    wlogsum=0
    nwratio=0
    blogsum=0
    nbratio=0
    for entry in $models; do
        IFS=: read -r model batch msteps <<<"$entry"
        spec=$root/jobs/models/$model.nn
        [ -f "$spec" ] || { echo "bench.sh: no model spec $spec" >&2; exit 2; }
        s=${steps:-${msteps:-20}}
        w=3
        [ "$s" -lt 10 ] && w=1
        bopt=()
        [ -n "$batch" ] && bopt=(--batch-size "$batch")
        tag=${model}_b${batch:-spec}_t$t
        echo "[$(($(date +%s) - start))s] $model batch ${batch:-spec} threads $t: nntrain, then PyTorch ($s steps, x$repeat)" >&2
        tb=()
        [ -n "$batch" ] && tb=(--batch "$batch")
        rowpeak=
        formats=contiguous
        wino=0
        grep -q 'Conv2D' "$spec" && formats="contiguous channels_last"
        grep -q 'Conv2D' "$spec" && [ "$walgo" != none ] && wino=1
        waits=("")   # the inherited policy; above one thread PASSIVE too
        [ "$t" = 1 ] || waits=("" PASSIVE)
        for ((r = 1; r <= repeat; r++)); do
            OPENBLAS_NUM_THREADS=1 "$nn" bench "$spec" "${bopt[@]}" --threads "$t" --steps "$s" \
                --warmup "$w" $det >"$logdir/$tag.nntrain.$r.log" 2>&1 || failed=1
            # the peak right after the run: the machine as fast as it was then
            OPENBLAS_NUM_THREADS=$t "$peak_bin" 2048 >"$logdir/$tag.sgemm.$r.log" 2>&1
            v=$(field gflops "$logdir/$tag.sgemm.$r.log")
            [ -n "$v" ] && { [ -z "$rowpeak" ] || awk -v a="$v" -v b="$rowpeak" 'BEGIN { exit !(a > b) }'; } && rowpeak=$v
            # the same with Winograd right after: the two see the same machine
            [ "$wino" = 1 ] && { OPENBLAS_NUM_THREADS=1 "$nn" bench "$spec" "${bopt[@]}" --threads "$t" \
                --steps "$s" --warmup "$w" --conv-algo "$walgo" >"$logdir/$tag.wino.$r.log" 2>&1 || failed=1; }
            # and mixed_bfloat16
            [ "$bf16" = on ] && { OPENBLAS_NUM_THREADS=1 "$nn" bench "$spec" "${bopt[@]}" --threads "$t" \
                --steps "$s" --warmup "$w" --precision bf16 >"$logdir/$tag.bf16.$r.log" 2>&1 || failed=1; }
            # PyTorch at its best: both layouts for convolutions, and above one
            # thread both OpenMP wait policies (its workers spin against
            # OpenBLAS's threads); the fastest run counts
            for fmt in $formats; do
                for wait in "${waits[@]}"; do
                    env ${wait:+OMP_WAIT_POLICY=$wait} "$PYTHON" "$root/scripts/torch_bench.py" \
                        --model "$model" "${tb[@]}" --threads "$t" --steps "$s" --warmup "$w" \
                        --memory-format "$fmt" >"$logdir/$tag.torch.$r.$fmt${wait:+.$wait}.log" 2>&1 ||
                        failed=1
                done
            done
        done
        best "$logdir/$tag.nntrain" >"$logdir/$tag.nntrain.log"
        best "$logdir/$tag.torch" >"$logdir/$tag.torch.log"
        if [ "$bf16" = on ]; then   # PyTorch's autocast in the layout and wait policy that won
            tfmt=$(field memory_format "$logdir/$tag.torch.log")
            twait=$(field omp_wait "$logdir/$tag.torch.log")
            [ "$twait" = default ] && twait=
            for ((r = 1; r <= repeat; r++)); do
                env ${twait:+OMP_WAIT_POLICY=$twait} "$PYTHON" "$root/scripts/torch_bench.py" \
                    --model "$model" "${tb[@]}" --threads "$t" --steps "$s" --warmup "$w" \
                    --memory-format "${tfmt:-contiguous}" --autocast bf16 \
                    >"$logdir/$tag.torchbf16.$r.log" 2>&1 || failed=1
            done
            best "$logdir/$tag.bf16" >"$logdir/$tag.bf16.log"
            best "$logdir/$tag.torchbf16" >"$logdir/$tag.torchbf16.log"
        fi
        wi= wgf=
        if [ "$wino" = 1 ]; then
            best "$logdir/$tag.wino" >"$logdir/$tag.wino.log"
            wi=$(field img_s "$logdir/$tag.wino.log")
            wgf=$(field gflops "$logdir/$tag.wino.log")
        fi
        ni=$(field img_s "$logdir/$tag.nntrain.log")
        ti=$(field img_s "$logdir/$tag.torch.log")
        gf=$(field gflops "$logdir/$tag.nntrain.log")
        rss=$(field rss_mb "$logdir/$tag.nntrain.log")
        trss=$(field rss_mb "$logdir/$tag.torch.log")
        bsz=$(field batch "$logdir/$tag.nntrain.log")
        trun="$(field memory_format "$logdir/$tag.torch.log"), $(field omp_wait "$logdir/$tag.torch.log")"
        row=$(awk -v m="$model" -v b="${bsz:-${batch:-?}}" -v t="$t" -v ni="$ni" -v ti="$ti" \
            -v gf="$gf" -v pk="${rowpeak:-$peak}" -v rss="$rss" -v trss="$trss" -v trun="$trun" \
            -v wino="$wino" -v wi="$wi" -v wgf="$wgf" 'BEGIN {
            f = (ni == "" ? "fail" : sprintf("%.0f", ni)); g = (ti == "" ? "fail" : sprintf("%.0f", ti))
            r = (ni != "" && ti != "" && ti > 0) ? sprintf("%.2f", ni / ti) : "-"
            gg = (gf == "" ? "-" : sprintf("%.1f", gf))
            p = (gf != "" && pk != "" && pk > 0) ? sprintf("%.0f%%", 100 * gf / pk) : "-"
            pp = (pk == "" ? "-" : sprintf("%.0f", pk))
            wf = (wino == 1 ? (wi == "" ? "fail" : sprintf("%.0f", wi)) : "-")
            wr = (wi != "" && ni != "" && ni > 0) ? sprintf("%.2f", wi / ni) : "-"
            wg = (wgf == "" ? "-" : sprintf("%.1f", wgf))
            wp = (wgf != "" && pk != "" && pk > 0) ? sprintf("%.0f%%", 100 * wgf / pk) : "-"
            printf "| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |", m, b, t, f, g, r, gg, pp, p, wf, wr, wg, wp,
                   (rss == "" ? "-" : sprintf("%.0f", rss)), (trss == "" ? "-" : sprintf("%.0f", trss)),
                   (g == "fail" ? "-" : trun) }')
        if [ -n "$det" ]; then
            di=$(dfield img_s_det "$logdir/$tag.nntrain.log")
            ds=$(dfield slowdown_pct "$logdir/$tag.nntrain.log")
            row="$row ${di:-fail} | $([ -n "$ds" ] && echo "$ds%" || echo -) |"
        fi
        if [ "$bf16" = on ]; then
            bi=$(field img_s "$logdir/$tag.bf16.log")
            bgf=$(field gflops "$logdir/$tag.bf16.log")
            tbi=$(field img_s "$logdir/$tag.torchbf16.log")
            row="$row $(awk -v bi="$bi" -v ni="$ni" -v bgf="$bgf" -v tbi="$tbi" 'BEGIN {
                printf "%s | %s | %s | %s |", (bi == "" ? "fail" : sprintf("%.0f", bi)),
                    ((bi != "" && ni != "" && ni > 0) ? sprintf("%.2f", bi / ni) : "-"),
                    (bgf == "" ? "-" : sprintf("%.1f", bgf)), (tbi == "" ? "fail" : sprintf("%.0f", tbi)) }')"
            if [ -n "$bi" ] && [ -n "$ni" ]; then
                blogsum=$(awk -v a="$blogsum" -v n="$bi" -v d="$ni" 'BEGIN { printf "%.9f", a + log(n / d) }')
                nbratio=$((nbratio + 1))
            fi
        fi
        echo "$row" >>"$table"
        echo "$row" >&2
        if [ -n "$ni" ] && [ -n "$ti" ]; then
            logsum=$(awk -v a="$logsum" -v n="$ni" -v d="$ti" 'BEGIN { printf "%.9f", a + log(n / d) }')
            nratio=$((nratio + 1))
        fi
        if [ -n "$wi" ] && [ -n "$ni" ]; then
            wlogsum=$(awk -v a="$wlogsum" -v n="$wi" -v d="$ni" 'BEGIN { printf "%.9f", a + log(n / d) }')
            nwratio=$((nwratio + 1))
        fi
    done
    if [ "$nratio" -gt 0 ]; then
        geo="$geo$(awk -v s="$logsum" -v n="$nratio" -v t="$t" 'BEGIN {
            printf "Geometric mean of nntrain/PyTorch at %s thread(s): %.2f (%d models)", t, exp(s / n), n }')
"
    fi
    if [ "$nbratio" -gt 0 ]; then
        geo="$geo$(awk -v s="$blogsum" -v n="$nbratio" -v t="$t" 'BEGIN {
            printf "Geometric mean of mixed_bfloat16 / fp32 at %s thread(s): %.2f (%d models)", t, exp(s / n), n }')
"
    fi
    if [ "$nwratio" -gt 0 ]; then
        geo="$geo$(awk -v s="$wlogsum" -v n="$nwratio" -v t="$t" -v a="$walgo" 'BEGIN {
            printf "Geometric mean of Winograd (%s) / direct at %s thread(s): %.2f (%d convolution rows)", a, t, exp(s / n), n }')
"
    fi
done
{
    echo
    printf '%s' "$geo"
    [ -z "$warn" ] || printf '%s\n' "$warn"
    echo
    cpu=$(lscpu 2>/dev/null | sed -n 's/^Model name: *//p' | head -n1)
    echo "Machine: ${cpu:-unknown CPU}, $(nproc) cores; $("$nn" version | head -n1);" \
        "torch $("$PYTHON" -c 'import torch; print(torch.__version__)' 2>/dev/null);" \
        "sgemm 2048 peak:${peaks%,}. Generated by scripts/bench.sh on $(date -u +%Y-%m-%d)" \
        "(steps per model: ${steps:-as listed in bench.sh}, best of $repeat; PyTorch: the fastest of NCHW" \
        "and channels_last for convolutions and, above 1 thread, of the default OpenMP wait policy" \
        "and OMP_WAIT_POLICY=PASSIVE); $coretype_note;" \
        "1-minute load average ${load0:-?} at the start, $(cut -d' ' -f1 /proc/loadavg 2>/dev/null) at the end" \
        "(above the core count, other processes took CPU time from the runs); logs in $logdir."
} >>"$table"
cat "$table"
if [ -n "$out" ]; then
    cp "$table" "$out.tmp" && mv "$out.tmp" "$out" || failed=1
fi
if [ -n "$readme" ]; then
    awk -v tf="$table" '
        /^<!-- bench:end -->$/ { while ((getline l < tf) > 0) print l; skip = 0 }
        !skip { print }
        /^<!-- bench:begin -->$/ { skip = 1 }' "$readme" >"$readme.tmp" &&
        mv "$readme.tmp" "$readme" || failed=1
fi
echo "total $(($(date +%s) - start)) s" >&2
exit "$failed"
