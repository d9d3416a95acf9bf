#!/usr/bin/env bash
# Preemption and aborts of `nntrain train` under mpiexec (2 ranks):
#  1. the job script's own launch path (jobs/rick_augmented.sbatch run by bash
#     outside Slurm, NNTRAIN_LAUNCHER=mpirun): SIGTERM to the script ->
#     status 75, last.h5 loads, the timeline is complete, no Open MPI banner;
#     and SIGUSR1 as the script starts, before the ranks are up -> still 75;
#  2. SIGUSR1 to `mpiexec -q` -> status 75, no banner, the run resumes;
#  3. SIGTERM to mpiexec itself: Open MPI 4 exits 1 whatever the ranks return
#     (README "Running on many ranks"), but the ranks still checkpoint and
#     mpirun prints no banner;
#  4. a stall (3 ranks, rank 1 stopped with SIGSTOP, --stall-timeout 4) ->
#     status 3, rank 0 names rank 1 only (also when rank 1 stopped inside a
#     collective: it went silent) and still writes a valid timeline with the
#     stall marked; also with BatchNormalization (its statistics allreduce);
#  5. a NaN loss (an absurd learning rate) -> status 1, and the ranks, which
#     agree on the failure, gather and write the whole timeline.
# Waits are bounded polls, not fixed sleeps (a loaded 2-core machine).
#   preempt.sh NNTRAIN MPIEXEC
set -u
NN=${1:?usage: preempt.sh NNTRAIN MPIEXEC}
MPIEXEC=${2:?usage: preempt.sh NNTRAIN MPIEXEC}
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
. "$HERE/lib.sh"
T=$(mktemp -d "${TMPDIR:-/tmp}/nntrain-preempt.XXXXXX") || exit 1
JOB=""
cleanup() {
    [ -n "$JOB" ] && kill -KILL "$JOB" 2>/dev/null
    pkill -KILL -f -- "--out $T/" 2>/dev/null
    rm -rf "$T"
}
trap cleanup EXIT
export OPENBLAS_NUM_THREADS=1
# the job script's mpirun has no --oversubscribe: allow it on small machines
export OMPI_MCA_rmaps_base_oversubscribe=1
BANNER='Primary job|mpirun detected|mpiexec detected|MPI_ABORT|noticed that process|job aborted|Forwarding signal'
PY=/usr/bin/python3

# wait_for FILE REGEX SECONDS PID: until FILE has a line matching REGEX, PID
# ends, or SECONDS pass
wait_for() {
    local i
    for ((i = 0; i < $3 * 10; i++)); do
        grep -Eq "$2" "$1" 2>/dev/null && return 0
        kill -0 "$4" 2>/dev/null || return 1
        sleep 0.1
    done
    return 1
}
# ended PID SECONDS: waits for PID (a child) up to SECONDS; sets RC (124: still running)
ended() {
    local i
    for ((i = 0; i < $2 * 10; i++)); do
        if ! kill -0 "$1" 2>/dev/null; then
            wait "$1"
            RC=$?
            JOB=""
            return 0
        fi
        sleep 0.1
    done
    RC=124
    return 1
}
# rank_pid R OUT: the pid of rank R of the job writing to OUT
rank_pid() {
    local p
    for p in $(pgrep -f -- "--out $2"); do
        tr '\0' '\n' <"/proc/$p/environ" 2>/dev/null | grep -qx "OMPI_COMM_WORLD_RANK=$1" &&
            { echo "$p"; return 0; }
    done
    return 1
}
# json_ok FILE [NEEDLE]: a complete Chrome trace: valid JSON, rank rows, at
# least one timed event, and an event whose name holds NEEDLE
json_ok() {
    $PY - "$1" "${2:-}" <<'P'
import json, sys
d = json.load(open(sys.argv[1]))
ev = d["traceEvents"]
assert any(e["ph"] == "M" for e in ev), "no rank rows"
assert any(e["ph"] == "X" and e["dur"] >= 0 for e in ev), "no timed events"
assert not sys.argv[2] or any(sys.argv[2] in e["name"] for e in ev), "no event " + sys.argv[2]
P
}
no_banner() { ! grep -Eq "$BANNER" "$1"; }

h5_from_idx "$NN" "$T/d.h5" 512 8 || { echo "cannot make the data set"; exit 1; }
cat >"$T/m.nn" <<'S'
Flatten(input_shape=(8, 8, 1))
Dense(32, activation="relu")
Dense(10, activation="softmax")
compile(loss="sparse_categorical_crossentropy", optimizer=SGD(lr=0.01), metrics=["accuracy"])
fit(batch_size=16, epochs=100000, seed=1)
S

# ---- 1. the job script, SIGTERM to it (as Slurm's time limit or scancel)
O=$T/job
env SLURM_NTASKS=2 SLURM_NTASKS_PER_NODE=2 SLURM_CPUS_PER_TASK=1 NNTRAIN="$NN" NNTRAIN_HOME="$ROOT" \
    NNTRAIN_LAUNCHER=mpirun NNTRAIN_MODEL="$T/m.nn" NNTRAIN_DATA="$T/d.h5" NNTRAIN_VAL="$T/d.h5" \
    NNTRAIN_OUT="$O" NNTRAIN_NO_REQUEUE=1 NNTRAIN_EXTRA_ARGS="--timeline $T/job.json" \
    bash "$ROOT/jobs/rick_augmented.sbatch" >"$T/1.out" 2>"$T/1.err" &
JOB=$!
if wait_for "$T/1.out" '^Epoch 1/' 90 "$JOB"; then
    kill -TERM "$JOB"
    ended "$JOB" 60
    [ $RC -eq 75 ] && ok "job script, SIGTERM: exit status 75" ||
        bad "job script, SIGTERM: exit status 75" "got $RC; $(tail -3 "$T/1.err")"
    grep -q "stopped early, checkpoint" "$T/1.out" && ok "job script: reports the stop" ||
        bad "job script: reports the stop" "$(tail -3 "$T/1.out")"
    no_banner "$T/1.err" && ok "job script: no Open MPI banner" ||
        bad "job script: no Open MPI banner" "$(grep -E "$BANNER" "$T/1.err" | head -2)"
    "$NN" summary "$O/last.h5" >/dev/null 2>&1 && ok "job script: last.h5 loads" ||
        bad "job script: last.h5 loads" "$(ls "$O")"
    json_ok "$T/job.json" 2>"$T/1.py" && ok "job script: timeline complete" ||
        bad "job script: timeline complete" "$(tail -1 "$T/1.py")"
else
    bad "job script trains" "no epoch line in 90 s: $(tail -3 "$T/1.err")"
fi
[ -n "$JOB" ] && kill -KILL "$JOB" 2>/dev/null
JOB=""

# ---- 1b. SIGUSR1 to the script as it starts (a job whose time limit is
# shorter than the --signal lead): the script holds it until every rank takes
# it; passed on at once, it killed a rank still starting up (seen in CI)
O=$T/early
env SLURM_NTASKS=2 SLURM_NTASKS_PER_NODE=2 SLURM_CPUS_PER_TASK=1 NNTRAIN="$NN" NNTRAIN_HOME="$ROOT" \
    NNTRAIN_LAUNCHER=mpirun NNTRAIN_MODEL="$T/m.nn" NNTRAIN_DATA="$T/d.h5" NNTRAIN_VAL="$T/d.h5" \
    NNTRAIN_OUT="$O" NNTRAIN_NO_REQUEUE=1 \
    bash "$ROOT/jobs/rick_augmented.sbatch" >"$T/1b.out" 2>"$T/1b.err" &
JOB=$!
if wait_for "$T/1b.out" '^rick_augmented: job' 60 "$JOB"; then
    kill -USR1 "$JOB"
    ended "$JOB" 90
    [ $RC -eq 75 ] && ok "job script, SIGUSR1 at its start: exit status 75" ||
        bad "job script, SIGUSR1 at its start: exit status 75" "got $RC; $(tail -3 "$T/1b.err")"
    "$NN" summary "$O/last.h5" >/dev/null 2>&1 && ok "job script, SIGUSR1 at its start: last.h5 loads" ||
        bad "job script, SIGUSR1 at its start: last.h5 loads" "$(ls -A "$O")"
    [ -z "$(ls -A "$O" | grep '^\.ready')" ] && ok "job script: no ready file left" ||
        bad "job script: no ready file left" "$(ls -A "$O")"
else
    bad "job script starts" "no start line in 60 s: $(tail -3 "$T/1b.err")"
fi
[ -n "$JOB" ] && kill -KILL "$JOB" 2>/dev/null
JOB=""

# ---- 2. SIGUSR1 to mpiexec -q, then resume
O=$T/usr1
TRAIN=(train "$T/m.nn" --data "$T/d.h5" --out "$O" --verbose 2 --no-test --threads 1)
"$MPIEXEC" -q -n 2 --oversubscribe "$NN" "${TRAIN[@]}" --timeline "$T/usr1.json" \
    >"$T/2.out" 2>"$T/2.err" &
JOB=$!
if wait_for "$T/2.out" '^Epoch 1/' 90 "$JOB"; then
    kill -USR1 "$JOB"
    ended "$JOB" 60
    [ $RC -eq 75 ] && ok "mpiexec -q, SIGUSR1: exit status 75" ||
        bad "mpiexec -q, SIGUSR1: exit status 75" "got $RC; $(tail -3 "$T/2.err")"
    no_banner "$T/2.err" && ok "mpiexec -q, SIGUSR1: no Open MPI banner" ||
        bad "mpiexec -q, SIGUSR1: no Open MPI banner" "$(grep -E "$BANNER" "$T/2.err" | head -2)"
    json_ok "$T/usr1.json" 2>"$T/2.py" && ok "mpiexec -q, SIGUSR1: timeline complete" ||
        bad "mpiexec -q, SIGUSR1: timeline complete" "$(tail -1 "$T/2.py")"
    done_ep=$(($(wc -l <"$O/history.csv") - 1))
    timeout 120 "$MPIEXEC" -q -n 2 --oversubscribe "$NN" "${TRAIN[@]}" --resume auto \
        --epochs $((done_ep + 1)) >"$T/2r.out" 2>"$T/2r.err"
    rc=$?
    [ $rc -eq 0 ] && grep -q "^Resuming from $O/last.h5" "$T/2r.out" &&
        grep -q "^Epoch $((done_ep + 1))/$((done_ep + 1))" "$T/2r.out" &&
        ok "resumed from the checkpoint and finished epoch $((done_ep + 1))" ||
        bad "resume" "status $rc: $(tail -2 "$T/2r.err")"
else
    bad "mpiexec -q trains" "no epoch line in 90 s: $(tail -3 "$T/2.err")"
fi
[ -n "$JOB" ] && kill -KILL "$JOB" 2>/dev/null
JOB=""

# ---- 3. SIGTERM to mpiexec itself: Open MPI's exit status, nntrain's checkpoint
O=$T/term
"$MPIEXEC" -n 2 --oversubscribe "$NN" train "$T/m.nn" --data "$T/d.h5" --out "$O" --verbose 2 \
    --no-test --threads 1 >"$T/3.out" 2>"$T/3.err" &
JOB=$!
if wait_for "$T/3.out" '^Epoch 1/' 90 "$JOB"; then
    kill -TERM "$JOB"
    ended "$JOB" 60
    [ $RC -eq 1 ] && ok "SIGTERM to mpiexec: status 1 (Open MPI 4 records 1 itself; see README)" ||
        bad "SIGTERM to mpiexec: status 1 as documented" "got $RC: update README and this test"
    no_banner "$T/3.err" && ok "SIGTERM to mpiexec: no Open MPI banner" ||
        bad "SIGTERM to mpiexec: no Open MPI banner" "$(grep -E "$BANNER" "$T/3.err" | head -2)"
    grep -q "stopped by a signal" "$T/3.err" &&
        "$NN" summary "$O/last.h5" >/dev/null 2>&1 &&
        ok "SIGTERM to mpiexec: the ranks checkpointed in mpirun's 1 s grace" ||
        bad "SIGTERM to mpiexec: checkpoint" "$(tail -2 "$T/3.err")"
else
    bad "mpiexec trains" "no epoch line in 90 s: $(tail -3 "$T/3.err")"
fi
[ -n "$JOB" ] && kill -KILL "$JOB" 2>/dev/null
JOB=""

# ---- 4. a stall: rank 1 stopped; rank 0 writes its timeline before MPI_Abort
O=$T/stall
"$MPIEXEC" -q -n 3 --oversubscribe "$NN" train "$T/m.nn" --data "$T/d.h5" --out "$O" --verbose 2 \
    --no-test --threads 1 --stall-timeout 4 --timeline "$T/stall.json" >"$T/4.out" 2>"$T/4.err" &
JOB=$!
if wait_for "$T/4.out" '^Epoch 1/' 90 "$JOB" && victim=$(rank_pid 1 "$O"); then
    kill -STOP "$victim"
    ended "$JOB" 30
    [ $RC -eq 3 ] && ok "stall: exit status 3 within 30 s" ||
        bad "stall: exit status 3 within 30 s" "got $RC: $(tail -2 "$T/4.err")"
    msg=$(grep -m1 'stall:' "$T/4.err")
    grep -Eq "stall: rank 1 \(host [^,]+, pid $victim\) has (not reached|stopped responding in) the " <<<"$msg" &&
        ok "stall: names rank 1, its host and pid, and no other rank" || bad "stall: names rank 1 only" "$msg"
    json_ok "$T/stall.json" "stall: rank 0 ends the job" 2>"$T/4.py" &&
        ok "stall: rank 0's timeline is valid JSON and marks the stall" ||
        bad "stall: timeline" "$(tail -1 "$T/4.py")"
    kill -CONT "$victim" 2>/dev/null
else
    bad "stall run trains" "no epoch line in 90 s or no rank 1: $(tail -3 "$T/4.err")"
fi

# ---- 4b. the same with BatchNormalization: the stopped rank leaves the others
# in the layer's statistics allreduce (the first collective of a step), which
# waited unguarded before (rank 0 hung there for ever)
sed 's/^Dense(32, activation="relu")$/Dense(32)\nBatchNormalization()\nActivation("relu")/' "$T/m.nn" >"$T/bn.nn"
O=$T/stallbn
"$MPIEXEC" -q -n 2 --oversubscribe "$NN" train "$T/bn.nn" --data "$T/d.h5" --out "$O" --verbose 2 \
    --no-test --threads 1 --stall-timeout 4 >"$T/4b.out" 2>"$T/4b.err" &
JOB=$!
if grep -q BatchNormalization "$T/bn.nn" && wait_for "$T/4b.out" '^Epoch 1/' 90 "$JOB" &&
    victim=$(rank_pid 1 "$O"); then
    kill -STOP "$victim"
    ended "$JOB" 30
    [ $RC -eq 3 ] && ok "stall with BatchNormalization: exit status 3 within 30 s" ||
        bad "stall with BatchNormalization: exit status 3 within 30 s" "got $RC: $(tail -2 "$T/4b.err")"
    grep -Eq "stall: rank 1 \(host [^,]+, pid $victim\)" "$T/4b.err" &&
        ok "stall with BatchNormalization: names rank 1" ||
        bad "stall with BatchNormalization: names rank 1" "$(grep -m1 'stall' "$T/4b.err")"
    kill -CONT "$victim" 2>/dev/null
    [ -n "$JOB" ] && kill -KILL "$JOB" 2>/dev/null
    JOB=""
else
    bad "stall run with BatchNormalization trains" "no epoch line in 90 s or no rank 1: $(tail -3 "$T/4b.err")"
fi

# ---- 5. a NaN loss: every rank stops at the same step, the trace is gathered
sed 's/SGD(lr=0.01)/SGD(lr=1e12)/' "$T/m.nn" >"$T/nan.nn"
timeout 120 "$MPIEXEC" -q -n 2 --oversubscribe "$NN" train "$T/nan.nn" --data "$T/d.h5" \
    --out "$T/nan" --no-test --threads 1 --timeline "$T/nan.json" >"$T/5.out" 2>"$T/5.err"
rc=$?
[ $rc -eq 1 ] && grep -q "NaN/Inf" "$T/5.err" && ok "NaN loss: status 1 with the NaN message" ||
    bad "NaN loss: status 1" "got $rc: $(tail -1 "$T/5.err")"
$PY -c 'import json, sys; ev = json.load(open(sys.argv[1]))["traceEvents"]
assert {e["tid"] for e in ev if e["ph"] == "X"} == {0, 1}, "not both ranks"' "$T/nan.json" 2>"$T/5.py" &&
    ok "NaN loss: the timeline holds both ranks' rows" || bad "NaN loss: timeline" "$(tail -1 "$T/5.py")"
finish
