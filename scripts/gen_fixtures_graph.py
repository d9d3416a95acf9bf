#!/usr/bin/python3
"""Golden fixture for tests/test_golden_graph.c (issue 17: a functional model
with a residual block, BatchNormalization, Add and Concatenate), computed
independently with PyTorch, never with nntrain.

Run with Debian's interpreter (python3-torch, python3-h5py, python3-numpy):
    /usr/bin/python3 scripts/gen_fixtures_graph.py [out.h5]
Writes tests/fixtures/golden_graph.h5 by default. Deterministic. The model
(SPEC below, nntrain's functional syntax): Input 8x8x3 -> Conv2D 3x3 same ->
BN -> ReLU = x; block Conv2D 3x3 stride 2 same -> BN -> ReLU -> Conv2D 3x3
same -> BN = y; shortcut Conv2D 1x1 stride 2 (x) = s; add([s, y]) -> ReLU = r;
Concatenate([r, Conv2D 1x1 (r)]) -> GlobalAveragePooling2D -> Dense softmax.
Keras semantics, done by hand in NCHW: "same" pads as TensorFlow (the extra
row/column at the bottom/right for stride 2), kernels HWIO -> OIHW, Keras
BN momentum m -> PyTorch momentum 1 - m (F.batch_norm: normalize with the
biased batch variance, moving variance updated with the unbiased one), the
three BNs at momentum 0.9, 0.99 (Keras's default) and 0.5, epsilon 1e-3
(default) and 0.01. Keras SGD(lr=0.1, momentum=0.9): v = m v - lr g,
p += v (slots start at 0).
Layout: attribute spec; datasets x (B, 8, 8, 3), y (B, 1) class indices,
params0 (P,) in nntrain's flat order (layers in the spec's order; conv
kernel HWIO then bias, BN gamma, beta, moving_mean, moving_variance, dense
kernel (in, out) then bias); out (B, K) = the training-mode forward at
params0; grads (P,) = d mean loss / d params at params0 (0 for the moving
statistics); params_fwd (P,) = params0 with the moving statistics after that
one forward; losses (5,) = the loss at each step's forward; params (P,)
after the 5 steps (moving statistics included); eval_loss at the final
parameters in inference mode (moving statistics).
"""
import os
import sys

import h5py
import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from fixture_h5 import f32, fixture, put  # noqa: E402

torch.set_default_dtype(torch.float64)
RNG = np.random.default_rng(20261208)
OUT = sys.argv[1] if len(sys.argv) > 1 else os.path.join(
    os.path.dirname(os.path.abspath(__file__)), "..", "tests", "fixtures", "golden_graph.h5")

B, K, STEPS, LR, MOM = 6, 3, 5, 0.1, 0.9
SPEC = (
    'inputs = Input(shape=(8, 8, 3))\n'
    'x = Conv2D(4, 3, padding="same")(inputs)\n'
    'x = BatchNormalization(momentum=0.9)(x)\n'
    'x = Activation("relu")(x)\n'
    'y = Conv2D(6, 3, strides=2, padding="same")(x)\n'
    'y = BatchNormalization()(y)\n'
    'y = Activation("relu")(y)\n'
    'y = Conv2D(6, 3, padding="same")(y)\n'
    'y = BatchNormalization(momentum=0.5, epsilon=0.01)(y)\n'
    's = Conv2D(6, 1, strides=2)(x)\n'
    'r = add([s, y])\n'
    'r = Activation("relu")(r)\n'
    'b = Conv2D(2, 1)(r)\n'
    'x = Concatenate()([r, b])\n'
    'x = GlobalAveragePooling2D()(x)\n'
    'outputs = Dense(3, activation="softmax")(x)\n'
    'model = Model(inputs=inputs, outputs=outputs)\n'
    'model.compile(loss="sparse_categorical_crossentropy", '
    'optimizer=SGD(lr=0.1, momentum=0.9))\n'
    'model.fit(x_train, y_train, batch_size=6, epochs=5, shuffle=False)\n')

# The layers with weights in the spec's order: (kind, name, shape info).
LAYERS = [
    ("conv", "c0", (3, 3, 3, 4)),
    ("bn", "n0", 4, 0.9, 1e-3),
    ("conv", "c1", (3, 3, 4, 6)),
    ("bn", "n1", 6, 0.99, 1e-3),
    ("conv", "c2", (3, 3, 6, 6)),
    ("bn", "n2", 6, 0.5, 0.01),
    ("conv", "c3", (1, 1, 4, 6)),
    ("conv", "c4", (1, 1, 6, 2)),
    ("dense", "d", (8, 3)),
]


def shapes():
    """(name, shape, trainable) of every tensor in nntrain's flat order"""
    out = []
    for ly in LAYERS:
        if ly[0] == "bn":
            c = ly[2]
            out += [(ly[1] + ".gamma", (c,), True), (ly[1] + ".beta", (c,), True),
                    (ly[1] + ".mean", (c,), False), (ly[1] + ".var", (c,), False)]
        else:
            out += [(ly[1] + ".kernel", ly[2], True), (ly[1] + ".bias", (ly[2][-1],), True)]
    return out


def unpack(flat):
    d, off = {}, 0
    for name, s, _ in shapes():
        n = int(np.prod(s))
        d[name] = flat[off:off + n].reshape(s).clone()
        off += n
    return d


def conv(p, name, h, stride, same):
    """Keras Conv2D on NCHW h: HWIO kernel, TensorFlow's "same" padding"""
    k = p[name + ".kernel"]
    kh, kw = k.shape[0], k.shape[1]
    if same:
        H, W = h.shape[2], h.shape[3]
        oh, ow = -(-H // stride), -(-W // stride)
        ph = max((oh - 1) * stride + kh - H, 0)
        pw = max((ow - 1) * stride + kw - W, 0)
        h = F.pad(h, (pw // 2, pw - pw // 2, ph // 2, ph - ph // 2))
    return F.conv2d(h, k.permute(3, 2, 0, 1), p[name + ".bias"], stride=stride)


def bn(p, name, h, training):
    """Keras BatchNormalization(momentum=m, epsilon) = F.batch_norm(1 - m);
    in training it updates p's moving statistics in place"""
    _, _, _, m, eps = next(ly for ly in LAYERS if ly[1] == name)
    return F.batch_norm(h, p[name + ".mean"], p[name + ".var"], p[name + ".gamma"],
                        p[name + ".beta"], training=training, momentum=1 - m, eps=eps)


def forward(p, x, training):
    h = torch.tensor(x.astype(np.float64)).permute(0, 3, 1, 2)     # NHWC -> NCHW
    x0 = F.relu(bn(p, "n0", conv(p, "c0", h, 1, True), training))
    y = F.relu(bn(p, "n1", conv(p, "c1", x0, 2, True), training))
    y = bn(p, "n2", conv(p, "c2", y, 1, True), training)
    s = conv(p, "c3", x0, 2, False)
    r = F.relu(s + y)
    cat = torch.cat([r, conv(p, "c4", r, 1, False)], 1)           # channels: NHWC's last axis
    g = cat.mean((2, 3))
    return torch.softmax(g @ p["d.kernel"] + p["d.bias"], -1)


def loss_of(p, x, lab, training):
    """(softmax output, mean sparse categorical cross-entropy)"""
    out = forward(p, x, training)
    return out, F.nll_loss(torch.log(out), torch.tensor(lab))


def grad_step(flat, x, lab):
    """training forward and backward at flat: (out, loss, grads, flat with the
    moving statistics moved)"""
    p = unpack(torch.tensor(flat))
    train = [n for n, _, t in shapes() if t]
    for n in train:
        p[n].requires_grad_(True)
    out, loss = loss_of(p, x, lab, True)
    loss.backward()
    g = np.concatenate([(p[n].grad.numpy() if t else np.zeros(s)).ravel()
                        for n, s, t in shapes()])
    moved = np.concatenate([p[n].detach().numpy().ravel() for n, _, _ in shapes()])
    return out.detach().numpy(), loss.item(), g, moved


def main():
    x = f32(RNG.uniform(-1, 1, size=(B, 8, 8, 3)) + 0.5)   # a mean to remove
    lab = RNG.integers(0, K, B)
    parts = []
    for name, s, _ in shapes():
        if name.endswith(".gamma") or name.endswith(".var"):
            parts.append(RNG.uniform(0.5, 1.5, size=s))
        elif name.endswith(".mean") or name.endswith(".beta"):
            parts.append(RNG.uniform(-0.3, 0.3, size=s))
        else:
            parts.append(RNG.uniform(-0.5, 0.5, size=s))
    params0 = f32(np.concatenate([q.ravel() for q in parts]))
    trainable = np.concatenate([np.full(int(np.prod(s)), t) for _, s, t in shapes()])

    out, _, grads, params_fwd = grad_step(params0.astype(np.float64), x, lab)
    p = params0.astype(np.float64)
    v = np.zeros_like(p)
    losses = []
    for _ in range(STEPS):
        _, loss, g, moved = grad_step(p, x, lab)
        losses.append(loss)
        v = MOM * v - LR * g
        p = np.where(trainable, p + v, moved)
    _, ev = loss_of(unpack(torch.tensor(p)), x, lab, False)

    out_path = os.path.normpath(OUT)
    with fixture(out_path, "scripts/gen_fixtures_graph.py", torch.__version__, SPEC) as h5:
        put(h5, "x", x)
        put(h5, "y", f32(lab.reshape(B, 1)))
        put(h5, "params0", params0)
        put(h5, "out", f32(out))
        put(h5, "grads", f32(grads))
        put(h5, "params_fwd", f32(params_fwd))
        put(h5, "losses", f32(losses))
        put(h5, "params", f32(p))
        put(h5, "eval_loss", f32([ev.item()]))
    print("%s: %d bytes, P %d, losses %s, eval_loss %.6f" % (
        out_path, os.path.getsize(out_path), params0.size, losses, ev.item()))


if __name__ == "__main__":
    main()
