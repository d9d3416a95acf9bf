#!/usr/bin/python3
"""Golden fixture for tests/test_golden_reg.c (issue 17's weight regularizers),
computed independently with PyTorch, never with nntrain.

Run with Debian's interpreter (python3-torch, python3-h5py, python3-numpy):
    /usr/bin/python3 scripts/gen_fixtures_reg.py [out.h5]
Writes tests/fixtures/golden_reg.h5 by default. Deterministic. A Conv2D (tanh)
+ Flatten + Dense (softmax) model whose kernels and biases carry l1, l2 and
l1_l2 regularizers trains 3 full-batch SGD steps with Keras 2 semantics:
    loss = mean cross-entropy + sum over weights of l1*sum|w| + l2*sum w^2
(the penalty not divided by the batch size); p -= lr * dloss/dp.
Layout: attribute spec; datasets x (B, 5, 5, 2), y (B, 1), params0 (P,) in
nntrain's flat order (conv kernel HWIO, conv bias, dense kernel (in, out),
dense bias), losses (3,) = the loss at each step's forward (what the epoch
line prints), params (P,) after the 3 steps, eval_loss = the loss incl.
penalty at the final parameters (model.evaluate).
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
RNG = np.random.default_rng(20261217)
OUT = sys.argv[1] if len(sys.argv) > 1 else os.path.join(
    os.path.dirname(os.path.abspath(__file__)), "..", "tests", "fixtures", "golden_reg.h5")

SPEC = (
    'Conv2D(3, (2, 2), activation="tanh", input_shape=(5, 5, 2), '
    'kernel_regularizer=l2(0.05), bias_regularizer=regularizer_l1(l = 0.02))\n'
    'Flatten()\n'
    'Dense(3, activation="softmax", kernel_regularizer=L1L2(l1=0.01, l2=0.03), '
    'bias_regularizer="l2")\n'
    'compile(loss="sparse_categorical_crossentropy", optimizer=SGD(lr=0.1))\n'
    'fit(batch_size=6, epochs=3, shuffle=False)\n')
# (l1, l2) per tensor, in flat order; "l2" as a string is Keras's l2(0.01)
REGS = [(0.0, 0.05), (0.02, 0.0), (0.01, 0.03), (0.0, 0.01)]
SHAPES = [(2, 2, 2, 3), (3,), (48, 3), (3,)]
B, K, LR, STEPS = 6, 3, 0.1, 3


def unif(shape, lo, hi):
    return f32(RNG.uniform(lo, hi, size=shape))


def unpack(t):
    parts, off = [], 0
    for s in SHAPES:
        n = int(np.prod(s))
        parts.append(t[off:off + n].reshape(s))
        off += n
    return parts


def loss_of(t, x, lab):
    k, b, w, c = unpack(t)
    xn = torch.tensor(x.astype(np.float64)).permute(0, 3, 1, 2)      # NHWC -> NCHW
    h = torch.tanh(F.conv2d(xn, k.permute(3, 2, 0, 1), b))           # HWIO -> OIHW
    h = h.permute(0, 2, 3, 1).reshape(B, -1)                         # flatten H, W, C
    z = h @ w + c
    ce = F.nll_loss(torch.log_softmax(z, -1), torch.tensor(lab))
    pen = sum(l1 * p.abs().sum() + l2 * (p * p).sum() for (l1, l2), p in zip(REGS, (k, b, w, c)))
    return ce + pen


def main():
    x = unif((B, 5, 5, 2), -1, 1)
    lab = RNG.integers(0, K, B)
    # magnitudes 0.1..0.6 with random signs: away from the l1 kink at 0
    n = sum(int(np.prod(s)) for s in SHAPES)
    params0 = f32(unif(n, 0.1, 0.6) * RNG.choice([-1.0, 1.0], n))
    p = params0.astype(np.float64)
    losses = []
    for _ in range(STEPS):
        t = torch.tensor(p, requires_grad=True)
        loss = loss_of(t, x, lab)
        loss.backward()
        # the l1 terms' kink: keep their weights away from 0
        for (l1, _), q in zip(REGS, unpack(t.detach())):
            if l1 and q.abs().min().item() < 1e-3:
                raise RuntimeError("an l1-regularized weight is near 0: change the seed")
        losses.append(loss.item())
        p = p - LR * t.grad.numpy()
    eval_loss = loss_of(torch.tensor(p), x, lab).item()

    out = os.path.normpath(OUT)
    with fixture(out, "scripts/gen_fixtures_reg.py", torch.__version__, SPEC) as h5:
        put(h5, "x", x)
        put(h5, "y", f32(lab.reshape(B, 1)))
        put(h5, "params0", f32(params0))
        put(h5, "losses", f32(losses))
        put(h5, "params", f32(p))
        put(h5, "eval_loss", f32([eval_loss]))
    print("%s: %d bytes, losses %s, eval_loss %.6f" % (out, os.path.getsize(out), losses,
                                                       eval_loss))


if __name__ == "__main__":
    main()
