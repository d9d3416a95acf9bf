#!/usr/bin/env bash
# The floors of src/ (README "Layout"): each folder may include headers of its
# own folder and of the floors below it, never of its own floor's other folders
# or of a higher one. Public headers (include/nntrain/) belong to the floor of
# the folder that implements them (the table below) and obey the same rule.
#   tests/check_layering.sh [ROOT]     checks ROOT (default: the repository)
#   tests/check_layering.sh --selftest checks that a planted violation is found
set -uo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)

# floor of each src/ folder: folders with the same number are peers
declare -A FLOOR=([core]=0 [spec]=1 [layers]=2 [data]=2 [mpi]=2 [train]=3 [io]=4 [cli]=5)

# owning folder of each public header
declare -A OWNER=(
  [activation]=core [clock]=core [error]=core [fpmode]=core [gemm]=core [init]=core
  [pool]=core [rng]=core [tensor]=core [hash]=core [strbuf]=core [tmpfile]=core
  [spec]=spec [args]=spec
  [layer]=layers [regularizer]=layers
  [augment]=data [convert]=data [data]=data [h5data]=data [images]=data
  [prefetch]=data [sequences]=data
  [dist]=mpi [timeline]=mpi [watchdog]=mpi [grad_sync]=mpi
  [model]=train [loss]=train [optim]=train [lr_schedule]=train [confusion]=train [fit]=train
  [evaluate]=train [predict]=train [history]=train [callbacks]=train [attribution]=train
  [checkpoint]=io [keras]=io
)

check() {
  local root=$1 bad=0 file dir inc target
  for h in "$root"/include/nntrain/*.h; do
    local b; b=$(basename "$h" .h)
    if [ -z "${OWNER[$b]:-}" ]; then
      echo "layering: include/nntrain/$b.h has no floor: add it to OWNER in $0"
      bad=1
    fi
  done
  while IFS= read -r file; do
    local rel=${file#"$root"/}
    if [[ $rel == include/nntrain/* ]]; then
      dir=${OWNER[$(basename "$file" .h)]:-}
      [ -n "$dir" ] || continue
    else
      dir=${rel#src/}
      dir=${dir%%/*}
    fi
    if [ -z "${FLOOR[$dir]:-}" ]; then
      echo "layering: $rel is in src/$dir/, which has no floor: add it to FLOOR in $0"
      bad=1
      continue
    fi
    while IFS= read -r inc; do
      case "$inc" in
        nntrain/*) target=${OWNER[$(basename "$inc" .h)]:-} ;;
        */*) target=${inc%%/*} ;;
        *) target=$dir ;;              # a header beside the file
      esac
      [ -n "$target" ] || continue     # reported above
      if [ -z "${FLOOR[$target]:-}" ]; then
        echo "layering: $rel includes \"$inc\" from unknown folder '$target'"
        bad=1
      elif [ "$target" != "$dir" ] && [ "${FLOOR[$target]}" -ge "${FLOOR[$dir]}" ]; then
        echo "layering: $rel (src/$dir, floor ${FLOOR[$dir]}) includes \"$inc\"" \
             "(src/$target, floor ${FLOOR[$target]}): a floor may only use the ones below it"
        bad=1
      fi
    done < <(sed -n 's/^[[:space:]]*#[[:space:]]*include[[:space:]]*"\([^"]*\)".*/\1/p' "$file")
  done < <(find "$root/src" "$root/include/nntrain" -name '*.[ch]' | sort)
  return $bad
}

if [ "${1:-}" = "--selftest" ]; then
  tmp=$(mktemp -d)
  trap 'rm -rf "$tmp"' EXIT
  cp -r "$here/src" "$here/include" "$tmp/"
  check "$tmp" >/dev/null || { echo "selftest: the clean tree already fails"; exit 1; }
  # core must not reach up to layers, nor data across to its peer layers
  for plant in "src/core/rng.c:nntrain/layer.h" "src/data/data.c:nntrain/layer.h" \
               "src/spec/spec.c:train/batch.h" "src/mpi/dist.c:data/h5priv.h" "include/nntrain/tensor.h:nntrain/model.h"; do
    f=${plant%%:*} inc=${plant#*:}
    cp "$here/$f" "$tmp/$f.orig"
    printf '#include "%s"\n' "$inc" >> "$tmp/$f"
    if check "$tmp" >/dev/null; then
      echo "selftest: planting #include \"$inc\" in $f was not reported"
      exit 1
    fi
    mv "$tmp/$f.orig" "$tmp/$f"
  done
  echo "selftest: each planted violation was reported"
  exit 0
fi

root=${1:-$here}
if check "$root"; then
  echo "layering: every include of src/ and include/nntrain/ follows the floors" \
       "core < spec < layers, data, mpi < train < io < cli"
else
  exit 1
fi
