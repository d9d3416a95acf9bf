#!/usr/bin/python3
"""Golden fixture for tests/test_golden_bn.c (issue 17's BatchNormalization),
computed independently with PyTorch (F.batch_norm), never with nntrain.

Run with Debian's interpreter (python3-torch, python3-h5py, python3-numpy):
    /usr/bin/python3 scripts/gen_fixtures_bn.py [out.h5]
Writes tests/fixtures/golden_bn.h5 by default. Deterministic. A Conv2D +
BatchNormalization + ReLU + Flatten + Dense (softmax) model trains 5
full-batch SGD steps with Keras 2 semantics: batch statistics in training
(biased variance to normalize), moving_mean/variance updated with momentum
0.8 from the batch mean and the UNBIASED variance (PyTorch's running stats
with momentum 1 - 0.8, as TF's fused kernel); evaluate uses the moving ones.
Layout: attribute spec; datasets x (B, 5, 5, 2), y (B, 1), params0 (P,) in
nntrain's flat order (conv kernel HWIO, conv bias, gamma, beta, moving_mean,
moving_variance, dense kernel (in, out), dense bias), losses (5,) = the loss
at each step's forward, params (P,) after the 5 steps (moving statistics
included), eval_loss at the final parameters in inference mode.
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
RNG = np.random.default_rng(20261207)
OUT = sys.argv[1] if len(sys.argv) > 1 else os.path.join(
    os.path.dirname(os.path.abspath(__file__)), "..", "tests", "fixtures", "golden_bn.h5")

MOMENTUM, EPS = 0.8, 0.01
SPEC = (
    'Conv2D(3, (2, 2), input_shape=(5, 5, 2))\n'
    'BatchNormalization(momentum=0.8, epsilon=0.01)\n'
    'ReLU()\n'
    'Flatten()\n'
    'Dense(3, activation="softmax")\n'
    'compile(loss="sparse_categorical_crossentropy", optimizer=SGD(lr=0.1))\n'
    'fit(batch_size=6, epochs=5, shuffle=False)\n')
SHAPES = [(2, 2, 2, 3), (3,), (3,), (3,), (3,), (3,), (48, 3), (3,)]
B, K, LR, STEPS = 6, 3, 0.1, 5


def unpack(t):
    parts, off = [], 0
    for s in SHAPES:
        n = int(np.prod(s))
        parts.append(t[off:off + n].reshape(s))
        off += n
    return parts


def loss_of(parts, x, lab, training):
    """the loss; in training F.batch_norm also updates parts' moving statistics in place"""
    k, b, g, be, mm, mv, w, c = parts
    xn = torch.tensor(x.astype(np.float64)).permute(0, 3, 1, 2)      # NHWC -> NCHW
    h = F.conv2d(xn, k.permute(3, 2, 0, 1), b)                       # HWIO -> OIHW
    h = F.batch_norm(h, mm, mv, g, be, training=training, momentum=1 - MOMENTUM, eps=EPS)
    h = F.relu(h).permute(0, 2, 3, 1).reshape(B, -1)                 # flatten H, W, C
    z = h @ w + c
    return F.nll_loss(torch.log_softmax(z, -1), torch.tensor(lab))


def main():
    x = f32(RNG.uniform(-1, 1, size=(B, 5, 5, 2)) + 0.5)   # a mean to remove
    lab = RNG.integers(0, K, B)
    parts = [RNG.uniform(-0.5, 0.5, size=s) for s in SHAPES]
    parts[2] = RNG.uniform(0.5, 1.5, size=3)    # gamma
    parts[4] = RNG.uniform(-0.2, 0.2, size=3)   # moving mean
    parts[5] = RNG.uniform(0.5, 1.5, size=3)    # moving variance
    params0 = f32(np.concatenate([p.ravel() for p in parts]))
    p = params0.astype(np.float64)
    losses = []
    for _ in range(STEPS):
        flat = [q.clone() for q in unpack(torch.tensor(p))]
        for i in (0, 1, 2, 3, 6, 7):   # all but the moving statistics
            flat[i].requires_grad_(True)
        loss = loss_of(flat, x, lab, True)
        loss.backward()
        losses.append(loss.item())
        new = [q.detach() - LR * q.grad if q.requires_grad else q for q in flat]
        p = torch.cat([q.reshape(-1) for q in new]).numpy()
    eval_loss = loss_of(unpack(torch.tensor(p)), x, lab, False).item()

    out = os.path.normpath(OUT)
    with fixture(out, "scripts/gen_fixtures_bn.py", torch.__version__, SPEC) as h5:
        put(h5, "x", x)
        put(h5, "y", f32(lab.reshape(B, 1)))
        put(h5, "params0", params0)
        put(h5, "losses", f32(losses))
        put(h5, "params", f32(p))
        put(h5, "eval_loss", f32([eval_loss]))
    print("%s: %d bytes, losses %s, eval_loss %.6f" % (out, os.path.getsize(out), losses,
                                                       eval_loss))


if __name__ == "__main__":
    main()
