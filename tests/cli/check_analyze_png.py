"""Checks `nntrain analyze` pictures against the model's own weights, read
independently with h5py and PIL:
  - every legend swatch of first_layer_weights.png holds exactly the colour
    of the blue-white-red map at its value (first_layer_weights_legend.csv);
  - every weight tile pixel is that map at w / max|w| of its unit (Dense
    kernel from the checkpoint, 1 channel), within 1 for float rounding, and
    each tile's largest |w| shows the exact colour of the legend's end swatch
    of its sign;
  - most_confident.png tiles are at least 256 px wide with a dark caption.
usage: check_analyze_png.py ANALYSIS_DIR CHECKPOINT.h5 LAYER NCLASSES"""
import csv
import sys

import h5py
import numpy as np
from PIL import Image


def cmap(v):
    v = np.float32(min(max(float(v), -1.0), 1.0))
    f = int(np.rint(np.float32(255) * (np.float32(1) - np.abs(v))))
    return (f, f, 255) if v < 0 else (255, f, f) if v > 0 else (255, 255, 255)


def main():
    an, ck, layer, ncls = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
    bad = []
    im = np.asarray(Image.open(an + "/first_layer_weights.png").convert("RGB")).astype(int)
    legend = list(csv.DictReader(open(an + "/first_layer_weights_legend.csv")))
    ends = {}
    for r in legend:
        x, y, w, h = (int(r[k]) for k in ("x", "y", "width", "height"))
        want = cmap(r["value"])
        if not (im[y:y + h, x:x + w] == np.array(want)).all():
            bad.append("legend swatch %s is not %s" % (r["value"], want))
        ends[float(r["value"])] = want
    if len(legend) < 21 or -1.0 not in ends or 1.0 not in ends:
        bad.append("legend lacks the swatches from -1 to 1")
    kern = h5py.File(ck, "r")["model_weights/%s/%s/kernel:0" % (layer, layer)][()]
    for r in csv.DictReader(open(an + "/first_layer_weights.csv")):
        u, x, y, w, h, s = (int(r[c]) for c in ("unit", "x", "y", "width", "height", "scale"))
        col = kern[:, u].astype(np.float32)
        amax = np.abs(col).max()
        tw = w // s
        for py in range(h):
            for px in range(w):
                want = cmap(col[(py // s) * tw + px // s] / amax)
                got = im[y + py, x + px]
                if np.abs(got - np.array(want)).max() > 1:
                    bad.append("tile %d pixel (%d, %d): %s, map gives %s" % (u, px, py, got, want))
        k = int(np.abs(col).argmax())
        got = tuple(im[y + (k // tw) * s, x + (k % tw) * s])
        if got != ends[1.0 if col[k] > 0 else -1.0]:
            bad.append("tile %d: largest |w| shows %s, not the legend's end colour" % (u, got))
    ex = np.asarray(Image.open(an + "/most_confident.png").convert("RGB")).astype(int)
    cols = ncls if ncls <= 5 else 5
    if ex.shape[1] < cols * 256:
        bad.append("most_confident.png is %d px wide for %d tiles" % (ex.shape[1], cols))
    if not (ex.sum(axis=2) == 0).any():
        bad.append("most_confident.png has no caption text")
    for b in bad[:10]:
        print(b)
    print("%d problems" % len(bad))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
