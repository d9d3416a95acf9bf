#!/usr/bin/env bash
# Side-by-side check of nntrain against its PyTorch twin on Fashion-MNIST.
#
#   scripts/compare_fashion.sh [--threads T] [--build DIR] [--epochs N] [--logdir DIR]
#                              [--models "mlp cnn resnet"] [--seeds "S1 S2 ..."]
#
# Trains, one after the other and with the same number of threads,
#   mlp  jobs/models/mnist_mlp512.nn   (784-512-10, RMSprop, batch 128)
#   cnn  jobs/models/fashion_cnn.nn    (the MNIST CNN of DESIGN.md, RMSprop, batch 64)
#   resnet jobs/models/resnet20_fashion.nn (Keras's ResNet20 v1 on 28x28x1, BatchNormalization,
#        Adam, batch 128; only when --models names it: an epoch takes minutes per thread)
# with DIR/nntrain and with scripts/torch_reference.py (Debian's /usr/bin/python3,
# override with $PYTHON), then prints a Markdown table on stdout:
#   model | nntrain test acc | PyTorch test acc | difference (points) | nntrain wall s | PyTorch wall s
# With --seeds, each model is trained once per seed on both sides (nntrain --seed S,
# torch_reference.py --seed S), a row per seed and a "mean" row; the limit below then
# applies to the mean over the seeds (one run's held-out accuracy swings by points from
# epoch to epoch for BatchNormalization models, so one seed says little).
# Wall times are whole-process wall-clock times, measured here the same way for both
# (data reading and, for PyTorch, the interpreter and torch import included).
# The training logs go to stderr as they come and are kept in --logdir (default: a
# new temporary directory), nntrain's run folders (history.csv, last.h5) in DIR/runs_<model>[_s<seed>].
#
# Exit status: 0 when nntrain's test accuracy (the mean over --seeds) is at most 1.0
# point below PyTorch's for every model; 1 when it is further below for either (the reason is printed);
# 2 on a usage error or when a run fails or prints no test result.
set -u -o pipefail

threads=2
models="mlp cnn"
build=build
epochs=5
logdir=
seeds=
usage() { sed -n '2,/^set /{/^#/s/^# \{0,1\}//p;}' "$0" >&2; }
while [ $# -gt 0 ]; do
    case "$1" in
        --threads) threads=${2-}; shift 2 || { usage; exit 2; } ;;
        --threads=*) threads=${1#*=}; shift ;;
        --build) build=${2-}; shift 2 || { usage; exit 2; } ;;
        --build=*) build=${1#*=}; shift ;;
        --epochs) epochs=${2-}; shift 2 || { usage; exit 2; } ;;
        --epochs=*) epochs=${1#*=}; shift ;;
        --models) models=${2-}; shift 2 || { usage; exit 2; } ;;
        --models=*) models=${1#*=}; shift ;;
        --seeds) seeds=${2-}; shift 2 || { usage; exit 2; } ;;
        --seeds=*) seeds=${1#*=}; shift ;;
        --logdir) logdir=${2-}; shift 2 || { usage; exit 2; } ;;
        --logdir=*) logdir=${1#*=}; shift ;;
        -h|--help) usage; exit 0 ;;
        *) echo "compare_fashion.sh: unknown option '$1'" >&2; usage; exit 2 ;;
    esac
done
case "$threads" in ''|*[!0-9]*|0) echo "compare_fashion.sh: --threads needs a positive integer, not '$threads'" >&2; exit 2 ;; esac
case "$epochs" in ''|*[!0-9]*|0) echo "compare_fashion.sh: --epochs needs a positive integer, not '$epochs'" >&2; exit 2 ;; esac
for s in $seeds; do
    case "$s" in ''|*[!0-9]*) echo "compare_fashion.sh: --seeds needs non-negative integers, not '$s'" >&2; exit 2 ;; esac
done

root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root" || exit 2
case "$build" in /*) ;; *) build="$root/$build" ;; esac
nntrain="$build/nntrain"
python=${PYTHON:-/usr/bin/python3}
data=/usr/share/datasets/fashion-mnist
if [ ! -x "$nntrain" ]; then
    echo "compare_fashion.sh: no nntrain executable at $nntrain (build it, or pass --build DIR)" >&2
    exit 2
fi
if [ ! -x "$python" ]; then
    echo "compare_fashion.sh: no Python interpreter at $python (Debian's python3-torch is expected)" >&2
    exit 2
fi
for f in train-images-idx3-ubyte.gz train-labels-idx1-ubyte.gz t10k-images-idx3-ubyte.gz t10k-labels-idx1-ubyte.gz; do
    if [ ! -r "$data/$f" ]; then
        echo "compare_fashion.sh: missing $data/$f (Debian package dataset-fashion-mnist)" >&2
        exit 2
    fi
done
if [ -z "$logdir" ]; then
    logdir=$(mktemp -d "${TMPDIR:-/tmp}/compare_fashion.XXXXXX") || exit 2
else
    mkdir -p "$logdir" || exit 2
fi

now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", b - a }'; }

# run_timed NAME LOG CMD...: run CMD, log to LOG and stderr; sets $wall and $status.
run_timed() {
    local name=$1 log=$2
    shift 2
    echo "=== $name: $*" >&2
    local t0 t1
    t0=$(now)
    "$@" 2>&1 | tee "$log" >&2
    status=$?
    t1=$(now)
    wall=$(elapsed "$t0" "$t1")
    echo "=== $name: exit $status, ${wall} s wall" >&2
}

echo "compare_fashion.sh: $epochs epochs, $threads thread(s), logs in $logdir" >&2
rows=()
fail=0
problems=()
for model in $models; do
    case $model in
        mlp) spec=jobs/models/mnist_mlp512.nn ;;
        cnn) spec=jobs/models/fashion_cnn.nn ;;
        resnet) spec=jobs/models/resnet20_fashion.nn ;;
        *) echo "compare_fashion.sh: unknown model '$model' in --models (mlp, cnn, resnet)" >&2; exit 2 ;;
    esac

    nsum=0 tsum=0 nseeds=0
    for seed in ${seeds:-default}; do
        if [ "$seed" = default ]; then seedarg=() tag=$model label=$model; else seedarg=(--seed "$seed") tag=${model}_s$seed label="$model seed $seed"; fi
        nlog="$logdir/nntrain_$tag.log"
        run_timed "nntrain $label" "$nlog" \
            "$nntrain" train "$spec" --data "$data" --epochs "$epochs" --threads "$threads" --verbose 2 \
            --out "$logdir/runs_$tag" "${seedarg[@]}"
        nstatus=$status nwall=$wall
        # "Test (10000 samples) - loss: 0.3456 - accuracy: 0.8765"
        nacc=$(sed -n 's/^Test (.*) - loss: [^ ]* .*- accuracy: \([0-9.eE+-]*\).*/\1/p' "$nlog" | tail -n 1)
        nloss=$(sed -n 's/^Test (.*) - loss: \([^ ]*\).*/\1/p' "$nlog" | tail -n 1)
        if [ "$nstatus" -ne 0 ] || [ -z "$nacc" ]; then
            echo "compare_fashion.sh: nntrain failed on $spec (exit $nstatus) or printed no 'Test (...) - accuracy:' line; see $nlog" >&2
            exit 2
        fi

        tlog="$logdir/torch_$tag.log"
        run_timed "pytorch $label" "$tlog" \
            "$python" scripts/torch_reference.py --model "$model" --epochs "$epochs" --threads "$threads" "${seedarg[@]}"
        tstatus=$status twall=$wall
        tacc=$(sed -n 's/^RESULT .*test_accuracy=\([^ ]*\).*/\1/p' "$tlog" | tail -n 1)
        tloss=$(sed -n 's/^RESULT .*test_loss=\([^ ]*\).*/\1/p' "$tlog" | tail -n 1)
        if [ "$tstatus" -ne 0 ] || [ -z "$tacc" ]; then
            echo "compare_fashion.sh: scripts/torch_reference.py --model $model failed (exit $tstatus) or printed no RESULT line; see $tlog" >&2
            exit 2
        fi

        diff=$(awk -v a="$nacc" -v b="$tacc" 'BEGIN { printf "%+.2f", 100 * (a - b) }')
        rows+=("| $label ($spec) | $(awk -v a="$nacc" 'BEGIN { printf "%.2f%%", 100 * a }') | $(awk -v a="$tacc" 'BEGIN { printf "%.2f%%", 100 * a }') | $diff | $nwall | $twall |")
        nsum=$(awk -v s="$nsum" -v a="$nacc" 'BEGIN { printf "%.6f", s + a }')
        tsum=$(awk -v s="$tsum" -v a="$tacc" 'BEGIN { printf "%.6f", s + a }')
        nseeds=$((nseeds + 1))
    done
    nacc=$(awk -v s="$nsum" -v n="$nseeds" 'BEGIN { printf "%.6f", s / n }')
    tacc=$(awk -v s="$tsum" -v n="$nseeds" 'BEGIN { printf "%.6f", s / n }')
    if [ "$nseeds" -gt 1 ]; then
        diff=$(awk -v a="$nacc" -v b="$tacc" 'BEGIN { printf "%+.2f", 100 * (a - b) }')
        rows+=("| $model, mean of $nseeds seeds | $(awk -v a="$nacc" 'BEGIN { printf "%.2f%%", 100 * a }') | $(awk -v a="$tacc" 'BEGIN { printf "%.2f%%", 100 * a }') | $diff | | |")
    fi
    if awk -v a="$nacc" -v b="$tacc" 'BEGIN { exit !(100 * (b - a) > 1.0) }'; then
        fail=1
        problems+=("$model: nntrain test accuracy $nacc (loss $nloss) is $(awk -v d="$diff" 'BEGIN { printf "%.2f", -d }') points below PyTorch's $tacc (loss $tloss); the limit is 1.0 point")
    fi
done

echo
echo "Fashion-MNIST, $epochs epochs, $threads thread(s) each; test set t10k (10,000 samples); wall = whole process"
echo
echo "| model | nntrain test acc | PyTorch test acc | difference (points) | nntrain wall s | PyTorch wall s |"
echo "|---|---|---|---|---|---|"
printf '%s\n' "${rows[@]}"
if [ "$fail" -ne 0 ]; then
    echo
    for p in "${problems[@]}"; do
        echo "FAIL $p"
    done
    exit 1
fi
exit 0
