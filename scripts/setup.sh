#!/usr/bin/env bash
# Makes a fresh Debian 12 machine ready for nntrain and builds it into build/.
# Idempotent: packages already installed are not fetched again, and the build
# is incremental. apt-get needs root (sudo is used when not root).
#   scripts/setup.sh [--build-dir DIR] [--no-build] [cmake options...]
set -euo pipefail
cd "$(dirname "$0")/.."

BUILD=build
DO_BUILD=1
CMAKE_ARGS=()
while [ $# -gt 0 ]; do
  case "$1" in
    --build-dir) BUILD=$2; shift 2 ;;
    --no-build) DO_BUILD=0; shift ;;
    -h|--help) sed -n '2,6p' "$0"; exit 0 ;;
    *) CMAKE_ARGS+=("$1"); shift ;;
  esac
done

# Build tools and libraries, the Fashion-MNIST data set, PyTorch/h5py for
# fixtures and reference runs, matplotlib for plots, Pillow for the tests'
# JPEG folders, Slurm+munge for the job script tests, and what the scripts
# call beyond a minimal Debian 12 (debootstrap --variant=minbase, which has
# coreutils, util-linux, hostname, gzip, tar, diffutils, findutils, mawk):
# curl and CA certificates (scripts/get_cifar10.sh, jobs/cifar10.sbatch),
# Graphviz's dot (nntrain plot-model), ip and ss (scripts/slurm_local.sh),
# pgrep/pkill/ps (tests), valgrind.
# scripts/fresh_check.sh runs this on such a root.
PKGS=(build-essential cmake pkg-config libopenblas-dev libopenmpi-dev openmpi-bin
      libhdf5-dev libcunit1-dev libstb-dev libcjson-dev libzip-dev zlib1g-dev
      dataset-fashion-mnist python3 python3-numpy python3-h5py python3-torch
      python3-matplotlib python3-pil python3-sklearn graphviz
      slurm-wlm munge iproute2 procps valgrind curl ca-certificates)

missing=()
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${missing[*]}"
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO=sudo
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
else
  echo "setup: all Debian packages present"
fi

if [ "$DO_BUILD" -eq 1 ]; then
  cmake -S . -B "$BUILD" -DCMAKE_BUILD_TYPE=RelWithDebInfo ${CMAKE_ARGS[@]+"${CMAKE_ARGS[@]}"} >/dev/null
  cmake --build "$BUILD" -j"$(nproc)"
  echo "setup: built $BUILD/nntrain"
fi
