#!/usr/bin/env bash
# The seeds' Iris example on the real table (Debian's python3-sklearn ships
# sklearn/datasets/data/iris.csv; skipped with status 77 without it, or
# NN_IRIS_CSV names another copy): convert csv --sklearn reads its header
# (150 samples, 4 features, the three species), split makes a seeded random
# validation set without duplicates, and jobs/models/iris.nn trains to at
# least 90% validation accuracy (README: 93.3% with this split).
#   iris.sh NNTRAIN
set -u
NN=$(realpath "${1:?usage: iris.sh NNTRAIN}")
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/lib.sh"
CSV=${NN_IRIS_CSV:-/usr/lib/python3/dist-packages/sklearn/datasets/data/iris.csv}
if [ ! -r "$CSV" ]; then
    echo "$CSV not found (Debian package python3-sklearn): skipped"
    exit 77
fi
T=$(mktemp -d "${TMPDIR:-/tmp}/nntrain-iris.XXXXXX") || exit 1
trap 'rm -rf "$T"' EXIT
cd "$T" || exit 1
export OPENBLAS_NUM_THREADS=1

if "$NN" convert csv "$CSV" --sklearn -o iris.h5 >c.out 2>&1 &&
    grep -q 'train 150 samples of (None, 4) float32, 3 classes' c.out &&
    "$NN" inspect iris.h5 >i.out 2>&1 && grep -Eq '^ +2 virginica +50$' i.out; then
    ok "convert csv --sklearn: 150 samples, 4 features, setosa/versicolor/virginica"
else
    bad "convert csv --sklearn" "$(cat c.out; tail -n 8 i.out)"
fi
"$NN" split iris.h5 --val-fraction 0.2 --seed 1 --dedupe -o train.h5 --val-out val.h5 >s.out 2>&1 ||
    bad "split" "$(cat s.out)"
if "$NN" train "$HERE/../../jobs/models/iris.nn" --data train.h5 --val val.h5 --threads 1 \
    --verbose 2 --checkpoint iris.keep.h5 --monitor val_accuracy --out o >t.out 2>&1; then
    last=$(grep '^Epoch 100/100' t.out)
    acc=$(sed -n 's/.* val_accuracy: \([0-9.]*\).*/\1/p' <<<"$last")
    if awk -v a="${acc:-0}" 'BEGIN { exit !(a >= 0.9) }'; then
        ok "iris.nn: validation accuracy $acc after 100 epochs (>= 0.9)"
    else
        bad "iris.nn" "validation accuracy ${acc:-?} < 0.9: $last"
    fi
else
    bad "train iris.nn" "$(tail -n 3 t.out)"
fi
if "$NN" evaluate iris.keep.h5 --data val.h5 >e.out 2>&1 && grep -q '^ *setosa *12 ' e.out; then
    ok "evaluate names the species"
else
    bad "evaluate iris.keep.h5" "$(tail -n 5 e.out)"
fi
finish
