#!/usr/bin/python3
"""Golden fixtures for tests/test_golden.c, computed independently with PyTorch.

Run with Debian's interpreter (python3-torch, python3-h5py, python3-numpy):
    /usr/bin/python3 scripts/gen_fixtures.py [out.h5]
Writes tests/fixtures/golden.h5 by default. Deterministic (fixed numpy seed);
every stored array is float32. Layout:

  <case>/            one layer (Dense, Conv2D, MaxPooling2D)
    attrs  call         the nntrain spec line, e.g. Conv2D(4, (3, 3), ...)
           input_shape  per-sample NHWC (or (features,)) shape, int32
    x      (B, ...)     input, NHWC
    kernel              Dense (in, out) / Conv2D HWIO      (if the layer has it)
    bias   (out,)                                           (if the layer has it)
    y      (B, ...)     forward output
    dy     (B, ...)     random upstream gradient
    dx, dkernel, dbias  gradients of sum(y * dy)

  loss/<name>/
    attrs  loss         Keras loss name
           fused        1: grad is w.r.t. the logits of the final softmax/sigmoid
           scale        the scale passed to nn_loss_eval (1/B: grad of the MEAN)
    out    (B, K)       model outputs (probabilities for cross-entropies)
    y      (B, ydim)    targets (one-hot, {0,1}, float labels for SCCE, reals)
    logits (B, K)       pre-activation (reference only)
    loss   ()           SUM over the batch of the per-sample Keras loss
    grad   (B, K)       scale * d(loss sum)/d(logits or out)

  train/
    attrs  model_spec   the layers of the tiny MLP (spec text)
    x (B, 5), y (B, 1)  one fixed batch, integer labels stored as float
    params0 (P,)        initial params in nntrain flat order
    <opt>/  attrs spec (full spec text with compile()), optimizer (the call)
            losses (5,)  mean batch loss at the forward of each step
            params (P,)  params after 5 full-batch steps

Reference maths is float64 (torch autograd); results are rounded to float32.
Conv: NHWC <-> NCHW by permute, kernels HWIO <-> OIHW. Keras/TensorFlow "same"
padding is applied explicitly with F.pad: pad_total = max((O-1)*s + K - I, 0),
the smaller half first (top/left), the rest after (bottom/right); MaxPooling2D
pads with -inf so padded cells never win.
"""
import sys
import os

import h5py
import numpy as np
import torch
import torch.nn.functional as F

torch.set_default_dtype(torch.float64)
RNG = np.random.default_rng(20240611)
TRAIN_SEED = 20240615

OUT = sys.argv[1] if len(sys.argv) > 1 else os.path.join(
    os.path.dirname(os.path.abspath(__file__)), "..", "tests", "fixtures", "golden.h5")


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
    if name == "softmax":
        return torch.softmax(z, dim=-1)
    raise ValueError(name)


def same_pad(size, k, s):
    out = -(-size // s)
    total = max((out - 1) * s + k - size, 0)
    return total // 2, total - total // 2


def group(parent, name):
    """A group without creation/modification times, so reruns are byte-identical."""
    gcpl = h5py.h5p.create(h5py.h5p.GROUP_CREATE)
    gcpl.set_obj_track_times(False)
    for part in name.split("/"):
        if part not in parent:
            h5py.h5g.create(parent.id, part.encode(), gcpl=gcpl)
        parent = parent[part]
    return parent


def put(g, name, data):
    g.create_dataset(name, data=data, track_times=False)


def set_str(obj, key, text):
    # fixed-length ASCII (H5T_STR_NULLPAD): the simplest thing to read from C
    obj.attrs[key] = np.bytes_(text.encode("ascii"))


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


# ---------------------------------------------------------------- layers --
def dense_case(h5, name, call, B, n_in, n_out, activation, use_bias=True):
    for _ in range(100):
        x = unif((B, n_in))
        k = unif((n_in, n_out), -0.6, 0.6)
        b = unif((n_out,), -0.3, 0.3)
        z = x.astype(np.float64) @ k + (b if use_bias else 0)
        if activation != "relu" or np.abs(z).min() > 1e-2:  # avoid the kink
            break
    else:
        raise RuntimeError(name + ": could not avoid ReLU kink")
    tx, tk = t64(x), t64(k)
    tb = t64(b) if use_bias else None
    z = tx @ tk + (tb if use_bias else 0)
    y = act(activation, z)
    dy = unif(y.shape)
    (y * torch.tensor(dy, dtype=torch.float64)).sum().backward()
    params = {"kernel": k}
    grads = {"x": tx.grad.numpy(), "kernel": tk.grad.numpy()}
    if use_bias:
        params["bias"] = b
        grads["bias"] = tb.grad.numpy()
    write_layer(h5, name, call, x, params, y.detach().numpy(), dy, grads)


def conv_forward(x_nhwc, k_hwio, b, kh, kw, sh, sw, padding):
    x = x_nhwc.permute(0, 3, 1, 2)            # NHWC -> NCHW
    if padding == "same":
        top, bottom = same_pad(x.shape[2], kh, sh)
        left, right = same_pad(x.shape[3], kw, sw)
        x = F.pad(x, (left, right, top, bottom))
    w = k_hwio.permute(3, 2, 0, 1)            # HWIO -> OIHW
    z = F.conv2d(x, w, b, stride=(sh, sw))
    return z.permute(0, 2, 3, 1)              # NCHW -> NHWC


def conv_case(h5, name, call, B, in_shape, F_, ksize, strides, padding, activation):
    kh, kw = ksize
    sh, sw = strides
    C = in_shape[2]
    for _ in range(100):
        x = unif((B,) + tuple(in_shape))
        k = unif((kh, kw, C, F_), -0.5, 0.5)
        b = unif((F_,), -0.3, 0.3)
        with torch.no_grad():
            z = conv_forward(torch.tensor(x, dtype=torch.float64),
                             torch.tensor(k, dtype=torch.float64),
                             torch.tensor(b, dtype=torch.float64), kh, kw, sh, sw, padding)
        if activation != "relu" or z.abs().min().item() > 1e-2:
            break
    else:
        raise RuntimeError(name + ": could not avoid ReLU kink")
    tx, tk, tb = t64(x), t64(k), t64(b)
    y = act(activation, conv_forward(tx, tk, tb, kh, kw, sh, sw, padding))
    dy = unif(y.shape)
    (y * torch.tensor(dy, dtype=torch.float64)).sum().backward()
    write_layer(h5, name, call, x, {"kernel": k, "bias": b}, y.detach().numpy(), dy,
                {"x": tx.grad.numpy(), "kernel": tk.grad.numpy(), "bias": tb.grad.numpy()})


def pool_forward(x_nhwc, ph, pw, sh, sw, padding):
    x = x_nhwc.permute(0, 3, 1, 2)
    if padding == "same":
        top, bottom = same_pad(x.shape[2], ph, sh)
        left, right = same_pad(x.shape[3], pw, sw)
        x = F.pad(x, (left, right, top, bottom), value=-float("inf"))
    return F.max_pool2d(x, (ph, pw), stride=(sh, sw)).permute(0, 2, 3, 1)


def pool_case(h5, name, call, B, in_shape, pool, strides, padding):
    ph, pw = pool
    sh, sw = strides
    # distinct values with gaps >= 1e-3: no ties, so the argmax is unambiguous
    n = B * int(np.prod(in_shape))
    vals = (RNG.permutation(n) - n / 2) * (2.0 / n)
    x = f32(vals.reshape((B,) + tuple(in_shape)))
    tx = t64(x)
    y = pool_forward(tx, ph, pw, sh, sw, padding)
    dy = unif(y.shape)
    (y * torch.tensor(dy, dtype=torch.float64)).sum().backward()
    write_layer(h5, name, call, x, {}, y.detach().numpy(), dy, {"x": tx.grad.numpy()})


def layers(h5):
    dense_case(h5, "dense_relu", 'Dense(6, activation="relu")', 4, 5, 6, "relu")
    dense_case(h5, "dense_softmax", 'Dense(4, activation="softmax")', 4, 7, 4, "softmax")
    dense_case(h5, "dense_linear_nobias", "Dense(3, use_bias=False)", 4, 5, 3, "linear",
               use_bias=False)
    conv_case(h5, "conv_valid_relu", 'Conv2D(4, (3, 3), activation="relu")',
              2, (6, 6, 2), 4, (3, 3), (1, 1), "valid", "relu")
    conv_case(h5, "conv_same", 'Conv2D(3, (3, 3), padding="same")',
              2, (5, 5, 2), 3, (3, 3), (1, 1), "same", "linear")
    # odd 7x7, k3, s2: pad_total 2 -> (1, 1)
    conv_case(h5, "conv_same_s2_odd",
              'Conv2D(4, (3, 3), strides=(2, 2), padding="same", activation="relu")',
              2, (7, 7, 3), 4, (3, 3), (2, 2), "same", "relu")
    # 6x9, k(3,4), s2: H pad (0, 1), W pad (1, 2): TensorFlow's asymmetric split
    conv_case(h5, "conv_same_s2_asym", 'Conv2D(3, (3, 4), strides=2, padding="same")',
              2, (6, 9, 2), 3, (3, 4), (2, 2), "same", "linear")
    conv_case(h5, "conv_1x1", "Conv2D(5, (1, 1))",
              2, (4, 4, 3), 5, (1, 1), (1, 1), "valid", "linear")
    conv_case(h5, "conv_nonsquare", 'Conv2D(3, (2, 3), activation="tanh")',
              2, (5, 7, 2), 3, (2, 3), (1, 1), "valid", "tanh")
    conv_case(h5, "conv_nonsquare_stride", "Conv2D(2, (3, 2), strides=(2, 1))",
              2, (7, 5, 3), 2, (3, 2), (2, 1), "valid", "linear")
    pool_case(h5, "pool_2x2_valid", "MaxPooling2D((2, 2))", 2, (4, 6, 3), (2, 2), (2, 2),
              "valid")
    # 7x6, p3, s2: H pad (1, 1), W pad (0, 1)
    pool_case(h5, "pool_3x3_s2_same", 'MaxPooling2D((3, 3), strides=(2, 2), padding="same")',
              2, (7, 6, 2), (3, 3), (2, 2), "same")
    pool_case(h5, "pool_2x2_odd_valid", "MaxPooling2D((2, 2))", 2, (5, 7, 2), (2, 2), (2, 2),
              "valid")
    # F >= 8 goes through nntrain's direct kernels: 20 filters (a partial vector; dW with
    # the 15 taps of a 5x5x3 row in the vectors), 40 filters on 48 channels (the kernel
    # rows exceed nntrain's L1 block, forward and dx: one pass per kernel row), 48
    # filters with stride 2
    conv_case(h5, "conv_direct_f20", 'Conv2D(20, (5, 5), activation="tanh")',
              2, (9, 18, 3), 20, (5, 5), (1, 1), "valid", "tanh")
    conv_case(h5, "conv_direct_f40_same", 'Conv2D(40, (3, 3), padding="same")',
              2, (5, 9, 48), 40, (3, 3), (1, 1), "same", "linear")
    conv_case(h5, "conv_direct_f48_s2",
              'Conv2D(48, (3, 3), strides=2, padding="same", activation="tanh")',
              2, (9, 16, 8), 48, (3, 3), (2, 2), "same", "tanh")


# ---------------------------------------------------------------- losses --
def write_loss(h5, name, loss, fused, scale, out, y, logits, total, grad):
    g = group(h5, "loss/" + name)
    set_str(g, "loss", loss)
    g.attrs["fused"] = np.int32(fused)
    g.attrs["scale"] = np.float64(scale)
    put(g, "out", f32(out))
    put(g, "y", f32(y))
    put(g, "logits", f32(logits))
    put(g, "loss", np.float32(total))
    put(g, "grad", f32(grad))


def losses(h5):
    B, K = 5, 4
    scale = 1.0 / B

    # softmax + categorical_crossentropy (one-hot), fused: grad w.r.t. logits
    z = t64(unif((B, K), -2, 2))
    p = torch.softmax(z, -1)
    y = np.eye(K)[RNG.integers(0, K, B)]
    per = -(torch.tensor(y) * torch.log(p)).sum(-1)
    per.sum().backward()
    write_loss(h5, "softmax_cce", "categorical_crossentropy", 1, scale, p.detach(), y,
               z.detach(), per.sum().item(), scale * z.grad.numpy())

    # softmax + sparse_categorical_crossentropy, integer labels (B, 1)
    z = t64(unif((B, K), -2, 2))
    p = torch.softmax(z, -1)
    lab = RNG.integers(0, K, B)
    per = F.nll_loss(torch.log(p), torch.tensor(lab), reduction="none")
    per.sum().backward()
    write_loss(h5, "softmax_scce", "sparse_categorical_crossentropy", 1, scale, p.detach(),
               lab.reshape(B, 1).astype(np.float32), z.detach(), per.sum().item(),
               scale * z.grad.numpy())

    # sigmoid + binary_crossentropy, one output; per sample = mean over K (Keras)
    for nm, KK in (("sigmoid_bce", 1), ("sigmoid_bce_k3", 3)):
        z = t64(unif((B, KK), -3, 3))
        p = torch.sigmoid(z)
        y = RNG.integers(0, 2, (B, KK)).astype(np.float64)
        per = F.binary_cross_entropy_with_logits(z, torch.tensor(y), reduction="none").mean(-1)
        per.sum().backward()
        write_loss(h5, nm, "binary_crossentropy", 1, scale, p.detach(), y, z.detach(),
                   per.sum().item(), scale * z.grad.numpy())

    # mean_squared_error: per sample = mean over K; grad w.r.t. the output
    o = t64(unif((B, 3), -2, 2))
    y = unif((B, 3), -2, 2)
    per = ((o - torch.tensor(y, dtype=torch.float64)) ** 2).mean(-1)
    per.sum().backward()
    write_loss(h5, "mse", "mean_squared_error", 0, scale, o.detach(), y, o.detach(),
               per.sum().item(), scale * o.grad.numpy())


# ----------------------------------------------------------------- train --
MODEL_SPEC = ('Dense(8, activation="relu", input_shape=(5,))\n'
              'Dense(3, activation="softmax")\n')

OPTIMIZERS = {
    "sgd_nesterov": "SGD(lr=0.1, momentum=0.9, nesterov=True)",
    "rmsprop": "RMSprop(lr=0.01)",
    "adam": "Adam(lr=0.01)",
}


def keras_step(kind, p, g, state, it):
    """One Keras 2 update in float64 of float32 params p with gradient g.
    Slots are kept in float32, as nntrain keeps them. it = steps already taken.
      SGD:     v = m v - lr g;  nesterov: p += m v - lr g  (else p += v)
      RMSprop: a = rho a + (1-rho) g^2;  p -= lr g / (sqrt(a) + eps)      eps outside sqrt
      Adam:    t = it + 1;  lr_t = lr sqrt(1 - b2^t) / (1 - b1^t)
               m = b1 m + (1-b1) g;  v = b2 v + (1-b2) g^2;  p -= lr_t m / (sqrt(v) + eps)
    """
    p = p.astype(np.float64)
    if kind == "sgd_nesterov":
        lr, mom = 0.1, 0.9
        v = mom * state["v"] - lr * g
        p = p + mom * v - lr * g
        state["v"] = f32(v)
    elif kind == "rmsprop":
        lr, rho, eps = 0.01, 0.9, 1e-7
        a = rho * state["a"] + (1 - rho) * g * g
        p = p - lr * g / (np.sqrt(a) + eps)
        state["a"] = f32(a)
    elif kind == "adam":
        lr, b1, b2, eps = 0.01, 0.9, 0.999, 1e-7
        t = it + 1
        lr_t = lr * np.sqrt(1 - b2 ** t) / (1 - b1 ** t)
        m = b1 * state["m"] + (1 - b1) * g
        v = b2 * state["v"] + (1 - b2) * g * g
        p = p - lr_t * m / (np.sqrt(v) + eps)
        state["m"], state["v"] = f32(m), f32(v)
    return f32(p)


def train(h5):
    # a stream of its own: layer cases added above do not move the training data
    global RNG
    RNG = np.random.default_rng(TRAIN_SEED)
    B, n_in, H, K = 6, 5, 8, 3
    shapes = [(n_in, H), (H,), (H, K), (K,)]   # nntrain flat order
    sizes = [int(np.prod(s)) for s in shapes]
    P = sum(sizes)
    x = unif((B, n_in), -1, 1)
    lab = RNG.integers(0, K, B)
    params0 = np.concatenate([unif(s, -0.7, 0.7).ravel() for s in shapes])

    def loss_grad(flat):
        t = t64(flat)
        parts, off = [], 0
        for s, n in zip(shapes, sizes):
            parts.append(t[off:off + n].reshape(s))
            off += n
        h = torch.relu(torch.tensor(x, dtype=torch.float64) @ parts[0] + parts[1])
        z = h @ parts[2] + parts[3]
        # sparse_categorical_crossentropy on softmax, mean over the batch
        loss = F.nll_loss(torch.log_softmax(z, -1), torch.tensor(lab))
        loss.backward()
        hmin = (torch.tensor(x, dtype=torch.float64) @ parts[0] + parts[1]).abs().min().item()
        return loss.item(), t.grad.numpy(), hmin

    g = group(h5, "train")
    set_str(g, "model_spec", MODEL_SPEC)
    put(g, "x", f32(x))
    put(g, "y", f32(lab.reshape(B, 1)))
    put(g, "params0", f32(params0))
    for name, call in OPTIMIZERS.items():
        p = params0.copy()
        state = {k: np.zeros(P, np.float32) for k in ("v", "a", "m")}
        ls = []
        for it in range(5):
            loss, grad, hmin = loss_grad(p)
            if hmin < 1e-3:
                raise RuntimeError("train/%s step %d: hidden pre-activation %.2g near "
                                   "the ReLU kink; change the seed" % (name, it, hmin))
            ls.append(loss)
            p = keras_step(name, p, grad, state, it)
        sg = group(g, name)
        set_str(sg, "optimizer", call)
        set_str(sg, "spec", MODEL_SPEC + 'compile(loss="sparse_categorical_crossentropy", '
                'optimizer=%s)\n' % call)
        put(sg, "losses", f32(ls))
        put(sg, "params", f32(p))


def main():
    out = os.path.normpath(OUT)
    os.makedirs(os.path.dirname(out), exist_ok=True)
    tmp = out + ".tmp"
    fcpl = h5py.h5p.create(h5py.h5p.FILE_CREATE)
    fcpl.set_obj_track_times(False)  # root group: no timestamps either
    fapl = h5py.h5p.create(h5py.h5p.FILE_ACCESS)
    # v1.8 object format: compact groups, readable by any HDF5 >= 1.8, and the
    # same bytes whichever newer library h5py links
    fapl.set_libver_bounds(h5py.h5f.LIBVER_V18, h5py.h5f.LIBVER_V18)
    fid = h5py.h5f.create(tmp.encode(), h5py.h5f.ACC_TRUNC, fapl=fapl, fcpl=fcpl)
    with h5py.File(fid) as h5:
        h5.attrs["generator"] = np.bytes_(b"scripts/gen_fixtures.py")
        h5.attrs["torch_version"] = np.bytes_(torch.__version__.encode())
        layers(h5)
        losses(h5)
        train(h5)
    os.replace(tmp, out)
    print("%s: %d bytes" % (out, os.path.getsize(out)))


if __name__ == "__main__":
    main()
