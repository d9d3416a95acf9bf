#!/usr/bin/python3
"""Plot of scripts/scaling.sh's CSV: images/s and scaling efficiency against ranks.

    /usr/bin/python3 scripts/scaling_plot.py scaling.csv scaling.png [--title TEXT]

The CSV has the columns mode,ranks,threads,batch,img_s,ms_step,compute_s,comm_s,
data_s,efficiency (mode "strong" or "weak"). Left: images/s per mode with its ideal
line (the first row's images/s times N / N0); right: efficiency with the ideal 1.0.
Written through a temporary file and renamed. Needs matplotlib (python3-matplotlib).
"""
import argparse
import csv
import os
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("csv")
    ap.add_argument("png")
    ap.add_argument("--title", default="nntrain scaling")
    a = ap.parse_args()
    series = {}
    try:
        with open(a.csv, newline="") as f:
            for row in csv.DictReader(f):
                series.setdefault(row["mode"], []).append(
                    (int(row["ranks"]), float(row["img_s"]), float(row["efficiency"])))
    except (OSError, KeyError, ValueError) as exc:
        sys.exit("scaling_plot: cannot read %s: %s" % (a.csv, exc))
    if not series:
        sys.exit("scaling_plot: %s has no rows" % a.csv)

    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(10, 4))
    colors = {"strong": "tab:blue", "weak": "tab:orange"}
    allx = sorted({n for pts in series.values() for n, _, _ in pts})
    for mode, pts in series.items():
        pts.sort()
        xs = [p[0] for p in pts]
        c = colors.get(mode)
        ax1.plot(xs, [p[1] for p in pts], "o-", color=c, label=mode)
        n0, i0 = pts[0][0], pts[0][1]
        ax1.plot(xs, [i0 * n / n0 for n in xs], "--", color=c, alpha=0.5,
                 label=mode + " ideal")
        ax2.plot(xs, [p[2] for p in pts], "o-", color=c, label=mode)
    ax2.axhline(1.0, ls="--", color="grey", label="ideal")
    for ax in (ax1, ax2):
        ax.set_xlabel("MPI ranks N")
        ax.set_xticks(allx)
        ax.grid(alpha=0.3)
        ax.legend()
    ax1.set_ylabel("training images/s (all ranks)")
    ax2.set_ylabel("efficiency")
    ax2.set_ylim(0, max(1.1, max(p[2] for pts in series.values() for p in pts) * 1.1))
    fig.suptitle(a.title)
    fig.tight_layout()
    tmp = a.png + ".tmp.png"
    fig.savefig(tmp, dpi=100)
    os.replace(tmp, a.png)


if __name__ == "__main__":
    main()
