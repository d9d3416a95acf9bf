#!/usr/bin/python3
"""Evaluate a trained nntrain ResNet checkpoint with the PyTorch twin, independently.

    /usr/bin/python3 scripts/torch_eval_resnet.py runs/resnet20_fashion/last.h5 \
        [--model resnet20_fashion] [--recompute-stats]

Loads the checkpoint's weights (Keras layout: conv kernels HWIO, BN gamma, beta,
moving_mean, moving_variance, Dense kernel IO) into scripts/torch_resnet.py's model in
spec order and prints the Fashion-MNIST t10k test accuracy in inference mode (moving
statistics), to compare with nntrain's own "Test (...) - accuracy:" line: the same
number says nntrain's inference (BN with moving statistics, add, pooling) is right.

--recompute-stats also re-estimates every BN layer's statistics over the 60,000
training images with the final weights (a cumulative average, torch momentum=None)
and prints the test accuracy with those: the gap to the first number is what the
moving averages' lag costs at that point of training (Keras's momentum 0.99 averages
over about the last 100 steps, while Adam at 1e-3 still moves the weights fast).
"""
import argparse
import os
import sys

import h5py
import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import torch_reference as ref  # noqa: E402  (read_idx, load_split)
import torch_resnet as tr      # noqa: E402


def text(s):
    return s.decode() if isinstance(s, bytes) else s


def read_weights(path):
    """Per Keras layer class, the weight arrays of each layer in file order."""
    out = {"conv": [], "bn": [], "dense": []}
    with h5py.File(path, "r") as f:
        g = f["model_weights"] if "model_weights" in f else f
        for name in (text(n) for n in g.attrs["layer_names"]):
            arrays = [np.array(g[name][text(w)]) for w in g[name].attrs["weight_names"]]
            if not arrays:
                continue
            if len(arrays) == 4:
                out["bn"].append(arrays)
            elif arrays[0].ndim == 4:
                out["conv"].append(arrays)
            elif arrays[0].ndim == 2:
                out["dense"].append(arrays)
            else:
                sys.exit("torch_eval_resnet: %s: layer %s has weights of shapes %s, not a "
                         "ResNet layer" % (path, name, [a.shape for a in arrays]))
    return out


def load_into(model, w, path):
    convs = [m for m in model.modules() if isinstance(m, torch.nn.Conv2d)]
    bns = [m for m in model.modules() if isinstance(m, torch.nn.BatchNorm2d)]
    if (len(convs), len(bns), 1) != (len(w["conv"]), len(w["bn"]), len(w["dense"])):
        sys.exit("torch_eval_resnet: %s has %d conv, %d BN, %d dense layers; the twin has %d, %d, 1"
                 % (path, len(w["conv"]), len(w["bn"]), len(w["dense"]), len(convs), len(bns)))
    with torch.no_grad():
        for m, (k, b) in zip(convs, w["conv"]):
            m.weight.copy_(torch.from_numpy(k).permute(3, 2, 0, 1))
            m.bias.copy_(torch.from_numpy(b))
        for m, (gamma, beta, mean, var) in zip(bns, w["bn"]):
            m.weight.copy_(torch.from_numpy(gamma))
            m.bias.copy_(torch.from_numpy(beta))
            m.running_mean.copy_(torch.from_numpy(mean))
            m.running_var.copy_(torch.from_numpy(var))
        k, b = w["dense"][0]
        model.fc.weight.copy_(torch.from_numpy(k).T)
        model.fc.bias.copy_(torch.from_numpy(b))
    return bns


def accuracy(model, x, y):
    model.eval()
    with torch.no_grad():
        p = torch.cat([model(x[i:i + 500]) for i in range(0, len(x), 500)])
    return (p.argmax(1) == y).float().mean().item()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("checkpoint")
    ap.add_argument("--model", default="resnet20_fashion", help="torch_resnet.build name")
    ap.add_argument("--data", default=ref.DATA_DIR)
    ap.add_argument("--recompute-stats", action="store_true")
    a = ap.parse_args()
    torch.set_num_threads(int(os.environ.get("OMP_NUM_THREADS", "2")))
    model = tr.build(a.model)
    bns = load_into(model, read_weights(a.checkpoint), a.checkpoint)
    x, y = ref.load_split(a.data, "t10k")
    x = x.unsqueeze(1)
    print("test accuracy, moving statistics: %.4f" % accuracy(model, x, y), flush=True)
    if a.recompute_stats:
        xt, _ = ref.load_split(a.data, "train")
        xt = xt.unsqueeze(1)
        for m in bns:
            m.reset_running_stats()
            m.momentum = None
        model.train()
        with torch.no_grad():
            for i in range(0, len(xt), 1000):
                model(xt[i:i + 1000])
        print("test accuracy, statistics recomputed over the training set: %.4f"
              % accuracy(model, x, y))


if __name__ == "__main__":
    main()
