#!/usr/bin/env bash
# The stall watchdog ends a job whose rank 1 hangs: exit status 3 (NN_EXIT_STALL)
# within 30 s, and rank 0's message names rank 1. Usage: mpi_stall.sh MPIEXEC PROGRAM
set -u
mpiexec=$1 prog=$2
out=$(mktemp)
trap 'rm -f "$out"' EXIT
start=$(date +%s)
timeout 60 "$mpiexec" -n 3 --oversubscribe "$prog" >"$out" 2>&1
rc=$?
took=$(( $(date +%s) - start ))
pass=0 fail=0
check() { if eval "$2"; then pass=$((pass+1)); echo "ok   $1"; else fail=$((fail+1)); echo "FAIL $1"; fi; }
check "exit status 3 (got $rc)" '[ "$rc" -eq 3 ]'
check "ended within 30 s (took ${took}s)" '[ "$took" -le 30 ]'
check "rank 0 names rank 1, its host and pid" 'grep -q "stall: rank 1 (host [^,]*, pid [0-9]*) has not reached the gradient allreduce of step 3" "$out"'
check "the program did not run on past the stall" '! grep -q "watchdog did not fire" "$out"'
[ "$fail" -eq 0 ] || cat "$out"
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
