#!/usr/bin/env bash
# Downloads the official CIFAR-10 binary version, checks its MD5, unpacks it
# and converts it to one nntrain HDF5 file:
#   /train: data_batch_1..5.bin (50,000 images), /test: test_batch.bin (10,000),
#   uint8 (N, 32, 32, 3) NHWC, class names from batches.meta.txt.
# Needs curl or wget and internet access (run it on a login node, not on a
# compute node without network); fails with a clear message otherwise.
#
# usage: scripts/get_cifar10.sh [DEST_DIR] [OUT.h5]
#   DEST_DIR  where to download and unpack (default data/cifar10)
#   OUT.h5    output file (default DEST_DIR/cifar10.h5)
#   NNTRAIN   environment: the nntrain binary (default: build/nntrain, or PATH)
#   CIFAR10_URL  environment: a mirror of the same archive (the MD5 is still checked)
set -euo pipefail

URL=${CIFAR10_URL:-https://www.cs.toronto.edu/~kriz/cifar-10-binary.tar.gz}
MD5=c32a1d4ab5d03f1284b67883e8d87530
DEST=${1:-data/cifar10}
OUT=${2:-$DEST/cifar10.h5}
HERE=$(cd "$(dirname "$0")/.." && pwd)

die() { echo "get_cifar10.sh: error: $*" >&2; exit 1; }

NN=${NNTRAIN:-}
if [ -z "$NN" ]; then
    if [ -x "$HERE/build/nntrain" ]; then NN=$HERE/build/nntrain
    elif command -v nntrain >/dev/null 2>&1; then NN=$(command -v nntrain)
    else die "no nntrain binary: build it (cmake --build build) or set NNTRAIN=/path/to/nntrain"
    fi
fi
command -v md5sum >/dev/null 2>&1 || die "md5sum not found (coreutils)"

mkdir -p "$DEST"
TGZ=$DEST/cifar-10-binary.tar.gz

md5_ok() { [ -f "$1" ] && [ "$(md5sum "$1" | cut -d' ' -f1)" = "$MD5" ]; }

if md5_ok "$TGZ"; then
    echo "Using the existing $TGZ (MD5 OK)"
else
    PART=$TGZ.part
    rm -f "$PART"
    echo "Downloading $URL (about 163 MB)"
    if command -v curl >/dev/null 2>&1; then
        curl -fL --retry 3 --connect-timeout 20 -o "$PART" "$URL" ||
            { rm -f "$PART"; die "download failed (curl): no network access here? Download $URL on a machine with internet and copy it to $TGZ, then run this script again"; }
    elif command -v wget >/dev/null 2>&1; then
        wget --tries=3 --timeout=20 -O "$PART" "$URL" ||
            { rm -f "$PART"; die "download failed (wget): no network access here? Download $URL on a machine with internet and copy it to $TGZ, then run this script again"; }
    else
        die "neither curl nor wget is installed"
    fi
    md5_ok "$PART" || { got=$(md5sum "$PART" | cut -d' ' -f1); rm -f "$PART";
        die "MD5 mismatch: expected $MD5, got $got (incomplete or altered download)"; }
    mv "$PART" "$TGZ"
fi

echo "Unpacking into $DEST"
tar -xzf "$TGZ" -C "$DEST" || die "cannot unpack $TGZ"
[ -f "$DEST/cifar-10-batches-bin/data_batch_1.bin" ] ||
    die "$TGZ did not contain cifar-10-batches-bin/data_batch_1.bin"

"$NN" convert cifar10 "$DEST/cifar-10-batches-bin" -o "$OUT"
"$NN" inspect "$OUT"
echo "Done: $OUT"
