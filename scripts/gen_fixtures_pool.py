#!/usr/bin/python3
"""Golden fixtures for tests/test_golden_pool.c (AveragePooling2D,
GlobalAveragePooling2D, GlobalMaxPooling2D, ZeroPadding2D), computed
independently with PyTorch.

Run with Debian's interpreter (python3-torch, python3-h5py, python3-numpy):
    /usr/bin/python3 scripts/gen_fixtures_pool.py [out.h5]
Writes tests/fixtures/golden_pool.h5 by default. Deterministic; every stored
array is float32. Same per-case layout as scripts/gen_fixtures.py (these
layers have no parameters):

  <case>/
    attrs  call         the nntrain spec line
           input_shape  per-sample NHWC shape, int32
    x      (B, H, W, C)
    y      (B, ...)     the layer's output (NHWC, or (B, C) for global pooling)
    dy     like y       random upstream gradient
    dx     (B, H, W, C) gradient of sum(y * dy)

How AveragePooling2D "same" is matched to Keras/TensorFlow: the output is
ceil(n / s) along each axis, the total padding max((out - 1) * s + k - n, 0)
is split with the smaller half first (top/left) and the rest at the
bottom/right, and TensorFlow's avg_pool divides each window's sum by the
number of cells inside the image only (torch's count_include_pad=False). torch
has no asymmetric pooling padding, so the input and a tensor of ones are
zero-padded with F.pad and pooled without padding: the ratio of the two
window sums is that mean. The script asserts it on an all-ones input (every
output 1, whatever the padding). GlobalAveragePooling2D and GlobalMaxPooling2D
are adaptive_avg_pool2d / adaptive_max_pool2d to 1x1 (random inputs: no ties),
ZeroPadding2D is F.pad with (left, right, top, bottom).
"""
import os
import sys

import h5py
import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from fixture_h5 import fixture  # noqa: E402

torch.set_default_dtype(torch.float64)
RNG = np.random.default_rng(20261207)

OUT = sys.argv[1] if len(sys.argv) > 1 else os.path.join(
    os.path.dirname(os.path.abspath(__file__)), "..", "tests", "fixtures", "golden_pool.h5")


def f32(a):
    return np.ascontiguousarray(np.asarray(a, dtype=np.float32))


def t64(a):
    """float32-rounded numpy -> float64 torch leaf with grad."""
    return torch.tensor(np.asarray(a, dtype=np.float32).astype(np.float64),
                        requires_grad=True)


def unif(shape, lo=-1.0, hi=1.0):
    return f32(RNG.uniform(lo, hi, size=shape))


def group(parent, name):
    """A group without creation/modification times, so reruns are byte-identical."""
    gcpl = h5py.h5p.create(h5py.h5p.GROUP_CREATE)
    gcpl.set_obj_track_times(False)
    h5py.h5g.create(parent.id, name.encode(), gcpl=gcpl)
    return parent[name]


def put(g, name, data):
    g.create_dataset(name, data=data, track_times=False)


def set_str(obj, key, text):
    obj.attrs[key] = np.bytes_(text.encode("ascii"))  # fixed-length ASCII


def write_layer(h5, name, call, x, y, dy, dx):
    g = group(h5, name)
    set_str(g, "call", call)
    g.attrs["input_shape"] = np.array(x.shape[1:], dtype=np.int32)
    put(g, "x", f32(x))
    put(g, "y", f32(y))
    put(g, "dy", f32(dy))
    put(g, "dx", f32(dx))
    print("  %-22s x %-16s -> y %s" % (name, x.shape, y.shape))


def tf_pad(n, k, s, same):
    """(output length, leading pad, trailing pad) along one axis, TF rules."""
    if not same:
        return (n - k) // s + 1, 0, 0
    out = -(-n // s)
    total = max((out - 1) * s + k - n, 0)
    return out, total // 2, total - total // 2


def tf_avg_pool(xn, k, s, same):
    """NCHW TensorFlow avg_pool: padded cells are not counted."""
    (kh, kw), (sh, sw) = k, s
    oh, top, bottom = tf_pad(xn.shape[2], kh, sh, same)
    ow, left, right = tf_pad(xn.shape[3], kw, sw, same)
    pad = (left, right, top, bottom)
    sums = F.avg_pool2d(F.pad(xn, pad), (kh, kw), (sh, sw), divisor_override=1)
    ones = torch.ones_like(xn[:1, :1])
    counts = F.avg_pool2d(F.pad(ones, pad), (kh, kw), (sh, sw), divisor_override=1)
    y = sums / counts
    assert y.shape[2:] == (oh, ow), (y.shape, oh, ow)
    return y


def run(name, call, B, in_shape, fn, h5):
    x = unif((B,) + tuple(in_shape))
    tx = t64(x)
    y = fn(tx.permute(0, 3, 1, 2))   # NHWC -> NCHW -> the layer -> NHWC or (B, C)
    dy = unif(tuple(y.shape))
    (y * torch.tensor(dy.astype(np.float64))).sum().backward()
    write_layer(h5, name, call, x, y.detach().numpy(), dy, tx.grad.numpy())


def avg_case(h5, name, call, B, in_shape, k, s, same):
    # the count excludes padding: ones average to exactly one everywhere
    ones = torch.ones((1, 1) + tuple(in_shape[:2]))
    assert torch.all(tf_avg_pool(ones, k, s, same) == 1.0), name
    run(name, call, B, in_shape,
        lambda xn: tf_avg_pool(xn, k, s, same).permute(0, 2, 3, 1), h5)


def global_case(h5, name, call, B, in_shape, fn, keepdims):
    def layer(xn):
        y = fn(xn, 1)                      # (B, C, 1, 1)
        return y.permute(0, 2, 3, 1) if keepdims else y.flatten(1)
    run(name, call, B, in_shape, layer, h5)


def zpad_case(h5, name, call, B, in_shape, top, bottom, left, right):
    run(name, call, B, in_shape,
        lambda xn: F.pad(xn, (left, right, top, bottom)).permute(0, 2, 3, 1), h5)


def layers(h5):
    avg_case(h5, "avg_2x2_valid", "AveragePooling2D()", 2, (4, 6, 3), (2, 2), (2, 2), False)
    # valid with a remainder: the last row and column belong to no window
    avg_case(h5, "avg_odd_valid", "AveragePooling2D((3, 2), strides=(2, 1))", 2, (7, 5, 2),
             (3, 2), (2, 1), False)
    # H: out 3, pad 0/1; W: out 4, pad 1/1 (overlapping windows)
    avg_case(h5, "avg_3x3_s2_same", 'AveragePooling2D(3, strides=2, padding="same")', 2,
             (6, 7, 2), (3, 3), (2, 2), True)
    # H: stride 1, pad 0/1; W: out 4, pad 0/1
    avg_case(h5, "avg_2x3_same", 'AveragePooling2D((2, 3), strides=(1, 2), padding="same")',
             2, (5, 8, 2), (2, 3), (1, 2), True)
    # pool 4, stride 1: pad 1/2 on both axes, corner windows hold 4 of 16 cells
    avg_case(h5, "avg_4_same_s1", 'AveragePooling2D(4, strides=1, padding="same")', 2,
             (5, 6, 3), (4, 4), (1, 1), True)
    # the ResNet20 head: AveragePooling2D(8) on 8x8
    avg_case(h5, "avg_8_resnet", "AveragePooling2D(pool_size=8)", 2, (8, 8, 4), (8, 8), (8, 8),
             False)
    global_case(h5, "gap", "GlobalAveragePooling2D()", 3, (3, 4, 5),
                F.adaptive_avg_pool2d, False)
    global_case(h5, "gap_keepdims", "GlobalAveragePooling2D(keepdims=True)", 2, (5, 2, 3),
                F.adaptive_avg_pool2d, True)
    global_case(h5, "gmp", "GlobalMaxPooling2D()", 3, (4, 3, 6),
                lambda xn, n: F.adaptive_max_pool2d(xn, n), False)
    global_case(h5, "gmp_keepdims", "GlobalMaxPooling2D(keepdims=True)", 2, (2, 5, 3),
                lambda xn, n: F.adaptive_max_pool2d(xn, n), True)
    zpad_case(h5, "zpad_1", "ZeroPadding2D()", 2, (3, 4, 2), 1, 1, 1, 1)
    zpad_case(h5, "zpad_hw", "ZeroPadding2D((1, 2))", 2, (2, 3, 3), 1, 1, 2, 2)
    zpad_case(h5, "zpad_tblr", "ZeroPadding2D(padding=((0, 2), (3, 1)))", 2, (3, 2, 2),
              0, 2, 3, 1)


def main():
    out = os.path.normpath(OUT)
    os.makedirs(os.path.dirname(out), exist_ok=True)
    with fixture(out, "scripts/gen_fixtures_pool.py", torch.__version__) as h5:
        layers(h5)
    print("%s: %d bytes" % (out, os.path.getsize(out)))


if __name__ == "__main__":
    main()
