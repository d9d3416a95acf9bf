# Shared helpers for the shell tests (tests/cli/*.sh, tests/fault/*.sh,
# tests/valgrind.sh, tests/bad_inputs.sh): data sets generated with
# printf/head/gzip (IDX), nntrain's own converter (HDF5) or Debian's
# /usr/bin/python3 + h5py (HDF5 files nntrain would not write), and a
# pass/fail tally. Source it; it defines functions only.

# be32 N: a big-endian uint32 as printf escapes
be32() {
    printf '\\x%02x\\x%02x\\x%02x\\x%02x' $(($1 >> 24 & 255)) $(($1 >> 16 & 255)) \
        $(($1 >> 8 & 255)) $(($1 & 255))
}
# idx_images FILE N ROWS COLS [MAGIC] [DATA_BYTES]: header, then DATA_BYTES
# pixels (default N*ROWS*COLS; fewer makes a truncated file).
idx_images() {
    local f=$1 n=$2 r=$3 c=$4 magic=${5:-2051} bytes=${6:-$(($2 * $3 * $4))}
    { printf "$(be32 "$magic")$(be32 "$n")$(be32 "$r")$(be32 "$c")"
      head -c "$bytes" /dev/zero | tr '\0' '\200'; } >"$f"
}
# idx_labels FILE N [CLASSES]: labels i % CLASSES (default 10)
idx_labels() {
    local f=$1 n=$2 k=${3:-10} s="" i
    for ((i = 0; i < n; i++)); do s+=$(printf '\\x%02x' $((i % k))); done
    { printf "$(be32 2049)$(be32 "$n")"; printf "$s"; } >"$f"
}
# idx_dir DIR [N] [SIDE]: a valid Fashion-MNIST-shaped train split (default
# 20 images of 28x28)
idx_dir() {
    local n=${2:-20} side=${3:-28}
    mkdir -p "$1"
    idx_images "$1/train-images-idx3-ubyte" "$n" "$side" "$side"
    idx_labels "$1/train-labels-idx1-ubyte" "$n"
}
# idx_dir_random DIR N SIDE: like idx_dir with random pixels (learnable
# neither way, but not constant) and a t10k split of N/4 images
idx_dir_random() {
    local d=$1 n=$2 s=$3 split m
    mkdir -p "$d"
    for split in train t10k; do
        m=$n
        [ $split = t10k ] && m=$((n / 4 > 0 ? n / 4 : 1))
        { printf "$(be32 2051)$(be32 "$m")$(be32 "$s")$(be32 "$s")"
          head -c $((m * s * s)) /dev/urandom; } >"$d/$split-images-idx3-ubyte"
        idx_labels "$d/$split-labels-idx1-ubyte" "$m"
    done
}
# h5_from_idx NNTRAIN OUT.h5 [N] [SIDE]: an nntrain HDF5 data set (train and
# test splits, 10 classes) made by `nntrain convert idx`
h5_from_idx() {
    local nn=$1 out=$2 n=${3:-64} s=${4:-8} d
    d=$(mktemp -d "${TMPDIR:-/tmp}/nntrain-idx.XXXXXX") || return 1
    idx_dir_random "$d" "$n" "$s"
    "$nn" convert idx "$d" -o "$out" >/dev/null
    local rc=$?
    rm -rf "$d"
    return $rc
}
# have_h5py: Debian's python3 with h5py and numpy is there
have_h5py() {
    /usr/bin/python3 -c 'import h5py, numpy' >/dev/null 2>&1
}
# h5py_file OUT.h5 PYTHON: runs PYTHON with f = h5py.File(OUT, "w") and np
h5py_file() {
    /usr/bin/python3 - "$1" <<PY
import sys, h5py, numpy as np
with h5py.File(sys.argv[1], "w") as f:
$(printf '%s\n' "$2" | sed 's/^/    /')
PY
}

# tally: ok NAME / bad NAME WHY (or check NAME EXPR), then finish (prints "N passed, M failed"
# and returns non-zero when a check failed)
TALLY_PASS=0
TALLY_FAIL=0
ok() { TALLY_PASS=$((TALLY_PASS + 1)); echo "ok   $1"; }
bad() { TALLY_FAIL=$((TALLY_FAIL + 1)); echo "FAIL $1: $2"; }
# check NAME EXPR: ok when the shell expression EXPR succeeds, else bad
check() { if eval "$2"; then ok "$1"; else bad "$1" "$2"; fi; }
finish() {
    echo "$TALLY_PASS passed, $TALLY_FAIL failed"
    [ "$TALLY_FAIL" -eq 0 ]
}
