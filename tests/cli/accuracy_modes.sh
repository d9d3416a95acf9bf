#!/usr/bin/env bash
# scripts/accuracy_modes.sh end to end on a tiny random IDX data set (28x28,
# 64 train and 16 test images) with jobs/models/mnist_mlp.nn, one epoch: two
# seeds x two modes (direct, det) give a table with a row per seed, a mean row
# with the paired difference's standard error and a verdict line, exit 0 at a
# limit no difference can pass; --reuse takes every run from the logs
# (no training: the same table); usage errors (an unknown mode, one mode, a
# missing data set, a bad limit) exit 2 with a message.
# usage: accuracy_modes.sh NNTRAIN
set -u
. "$(cd "$(dirname "$0")" && pwd)/lib.sh"
NN=${1:?usage: accuracy_modes.sh NNTRAIN}
case $NN in /*) ;; *) NN=$PWD/$NN ;; esac
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
T=$(mktemp -d "${TMPDIR:-/tmp}/nntrain-acc.XXXXXX") || exit 1
trap 'rm -rf "$T"' EXIT
idx_dir_random "$T/d" 64 28
AM=("$ROOT/scripts/accuracy_modes.sh" --build "$(dirname "$NN")" --spec jobs/models/mnist_mlp.nn
    --data "$T/d" --epochs 1 --threads 1 --seeds "1 2" --modes "direct det")

"${AM[@]}" --limit 101 --logdir "$T/logs" >"$T/a.out" 2>"$T/a.err"
rc=$?
check "two seeds, two modes: exit 0 at a limit of 101 points" "[ $rc -eq 0 ]"
check "a row per seed" "[ \$(grep -cE '^\| [12] \| [0-9.]+% \| [0-9.]+% \| [-+][0-9.]+ \|$' '$T/a.out') -eq 2 ]"
check "the mean row, with a standard error" "grep -qE '^\| mean \| [0-9.]+% \| [0-9.]+% \| [-+][0-9.]+ ± [0-9.]+ \|$' '$T/a.out'"
check "the verdict" "grep -qE '^det: mean difference [-+][0-9.]+ points' '$T/a.out'"
check "a log per run" "[ \$(ls '$T/logs' | grep -c '_s[12]\.log$') -eq 4 ]"

"${AM[@]}" --limit 101 --logdir "$T/logs" --reuse >"$T/b.out" 2>"$T/b.err"
rc=$?
check "--reuse: exit 0" "[ $rc -eq 0 ]"
check "--reuse: every run from its log" "[ \$(grep -c ', from .*\.log$' '$T/b.err') -eq 4 ]"
check "--reuse: nothing trained" "! grep -q '^=== seed .*: .*nntrain train' '$T/b.err'"
check "--reuse: the same table" "cmp -s '$T/a.out' '$T/b.out'"

usage() {   # usage NAME MESSAGE ARGS...: exit 2 and MESSAGE on stderr
    local name=$1 msg=$2
    shift 2
    "$ROOT/scripts/accuracy_modes.sh" --build "$(dirname "$NN")" "$@" >"$T/u.out" 2>"$T/u.err"
    local rc=$?
    if [ $rc -eq 2 ] && grep -q -- "$msg" "$T/u.err"; then ok "$name"; else bad "$name" "exit $rc: $(head -c 300 "$T/u.err")"; fi
}
usage "unknown mode" "unknown mode 'fp8'" --data "$T/d" --modes "direct fp8"
usage "one mode" "two modes" --data "$T/d" --modes "direct"
usage "missing data" "no data set at" --data "$T/nope" --modes "direct det"
usage "bad limit" "--limit needs a positive number" --data "$T/d" --limit -1
finish
