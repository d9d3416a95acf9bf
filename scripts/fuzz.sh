#!/usr/bin/env bash
# Fuzzes nntrain's readers with libFuzzer (clang -fsanitize=fuzzer,address,
# undefined), each target for a bounded time, and writes a Markdown table of
# executions and crashes to runs/fuzz/fuzz.md.
#   scripts/fuzz.sh [--seconds N] [--jobs J] [--no-build] [--report] [TARGET...]
# Targets (tests/fuzz/fuzz_<target>.c): spec keras_json idx cifar10 images
# h5data checkpoint (default: all). --seconds: per target (default 60).
# --jobs: targets run side by side (default 1; this machine has 2 cores).
# --report: only rewrite the table from the last run's logs.
# Needs the Debian packages clang and libclang-rt-14-dev (libFuzzer's
# runtime), installed here when missing, plus the build dependencies
# (scripts/setup.sh --no-build). Builds into build-fuzz/ (-DNN_FUZZ=ON).
# Each target starts from its committed seeds (tests/fuzz/corpus/<target>)
# plus what earlier runs found (runs/fuzz/corpus/<target>, not committed).
# A crash input is saved as runs/fuzz/crashes/<target>/crash-<sha1> (or
# leak-, timeout-, oom-); replay one with
#   build-fuzz/tests/fuzz/fuzz_<target> FILE
# and, once fixed, copy it to tests/fuzz/regressions/<target>/ so that the
# normal test suite replays it (test fuzz_replay). libFuzzer runs in fork
# mode, so fuzzing goes on after a crash; every crash input is replayed and
# put down to nntrain's code or to a library (HDF5, stb_image) by its
# stack. Exit status 1 when a crash input fails in nntrain's code.
set -euo pipefail
cd "$(dirname "$0")/.."

SECONDS_PER=60
JOBS=1
BUILD=1
RUN=1
TARGETS=()
ALL=(spec keras_json idx cifar10 images h5data checkpoint)
while [ $# -gt 0 ]; do
  case "$1" in
    --seconds) SECONDS_PER=$2; shift 2 ;;
    --jobs) JOBS=$2; shift 2 ;;
    --no-build) BUILD=0; shift ;;
    --report) RUN=0; BUILD=0; shift ;;
    -h|--help) sed -n '2,20p' "$0"; exit 0 ;;
    -*) echo "fuzz.sh: unknown option $1" >&2; exit 2 ;;
    *) TARGETS+=("$1"); shift ;;
  esac
done
[ ${#TARGETS[@]} -gt 0 ] || TARGETS=("${ALL[@]}")
for t in "${TARGETS[@]}"; do
  [ -f "tests/fuzz/fuzz_$t.c" ] || { echo "fuzz.sh: no target '$t' (known: ${ALL[*]})" >&2; exit 2; }
done

if [ "$BUILD" -eq 1 ]; then
  missing=()
  for p in clang libclang-rt-14-dev; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  if [ ${#missing[@]} -gt 0 ]; then
    echo "fuzz.sh: installing ${missing[*]}"
    SUDO=""
    [ "$(id -u)" -eq 0 ] || SUDO=sudo
    export DEBIAN_FRONTEND=noninteractive
    $SUDO apt-get update -qq
    $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
  fi
  scripts/setup.sh --no-build >/dev/null
  cmake -S . -B build-fuzz -DCMAKE_C_COMPILER=clang -DNN_FUZZ=ON -DBUILD_TESTING=OFF \
    -DCMAKE_BUILD_TYPE=RelWithDebInfo "-DCMAKE_C_FLAGS_RELWITHDEBINFO=-O1 -g" >/dev/null
  cmake --build build-fuzz -j"$(nproc)" --target "${TARGETS[@]/#/fuzz_}" >/dev/null
fi

OUT=runs/fuzz
mkdir -p "$OUT"
# A reader may ask for a lot of memory because a header says so: above
# 2 GiB the allocation fails (NULL) instead of ending the run, so the
# reader's out-of-memory path is exercised; what it then touches counts
# against libFuzzer's 2 GiB RSS limit (an "oom-" finding).
export ASAN_OPTIONS=${ASAN_OPTIONS:-allocator_may_return_null=1:max_allocation_size_mb=2048:detect_leaks=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
export OPENBLAS_NUM_THREADS=1

declare -A READER=(
  [spec]="model-spec parser + model builder (nn_spec_parse, nn_model_build, Keras JSON round trip)"
  [keras_json]="Keras JSON config loader (nn_keras_json_to_spec)"
  [idx]="IDX reader (nn_idx_open, plain and gzip)"
  [cifar10]="CIFAR-10 binary reader (nn_convert_cifar10)"
  [images]="image-folder loader (nn_images_load, stb_image)"
  [h5data]="HDF5 dataset reader (nn_h5_open, nn_h5_load)"
  [checkpoint]="checkpoint reader (nn_ckpt_load_model, nn_ckpt_load_state)")

# Library leaks (HDF5 keeps blocks when it fails on a corrupt object header)
# can only be told from ours with full stacks, which slows HDF5 100-fold:
# the HDF5 targets run without leak checks here; fuzz_replay under
# scripts/test.sh --sanitize checks their committed inputs with full stacks.
declare -A LEAKS=([h5data]=0 [checkpoint]=0)

# libFuzzer's fork mode (one worker): a crash is saved and fuzzing goes on,
# so a bug inside a library (HDF5, stb_image) does not end the run.
run_one() {
  local t=$1 work=$OUT/corpus/$t crashes=$OUT/crashes/$t log=$OUT/$t.log
  mkdir -p "$work" "$crashes"
  touch "$OUT/$t.start"
  local rc=0
  # the targets' scratch files; a worker that crashed leaves its own behind
  mkdir -p "$OUT/tmp/$t"
  TMPDIR=$PWD/$OUT/tmp/$t ASAN_OPTIONS="$ASAN_OPTIONS:detect_leaks=${LEAKS[$t]:-1}" \
  build-fuzz/tests/fuzz/fuzz_"$t" -fork=1 -ignore_crashes=1 -ignore_ooms=1 -ignore_timeouts=1 \
    -max_total_time="$SECONDS_PER" -timeout=10 -rss_limit_mb=2048 \
    -artifact_prefix="$crashes/" "$work" "tests/fuzz/corpus/$t" >"$log" 2>&1 || rc=$?
  echo "$rc" >"$OUT/$t.rc"
  rm -rf "$OUT/tmp/$t"
}

# Where a crash input fails: "nntrain" when the first frame below the
# sanitizer runtime is in our sources, else the library's name.
triage() {
  local t=$1 f=$2 out=$2.txt
  mkdir -p "$OUT/tmp/triage"
  TMPDIR=$PWD/$OUT/tmp/triage ASAN_OPTIONS="$ASAN_OPTIONS:detect_leaks=${LEAKS[$t]:-1}" \
    timeout 120 build-fuzz/tests/fuzz/fuzz_"$t" -rss_limit_mb=2048 -timeout=10 "$f" >"$out" 2>&1
  if grep -q 'out-of-memory (used:' "$out"; then
    # RSS over the limit: libFuzzer's stack is its watchdog thread's
    echo "memory over 2 GB, no allocation stack (see $out)"
    return
  fi
  local frame
  frame=$(grep -E '^ +#[0-9]+ 0x[0-9a-f]+ in ' "$out" |
    grep -vE ' in (__interceptor_|__asan|__sanitizer|__ubsan|__lsan|fuzzer::|malloc|calloc|realloc|free|operator new|main|_start|__libc_start|__pthread_kill|raise|abort) ' |
    grep -vE 'libclang_rt|compiler-rt|libc\.so|libstdc\+\+|/fuzz_[a-z0-9_]+\+0x' | head -1)
  case "$frame" in
    *"/src/"*|*tests/fuzz/*) echo "nntrain: $(sed -E 's/.* in ([^ ]+) .*\/(src|tests)\/([^ ]+).*/\1 \2\/\3/' <<<"$frame")" ;;
    *libhdf5*) echo "HDF5 library" ;;
    *stb_image*) echo "stb_image" ;;
    "") grep -q 'ERROR' "$out" && echo "no stack, see $out" ||
          echo "fixed: no longer fails" ;;
    *) echo "library: $frame" ;;
  esac
}

pids=()
for t in "${TARGETS[@]}"; do
  [ "$RUN" -eq 1 ] || break
  echo "fuzz.sh: $t for ${SECONDS_PER}s ..."
  run_one "$t" &
  pids+=($!)
  if [ ${#pids[@]} -ge "$JOBS" ]; then
    wait "${pids[0]}"
    pids=("${pids[@]:1}")
  fi
done
for p in "${pids[@]}"; do wait "$p"; done

crashed=0
{
  echo "| target | reader | seconds | executions | exec/s | crash inputs in nntrain code | in libraries |"
  echo "|---|---|---:|---:|---:|---|---|"
  for t in "${TARGETS[@]}"; do
    rc=$(cat "$OUT/$t.rc")
    execs=$(grep -E '^#[0-9]+: cov:' "$OUT/$t.log" | tail -1 | sed -E 's/^#([0-9]+):.*/\1/')
    mapfile -t found < <(find "$OUT/crashes/$t" -type f ! -name '*.txt' -newer "$OUT/$t.start" | sort)
    ours="" lib="" nours=0 nlib=0
    for f in "${found[@]}"; do
      where=$(triage "$t" "$f")
      kind=$(basename "$f" | cut -d- -f1)
      case "$where" in
        fixed:*) ours+="$kind \`$(basename "$f" | cut -c1-16)\` (fixed since); " ;;
        nntrain:*) ours+="$kind \`$(basename "$f" | cut -c1-16)\` (${where#nntrain: }); "; nours=$((nours + 1)) ;;
        *) lib+="$kind: ${where}; "; nlib=$((nlib + 1)) ;;
      esac
    done
    [ "$nours" -gt 0 ] && crashed=1
    [ "$rc" -ne 0 ] && [ -z "$execs" ] && { crashed=1; ours="fuzzer exit status $rc, see $OUT/$t.log"; }
    # library findings, summarised: "3 timeout: HDF5 library; 2 crash: HDF5 library"
    libsum=$(tr ';' '\n' <<<"$lib" | sed 's/^ *//' | grep -v '^$' | sort | uniq -c | sed -E 's/^ *([0-9]+) /\1 /' | paste -sd';' - | sed 's/;/; /g' || true)
    printf '| %s | %s | %s | %s | %s | %s | %s |\n' "$t" "${READER[$t]}" "$SECONDS_PER" \
      "${execs:-?}" "$(( ${execs:-0} / SECONDS_PER ))" "${ours:-none}" "${libsum:-none}"
  done
} >"$OUT/fuzz.md"
rm -rf "$OUT/tmp"
echo
cat "$OUT/fuzz.md"
echo "fuzz.sh: table written to $OUT/fuzz.md"
exit $crashed
