#!/usr/bin/python3
"""Draw the confusion matrix CSV of `nntrain evaluate --confusion-csv` as a PNG heat map.

Run with Debian's interpreter (python3-matplotlib):
    /usr/bin/python3 scripts/plot_confusion.py confusion.csv            # -> confusion.png
    /usr/bin/python3 scripts/plot_confusion.py confusion.csv -o cm.png --normalize

Input: the CSV nntrain writes: a header "true\\predicted,<class>,<class>,..." and one row
per true class, "<class>,<count>,<count>,...". Output: a heat map, rows the true class and
columns the predicted class, each cell annotated with its count (and, with --normalize,
coloured by the fraction of its row: the per-class accuracy lies on the diagonal). The
title carries the file name, the sample count and the overall accuracy.
Exits 1 with a message naming the file (and line) for a missing or malformed CSV.
"""
import argparse
import csv
import os
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


class ConfusionError(Exception):
    pass


def read_confusion(path):
    """Return (class names, counts as a list of rows); raise ConfusionError."""
    try:
        with open(path, newline="") as f:
            rows = [r for r in csv.reader(f) if r]
    except OSError as exc:
        raise ConfusionError("cannot read '%s': %s" % (path, exc.strerror or exc))
    except (UnicodeDecodeError, csv.Error) as exc:
        raise ConfusionError("'%s' is not a CSV text file (%s)" % (path, exc))
    if not rows:
        raise ConfusionError("'%s' is empty (expected a header 'true\\predicted,A,B,...')"
                             % path)
    head = rows[0]
    if len(head) < 2:
        raise ConfusionError("'%s' line 1: expected 'true\\predicted,A,B,...', found '%s'"
                             % (path, ",".join(head)[:80]))
    names = head[1:]
    k = len(names)
    if len(rows) - 1 != k:
        raise ConfusionError("'%s': %d class columns but %d rows (the matrix must be square)"
                             % (path, k, len(rows) - 1))
    counts = []
    for i, r in enumerate(rows[1:], start=2):
        if len(r) != k + 1:
            raise ConfusionError("'%s' line %d: %d fields, expected %d" % (path, i, len(r), k + 1))
        if r[0] != names[i - 2]:
            raise ConfusionError("'%s' line %d: row class '%s' but column %d is '%s'"
                                 % (path, i, r[0], i - 1, names[i - 2]))
        try:
            vals = [int(v) for v in r[1:]]
        except ValueError:
            raise ConfusionError("'%s' line %d: counts must be integers, found '%s'"
                                 % (path, i, ",".join(r[1:])[:80]))
        if any(v < 0 for v in vals):
            raise ConfusionError("'%s' line %d: negative count" % (path, i))
        counts.append(vals)
    return names, counts


def plot(path, out, normalize):
    names, counts = read_confusion(path)
    k = len(names)
    total = sum(map(sum, counts))
    correct = sum(counts[i][i] for i in range(k))
    if normalize:
        shown = [[v / sum(row) if sum(row) else 0.0 for v in row] for row in counts]
    else:
        shown = counts
    size = max(4.0, min(0.6 * k + 2.5, 30.0))
    fig, ax = plt.subplots(figsize=(size + 1.0, size))
    im = ax.imshow(shown, cmap="Blues", vmin=0, vmax=1 if normalize else None)
    fig.colorbar(im, ax=ax, fraction=0.046, pad=0.04,
                 label="fraction of the true class" if normalize else "samples")
    ax.set_xticks(range(k))
    ax.set_yticks(range(k))
    ax.set_xticklabels(names, rotation=45 if k > 4 else 0, ha="right" if k > 4 else "center")
    ax.set_yticklabels(names)
    ax.set_xlabel("predicted class")
    ax.set_ylabel("true class")
    if k <= 30:
        peak = max(max(r) for r in shown) or 1
        for i in range(k):
            for j in range(k):
                dark = shown[i][j] > 0.6 * (1 if normalize else peak)
                ax.text(j, i, str(counts[i][j]), ha="center", va="center", fontsize=8,
                        color="white" if dark else "black")
    acc = " - accuracy %.4f" % (correct / total) if total else ""
    ax.set_title("%s (%d samples%s)" % (os.path.basename(path), total, acc))
    fig.tight_layout()
    tmp = out + ".tmp.png"
    try:
        fig.savefig(tmp, dpi=100)
        os.replace(tmp, out)
    except OSError as exc:
        try:
            os.remove(tmp)
        except OSError:
            pass
        raise ConfusionError("cannot write '%s': %s" % (out, exc.strerror or exc))
    finally:
        plt.close(fig)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("csv", help="confusion matrix CSV written by nntrain evaluate --confusion-csv")
    ap.add_argument("-o", "--output", metavar="FILE",
                    help="output PNG (default: the CSV name with .png)")
    ap.add_argument("--normalize", action="store_true",
                    help="colour by the fraction of each true class (row)")
    a = ap.parse_args()
    out = a.output or os.path.splitext(a.csv)[0] + ".png"
    try:
        plot(a.csv, out, a.normalize)
    except ConfusionError as exc:
        print("plot_confusion: %s" % exc, file=sys.stderr)
        return 1
    print("%s -> %s" % (a.csv, out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
