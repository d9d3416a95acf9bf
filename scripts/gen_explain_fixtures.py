#!/usr/bin/python3
"""Golden fixtures for tests/test_attribution.c (nntrain explain), computed
independently with PyTorch autograd in float64.

Run with Debian's interpreter (python3-torch, python3-h5py, python3-numpy):
    /usr/bin/python3 scripts/gen_explain_fixtures.py [out.h5]
Writes tests/fixtures/golden_explain.h5 by default. Deterministic.

The model (attribute spec): Conv2D(4, 3x3, relu) on 8x8x3, MaxPooling2D(2),
Flatten, Dense(3, softmax). The score of class c is the pre-softmax logit
(DeepExplain's target tensor), c the predicted class (argmax).

Layout: attribute spec; datasets params (P,) in nntrain's flat order (conv
kernel HWIO, conv bias, dense kernel (in, out) over the NHWC flatten, dense
bias), x (N, 8, 8, 3), cls (N,) int32, and per method (N, 8, 8, 3):
saliency |dz_c/dx|, grad_input x dz_c/dx, integrated_gradients (zero
baseline, 100 steps: x * mean over k = 1..100 of the gradient at x k/100),
gradcam (N, 8, 8): ReLU(sum_f w_f A_f), w_f the mean over the 6x6 map of
dz_c/dA_f, A the conv's ReLU output, bilinearly upsampled to 8x8 with pixel
centres aligned (torch's interpolate, align_corners=False).
"""
import os
import sys

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from fixture_h5 import f32, fixture, put  # noqa: E402

torch.set_default_dtype(torch.float64)
RNG = np.random.default_rng(20261219)
OUT = sys.argv[1] if len(sys.argv) > 1 else os.path.join(
    os.path.dirname(os.path.abspath(__file__)), "..", "tests", "fixtures", "golden_explain.h5")

SPEC = ('Conv2D(4, (3, 3), activation="relu", input_shape=(8, 8, 3))\n'
        'MaxPooling2D((2, 2))\n'
        'Flatten()\n'
        'Dense(3, activation="softmax")\n')
N, STEPS = 4, 100

kernel = f32(RNG.normal(0, 0.4, (3, 3, 3, 4)))
cbias = f32(RNG.normal(0, 0.1, 4))
dkernel = f32(RNG.normal(0, 0.4, (36, 3)))
dbias = f32(RNG.normal(0, 0.1, 3))
x = f32(RNG.uniform(0, 1, (N, 8, 8, 3)))
T = {k: torch.tensor(v.astype(np.float64)) for k, v in
     dict(kernel=kernel, cbias=cbias, dkernel=dkernel, dbias=dbias).items()}


def conv_out(xn):
    """the conv's ReLU output, NCHW, from NHWC input"""
    h = xn.permute(0, 3, 1, 2)
    return F.relu(F.conv2d(h, T["kernel"].permute(3, 2, 0, 1), T["cbias"]))


def head(a):
    """logits from the conv output a (NCHW); flatten in H, W, C order"""
    p = F.max_pool2d(a, 2)
    return p.permute(0, 2, 3, 1).reshape(a.shape[0], -1) @ T["dkernel"] + T["dbias"]


def logits(xn):
    return head(conv_out(xn))


def grad(xn, cls):
    xt = xn.clone().requires_grad_(True)
    z = logits(xt)
    z.gather(1, cls.view(-1, 1)).sum().backward()
    return xt.grad


xt = torch.tensor(x.astype(np.float64))
cls = logits(xt).argmax(1)
g = grad(xt, cls)
ig = sum(grad(xt * (k / STEPS), cls) for k in range(1, STEPS + 1)) / STEPS * xt

a = conv_out(xt).detach().requires_grad_(True)
head(a).gather(1, cls.view(-1, 1)).sum().backward()
w = a.grad.mean((2, 3), keepdim=True)
cam = F.relu((w * a).sum(1, keepdim=True))
cam = F.interpolate(cam, size=(8, 8), mode="bilinear", align_corners=False)[:, 0]

params = np.concatenate([kernel.ravel(), cbias, dkernel.ravel(), dbias])
with fixture(OUT, "scripts/gen_explain_fixtures.py", torch.__version__, SPEC) as h5:
    put(h5, "params", f32(params))
    put(h5, "x", x)
    put(h5, "cls", cls.numpy().astype(np.int32))
    put(h5, "saliency", f32(g.abs().numpy()))
    put(h5, "grad_input", f32((g * xt).numpy()))
    put(h5, "integrated_gradients", f32(ig.numpy()))
    put(h5, "gradcam", f32(cam.detach().numpy()))
print("wrote", OUT)
