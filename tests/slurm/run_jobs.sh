#!/usr/bin/env bash
# End-to-end test of the Slurm job scripts in jobs/ on a real, private Slurm:
# scripts/slurm_local.sh starts slurmctld and two emulated nodes (two slurmd in
# their own network namespaces and hostnames, so MPI goes over TCP between
# them), and each job script is submitted with `sbatch --wait` in a tiny mode
# (2 nodes x 1 task x 1 CPU, 1 epoch, tiny generated datasets in the real
# formats: CIFAR-10 binary batches and JPEG folders, converted by the jobs):
#   - jobs/cifar10.sbatch with srun (converts the data first), then with the
#     mpirun fallback: exit status 0, epoch lines, last.h5, history.csv, TCP
#   - jobs/rick_augmented.sbatch: deduplicated split, epoch line with
#     val_accuracy, best.h5 and last.h5; a second submission resumes
#   - jobs/scaling.sbatch as a 2-task array (N = 1 and 2 nodes): one CSV row each
#   - a rank SIGKILLed under srun: the job fails within seconds, no rank hangs
#   - SIGUSR1 to a running job (scancel --signal=USR1 --batch), launched with
#     srun and with mpirun, and SIGTERM with mpirun (the script passes it on
#     as SIGUSR1): it checkpoints and exits with status 75, no Open MPI banner; with
#     requeueing on, the job requeues itself and its second run resumes and
#     finishes
# Slurm is stopped (by PID) on exit, whatever happens.
#
# usage: run_jobs.sh NNTRAIN [MPIEXEC]   (MPIEXEC is accepted and unused)
# Prints "N passed, M failed"; exit status 0, 1 when a check failed, 77 (skip)
# when Slurm cannot start on this machine (the reason is printed).
# NNTRAIN_TEST_KEEP=1 keeps the work directory (logs, data, checkpoints).
set -u
NN=${1:?usage: run_jobs.sh NNTRAIN [MPIEXEC]}
NN=$(readlink -f "$NN")
ROOT=$(cd "$(dirname "$(readlink -f "$0")")/../.." && pwd)
PY=${PYTHON:-/usr/bin/python3}
export PATH=$PATH:/usr/sbin:/sbin
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
unset SLURM_JOB_ID SLURM_CONF NNTRAIN_NO_REQUEUE

pass=0
fail=0
ok() { pass=$((pass + 1)); printf 'ok   %s\n' "$1"; }
bad() { fail=$((fail + 1)); printf 'FAIL %s: %s\n' "$1" "$2"; }
# expect NAME COMMAND...: passes when COMMAND succeeds
expect() { local n=$1; shift; if "$@"; then ok "$n"; else bad "$n" "check failed: $*"; fi; }
t0=$(date +%s)
# Every wait is bounded so that the whole run ends (and stops Slurm) well
# within CTest's TIMEOUT of 900 s, which kills without a trap.
DEADLINE=$((t0 + ${NNTRAIN_TEST_BUDGET:-840}))
tlimit() { local l=$((DEADLINE - $(date +%s))); [ $l -gt 150 ] && l=150; [ $l -lt 1 ] && l=1; echo $l; }

T=$(mktemp -d /tmp/nntrain-jobs.XXXXXX) || exit 1
mkdir -p "$T/logs" "$T/data" "$T/runs"
BG=()
cleanup() {
    local p
    for p in ${BG[@]+"${BG[@]}"}; do kill "$p" 2>/dev/null; done
    [ -n "${SLURM_CONF:-}" ] && "$ROOT/scripts/slurm_local.sh" stop "$(dirname "$SLURM_CONF")" >/dev/null 2>&1
    if [ -n "${NNTRAIN_TEST_KEEP:-}" ]; then echo "kept $T"; else rm -rf "$T"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# ---------------------------------------------------------------- Slurm
# skip_reason: the "SKIP: ..." line, from slurm_local.sh's "cannot start" line
skip_reason() {
    local why
    why=$(grep -m1 'cannot start' "$T/slurm_start.err")
    echo "SKIP: ${why:-$(tail -n1 "$T/slurm_start.err")}"
}
# One node first: a 2-rank srun --mpi=pmix training inside sbatch --wait.
out=$("$ROOT/scripts/slurm_local.sh" start --nodes 1 2>"$T/slurm_start.err")
rc=$?
if [ $rc -eq 3 ]; then
    skip_reason
    exit 77
elif [ $rc -ne 0 ]; then
    cat "$T/slurm_start.err"
    bad "Slurm starts with 1 node" "slurm_local.sh start exited with $rc"
    echo "$pass passed, $fail failed"
    exit 1
fi
eval "$out"
ok "Slurm starts with 1 node ($(($(date +%s) - t0)) s)"
( cd "$T" && timeout "$(tlimit)" sbatch --wait --ntasks=2 --time=5 --output="$T/logs/one-%j.out" \
    --wrap "srun --mpi=pmix $NN train $ROOT/jobs/models/sqrt.nn --data synthetic:sqrt:500 --epochs 1 --verbose 2 --out $T/runs/one" \
    >/dev/null 2>"$T/one.sbatch.err" )
RC=$?
expect "one node: sbatch --wait of a 2-rank srun --mpi=pmix training: status 0" test $RC -eq 0
expect "one node: its epoch line" grep -q '^Epoch 1/1 .* - loss: ' "$T"/logs/one-*.out
"$ROOT/scripts/slurm_local.sh" stop >/dev/null 2>&1
expect "one node: stopped, no daemon left" test ! -e "$(dirname "$SLURM_CONF")"
unset SLURM_CONF
t1=$(date +%s)

out=$("$ROOT/scripts/slurm_local.sh" start --nodes 2 2>"$T/slurm_start.err")
rc=$?
if [ $rc -eq 3 ]; then
    skip_reason
    exit 77
elif [ $rc -ne 0 ]; then
    cat "$T/slurm_start.err"
    bad "Slurm starts with 2 emulated nodes" "slurm_local.sh start exited with $rc"
    echo "$pass passed, $fail failed"
    exit 1
fi
eval "$out"
ok "Slurm starts with 2 emulated nodes ($(($(date +%s) - t1)) s)"
export SLURM_CONF
expect "sinfo shows node1 and node2 idle" \
    test "$(sinfo -h -N -o '%N %T' | sort | tr '\n' ' ')" = "node1 idle node2 idle "

# ---------------------------------------------------------------- data
# Tiny data sets in the real formats: CIFAR-10 binary batches (1 label byte +
# 3,072 channel-planar pixel bytes per record, 5 training batches + test) and
# two folders of 160x90 RGB JPEGs with byte-identical duplicates.
if ! "$PY" - "$T/data" >"$T/gen.log" 2>&1 <<'EOF'
import os, shutil, sys
import numpy as np
from PIL import Image

root = sys.argv[1]
rng = np.random.default_rng(7)
cif = os.path.join(root, "cifar10", "cifar-10-batches-bin")
os.makedirs(cif)
def batch(name, n):
    labels = rng.integers(0, 10, n, dtype=np.uint8)
    x = rng.integers(0, 256, (n, 3, 32, 32), dtype=np.uint8)
    for i, l in enumerate(labels):            # a class-dependent tint: learnable
        x[i, l % 3] = x[i, l % 3] // 2 + 128
    rec = np.concatenate([labels[:, None], x.reshape(n, 3072)], axis=1)
    rec.astype(np.uint8).tofile(os.path.join(cif, name))
for k in range(1, 6):
    batch("data_batch_%d.bin" % k, 20)
batch("test_batch.bin", 20)
with open(os.path.join(cif, "batches.meta.txt"), "w") as f:
    f.write("airplane\nautomobile\nbird\ncat\ndeer\ndog\nfrog\nhorse\nship\ntruck\n\n")

rm = os.path.join(root, "rick-and-morty")
for folder, prefix, tint, n in (("AllRickImages", "Rick", 0, 24), ("AllMortyImages", "Morty", 2, 24)):
    d = os.path.join(rm, folder)
    os.makedirs(d)
    for i in range(1, n + 1):
        img = rng.integers(0, 200, (90, 160, 3), dtype=np.uint8)
        img[:, :, tint] = np.minimum(255, img[:, :, tint].astype(int) + 55)
        Image.fromarray(img, "RGB").save(os.path.join(d, "%s_%d.jpg" % (prefix, i)), quality=90)
    for i in range(1, 5):                     # byte-identical copies, as in the real set
        shutil.copyfile(os.path.join(d, "%s_%d.jpg" % (prefix, i)),
                        os.path.join(d, "%s_%d.jpg" % (prefix, n + i)))
print("ok")
EOF
then
    cat "$T/gen.log"
    bad "tiny data sets generated" "$PY with numpy and PIL failed"
    echo "$pass passed, $fail failed"
    exit 1
fi
ok "tiny data sets generated (CIFAR-10 binary 100+20 records, 2 x 28 JPEGs with 8 duplicates)"
RICK_UNIQUE=48

# ---------------------------------------------------------------- helpers
export NNTRAIN=$NN NNTRAIN_HOME=$ROOT
TINY=(--nodes=2 --ntasks-per-node=1 --cpus-per-task=1 --time=10
      --output="$T/logs/%x-%j.out" --error="$T/logs/%x-%j.err")
JOB=
RC=
LOG=
ERR=
# submit NAME SCRIPT [ENV=VALUE...] [--sbatch-option...]: sbatch --wait in
# tiny mode; sets JOB, RC (the job's exit status), LOG and ERR.
submit() {
    local name=$1 script=$2 a vars=() opts=()
    shift 2
    for a in "$@"; do case "$a" in --*) opts+=("$a") ;; *) vars+=("$a") ;; esac; done
    env ${vars[@]+"${vars[@]}"} timeout "$(tlimit)" sbatch --wait --parsable --job-name="$name" "${TINY[@]}" \
        ${opts[@]+"${opts[@]}"} "$ROOT/jobs/$script" >"$T/$name.id" 2>"$T/$name.sbatch.err"
    RC=$?
    JOB=$(tr -dc '0-9' <"$T/$name.id")
    LOG=$T/logs/$name-$JOB.out
    ERR=$T/logs/$name-$JOB.err
    [ $RC -eq 124 ] && { [ -n "$JOB" ] && scancel "$JOB"; echo "($name: job $JOB timed out)"; }
}
# check_rc NAME WANT: the job's exit status, with the log tails when wrong
check_rc() {
    if [ "$RC" -eq "$2" ]; then ok "$1: exit status $2"; else
        bad "$1: exit status $2" "got $RC (job $JOB)"
        for f in "$T/$1.sbatch.err" "$LOG" "$ERR"; do
            [ -s "$f" ] && { echo "---- $f"; tail -n 20 "$f"; }
            # a sanitizer's report comes before the launcher's dump: keep its head
            [ -s "$f" ] && grep -A 12 -m 1 -E 'ERROR: (Address|Leak)Sanitizer|runtime error:' "$f"
        done
    fi
}
# all_in FILE STRING...: FILE contains every STRING
all_in() { local f=$1 p; shift; for p in "$@"; do grep -qF -- "$p" "$f" || return 1; done; }
# rows FILE: data rows of a CSV file
rows() { awk 'NR > 1 && NF' "$1" 2>/dev/null | wc -l; }
# wait_for FILE REGEX SECONDS
wait_for() {
    local t=$(($3 * 5))
    while [ $t -gt 0 ]; do
        grep -Eq "$2" "$1" 2>/dev/null && return 0
        sleep 0.2
        t=$((t - 1))
    done
    return 1
}
# submit_bg NAME SECONDS [ENV=VALUE...]: jobs/rick_augmented.sbatch in tiny
# mode, in the background (sbatch --wait, for at most SECONDS); sets bg (its
# PID), JOB, LOG and ERR once Slurm has given the job its id.
submit_bg() {
    local name=$1 limit=$2
    shift 2
    env "${RICK[@]}" "$@" timeout "$limit" sbatch --wait --parsable --job-name="$name" "${TINY[@]}" \
        "$ROOT/jobs/rick_augmented.sbatch" >"$T/$name.id" 2>"$T/$name.sbatch.err" &
    bg=$!
    BG+=("$bg")
    wait_for "$T/$name.id" '[0-9]' 30
    JOB=$(tr -dc '0-9' <"$T/$name.id")
    LOG=$T/logs/$name-$JOB.out
    ERR=$T/logs/$name-$JOB.err
}
# wait_epoch OUTDIR LOG SECONDS PID: until one epoch is done (last.h5 or an
# epoch line; the log may be block-buffered), or sbatch PID has returned
wait_epoch() {
    local t=$(($3 * 5))
    while [ $t -gt 0 ] && kill -0 "$4" 2>/dev/null; do
        [ -s "$1/last.h5" ] && return 0
        grep -q '^Epoch 1/' "$2" 2>/dev/null && return 0
        sleep 0.2
        t=$((t - 1))
    done
    return 1
}
# nsamples FILE...: samples in every x dataset of the nntrain HDF5 files
nsamples() {
    "$PY" -c '
import sys, h5py
n = 0
for p in sys.argv[1:]:
    with h5py.File(p, "r") as f:
        for g in f.values():
            if hasattr(g, "keys") and "x" in g:
                n += g["x"].shape[0]
print(n)' "$@" 2>/dev/null
}
EPOCH_ACC='^Epoch 1/1 .* - loss: [0-9.e+-]+ - accuracy: [0-9.e+-]+'

# ---------------------------------------------------------------- cifar10 (srun)
s=$(date +%s)
submit cifar10 cifar10.sbatch NNTRAIN_DATA="$T/data/cifar10/cifar10.h5" NNTRAIN_OUT="$T/runs/cifar10" \
    NNTRAIN_EPOCHS=1 NNTRAIN_NO_REQUEUE=1 OMPI_MCA_btl_base_verbose=30
check_rc cifar10 0
echo "     (cifar10 job: $(($(date +%s) - s)) s)"
expect "cifar10: converted the binary batches to cifar10.h5" test -f "$T/data/cifar10/cifar10.h5"
expect "cifar10: ran on node1 and node2 with 2 ranks" grep -q "on 2 node(s) node\[1-2\]: 2 ranks x 1 threads" "$LOG"
expect "cifar10: global batch = 32 per rank x 2 ranks = 64" grep -q "batch 32 per rank = 64 global" "$LOG"
expect "cifar10: one epoch line with loss and accuracy" test "$(grep -Ec "$EPOCH_ACC" "$LOG")" -eq 1
expect "cifar10: evaluated on the 20 test records" grep -q "^Test (20 samples)" "$LOG"
expect "cifar10: checkpoint last.h5 written" test -s "$T/runs/cifar10/last.h5"
expect "cifar10: history.csv has 1 row" test "$(rows "$T/runs/cifar10/history.csv")" -eq 1
expect "cifar10: MPI between node1 and node2 over TCP (Open MPI btl:tcp connect() to 10.201.x.y)" \
    grep -Eq 'btl:tcp: connect\(\) to 10\.201\.[0-9]+\.[12]:[0-9]+ completed' "$ERR"

# ---------------------------------------------------------------- cifar10 (mpirun)
submit cifar10_mpirun cifar10.sbatch NNTRAIN_DATA="$T/data/cifar10/cifar10.h5" \
    NNTRAIN_OUT="$T/runs/cifar10_mpirun" NNTRAIN_EPOCHS=1 NNTRAIN_NO_REQUEUE=1 NNTRAIN_LAUNCHER=mpirun
check_rc cifar10_mpirun 0
expect "cifar10 with NNTRAIN_LAUNCHER=mpirun: one epoch line" test "$(grep -Ec "$EPOCH_ACC" "$LOG")" -eq 1
expect "cifar10 with NNTRAIN_LAUNCHER=mpirun: last.h5 written" test -s "$T/runs/cifar10_mpirun/last.h5"

# ---------------------------------------------------------------- rick_augmented
RICK=(RICK_IMAGES="$T/data/rick-and-morty" NNTRAIN_DATA="$T/data/rick_train.h5" NNTRAIN_VAL="$T/data/rick_val.h5")
s=$(date +%s)
submit rick rick_augmented.sbatch "${RICK[@]}" NNTRAIN_OUT="$T/runs/rick" NNTRAIN_EPOCHS=1 NNTRAIN_NO_REQUEUE=1
check_rc rick 0
echo "     (rick job: $(($(date +%s) - s)) s)"
expect "rick: train and validation files created" test -f "$T/data/rick_train.h5" -a -f "$T/data/rick_val.h5"
n=$(nsamples "$T/data/rick_train.h5" "$T/data/rick_val.h5")
expect "rick: duplicates removed before the split ($RICK_UNIQUE unique images, got ${n:-?})" test "${n:-0}" -eq $RICK_UNIQUE
expect "rick: one epoch line with loss, accuracy and val_accuracy" \
    grep -Eq "^Epoch 1/1 .* - loss: [0-9.e+-]+ - accuracy: [0-9.e+-]+ - val_loss: [0-9.e+-]+ - val_accuracy: [0-9.e+-]+" "$LOG"
expect "rick: best checkpoint best.h5 written" test -s "$T/runs/rick/best.h5"
expect "rick: last.h5 written" test -s "$T/runs/rick/last.h5"

# second submission, 2 epochs: resumes after epoch 1
submit rick_resume rick_augmented.sbatch "${RICK[@]}" NNTRAIN_OUT="$T/runs/rick" NNTRAIN_EPOCHS=2 NNTRAIN_NO_REQUEUE=1
check_rc rick_resume 0
expect "rick resubmitted: resumes from last.h5" grep -q "resuming from $T/runs/rick/last.h5" "$LOG"
expect "rick resubmitted: nntrain restored the state after epoch 1" \
    grep -Eq "^Resuming from $T/runs/rick/last.h5: 1 epochs? done" "$LOG"
expect "rick resubmitted: trains epoch 2 only" \
    test "$(grep -c '^Epoch 2/2 ' "$LOG")" -eq 1 -a "$(grep -c '^Epoch 1/2 ' "$LOG")" -eq 0
expect "rick resubmitted: history.csv has epochs 1 and 2" \
    test "$(tail -n +2 "$T/runs/rick/history.csv" 2>/dev/null | cut -d, -f1 | tr '\n' ' ')" = "1 2 "

# ---------------------------------------------------------------- scaling
s=$(date +%s)
env NNTRAIN_OUT="$T/runs/scaling" NNTRAIN_MAX_NODES=2 NNTRAIN_PER_RANK_BATCH=4 NNTRAIN_STEPS=2 \
    timeout "$(tlimit)" sbatch --wait --parsable --array=0-1 --job-name=scaling "${TINY[@]:0:4}" \
    --output="$T/logs/%x-%A_%a.out" --error="$T/logs/%x-%A_%a.err" \
    "$ROOT/jobs/scaling.sbatch" >"$T/scaling.id" 2>"$T/scaling.sbatch.err"
RC=$?
JOB=$(tr -dc '0-9' <"$T/scaling.id")
LOG=$T/logs/scaling-${JOB}_1.out
ERR=$T/logs/scaling-${JOB}_1.err
check_rc scaling 0
echo "     (scaling array: $(($(date +%s) - s)) s)"
for n in 1 2; do
    for m in weak strong; do
        f=$T/runs/scaling/${m}_N$n.csv
        expect "scaling: $m, N=$n: one CSV row at $n rank(s)" \
            awk -F, -v n=$n 'NR == 1 && $2 == "ranks" { h = 1 } NR == 2 && $2 == n { r = 1 } END { exit !(h && r && NR == 2) }' "$f"
    done
done
expect "scaling: array task 1 ran on 2 nodes" grep -q "N = 2^1 = 2 node(s)" "$LOG"
expect "scaling: BENCH lines in the logs" test "$(cat "$T"/logs/scaling-"$JOB"_*.out | grep -c '^BENCH ')" -eq 4

# ---------------------------------------------------------------- SIGUSR1
# A long run; once it trains, the batch shell gets SIGUSR1 (as from
# --signal=B:USR1@120) and must forward it: checkpoint, exit status 75.
# usr1_test NAME LAUNCHER [SIGNAL]: SIGNAL (default USR1) to the batch shell;
# TERM is what scancel and a time limit send it.
usr1_test() {
    local name=$1 launcher=$2 sg=${3:-USR1} s bg e
    s=$(date +%s)
    submit_bg "$name" "$(tlimit)" NNTRAIN_OUT="$T/runs/$name" NNTRAIN_EPOCHS=500 NNTRAIN_NO_REQUEUE=1 \
        NNTRAIN_LAUNCHER="$launcher"
    wait_epoch "$T/runs/$name" "$LOG" 120 "$bg" || echo "($name: no epoch done after 120 s; sending SIGUSR1 anyway)"
    scancel --signal="$sg" --batch "$JOB"
    wait "$bg"
    RC=$?
    check_rc "$name" 75
    echo "     ($name job: $(($(date +%s) - s)) s)"
    expect "SIG$sg ($launcher): the batch script forwarded it" grep -q "SIG$sg at .*checkpoint" "$LOG"
    expect "SIG$sg ($launcher): nntrain stopped with status 75" grep -q "stopped by a signal .*exit status 75" "$ERR"
    expect "SIG$sg ($launcher): no Open MPI abort banner" \
        sh -c '! grep -Eq "Primary job|detected that one or more|MPI_ABORT" "$1" "$2"' - "$LOG" "$ERR"
    expect "SIG$sg ($launcher): checkpoint last.h5 written" test -s "$T/runs/$name/last.h5"
    e=$(rows "$T/runs/$name/history.csv")
    expect "SIG$sg ($launcher): stopped early (after $e of 500 epochs)" test "$e" -ge 1 -a "$e" -lt 500
    expect "SIG$sg ($launcher): not requeued with NNTRAIN_NO_REQUEUE" grep -q "not requeueing" "$LOG"
}
usr1_test rick_usr1 srun
usr1_test rick_usr1_mpirun mpirun
usr1_test rick_term_mpirun mpirun TERM

# ---------------------------------------------------------------- rank killed
# Rank 1 of a long srun run is SIGKILLed: srun --kill-on-bad-exit ends the
# step, so the job fails within seconds instead of rank 0 waiting in MPI
# until the time limit, and the last checkpoint stays a complete file.
s=$(date +%s)
submit_bg rick_kill 90 NNTRAIN_OUT="$T/runs/rick_kill" NNTRAIN_EPOCHS=500 NNTRAIN_NO_REQUEUE=1
wait_epoch "$T/runs/rick_kill" "$LOG" 120 "$bg"
victim=
for p in $(pgrep -f -- "--out $T/runs/rick_kill"); do
    tr '\0' '\n' <"/proc/$p/environ" 2>/dev/null | grep -qx 'SLURM_PROCID=1' && victim=$p
done
tk=$(date +%s)
[ -n "$victim" ] && kill -KILL "$victim"
wait "$bg"
RC=$?
[ $RC -eq 124 ] && scancel "$JOB"
echo "     (rank-kill job: $(($(date +%s) - s)) s, $(($(date +%s) - tk)) s after the kill)"
expect "rank killed: found rank 1 of the srun step" test -n "$victim"
expect "rank killed: the job failed (status $RC, not 0, 75 or the test's timeout)" \
    test "$RC" -ne 0 -a "$RC" -ne 75 -a "$RC" -ne 124
expect "rank killed: ... within 30 s of the kill" test $(($(date +%s) - tk)) -le 30
expect "rank killed: no nntrain of the job left" sh -c "! pgrep -f -- '--out $T/runs/rick_kil[l]' >/dev/null"
expect "rank killed: last.h5 still loads" sh -c "'$NN' summary '$T/runs/rick_kill/last.h5' >/dev/null"

# ---------------------------------------------------------------- time limit
# The signal as Slurm sends it: --time=1 with --signal=B:USR1@50 (the job
# scripts say @120) reaches the batch shell about 10-20 s after the start.
s=$(date +%s)
submit rick_timelimit rick_augmented.sbatch "${RICK[@]}" NNTRAIN_OUT="$T/runs/rick_timelimit" \
    NNTRAIN_EPOCHS=5000 NNTRAIN_NO_REQUEUE=1 --time=1 --signal=B:USR1@50
check_rc rick_timelimit 75
echo "     (time-limit job: $(($(date +%s) - s)) s)"
expect "time limit: Slurm's SIGUSR1 reached the batch script" grep -q "SIGUSR1 at .*checkpoint" "$LOG"
expect "time limit: checkpoint last.h5 written" test -s "$T/runs/rick_timelimit/last.h5"
for f in cifar10 rick_augmented; do
    expect "$f.sbatch asks for --signal=B:USR1@120, --requeue and --open-mode=append" \
        test "$(grep -cE '^#SBATCH --(signal=B:USR1@120|requeue|open-mode=append)$' "$ROOT/jobs/$f.sbatch")" -eq 3
done

# ---------------------------------------------------------------- requeue
# The same with requeueing on: the job requeues itself (scontrol requeue),
# the next run resumes from last.h5 and finishes. Slurm holds a requeued job
# about 2 minutes, time for the first run's step daemons to clean up; the test
# releases it as soon as none of them is left (scontrol update StartTime):
# released 2 s after the requeue, a rank of the second run once crashed in CI
# before its first line (most likely in MPI_Init: its srun --mpi=pmix step has
# the same job and step ids as the first run's, still being cleaned up).
s=$(date +%s)
EP=25
submit_bg rick_requeue "$(tlimit)" NNTRAIN_OUT="$T/runs/rick_requeue" NNTRAIN_EPOCHS=$EP
wait_epoch "$T/runs/rick_requeue" "$LOG" 120 "$bg"
scancel --signal=USR1 --batch "$JOB"
if kill -0 "$bg" 2>/dev/null && wait_for "$LOG" "requeueing job $JOB" 60; then
    t=150
    while [ $t -gt 0 ] && kill -0 "$bg" 2>/dev/null && ! grep -q "(restart 1)" "$LOG"; do
        [ "$(squeue -h -j "$JOB" -o %T 2>/dev/null)" = PENDING ] &&
            ! pgrep -f "^slurmstepd: \[$JOB\." >/dev/null &&
            scontrol update JobId="$JOB" StartTime=now 2>/dev/null
        sleep 0.2
        t=$((t - 1))
    done
fi
wait "$bg"
RC=$?
check_rc rick_requeue 0
echo "     (requeue job: $(($(date +%s) - s)) s)"
expect "requeue: the first run stopped with status 75 and requeued the job" \
    all_in "$LOG" "exit status 75" "requeueing job $JOB"
expect "requeue: a second run of the same job (restart 1) started" grep -q "job $JOB (restart 1)" "$LOG"
expect "requeue: ... and resumed from last.h5" \
    grep -Eq "^Resuming from $T/runs/rick_requeue/last.h5: [0-9]+ epochs? done" "$LOG"
expect "requeue: trained to epoch $EP/$EP" grep -q "^Epoch $EP/$EP " "$LOG"
expect "requeue: history.csv has epochs 1..$EP once each" \
    test "$(tail -n +2 "$T/runs/rick_requeue/history.csv" 2>/dev/null | cut -d, -f1 | tr '\n' ' ')" = "$(seq -s ' ' 1 $EP) "

echo "(total $(($(date +%s) - t0)) s)"
echo "$pass passed, $fail failed"
[ $fail -eq 0 ]
