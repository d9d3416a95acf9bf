#!/usr/bin/python3
"""Golden fixtures for tests/test_layers_bf16.c: Dense and Conv2D under the
mixed_bfloat16 policy, computed independently with PyTorch, never with
nntrain.

Run with Debian's interpreter (python3-torch, python3-h5py, python3-numpy):
    /usr/bin/python3 scripts/gen_fixtures_bf16.py [out.h5]
Writes tests/fixtures/golden_bf16.h5 by default. Deterministic. One group per
case, gen_fixtures.py's layout (attrs call, input_shape; x, kernel, bias, y,
dy, dx, dkernel, dbias). x and kernel are plain float32; the reference rounds
them to bfloat16 with torch (round to nearest even) and computes in float64:
    y = act(bf16(x) bf16(kernel) + bias), dx = dz bf16(kernel)^T,
    dkernel = bf16(x)^T dz
which is what the layer's products compute, up to their fp32 sums. dy is
stored already rounded to bf16, so dz = dy act'(z) is too (relu' is 0 or 1)
and the layer's rounding of dz changes nothing. ReLU inputs keep 1e-2 away
from the kink. Every Conv2D has 8 channels in or more (fewer keep fp32
products: src/layers/conv2d.c).
"""
import os
import sys

import h5py
import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from fixture_h5 import f32, fixture, put  # noqa: E402

RNG = np.random.default_rng(20261221)
OUT = sys.argv[1] if len(sys.argv) > 1 else os.path.join(
    os.path.dirname(os.path.abspath(__file__)), "..", "tests", "fixtures", "golden_bf16.h5")


def unif(shape, lo=-1.0, hi=1.0):
    return f32(RNG.uniform(lo, hi, size=shape))


def bf16(a):
    """float32 array -> float64 tensor of its bfloat16 rounding (torch's)."""
    return torch.tensor(a).to(torch.bfloat16).to(torch.float64)


def group(parent, name):
    """A group without creation/modification times, so reruns are byte-identical."""
    gcpl = h5py.h5p.create(h5py.h5p.GROUP_CREATE)
    gcpl.set_obj_track_times(False)
    h5py.h5g.create(parent.id, name.encode(), gcpl=gcpl)
    return parent[name]


def act(name, z):
    return torch.relu(z) if name == "relu" else z


def same_pad(n, k, s):
    out = -(-n // s)
    total = max((out - 1) * s + k - n, 0)
    return total // 2, total - total // 2


def conv_forward(x_nhwc, k_hwio, b, kh, kw, sh, sw, padding):
    x = x_nhwc.permute(0, 3, 1, 2)
    if padding == "same":
        top, bottom = same_pad(x.shape[2], kh, sh)
        left, right = same_pad(x.shape[3], kw, sw)
        x = F.pad(x, (left, right, top, bottom))
    z = F.conv2d(x, k_hwio.permute(3, 2, 0, 1), b, stride=(sh, sw))
    return z.permute(0, 2, 3, 1)


def write(h5, name, call, x, k, b, forward, activation):
    xr = bf16(x).requires_grad_(True)
    kr = bf16(k).requires_grad_(True)
    tb = torch.tensor(b.astype(np.float64), requires_grad=True)
    z = forward(xr, kr, tb)
    y = act(activation, z)
    dy = bf16(unif(tuple(y.shape)).astype(np.float32)).numpy()
    (y * torch.tensor(dy)).sum().backward()
    g = group(h5, name)
    g.attrs["call"] = np.bytes_(call.encode("ascii"))
    g.attrs["input_shape"] = np.array(x.shape[1:], dtype=np.int32)
    put(g, "x", f32(x))
    put(g, "kernel", f32(k))
    put(g, "bias", f32(b))
    put(g, "y", f32(y.detach().numpy()))
    put(g, "dy", f32(dy))
    put(g, "dx", f32(xr.grad.numpy()))
    put(g, "dkernel", f32(kr.grad.numpy()))
    put(g, "dbias", f32(tb.grad.numpy()))
    return z


def away_from_kink(make, forward, activation):
    for _ in range(200):
        x, k, b = make()
        with torch.no_grad():
            z = forward(bf16(x), bf16(k), torch.tensor(b.astype(np.float64)))
        if activation != "relu" or z.abs().min().item() > 1e-2:
            return x, k, b
    raise RuntimeError("could not avoid the ReLU kink")


def dense_case(h5, name, call, B, n_in, n_out, activation):
    def forward(x, k, b):
        return x @ k + b
    x, k, b = away_from_kink(lambda: (unif((B, n_in)), unif((n_in, n_out), -0.6, 0.6),
                                      unif((n_out,), -0.3, 0.3)), forward, activation)
    write(h5, name, call, x, k, b, forward, activation)


def conv_case(h5, name, call, B, in_shape, F_, ksize, strides, padding, activation):
    kh, kw = ksize
    sh, sw = strides

    def forward(x, k, b):
        return conv_forward(x, k, b, kh, kw, sh, sw, padding)
    C = in_shape[2]
    x, k, b = away_from_kink(lambda: (unif((B,) + tuple(in_shape)),
                                      unif((kh, kw, C, F_), -0.5, 0.5),
                                      unif((F_,), -0.3, 0.3)), forward, activation)
    write(h5, name, call, x, k, b, forward, activation)


CASES = ["dense_linear", "dense_relu", "conv_valid_relu", "conv_same_s2", "conv_1x1",
         "conv_5x5"]


def main():
    with fixture(OUT, "scripts/gen_fixtures_bf16.py", torch.__version__) as h5:
        dense_case(h5, "dense_linear", "Dense(24)", 5, 40, 24, "linear")
        dense_case(h5, "dense_relu", 'Dense(33, activation="relu")', 9, 70, 33, "relu")
        conv_case(h5, "conv_valid_relu", 'Conv2D(8, (3, 3), activation="relu")', 2, (7, 6, 8),
                  8, (3, 3), (1, 1), "valid", "relu")
        conv_case(h5, "conv_same_s2", 'Conv2D(12, (3, 3), strides=2, padding="same")', 3,
                  (9, 8, 10), 12, (3, 3), (2, 2), "same", "linear")
        conv_case(h5, "conv_1x1", "Conv2D(6, (1, 1))", 2, (4, 5, 11), 6, (1, 1), (1, 1),
                  "valid", "linear")
        conv_case(h5, "conv_5x5", 'Conv2D(16, (5, 5), padding="same")', 2,
                  (8, 8, 9), 16, (5, 5), (1, 1), "same", "linear")
        assert sorted(h5.keys()) == sorted(CASES)
    print("wrote", OUT)


if __name__ == "__main__":
    main()
