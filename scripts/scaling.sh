#!/usr/bin/env bash
# Strong and weak scaling of `nntrain bench` over MPI ranks: a CSV, a PNG and a table.
#
#   scripts/scaling.sh [--build DIR] [--model SPEC] [--ranks "1 2"] [--threads T]
#                      [--per-rank-batch b] [--batch B] [--steps S] [--warmup W]
#                      [--mode strong|weak|both] [--allreduce overlap|blocking]
#                      [--repeat R] [--out-dir DIR]
#
# For each N in --ranks runs
#   mpirun -np N --oversubscribe DIR/nntrain bench SPEC --threads T --steps S ...
# in strong mode (fixed global batch B, default b x the largest N, so every rank
# has b samples at the largest N) and in weak mode (fixed per-rank batch b, default
# 32: global batch b x N). Defaults: SPEC jobs/models/cifar10_cnn.nn, T 1, S 20,
# W 3, both modes, out-dir runs/scaling. Extra mpirun options: $MPIRUN_ARGS.
# --repeat R (default 3) runs every configuration R times, round-robin over the
# rank counts, and keeps each one's best run: on a shared machine the best run is
# the one least disturbed by other processes, and round-robin spreads slow
# phases over all rank counts alike.
# Open MPI's shared-memory transport copies large messages twice unless its
# single-copy (CMA) mechanism works; containers often forbid it, so the script
# tries it with a 2-rank run first and falls back to
# OMPI_MCA_btl_vader_single_copy_mechanism=none (a value already set is kept).
# OPENBLAS_CORETYPE=SkylakeX is set on AVX-512 CPUs unless already set, as the
# job scripts do (Debian's OpenBLAS 0.3.21 does not know newer CPUs).
#
# Writes OUT/scaling.csv with the columns
#   mode,ranks,threads,batch,img_s,ms_step,compute_s,comm_s,data_s,efficiency
# (compute_s, comm_s = waiting for the gradient allreduce, data_s: seconds per
# step, mean over ranks) and OUT/scaling.png (scripts/scaling_plot.py, Debian's
# /usr/bin/python3 with matplotlib; $PYTHON overrides), and prints the table.
# Efficiency, against the run with the fewest ranks N0 (normally 1):
#   strong: T(N0) N0 / (N T(N)), T the time per step (same global batch);
#   weak:   img_s(N) N0 / (N img_s(N0)).
# Exit status: 0; 1 when a run failed; 2 on a usage error.
set -u -o pipefail

build=build
root=$(cd "$(dirname "$0")/.." && pwd)
model=$root/jobs/models/cifar10_cnn.nn
ranks="1 2"
threads=1
prb=32
batch=
steps=20
warmup=3
mode=both
allreduce=overlap
repeat=3
outdir=runs/scaling
usage() { sed -n '2,/^set /{/^#/s/^# \{0,1\}//p;}' "$0" >&2; }
need() { [ $# -ge 2 ] || { echo "scaling.sh: option $1 needs a value" >&2; exit 2; }; }
while [ $# -gt 0 ]; do
    case "$1" in
        --build) need "$@"; build=$2; shift 2 ;;
        --model) need "$@"; model=$2; shift 2 ;;
        --ranks) need "$@"; ranks=$2; shift 2 ;;
        --threads) need "$@"; threads=$2; shift 2 ;;
        --per-rank-batch) need "$@"; prb=$2; shift 2 ;;
        --batch) need "$@"; batch=$2; shift 2 ;;
        --steps) need "$@"; steps=$2; shift 2 ;;
        --warmup) need "$@"; warmup=$2; shift 2 ;;
        --mode) need "$@"; mode=$2; shift 2 ;;
        --allreduce) need "$@"; allreduce=$2; shift 2 ;;
        --repeat) need "$@"; repeat=$2; shift 2 ;;
        --out-dir) need "$@"; outdir=$2; shift 2 ;;
        --*=*) set -- "${1%%=*}" "${1#*=}" "${@:2}" ;;
        -h|--help) usage; exit 0 ;;
        *) echo "scaling.sh: unknown option '$1'" >&2; usage; exit 2 ;;
    esac
done
posint() { case "$2" in ''|0|*[!0-9]*) echo "scaling.sh: $1 takes a positive integer, got '$2'" >&2; exit 2 ;; esac; }
for n in $ranks; do posint --ranks "$n"; done
posint --threads "$threads"; posint --per-rank-batch "$prb"; posint --steps "$steps"
posint --repeat "$repeat"
[ -z "$batch" ] || posint --batch "$batch"
case "$mode" in strong) modes=strong ;; weak) modes=weak ;; both) modes="strong weak" ;;
    *) echo "scaling.sh: --mode must be strong, weak or both" >&2; exit 2 ;; esac
[ -f "$model" ] || { echo "scaling.sh: no model spec '$model'" >&2; exit 2; }
nn=$build/nntrain
[ -x "$nn" ] || { echo "scaling.sh: no $nn: build first" >&2; exit 2; }
MPIRUN=${MPIRUN:-mpirun}
PYTHON=${PYTHON:-/usr/bin/python3}
nmax=0
for n in $ranks; do [ "$n" -gt "$nmax" ] && nmax=$n; done
[ -n "$batch" ] || batch=$((prb * nmax))
mkdir -p "$outdir" || exit 2
logdir=$outdir/logs
mkdir -p "$logdir" || exit 2

export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
export OPENBLAS_NUM_THREADS=$threads
if [ -z "${OPENBLAS_CORETYPE:-}" ] && grep -qw avx512f /proc/cpuinfo 2>/dev/null; then
    export OPENBLAS_CORETYPE=SkylakeX
fi
if [ -z "${OMPI_MCA_btl_vader_single_copy_mechanism:-}" ]; then
    # shellcheck disable=SC2086
    if OMPI_MCA_btl_vader_single_copy_mechanism=cma timeout 60 "$MPIRUN" -np 2 --oversubscribe \
        ${MPIRUN_ARGS:-} "$nn" bench "$root/jobs/models/sqrt.nn" --batch-size 512 --steps 2 \
        --warmup 0 >"$logdir/cma_probe.log" 2>&1; then
        export OMPI_MCA_btl_vader_single_copy_mechanism=cma
    else
        export OMPI_MCA_btl_vader_single_copy_mechanism=none
    fi
fi
echo "scaling.sh: OPENBLAS_CORETYPE=${OPENBLAS_CORETYPE:-unset}," \
     "btl_vader_single_copy_mechanism=$OMPI_MCA_btl_vader_single_copy_mechanism, best of $repeat" >&2
field() { grep '^BENCH ' "$2" | tail -n1 | tr ' ' '\n' | sed -n "s/^$1=//p"; }

csv=$outdir/scaling.csv
rows=$outdir/scaling.csv.tmp
echo "mode,ranks,threads,batch,img_s,ms_step,compute_s,comm_s,data_s,efficiency" >"$rows"
failed=0
for m in $modes; do
    if [ "$m" = strong ]; then bopt=(--batch-size "$batch"); else bopt=(--per-rank-batch "$prb"); fi
    for ((r = 1; r <= repeat; r++)); do
        for n in $ranks; do
            log=$logdir/${m}_np$n.$r.log
            echo "$m: mpirun -np $n ... bench $(basename "$model") ${bopt[*]} --threads $threads --steps $steps (run $r/$repeat)" >&2
            # shellcheck disable=SC2086
            if ! "$MPIRUN" -np "$n" --oversubscribe ${MPIRUN_ARGS:-} "$nn" bench "$model" "${bopt[@]}" \
                --threads "$threads" --steps "$steps" --warmup "$warmup" --allreduce "$allreduce" \
                >"$log" 2>&1; then
                echo "scaling.sh: the run failed ($log):" >&2
                tail -n 5 "$log" >&2
                failed=1
            fi
        done
    done
    base_ms=; base_img=; base_n=
    for n in $ranks; do
        # the best of the runs
        log= best=-1
        for f in "$logdir/${m}_np$n".[0-9]*.log; do
            v=$(field img_s "$f")
            [ -n "$v" ] && awk -v a="$v" -v b="$best" 'BEGIN { exit !(a > b) }' && { best=$v; log=$f; }
        done
        [ -n "$log" ] || continue
        cp "$log" "$logdir/${m}_np$n.log"
        img=$(field img_s "$log"); ms=$(field ms_step "$log"); b=$(field batch "$log")
        if [ -z "$base_n" ]; then base_n=$n; base_ms=$ms; base_img=$img; fi
        eff=$(awk -v m="$m" -v n="$n" -v n0="$base_n" -v t="$ms" -v t0="$base_ms" \
            -v i="$img" -v i0="$base_img" 'BEGIN {
            if (m == "strong") printf "%.3f", (t > 0 ? t0 * n0 / (n * t) : 0)
            else printf "%.3f", (i0 > 0 ? i * n0 / (n * i0) : 0) }')
        echo "$m,$n,$threads,$b,$img,$ms,$(field compute_s "$log"),$(field comm_s "$log"),$(field data_s "$log"),$eff" >>"$rows"
    done
done
mv "$rows" "$csv" || exit 1

echo
echo "$(basename "$model" .nn), $threads thread(s) per rank, $steps steps, best of $repeat; strong: global batch $batch, weak: $prb per rank; single-copy $OMPI_MCA_btl_vader_single_copy_mechanism"
echo
echo "| mode | ranks | batch | img/s | ms/step | compute ms | allreduce wait ms | data ms | efficiency |"
echo "|---|---:|---:|---:|---:|---:|---:|---:|---:|"
awk -F, 'NR > 1 { printf "| %s | %d | %d | %.1f | %.1f | %.1f | %.1f | %.2f | %.2f |\n",
    $1, $2, $4, $5, $6, 1e3 * $7, 1e3 * $8, 1e3 * $9, $10 }' "$csv"
echo
echo "CSV: $csv"
if "$PYTHON" "$root/scripts/scaling_plot.py" "$csv" "$outdir/scaling.png" \
    --title "$(basename "$model" .nn), $threads thread(s)/rank"; then
    echo "plot: $outdir/scaling.png"
else
    echo "scaling.sh: no plot (scripts/scaling_plot.py failed)" >&2
    failed=1
fi
exit "$failed"
