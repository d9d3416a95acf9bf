#!/usr/bin/python3
"""Plot nntrain history CSVs (Keras History.history) as PNG learning curves.

Run with Debian's interpreter (python3-matplotlib):
    /usr/bin/python3 scripts/plot_history.py runs/fashion_cnn/history.csv [more.csv ...]
    /usr/bin/python3 scripts/plot_history.py runs/mnist_mlp512/history.csv -o mlp.png

Input: the CSV nntrain writes, header "epoch,loss,<metric>...,val_loss,val_<metric>...,lr"
and one row per epoch. Output: one PNG per input file, next to it with the extension
replaced by .png (or FILE with -o, for a single input). One panel for loss and
val_loss, one per metric with its val_ twin, one for the learning rate (lr, on a log
scale when every value is positive); epochs on x; the title is the file name
(with its folder when the file is called history.csv, as nntrain names them).
A CSV without val_ columns (no validation) plots the training curves alone.
Exits 1 with a message naming the file for a missing or malformed CSV.
"""
import argparse
import math
import os
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


class HistoryError(Exception):
    pass


def read_history(path):
    """Return (columns, {column: [values]}) with 'epoch' first; raise HistoryError."""
    try:
        with open(path, newline="") as f:
            lines = f.read().splitlines()
    except OSError as exc:
        raise HistoryError("cannot read '%s': %s" % (path, exc.strerror or exc))
    except UnicodeDecodeError:
        raise HistoryError("'%s' is not a text CSV file" % path)
    lines = [(i + 1, ln.strip()) for i, ln in enumerate(lines)]
    lines = [(i, ln) for i, ln in lines if ln]
    if not lines:
        raise HistoryError("'%s' is empty (expected a header line starting with 'epoch')"
                           % path)
    _, head = lines[0]
    cols = [c.strip() for c in head.split(",")]
    if cols[0] != "epoch":
        raise HistoryError("'%s' line 1: header must start with 'epoch' "
                           "(as 'epoch,loss,accuracy,val_loss,val_accuracy'), found '%s'"
                           % (path, head[:80]))
    if len(cols) < 2:
        raise HistoryError("'%s' line 1: no columns after 'epoch'" % path)
    seen = set()
    for c in cols:
        if not c:
            raise HistoryError("'%s' line 1: empty column name in the header" % path)
        if c in seen:
            raise HistoryError("'%s' line 1: column '%s' appears twice" % (path, c))
        seen.add(c)
    data = {c: [] for c in cols}
    for lineno, ln in lines[1:]:
        fields = [x.strip() for x in ln.split(",")]
        if len(fields) != len(cols):
            raise HistoryError("'%s' line %d: %d fields, expected %d (%s)"
                               % (path, lineno, len(fields), len(cols), ",".join(cols)))
        for c, x in zip(cols, fields):
            try:
                v = float(x)
            except ValueError:
                raise HistoryError("'%s' line %d: column '%s' is not a number: '%s'"
                                   % (path, lineno, c, x[:40]))
            if c == "epoch" and not (math.isfinite(v) and v >= 0):
                raise HistoryError("'%s' line %d: epoch must be a number >= 0, found '%s'"
                                   % (path, lineno, x))
            data[c].append(v)
    if not data["epoch"]:
        raise HistoryError("'%s': header only, no epoch rows" % path)
    return cols, data


def panels(cols):
    """[(name, train column or None, val column or None)], loss first."""
    bases = []
    for c in cols[1:]:
        base = c[4:] if c.startswith("val_") else c
        if base not in bases:
            bases.append(base)
    if "loss" in bases:
        bases.remove("loss")
        bases.insert(0, "loss")
    return [(b, b if b in cols else None, "val_" + b if "val_" + b in cols else None)
            for b in bases]


def title_for(path):
    stem = os.path.splitext(os.path.basename(path))[0]
    parent = os.path.basename(os.path.dirname(os.path.abspath(path)))
    return "%s/%s" % (parent, stem) if stem == "history" and parent else stem


def plot(path, out):
    cols, data = read_history(path)
    ps = panels(cols)
    ep = data["epoch"]
    fig, axes = plt.subplots(1, len(ps), figsize=(5.0 * len(ps), 4.0), squeeze=False)
    for ax, (name, tr, va) in zip(axes[0], ps):
        if tr:
            ax.plot(ep, data[tr], "o-", label=tr)
        if va:
            ax.plot(ep, data[va], "s--", label=va)
        if name == "lr" and tr and all(math.isfinite(v) and v > 0 for v in data[tr]):
            ax.set_yscale("log")   # schedules decay geometrically
        ax.set_xlabel("epoch")
        ax.set_ylabel(name)
        ax.set_title(name)
        ax.grid(True, alpha=0.3)
        if len(ep) <= 20 and all(float(e).is_integer() for e in ep):
            ax.set_xticks(ep)
        ax.legend()
    fig.suptitle(title_for(path))
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
        raise HistoryError("cannot write '%s': %s" % (out, exc.strerror or exc))
    finally:
        plt.close(fig)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("csv", nargs="+", help="history CSV file(s) written by nntrain")
    ap.add_argument("-o", "--output", metavar="FILE",
                    help="output PNG (only with a single CSV; default: CSV name with .png)")
    a = ap.parse_args()
    if a.output and len(a.csv) > 1:
        ap.error("-o FILE takes a single CSV; with several, each PNG goes next to its CSV")
    rc = 0
    for path in a.csv:
        out = a.output or os.path.splitext(path)[0] + ".png"
        try:
            plot(path, out)
            print("%s -> %s" % (path, out))
        except HistoryError as exc:
            print("plot_history: %s" % exc, file=sys.stderr)
            rc = 1
    return rc


if __name__ == "__main__":
    sys.exit(main())
