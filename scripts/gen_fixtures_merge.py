#!/usr/bin/python3
"""Golden fixtures for tests/test_layers_merge.c (issue 17's merge layers:
Add, Subtract, Multiply, Average, Maximum, Minimum, Concatenate), computed
independently with PyTorch, never with nntrain.

Run with Debian's interpreter (python3-torch, python3-h5py, python3-numpy):
    /usr/bin/python3 scripts/gen_fixtures_merge.py [out.h5]
Writes tests/fixtures/golden_merge.h5 by default. Deterministic. Layout: one
group per case with attribute call (the spec line) and datasets x0, x1, ...
(the inputs, batch first: their shapes are the layer's input shapes), y, dy
(a fixed random w) and dx0, dx1, ... = d sum(w * y) / d x_k by autograd.
Inputs are float32 values; y and dx are computed in float64 from them.
Maximum/Minimum inputs have no ties (continuous draws), so the gradient
owner is unambiguous (on ties torch splits it, Keras/TF give it to the
first input).
"""
import os
import sys

import h5py
import numpy as np
import torch

torch.set_default_dtype(torch.float64)
RNG = np.random.default_rng(20261207)
OUT = sys.argv[1] if len(sys.argv) > 1 else os.path.join(
    os.path.dirname(os.path.abspath(__file__)), "..", "tests", "fixtures", "golden_merge.h5")


def f32(a):
    return np.ascontiguousarray(np.asarray(a, dtype=np.float32))


def put(g, name, data):
    g.create_dataset(name, data=data, track_times=False)


def case(h5, name, call, fn, B, shapes):
    xs = [f32(RNG.uniform(-2, 2, size=(B,) + tuple(s))) for s in shapes]
    txs = [torch.tensor(x.astype(np.float64), requires_grad=True) for x in xs]
    y = fn(txs)
    w = f32(RNG.uniform(-1, 1, size=tuple(y.shape)))
    (y * torch.tensor(w.astype(np.float64))).sum().backward()
    gcpl = h5py.h5p.create(h5py.h5p.GROUP_CREATE)
    gcpl.set_obj_track_times(False)
    h5py.h5g.create(h5.id, name.encode(), gcpl=gcpl)
    g = h5[name]
    g.attrs["call"] = np.bytes_(call.encode("ascii"))
    for k, (x, tx) in enumerate(zip(xs, txs)):
        put(g, "x%d" % k, x)
        put(g, "dx%d" % k, f32(tx.grad.numpy()))
    put(g, "y", f32(y.detach().numpy()))
    put(g, "dy", w)


def fold(op):
    def fn(ts):
        y = ts[0]
        for t in ts[1:]:
            y = op(y, t)
        return y
    return fn


def mean(ts):
    return torch.stack(ts).mean(0)


def cat(dim):   # dim counts the batch as 0, as Keras's axis
    return lambda ts: torch.cat(ts, dim=dim)


# the C test lists the same names
CASES = ["add_2", "add_3", "subtract", "multiply_2", "multiply_3", "average_2", "average_3",
         "maximum_2", "maximum_3", "minimum_3", "r_add", "concat_last", "concat_axis1",
         "concat_axis2", "concat_neg3", "concat_1d", "concat_one"]


def main():
    tmp = OUT + ".tmp"
    with h5py.File(tmp, "w", track_order=False) as h5:
        case(h5, "add_2", "Add()", fold(torch.add), 3, [(4, 3, 2)] * 2)
        case(h5, "add_3", "Add()", fold(torch.add), 2, [(7,)] * 3)
        case(h5, "subtract", "Subtract()", fold(torch.sub), 3, [(2, 3, 4)] * 2)
        case(h5, "multiply_2", "Multiply()", fold(torch.mul), 4, [(5,)] * 2)
        case(h5, "multiply_3", "Multiply()", fold(torch.mul), 2, [(3, 2, 2)] * 3)
        case(h5, "average_2", "Average()", mean, 3, [(6,)] * 2)
        case(h5, "average_3", "Average()", mean, 2, [(4, 2)] * 3)
        case(h5, "maximum_2", "Maximum()", fold(torch.maximum), 3, [(3, 3, 2)] * 2)
        case(h5, "maximum_3", "Maximum()", fold(torch.maximum), 2, [(5, 2)] * 3)
        case(h5, "minimum_3", "Minimum()", fold(torch.minimum), 3, [(6,)] * 3)
        case(h5, "r_add", "layer_add(name = \"skip\")", fold(torch.add), 2, [(2, 2, 3)] * 4)
        case(h5, "concat_last", "Concatenate()", cat(-1), 2, [(2, 3, 1), (2, 3, 4), (2, 3, 2)])
        case(h5, "concat_axis1", "Concatenate(axis=1)", cat(1), 3, [(2, 3, 2), (4, 3, 2)])
        case(h5, "concat_axis2", "Concatenate(axis=-2)", cat(2), 2,
             [(2, 3, 2), (2, 1, 2), (2, 2, 2)])
        case(h5, "concat_neg3", "Concatenate(-3)", cat(1), 2, [(1, 2, 3), (3, 2, 3)])
        case(h5, "concat_1d", "layer_concatenate(axis = -1)", cat(1), 3, [(3,), (5,)])
        case(h5, "concat_one", "Concatenate()", cat(-1), 2, [(2, 5)])
        assert sorted(h5.keys()) == sorted(CASES)
    os.replace(tmp, OUT)
    print("wrote", OUT)


if __name__ == "__main__":
    main()
