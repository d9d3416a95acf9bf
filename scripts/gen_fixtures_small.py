#!/usr/bin/python3
"""Golden fixtures for tests/test_golden_small.c (issue 17's small layers:
LeakyReLU, ReLU with its options, Softmax, Reshape, the leaky_relu
activation), computed independently with PyTorch, never with nntrain.

Run with Debian's interpreter (python3-torch, python3-h5py, python3-numpy):
    /usr/bin/python3 scripts/gen_fixtures_small.py [out.h5]
Writes tests/fixtures/golden_small.h5 by default. Deterministic. Layout: one
group per case, the layout of gen_fixtures.py (attrs call, input_shape;
x, y, dy, dx), no parameters. Keras 2's ReLU is
    y = min(x, max_value) for x > threshold, negative_slope * (x - threshold) else,
written here with torch.where/clamp; inputs keep 0.02 away from the kinks
(threshold, max_value), where float32 and float64 could fall on either side.
"""
import os
import sys

import h5py
import numpy as np
import torch
import torch.nn.functional as F

torch.set_default_dtype(torch.float64)
RNG = np.random.default_rng(20261217)
OUT = sys.argv[1] if len(sys.argv) > 1 else os.path.join(
    os.path.dirname(os.path.abspath(__file__)), "..", "tests", "fixtures", "golden_small.h5")


def f32(a):
    return np.ascontiguousarray(np.asarray(a, dtype=np.float32))


def unif(shape, lo=-1.0, hi=1.0):
    return f32(RNG.uniform(lo, hi, size=shape))


def away(x, kinks):
    for k in kinks:
        near = np.abs(x - k) < 0.02
        x[near] = k + 0.05
    return x


def put(g, name, data):
    g.create_dataset(name, data=data, track_times=False)


def case(h5, name, call, fn, B, shape, kinks=(0.0,)):
    x = away(unif((B,) + tuple(shape), -3, 3), kinks)
    tx = torch.tensor(x.astype(np.float64), requires_grad=True)
    y = fn(tx)
    dy = unif(tuple(y.shape))
    (y * torch.tensor(dy.astype(np.float64))).sum().backward()
    gcpl = h5py.h5p.create(h5py.h5p.GROUP_CREATE)
    gcpl.set_obj_track_times(False)
    h5py.h5g.create(h5.id, name.encode(), gcpl=gcpl)
    g = h5[name]
    g.attrs["call"] = np.bytes_(call.encode("ascii"))
    g.attrs["input_shape"] = np.array(x.shape[1:], dtype=np.int32)
    put(g, "x", f32(x))
    put(g, "y", f32(y.detach().numpy()))
    put(g, "dy", f32(dy))
    put(g, "dx", f32(tx.grad.numpy()))


def keras_relu(slope=0.0, max_value=None, threshold=0.0):
    def fn(t):
        pos = t if max_value is None else torch.clamp(t, max=max_value)
        return torch.where(t > threshold, pos, slope * (t - threshold))
    return fn


# name -> number of cases; the C test counts them
CASES = ["leaky_relu_default", "leaky_relu_alpha", "leaky_relu_r", "relu_plain", "relu_max",
         "relu_all", "activation_leaky_relu", "softmax_vec", "softmax_image", "reshape"]


def main():
    tmp = OUT + ".tmp"
    with h5py.File(tmp, "w", track_order=False) as h5:
        case(h5, "leaky_relu_default", "LeakyReLU()", lambda t: F.leaky_relu(t, 0.3), 3, (4, 5, 2))
        case(h5, "leaky_relu_alpha", "LeakyReLU(alpha=0.5)", lambda t: F.leaky_relu(t, 0.5),
             2, (7,))
        case(h5, "leaky_relu_r", "layer_activation_leaky_relu(negative_slope = 0.1)",
             lambda t: F.leaky_relu(t, 0.1), 2, (3, 4))
        case(h5, "relu_plain", "ReLU()", F.relu, 3, (2, 3, 4))
        case(h5, "relu_max", "ReLU(max_value=0.7)", keras_relu(max_value=0.7), 2, (9,),
             kinks=(0.0, 0.7))
        case(h5, "relu_all", "ReLU(max_value=1.2, negative_slope=0.1, threshold=0.3)",
             keras_relu(0.1, 1.2, 0.3), 3, (3, 3, 2), kinks=(0.3, 1.2))
        case(h5, "activation_leaky_relu", 'Activation("leaky_relu")',
             lambda t: F.leaky_relu(t, 0.2), 2, (6,))
        case(h5, "softmax_vec", "Softmax()", lambda t: torch.softmax(t, -1), 4, (6,), kinks=())
        case(h5, "softmax_image", "Softmax(axis=3)", lambda t: torch.softmax(t, -1), 2,
             (3, 2, 5), kinks=())
        case(h5, "reshape", "Reshape((-1, 3))", lambda t: t.reshape(t.shape[0], -1, 3) * 1.0,
             2, (2, 2, 3), kinks=())
        assert sorted(h5.keys()) == sorted(CASES)
    os.replace(tmp, OUT)
    print("wrote", OUT)


if __name__ == "__main__":
    main()
