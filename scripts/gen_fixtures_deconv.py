#!/usr/bin/python3
"""Golden fixtures for tests/test_golden_deconv.c (Conv2DTranspose, UpSampling2D),
computed independently with PyTorch.

Run with Debian's interpreter (python3-torch, python3-h5py, python3-numpy):
    /usr/bin/python3 scripts/gen_fixtures_deconv.py [out.h5]
Writes tests/fixtures/golden_deconv.h5 by default. Deterministic; every stored
array is float32. Same per-case layout as scripts/gen_fixtures.py:

  <case>/
    attrs  call         the nntrain spec line
           input_shape  per-sample NHWC shape, int32
           pad          (Conv2DTranspose) top, left crop of the full output, int32
           adjoint_rel  (Conv2DTranspose) |<conv(u), x> - <deconv(x), u>| / scale
    x      (B, H, W, C)
    kernel (KH, KW, F, C)   Keras Conv2DTranspose layout ("HWOI")
    bias   (F,)
    y      (B, OH, OW, F)
    dy     (B, OH, OW, F)   random upstream gradient
    dx, dkernel, dbias      gradients of sum(y * dy)

How "same" is matched to Keras/TensorFlow. Keras sizes the output with
deconv_output_length (valid: H*s + max(K - s, 0); same: H*s; with
output_padding: (H-1)*s + K - 2*(K//2 if same else 0) + output_padding) and
TensorFlow computes conv2d_transpose as conv2d_backprop_input: the adjoint of
a Conv2D from the (OH, OW) output back to (H, W) with the same kernel,
strides and padding, that Conv2D padding its input by TF's rule
(total = max((H-1)*s + K - OH, 0), top = total // 2, the rest at the bottom).
torch's conv_transpose2d without padding computes the full scatter of size
(H-1)*s + K, indexed in that Conv2D's PADDED coordinates; so the TF output is
rows [top, top + OH) of it (zero rows past its end when OH + top exceeds it:
valid with K < s, or output_padding). The script checks this numerically:
<conv_tf(u), x> == <deconv(x), u> for random u, x in float64, and that a crop
one row/column off breaks it (the check has power).
Weights: Keras (KH, KW, F, C) -> torch conv_transpose2d (C, F, KH, KW) by
permute(3, 2, 0, 1); the same tensor is the OIHW weight of the adjoint conv2d.
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
RNG = np.random.default_rng(20240923)

OUT = sys.argv[1] if len(sys.argv) > 1 else os.path.join(
    os.path.dirname(os.path.abspath(__file__)), "..", "tests", "fixtures",
    "golden_deconv.h5")


def f32(a):
    return np.ascontiguousarray(np.asarray(a, dtype=np.float32))


def t64(a):
    """float32-rounded numpy -> float64 torch leaf with grad."""
    return torch.tensor(np.asarray(a, dtype=np.float32).astype(np.float64),
                        requires_grad=True)


def unif(shape, lo=-1.0, hi=1.0):
    return f32(RNG.uniform(lo, hi, size=shape))


def act(name, z):
    if name == "linear":
        return z
    if name == "relu":
        return torch.relu(z)
    if name == "tanh":
        return torch.tanh(z)
    if name == "sigmoid":
        return torch.sigmoid(z)
    raise ValueError(name)


def deconv_len(n, k, s, same, op):
    """Keras conv_utils.deconv_output_length (dilation 1); op None = not given."""
    if op is not None:
        return (n - 1) * s + k - (2 * (k // 2) if same else 0) + op
    if same:
        return n * s
    return n * s + max(k - s, 0)


def tf_conv_pad(n, k, s, same):
    """TensorFlow Conv2D on an input of length n: (out, pad_top, pad_bottom)."""
    if not same:
        return (n - k) // s + 1, 0, 0
    out = -(-n // s)
    total = max((out - 1) * s + k - n, 0)
    return out, total // 2, total - total // 2


# ------------------------------------------------------------ the maths --
def conv_tf(u_nhwc, k, sh, sw, same):
    """TF Conv2D of u (B, OH, OW, F) with the kernel k (KH, KW, F, C) read as
    HWIO: -> (B, H, W, C). The operator Conv2DTranspose is the adjoint of."""
    u = u_nhwc.permute(0, 3, 1, 2)
    kh, kw = k.shape[0], k.shape[1]
    _, top, bottom = tf_conv_pad(u.shape[2], kh, sh, same)
    _, left, right = tf_conv_pad(u.shape[3], kw, sw, same)
    u = F.pad(u, (left, right, top, bottom))
    return F.conv2d(u, k.permute(3, 2, 0, 1), stride=(sh, sw)).permute(0, 2, 3, 1)


def deconv(x_nhwc, k, b, sh, sw, oh, ow, top, left):
    """Conv2DTranspose by torch: the full scatter, cropped to [top, top+oh) x
    [left, left+ow) (zero-extended past its end), plus bias."""
    x = x_nhwc.permute(0, 3, 1, 2)
    full = F.conv_transpose2d(x, k.permute(3, 2, 0, 1), stride=(sh, sw))
    hf, wf = full.shape[2], full.shape[3]
    full = F.pad(full, (0, max(left + ow - wf, 0), 0, max(top + oh - hf, 0)))
    y = full[:, :, top:top + oh, left:left + ow]
    if b is not None:
        y = y + b.view(1, -1, 1, 1)
    return y.permute(0, 2, 3, 1)


def adjoint_err(x, k, sh, sw, same, oh, ow, top, left):
    """Relative |<conv_tf(u), x> - <deconv(x), u>| for a random u."""
    with torch.no_grad():
        xt = torch.tensor(x, dtype=torch.float64)
        kt = torch.tensor(k, dtype=torch.float64)
        u = torch.tensor(RNG.uniform(-1, 1, (x.shape[0], oh, ow, k.shape[2])))
        cu = conv_tf(u, kt, sh, sw, same)
        if cu.shape != xt.shape:
            raise RuntimeError("adjoint Conv2D maps %s to %s, not the input %s"
                               % (tuple(u.shape), tuple(cu.shape), tuple(xt.shape)))
        a = (cu * xt).sum().item()
        d = (deconv(xt, kt, None, sh, sw, oh, ow, top, left) * u).sum().item()
        return abs(a - d) / max(1.0, abs(a), abs(d))


# ------------------------------------------------------------------ h5 --
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


def write_layer(h5, name, call, x, params, y, dy, grads):
    g = group(h5, name)
    set_str(g, "call", call)
    g.attrs["input_shape"] = np.array(x.shape[1:], dtype=np.int32)
    put(g, "x", f32(x))
    put(g, "y", f32(y))
    put(g, "dy", f32(dy))
    put(g, "dx", f32(grads["x"]))
    for p in ("kernel", "bias"):
        if p in params:
            put(g, p, f32(params[p]))
            put(g, "d" + p, f32(grads[p]))
    return g


# --------------------------------------------------------------- cases --
def deconv_case(h5, name, call, B, in_shape, F_, ksize, strides, padding, activation,
                output_padding=None, use_bias=True):
    kh, kw = ksize
    sh, sw = strides
    H, W, C = in_shape
    same = padding == "same"
    oph, opw = output_padding if output_padding is not None else (None, None)
    oh, ow = deconv_len(H, kh, sh, same, oph), deconv_len(W, kw, sw, same, opw)
    bh, top, _ = tf_conv_pad(oh, kh, sh, same)
    bw, left, _ = tf_conv_pad(ow, kw, sw, same)
    assert (bh, bw) == (H, W), name + ": TensorFlow would reject this output size"
    for _ in range(100):
        x = unif((B, H, W, C))
        k = unif((kh, kw, F_, C), -0.5, 0.5)
        b = unif((F_,), -0.3, 0.3)
        with torch.no_grad():
            z = deconv(torch.tensor(x, dtype=torch.float64), torch.tensor(k, dtype=torch.float64),
                       torch.tensor(b, dtype=torch.float64) if use_bias else None,
                       sh, sw, oh, ow, top, left)
        if activation != "relu" or z.abs().min().item() > 1e-2:
            break
    else:
        raise RuntimeError(name + ": could not avoid the ReLU kink")
    err = adjoint_err(x, k, sh, sw, same, oh, ow, top, left)
    if err > 1e-12:
        raise RuntimeError("%s: crop (%d, %d) is not the adjoint of TF's Conv2D: rel err %.3g"
                           % (name, top, left, err))
    # power: a crop one row (column) further down (right) must break it
    for dt, dl in ((1, 0), (0, 1)):
        bad = adjoint_err(x, k, sh, sw, same, oh, ow, top + dt, left + dl)
        if bad < 1e-6:
            raise RuntimeError("%s: the adjoint check cannot tell crop (%d, %d) from "
                               "(%d, %d)" % (name, top, left, top + dt, left + dl))
    tx, tk = t64(x), t64(k)
    tb = t64(b) if use_bias else None
    y = act(activation, deconv(tx, tk, tb, sh, sw, oh, ow, top, left))
    dy = unif(tuple(y.shape))
    (y * torch.tensor(dy, dtype=torch.float64)).sum().backward()
    params = {"kernel": k}
    grads = {"x": tx.grad.numpy(), "kernel": tk.grad.numpy()}
    if use_bias:
        params["bias"] = b
        grads["bias"] = tb.grad.numpy()
    g = write_layer(h5, name, call, x, params, y.detach().numpy(), dy, grads)
    g.attrs["pad"] = np.array([top, left], dtype=np.int32)
    g.attrs["adjoint_rel"] = np.float64(err)
    print("  %-24s x %-14s -> y %-16s crop (top %d, left %d) adjoint rel err %.1e"
          % (name, (B,) + tuple(in_shape), tuple(y.shape), top, left, err))


def upsample_case(h5, name, call, B, in_shape, size):
    sh, sw = size
    x = unif((B,) + tuple(in_shape))
    tx = t64(x)
    H, W = in_shape[0], in_shape[1]
    y = F.interpolate(tx.permute(0, 3, 1, 2), size=(H * sh, W * sw),
                      mode="nearest").permute(0, 2, 3, 1)
    dy = unif(tuple(y.shape))
    (y * torch.tensor(dy, dtype=torch.float64)).sum().backward()
    write_layer(h5, name, call, x, {}, y.detach().numpy(), dy, {"x": tx.grad.numpy()})
    print("  %-24s x %-14s -> y %s" % (name, (B,) + tuple(in_shape), tuple(y.shape)))


def layers(h5):
    deconv_case(h5, "ct_valid_s1", 'Conv2DTranspose(3, (3, 3), activation="relu")',
                2, (4, 5, 2), 3, (3, 3), (1, 1), "valid", "relu")
    deconv_case(h5, "ct_valid_s2",
                'Conv2DTranspose(4, (3, 3), strides=2, activation="sigmoid")',
                2, (3, 4, 3), 4, (3, 3), (2, 2), "valid", "sigmoid")
    # even input, K3 s2: total pad 1 -> crop top/left 0, drop the last row/col
    deconv_case(h5, "ct_same_s2_even", 'Conv2DTranspose(3, (3, 3), strides=2, padding="same")',
                2, (4, 4, 2), 3, (3, 3), (2, 2), "same", "linear")
    deconv_case(h5, "ct_same_s2_odd",
                'Conv2DTranspose(2, (3, 3), strides=2, padding="same", activation="relu")',
                2, (3, 5, 2), 2, (3, 3), (2, 2), "same", "relu")
    # K5 s2 in H: total 3 -> top 1, bottom 2 (asymmetric); K4 s3 in W: total 1 -> left 0
    deconv_case(h5, "ct_same_asym",
                'Conv2DTranspose(2, (5, 4), strides=(2, 3), padding="same")',
                2, (3, 4, 2), 2, (5, 4), (2, 3), "same", "linear")
    deconv_case(h5, "ct_nonsquare",
                'Conv2DTranspose(3, (2, 3), strides=(2, 1), activation="tanh")',
                2, (3, 4, 2), 3, (2, 3), (2, 1), "valid", "tanh")
    # K < s: Keras makes the output H*s, the last row/column only gets the bias
    deconv_case(h5, "ct_valid_k1_s2", "Conv2DTranspose(2, 1, strides=2)",
                2, (3, 3, 2), 2, (1, 1), (2, 2), "valid", "linear")
    deconv_case(h5, "ct_1x1_nobias", "Conv2DTranspose(3, 1, use_bias=False)",
                2, (3, 3, 4), 3, (1, 1), (1, 1), "valid", "linear", use_bias=False)
    deconv_case(h5, "ct_outpad_valid",
                "Conv2DTranspose(2, (3, 2), strides=2, output_padding=(1, 0))",
                2, (3, 4, 2), 2, (3, 2), (2, 2), "valid", "linear", output_padding=(1, 0))
    deconv_case(h5, "ct_outpad_same",
                'Conv2DTranspose(2, 3, strides=2, padding="same", output_padding=0)',
                2, (3, 4, 2), 2, (3, 3), (2, 2), "same", "linear", output_padding=(0, 0))
    upsample_case(h5, "up_2x2", "UpSampling2D()", 2, (3, 4, 2), (2, 2))
    upsample_case(h5, "up_2x3", "UpSampling2D((2, 3))", 2, (2, 3, 3), (2, 3))
    upsample_case(h5, "up_3", "UpSampling2D(size=3)", 1, (2, 2, 1), (3, 3))


def main():
    out = os.path.normpath(OUT)
    os.makedirs(os.path.dirname(out), exist_ok=True)
    with fixture(out, "scripts/gen_fixtures_deconv.py", torch.__version__) as h5:
        layers(h5)
    print("%s: %d bytes" % (out, os.path.getsize(out)))


if __name__ == "__main__":
    main()
