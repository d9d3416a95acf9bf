#!/usr/bin/env bash
# Does a convolution algorithm or a precision move test accuracy? Trains one spec on
# Fashion-MNIST (or --data) once per (seed, mode) and compares each mode's test accuracy with the
# first mode's, seed by seed (paired: same seed, same data order, same initial weights).
#
#   scripts/accuracy_modes.sh [--spec FILE] [--modes "direct auto bf16"] [--seeds "1 2 3"]
#                             [--epochs N] [--threads T] [--build DIR] [--logdir DIR]
#                             [--limit POINTS] [--reuse] [--data DATA]
#
# Modes (each adds train options):  direct  --conv-algo direct     auto  --conv-algo auto
#   winograd  --conv-algo winograd    winograd4  --conv-algo winograd4
#   bf16  --precision bf16 (products in bfloat16)    det  --deterministic
# Defaults: jobs/models/resnet20_fashion_decay.nn, "direct auto bf16", seeds "1 2 3", the
# spec's epochs, 2 threads, build/, limit 0.3 points, Debian's Fashion-MNIST
# (/usr/share/datasets/fashion-mnist; DATA: anything `nntrain train --data` takes that has a
# test split, whose accuracy is compared).
#
# Prints a Markdown table on stdout: a row per seed (test accuracy of each mode, the
# difference from the first mode in points), then the mean, the mean difference and its
# standard error over the seeds (sd of the paired differences / sqrt(seeds)).
# Exit status: 0 when every mode's mean difference is within --limit points of the first
# mode's, 1 when one is not, 2 on a usage error or a failed run. A mean difference within
# the limit but with a standard error as large as the limit is reported as unsettled
# (exit 0, the line says so): add seeds.
# Logs and run folders go to --logdir (default: a new temporary directory). --reuse takes
# a (seed, mode) from its log in --logdir where that log has a test result, instead of
# training again (to add seeds to a comparison, or join the logs of two sets).
set -u -o pipefail

spec=jobs/models/resnet20_fashion_decay.nn
modes="direct auto bf16"
seeds="1 2 3"
epochs=
threads=2
build=build
logdir=
limit=0.3
reuse=0
data=
usage() { sed -n '2,/^set /{/^#/s/^# \{0,1\}//p;}' "$0" >&2; }
need() { [ $# -ge 2 ] || { echo "accuracy_modes.sh: $1 needs a value" >&2; usage; exit 2; }; }
while [ $# -gt 0 ]; do
    case "$1" in
        --spec) need "$@"; spec=$2; shift 2 ;;
        --modes) need "$@"; modes=$2; shift 2 ;;
        --seeds) need "$@"; seeds=$2; shift 2 ;;
        --epochs) need "$@"; epochs=$2; shift 2 ;;
        --threads) need "$@"; threads=$2; shift 2 ;;
        --build) need "$@"; build=$2; shift 2 ;;
        --logdir) need "$@"; logdir=$2; shift 2 ;;
        --limit) need "$@"; limit=$2; shift 2 ;;
        --reuse) reuse=1; shift ;;
        --data) need "$@"; data=$2; shift 2 ;;
        -h|--help) usage; exit 0 ;;
        *) echo "accuracy_modes.sh: unknown option '$1'" >&2; usage; exit 2 ;;
    esac
done
isint() { case "$1" in ''|*[!0-9]*) return 1 ;; esac; }
{ isint "$threads" && [ "$threads" -gt 0 ]; } || { echo "accuracy_modes.sh: --threads needs a positive integer, not '$threads'" >&2; exit 2; }
[ -z "$epochs" ] || { isint "$epochs" && [ "$epochs" -gt 0 ]; } || { echo "accuracy_modes.sh: --epochs needs a positive integer, not '$epochs'" >&2; exit 2; }
awk -v l="$limit" 'BEGIN { exit !(l + 0 == l && l > 0) }' || { echo "accuracy_modes.sh: --limit needs a positive number, not '$limit'" >&2; exit 2; }
set -f
nseeds=0
for s in $seeds; do isint "$s" || { echo "accuracy_modes.sh: --seeds needs non-negative integers, not '$s'" >&2; exit 2; }; nseeds=$((nseeds + 1)); done
nmodes=0
for m in $modes; do
    case $m in direct|auto|winograd|winograd4|bf16|det) ;; *) echo "accuracy_modes.sh: unknown mode '$m' (direct, auto, winograd, winograd4, bf16, det)" >&2; exit 2 ;; esac
    nmodes=$((nmodes + 1))
done
set +f
{ [ "$nseeds" -gt 0 ] && [ "$nmodes" -gt 1 ]; } || { echo "accuracy_modes.sh: need at least one seed and two modes" >&2; exit 2; }

# paths given relative to here stay so after the cd to the repository (a spec not
# found here is taken from there, as the default; --build is the repository's)
case "$data" in ''|/*) ;; *) data="$PWD/$data" ;; esac
case "$logdir" in ''|/*) ;; *) logdir="$PWD/$logdir" ;; esac
case "$spec" in /*) ;; *) [ ! -r "$spec" ] || spec="$PWD/$spec" ;; esac
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root" || exit 2
case "$build" in /*) ;; *) build="$root/$build" ;; esac
nntrain="$build/nntrain"
[ -x "$nntrain" ] || { echo "accuracy_modes.sh: no nntrain executable at $nntrain (build it, or pass --build DIR)" >&2; exit 2; }
[ -r "$spec" ] || { echo "accuracy_modes.sh: cannot read the spec '$spec'" >&2; exit 2; }
if [ -z "$data" ]; then
    data=/usr/share/datasets/fashion-mnist
    [ -r "$data/t10k-labels-idx1-ubyte.gz" ] || { echo "accuracy_modes.sh: no Fashion-MNIST in $data (Debian package dataset-fashion-mnist; or pass --data)" >&2; exit 2; }
fi
[ -e "$data" ] || { echo "accuracy_modes.sh: no data set at '$data'" >&2; exit 2; }
if [ -z "$logdir" ]; then
    logdir=$(mktemp -d "${TMPDIR:-/tmp}/accuracy_modes.XXXXXX") || exit 2
else
    mkdir -p "$logdir" || exit 2
fi

mode_args() {   # sets the array margs
    case $1 in
        direct|auto|winograd|winograd4) margs=(--conv-algo "$1") ;;
        bf16) margs=(--precision bf16) ;;
        det) margs=(--deterministic) ;;
    esac
}

echo "accuracy_modes.sh: $spec, modes: $modes, seeds: $seeds, $threads thread(s), logs in $logdir" >&2
declare -A acc
for seed in $seeds; do
    for m in $modes; do
        log="$logdir/${m}_s$seed.log"
        # "Test (10000 samples) - loss: 0.3456 - accuracy: 0.8765"
        a=
        [ "$reuse" = 0 ] || [ ! -r "$log" ] ||
            a=$(sed -n 's/^Test (.*) - loss: [^ ]* .*- accuracy: \([0-9.eE+-]*\).*/\1/p' "$log" | tail -n 1)
        if [ -n "$a" ]; then
            echo "=== seed $seed, $m: test accuracy $a, from $log" >&2
            acc[$m,$seed]=$a
            continue
        fi
        mode_args "$m"
        cmd=("$nntrain" train "$spec" --data "$data" --threads "$threads" --seed "$seed" --verbose 2
             --out "$logdir/run_${m}_s$seed" "${margs[@]}")
        [ -z "$epochs" ] || cmd+=(--epochs "$epochs")
        echo "=== seed $seed, $m: ${cmd[*]}" >&2
        t0=$(date +%s)
        "${cmd[@]}" >"$log" 2>&1
        status=$?
        tail -n 3 "$log" >&2
        a=$(sed -n 's/^Test (.*) - loss: [^ ]* .*- accuracy: \([0-9.eE+-]*\).*/\1/p' "$log" | tail -n 1)
        if [ "$status" -ne 0 ] || [ -z "$a" ]; then
            echo "accuracy_modes.sh: seed $seed, mode $m failed (exit $status) or printed no 'Test (...) - accuracy:' line; see $log" >&2
            exit 2
        fi
        echo "=== seed $seed, $m: test accuracy $a, $(( $(date +%s) - t0 )) s" >&2
        acc[$m,$seed]=$a
    done
done

read -ra mlist <<<"$modes"
set -- "${mlist[@]}"
first=$1
header="| seed |"
rule="|---:|"
for m in $modes; do header+=" $m |"; rule+="---:|"; done
for m in "${@:2}"; do header+=" $m − $first |"; rule+="---:|"; done
echo
echo "Test accuracy on $data, $spec, $threads thread(s)${epochs:+, $epochs epochs}"
echo
echo "$header"
echo "$rule"
for seed in $seeds; do
    row="| $seed |"
    for m in $modes; do row+=" $(awk -v a="${acc[$m,$seed]}" 'BEGIN { printf "%.2f%%", 100 * a }') |"; done
    for m in "${@:2}"; do row+=" $(awk -v a="${acc[$m,$seed]}" -v b="${acc[$first,$seed]}" 'BEGIN { printf "%+.2f", 100 * (a - b) }') |"; done
    echo "$row"
done
# mean accuracy per mode; mean paired difference and its standard error
row="| mean |"
for m in $modes; do
    row+=" $(for s in $seeds; do echo "${acc[$m,$s]}"; done | awk '{ t += $1 } END { printf "%.2f%%", 100 * t / NR }') |"
done
fail=0
verdicts=()
for m in "${@:2}"; do
    read -r mean se < <(for s in $seeds; do echo "${acc[$m,$s]} ${acc[$first,$s]}"; done |
        awk '{ d[NR] = 100 * ($1 - $2); t += d[NR] }
             END { m = t / NR; v = 0; for (i = 1; i <= NR; i++) v += (d[i] - m) ^ 2
                   se = NR > 1 ? sqrt(v / (NR - 1) / NR) : -1; printf "%.3f %.3f\n", m, se }')
    if [ "$se" = "-1.000" ]; then sefmt="(one seed)"; else sefmt="± $(printf '%.2f' "$se")"; fi
    row+=" $(printf '%+.2f' "$mean") $sefmt |"
    if awk -v m="$mean" -v l="$limit" 'BEGIN { exit !(m > l || m < -l) }'; then
        fail=1
        verdicts+=("$m: mean difference $(printf '%+.2f' "$mean") points ($sefmt) is beyond ±$limit")
    elif awk -v s="$se" -v l="$limit" 'BEGIN { exit !(s < 0 || s >= l) }'; then
        verdicts+=("$m: mean difference $(printf '%+.2f' "$mean") points within ±$limit, but its standard error ($sefmt) is not below the limit: unsettled, add seeds")
    else
        verdicts+=("$m: mean difference $(printf '%+.2f' "$mean") points ($sefmt) within ±$limit")
    fi
done
echo "$row"
echo
printf '%s\n' "${verdicts[@]}"
exit "$fail"
