#!/usr/bin/env bash
# A rank killed with SIGKILL in the middle of training under mpiexec -n 3:
# the whole job ends (no rank left hanging in a collective) within 30 s
# with a non-zero exit status, the last checkpoint (DIR/last.h5, written
# every epoch) is still a complete file that loads, and the ranks left write
# their rows of the --timeline (no gather can run: rank 0 FILE, rank 2
# FILE.rank2) when mpirun's SIGTERM finds them waiting for rank 1.
#   rank_kill.sh NNTRAIN MPIEXEC
set -u
NN=${1:?usage: rank_kill.sh NNTRAIN MPIEXEC}
MPIEXEC=${2:?usage: rank_kill.sh NNTRAIN MPIEXEC}
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/../cli/lib.sh"
T=$(mktemp -d "${TMPDIR:-/tmp}/nntrain-kill.XXXXXX") || exit 1
OUT=$T/run-$$-killtest      # unique: it finds this job's processes
JOB=""
cleanup() {
    [ -n "$JOB" ] && kill -KILL "$JOB" 2>/dev/null
    pkill -KILL -f -- "$OUT" 2>/dev/null
    rm -rf "$T"
}
trap cleanup EXIT
export OPENBLAS_NUM_THREADS=1

# About 1 s per epoch on 3 ranks: a checkpoint exists after the first
# epochs, and the job would run for minutes if nothing stopped it.
cat >"$T/m.nn" <<'S'
Dense(64, activation="relu", input_shape=(1,))
Dense(64, activation="relu")
Dense(1)
compile(loss="mse", optimizer=Adam(lr=0.001))
fit(batch_size=32, epochs=500, seed=1)
S
"$MPIEXEC" -n 3 --oversubscribe "$NN" train "$T/m.nn" --data synthetic:sqrt:20000 \
    --out "$OUT" --verbose 2 --no-test --threads 1 --timeline "$T/tl.json" >"$T/out" 2>"$T/err" &
JOB=$!

# rank PIDS: the nntrain processes of this job, by their --out argument;
# the rank of each from OMPI_COMM_WORLD_RANK in its environment
rank_pid() {
    local p
    for p in $(pgrep -f -- "train $T/m.nn.*--out $OUT"); do
        tr '\0' '\n' <"/proc/$p/environ" 2>/dev/null | grep -qx "OMPI_COMM_WORLD_RANK=$1" &&
            { echo "$p"; return 0; }
    done
    return 1
}
for ((i = 0; i < 600; i++)); do   # up to 60 s for two epochs and a checkpoint
    [ "$(grep -c "^Epoch" "$T/out" 2>/dev/null)" -ge 2 ] 2>/dev/null && [ -f "$OUT/last.h5" ] && break
    kill -0 "$JOB" 2>/dev/null || break
    sleep 0.1
done
if ! [ -f "$OUT/last.h5" ] || ! kill -0 "$JOB" 2>/dev/null; then
    bad "job running with a checkpoint" "no $OUT/last.h5 after 60 s, or the job ended: $(tail -3 "$T/err")"
    finish
    exit 1
fi
ok "3 ranks training, $(grep -c '^Epoch' "$T/out") epochs done, last.h5 written"

victim=$(rank_pid 1)
if [ -z "$victim" ]; then
    bad "find rank 1" "no process with OMPI_COMM_WORLD_RANK=1"
    finish
    exit 1
fi
kill -KILL "$victim"
t0=$(date +%s)
ended=0
for ((i = 0; i < 300; i++)); do
    kill -0 "$JOB" 2>/dev/null || { ended=1; break; }
    sleep 0.1
done
dt=$(($(date +%s) - t0))
if [ $ended -eq 1 ]; then
    wait "$JOB"
    rc=$?
    JOB=""
    ok "the job ended ${dt} s after SIGKILL of rank 1"
    [ $rc -ne 0 ] && ok "mpiexec exit status $rc (non-zero)" || bad "exit status" "0 after a rank was killed"
else
    bad "the job ends within 30 s" "still running after ${dt} s"
fi
sleep 1
left=$(pgrep -f -- "--out $OUT" | tr '\n' ' ')
[ -z "$left" ] && ok "no rank left running" || bad "no rank left running" "still alive: $left"
grep -m1 -iE 'error|abort|killed|exited|terminated' "$T/err" | sed 's/^/     stderr: /'

# the checkpoint written before the kill is complete (temp name + rename)
if "$NN" summary "$OUT/last.h5" >"$T/sum" 2>&1 && grep -q 'Total params: 4,353' "$T/sum"; then
    ok "last.h5 loads (nntrain summary: 4,353 params)"
else
    bad "last.h5 loads" "$(tail -2 "$T/sum")"
fi
for f in "$T/tl.json" "$T/tl.json.rank2"; do
    if /usr/bin/python3 -c 'import json, sys; d = json.load(open(sys.argv[1])); ev = d["traceEvents"]
assert any(e["ph"] == "X" for e in ev) and any("stop requested" in e["name"] for e in ev)' "$f" 2>"$T/py"; then
        ok "timeline row of a rank left: $(basename "$f") is valid JSON, marked 'stop requested'"
    else
        bad "timeline row of a rank left ($(basename "$f"))" "$(tail -1 "$T/py")"
    fi
done
tmps=$(find "$OUT" -name '*.tmp*' | tr '\n' ' ')
[ -z "$tmps" ] && ok "no temporary checkpoint left in --out" ||
    echo "note: temporary files left by the killed job (not loaded): $tmps"
finish
