#!/usr/bin/python3
"""Golden fixtures for tests/test_golden_names.c (issue 16's Keras names),
computed independently with PyTorch/numpy, never with nntrain.

Run with Debian's interpreter (python3-torch, python3-h5py, python3-numpy):
    /usr/bin/python3 scripts/gen_fixtures_names.py [out.h5]
Writes tests/fixtures/golden_names.h5 by default. Deterministic. Layout:

  act/<name>/          an activation alone, elementwise
    z (N,)             pre-activations (a sweep of [-6, 6] plus random points)
    y (N,)             torch's activation (selu, gelu approximate='none', silu)
    dydz (N,)          its derivative by autograd

  <case>/              one layer, the layout of gen_fixtures.py (attrs call,
                       input_shape; x, y, dy, dx, kernel, bias, dkernel, dbias)

  logits/<name>/       a loss with from_logits=True
    attrs  loss        Keras loss name; scale: the scale passed to nn_loss_eval
    out (B, K)         logits; y (B, ydim) targets
    loss ()            SUM over the batch of the per-sample loss
    grad (B, K)        scale * d(loss sum)/d(logits)

  metric/<name>/       a count-based metric over a set of predictions
    attrs  metric      the compile() name; logits: 1 when out holds logits
    out (N, K), y (N, ydim)
    value ()           the metric, from the formulas below
    counts (k,)        the counts it is computed from

  train/nadam/         5 full-batch steps of a swish MLP with tf.keras 2.x's
                       Nadam update written out in float64 (nadam_step below)
    attrs spec         the spec text (layers and compile)
    x (B, 5), y (B, 1), params0 (P,) in nntrain flat order,
    losses (5,) mean loss at each step's forward, params (P,) after 5 steps

Metric formulas (Keras 2, tf.keras.metrics):
  Precision/Recall(thresholds=0.5): a prediction is positive when p > 0.5,
  a label when y != 0; precision = TP / (TP + FP), recall = TP / (TP + FN)
  (0 when the denominator is 0). AUC(num_thresholds=200, curve='ROC',
  summation_method='interpolation'): thresholds t_0 = -1e-7, t_i = i / 199
  (i = 1..198), t_199 = 1 + 1e-7; at each, TP/FP/TN/FN with p > t_i;
  TPR = TP / (TP + FN), FPR = FP / (FP + TN); AUC = sum over i of
  (FPR_i - FPR_{i+1}) (TPR_i + TPR_{i+1}) / 2 (the trapezoid rule). Every
  output element is one prediction (multi_label=False); with logits the
  sigmoid is applied first (nntrain's choice, see README).
"""
import os
import sys

import h5py
import numpy as np
import torch
import torch.nn.functional as F

torch.set_default_dtype(torch.float64)
RNG = np.random.default_rng(20261207)
OUT = sys.argv[1] if len(sys.argv) > 1 else os.path.join(
    os.path.dirname(os.path.abspath(__file__)), "..", "tests", "fixtures", "golden_names.h5")


def f32(a):
    return np.ascontiguousarray(np.asarray(a, dtype=np.float32))


def t64(a):
    return torch.tensor(np.asarray(a, dtype=np.float32).astype(np.float64), requires_grad=True)


def unif(shape, lo=-1.0, hi=1.0):
    return f32(RNG.uniform(lo, hi, size=shape))


def group(parent, name):
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
    obj.attrs[key] = np.bytes_(text.encode("ascii"))


ACTS = {
    "selu": torch.selu,
    "gelu": lambda z: F.gelu(z, approximate="none"),
    "swish": F.silu,
    "linear": lambda z: z,
    "softmax": lambda z: torch.softmax(z, dim=-1),
}


# ------------------------------------------------------------ activations --
def activations(h5):
    z = np.concatenate([np.linspace(-6, 6, 97), RNG.uniform(-12, 12, 40), [0.0, -1e-4, 1e-4]])
    for name in ("selu", "gelu", "swish"):
        tz = t64(z)
        y = ACTS[name](tz)
        y.sum().backward()
        g = group(h5, "act/" + name)
        put(g, "z", f32(z))
        put(g, "y", f32(y.detach().numpy()))
        put(g, "dydz", f32(tz.grad.numpy()))


# ----------------------------------------------------------------- layers --
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


def dense_case(h5, name, act, B, n_in, n_out):
    x, k, b = unif((B, n_in), -2, 2), unif((n_in, n_out), -0.8, 0.8), unif((n_out,), -0.3, 0.3)
    tx, tk, tb = t64(x), t64(k), t64(b)
    y = ACTS[act](tx @ tk + tb)
    dy = unif(y.shape)
    (y * torch.tensor(dy)).sum().backward()
    write_layer(h5, name, 'Dense(%d, activation="%s")' % (n_out, act), x, {"kernel": k, "bias": b},
                y.detach().numpy(), dy, {"x": tx.grad.numpy(), "kernel": tk.grad.numpy(),
                                         "bias": tb.grad.numpy()})


def conv_case(h5, name, act, B, in_shape, F_, ksize):
    kh, kw = ksize
    x = unif((B,) + tuple(in_shape), -2, 2)
    k = unif((kh, kw, in_shape[2], F_), -0.5, 0.5)
    b = unif((F_,), -0.3, 0.3)
    tx, tk, tb = t64(x), t64(k), t64(b)
    z = F.conv2d(tx.permute(0, 3, 1, 2), tk.permute(3, 2, 0, 1), tb).permute(0, 2, 3, 1)
    y = ACTS[act](z)
    dy = unif(y.shape)
    (y * torch.tensor(dy)).sum().backward()
    write_layer(h5, name, 'Conv2D(%d, (%d, %d), activation="%s")' % (F_, kh, kw, act), x,
                {"kernel": k, "bias": b}, y.detach().numpy(), dy,
                {"x": tx.grad.numpy(), "kernel": tk.grad.numpy(), "bias": tb.grad.numpy()})


def elementwise_case(h5, name, call, fn, B, shape):
    x = unif((B,) + tuple(shape), -3, 3)
    tx = t64(x)
    y = fn(tx)
    dy = unif(y.shape)
    (y * torch.tensor(dy)).sum().backward()
    write_layer(h5, name, call, x, {}, y.detach().numpy(), dy, {"x": tx.grad.numpy()})


LAYER_CASES = ["dense_selu", "dense_gelu", "dense_swish", "conv_gelu", "conv_swish_direct",
               "activation_gelu", "activation_swish", "rescaling"]


def layers(h5):
    dense_case(h5, "dense_selu", "selu", 4, 6, 5)
    dense_case(h5, "dense_gelu", "gelu", 4, 6, 5)
    dense_case(h5, "dense_swish", "swish", 3, 7, 4)
    conv_case(h5, "conv_gelu", "gelu", 2, (5, 5, 2), 3, (3, 3))
    # 16 filters on rows of 10 pixels: nntrain's direct kernels
    conv_case(h5, "conv_swish_direct", "swish", 2, (6, 12, 3), 16, (3, 3))
    elementwise_case(h5, "activation_gelu", 'Activation("gelu")', ACTS["gelu"], 3, (4, 5))
    elementwise_case(h5, "activation_swish", 'Activation("swish")', ACTS["swish"], 2, (3, 2, 4))
    elementwise_case(h5, "rescaling", "Rescaling(scale=1/255, offset=-0.5)",
                     lambda t: t * (1.0 / 255) - 0.5, 3, (4, 4, 2))


# ---------------------------------------------------------- from_logits ----
def write_logits(h5, name, loss, scale, z, y, total, grad):
    g = group(h5, "logits/" + name)
    set_str(g, "loss", loss)
    g.attrs["scale"] = np.float64(scale)
    put(g, "out", f32(z))
    put(g, "y", f32(y))
    put(g, "loss", np.float32(total))
    put(g, "grad", f32(grad))


LOGIT_CASES = ["cce", "scce", "bce", "bce_k3", "cce_extreme", "bce_extreme"]


def logit_losses(h5):
    B, K = 6, 4
    scale = 1.0 / B
    for name, lo, hi in (("cce", -3, 3), ("cce_extreme", -150, 150)):
        z = t64(unif((B, K), lo, hi))
        y = np.eye(K)[RNG.integers(0, K, B)]
        per = -(torch.tensor(y) * torch.log_softmax(z, -1)).sum(-1)
        per.sum().backward()
        write_logits(h5, name, "categorical_crossentropy", scale, z.detach(), y,
                     per.sum().item(), scale * z.grad.numpy())
    z = t64(unif((B, K), -3, 3))
    lab = RNG.integers(0, K, B)
    per = F.cross_entropy(z, torch.tensor(lab), reduction="none")
    per.sum().backward()
    write_logits(h5, "scce", "sparse_categorical_crossentropy", scale, z.detach(),
                 lab.reshape(B, 1), per.sum().item(), scale * z.grad.numpy())
    for name, KK, lo, hi in (("bce", 1, -4, 4), ("bce_k3", 3, -4, 4), ("bce_extreme", 2, -200, 200)):
        z = t64(unif((B, KK), lo, hi))
        y = RNG.integers(0, 2, (B, KK)).astype(np.float64)
        per = F.binary_cross_entropy_with_logits(z, torch.tensor(y), reduction="none").mean(-1)
        per.sum().backward()
        write_logits(h5, name, "binary_crossentropy", scale, z.detach(), y, per.sum().item(),
                     scale * z.grad.numpy())


# ---------------------------------------------------------------- metrics --
def confusion(p, pos, t):
    pred = p > t
    return (np.sum(pred & pos), np.sum(pred & ~pos), np.sum(~pred & ~pos), np.sum(~pred & pos))


def auc_roc(p, pos, n=200):
    eps = 1e-7
    th = [0.0 - eps] + [(i + 1) / (n - 1) for i in range(n - 2)] + [1.0 + eps]
    c = np.array([confusion(p, pos, np.float32(t)) for t in th], dtype=np.float64)
    tp, fp, tn, fn = c[:, 0], c[:, 1], c[:, 2], c[:, 3]
    tpr = np.divide(tp, tp + fn, out=np.zeros_like(tp), where=(tp + fn) > 0)
    fpr = np.divide(fp, fp + tn, out=np.zeros_like(fp), where=(fp + tn) > 0)
    return float(np.sum((fpr[:-1] - fpr[1:]) * (tpr[:-1] + tpr[1:]) / 2)), c.ravel()


def write_metric(h5, name, metric, logits, out, y, value, counts):
    g = group(h5, "metric/" + name)
    set_str(g, "metric", metric)
    g.attrs["logits"] = np.int32(logits)
    put(g, "out", f32(out))
    put(g, "y", f32(y))
    put(g, "value", np.float64(value))
    put(g, "counts", np.asarray(counts, dtype=np.float64))


METRIC_CASES = ["auc", "auc_k2", "auc_logits", "precision", "recall", "precision_logits",
                "recall_none"]


def metrics(h5):
    N = 53
    # probabilities on a grid point or two (exactly 0.5, 0, 1) and random
    p = f32(np.concatenate([RNG.uniform(0, 1, N - 5), [0.5, 0.0, 1.0, 0.25, 0.75]]).reshape(N, 1))
    y = (RNG.uniform(0, 1, (N, 1)) < 0.5 * (1 + p - 0.5)).astype(np.float32)
    pos = y.astype(bool)
    v, c = auc_roc(p.astype(np.float64).ravel(), pos.ravel())
    write_metric(h5, "auc", "AUC", 0, p, y, v, c)
    p2 = unif((N, 2), 0, 1)
    y2 = (RNG.uniform(0, 1, (N, 2)) < p2).astype(np.float32)
    v, c = auc_roc(p2.astype(np.float64).ravel(), y2.astype(bool).ravel())
    write_metric(h5, "auc_k2", "auc", 0, p2, y2, v, c)
    z = unif((N, 1), -5, 5)
    yz = (RNG.uniform(0, 1, (N, 1)) < 1 / (1 + np.exp(-z))).astype(np.float32)
    pz = torch.sigmoid(torch.tensor(z, dtype=torch.float32)).numpy()
    v, c = auc_roc(pz.astype(np.float64).ravel(), yz.astype(bool).ravel())
    write_metric(h5, "auc_logits", "AUC", 1, z, yz, v, c)
    for name, metric, logits, out, yy in (("precision", "Precision", 0, p, y),
                                          ("recall", "recall", 0, p, y),
                                          ("precision_logits", "precision", 1, z, yz)):
        pp = pz if logits else out
        tp, fp, tn, fn = confusion(pp.ravel(), yy.astype(bool).ravel(), np.float32(0.5))
        den = tp + fp if metric.lower() == "precision" else tp + fn
        write_metric(h5, name, metric, logits, out, yy, tp / den if den else 0.0, [tp, fp, fn])
    # no positive label: recall is 0 (div_no_nan), not NaN
    write_metric(h5, "recall_none", "Recall", 0, p[:8], np.zeros((8, 1), np.float32), 0.0,
                 [0, int(np.sum(p[:8] > 0.5)), 0])


# ------------------------------------------------------------------ train --
NADAM_SPEC = ('Dense(8, activation="swish", input_shape=(5,))\n'
              'Dense(3, activation="softmax")\n'
              'compile(loss="sparse_categorical_crossentropy", '
              'optimizer=Nadam(learning_rate=0.01))\n')


def nadam_step(p, g, m, v, t, lr=0.01, b1=0.9, b2=0.999, eps=1e-7, sd=0.004):
    """tf.keras 2.x Nadam (Dozat 2016), step t (1-based), in float64; mprod is
    mu_1 ... mu_{t-1} on entry. torch.optim.NAdam has the same schedule, but
    the torch 1.13 installed here multiplies mu_t into mu_product_next twice
    (fixed in later releases), so its result is not the reference."""
    mu = b1 * (1 - 0.5 * 0.96 ** (t * sd))
    mu_next = b1 * (1 - 0.5 * 0.96 ** ((t + 1) * sd))
    nadam_step.mprod = (nadam_step.mprod if t > 1 else 1.0) * mu
    M = nadam_step.mprod
    m[:] = b1 * m + (1 - b1) * g
    v[:] = b2 * v + (1 - b2) * g * g
    den = np.sqrt(v / (1 - b2 ** t)) + eps
    return p - lr * (1 - mu) / (1 - M) * g / den - lr * mu_next / (1 - M * mu_next) * m / den


def train(h5):
    B, n_in, H, K = 6, 5, 8, 3
    shapes = [(n_in, H), (H,), (H, K), (K,)]
    sizes = [int(np.prod(s)) for s in shapes]
    x = unif((B, n_in))
    lab = RNG.integers(0, K, B)
    params0 = np.concatenate([unif(s, -0.7, 0.7).ravel() for s in shapes])
    tx = torch.tensor(x, dtype=torch.float64)
    p = params0.astype(np.float64)
    m, v = np.zeros_like(p), np.zeros_like(p)
    losses = []
    for t in range(1, 6):
        flat = torch.tensor(p, requires_grad=True)
        parts, off = [], 0
        for s, n in zip(shapes, sizes):
            parts.append(flat[off:off + n].reshape(s))
            off += n
        z = F.silu(tx @ parts[0] + parts[1]) @ parts[2] + parts[3]
        loss = F.cross_entropy(z, torch.tensor(lab))
        loss.backward()
        losses.append(loss.item())
        p = nadam_step(p, flat.grad.numpy(), m, v, t)
    g = group(h5, "train/nadam")
    set_str(g, "spec", NADAM_SPEC)
    put(g, "x", f32(x))
    put(g, "y", f32(lab.reshape(B, 1)))
    put(g, "params0", f32(params0))
    put(g, "losses", f32(losses))
    put(g, "params", f32(p))


def main():
    tmp = OUT + ".tmp"
    with h5py.File(tmp, "w", track_order=False) as h5:
        activations(h5)
        layers(h5)
        logit_losses(h5)
        metrics(h5)
        train(h5)
    os.replace(tmp, OUT)
    print("wrote", OUT)


if __name__ == "__main__":
    main()
