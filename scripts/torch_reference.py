#!/usr/bin/python3
"""PyTorch twin of nntrain's Fashion-MNIST runs, for side-by-side accuracy and speed.

Run with Debian's interpreter (python3-torch, python3-numpy), never the one on PATH:
    /usr/bin/python3 scripts/torch_reference.py --model both --epochs 5 --threads 2

Trains, with Keras semantics, the two models of jobs/models/:
  mlp  mnist_mlp512.nn   Dense(512, relu, input 784), Dense(10, softmax);
                         RMSprop(lr=0.001), batch 128
  cnn  fashion_cnn.nn    the MNIST CNN of DESIGN.md: Conv2D(32,3x3) relu, MaxPool 2,
                         Conv2D(64,3x3) relu, MaxPool 2, Conv2D(64,3x3) relu, Flatten,
                         Dense(64) relu, Dense(10) softmax; RMSprop(lr=0.001), batch 64
  resnet resnet20_fashion.nn  Keras's ResNet20 v1 on 28x28x1 (scripts/torch_resnet.py: BN,
                         add, L2 1e-4 on the conv kernels, he_normal); Adam(lr=0.001,
                         epsilon=1e-7), batch 128 (not in --model both: slow)
All: loss sparse_categorical_crossentropy, metric accuracy, 5 epochs,
validation_split=0.1 (the LAST 10% of the training set, taken before shuffling),
shuffle every epoch, then evaluate on the t10k test set.

Keras details reproduced explicitly (torch's defaults differ):
  * glorot_uniform kernels (fans as Keras: Dense in/out; Conv2D KH*KW*C / KH*KW*F,
    which is what torch.nn.init.xavier_uniform_ computes too) and zero biases;
  * RMSprop rho=0.9 (torch alpha, default 0.99) and epsilon=1e-7 (torch default 1e-8).
    torch adds epsilon outside the square root, p -= lr*g/(sqrt(v)+eps), as nntrain
    and Keras 3 / TF >= 2.11 do; Keras 2's fused TF kernel used lr*g/sqrt(v+eps).
    With eps=1e-7 the difference only shows for parameters whose gradients are ~0;
  * the per-epoch loss/accuracy are averaged over the epoch's training samples,
    as the Keras progress bar reports them (with the weights changing during the epoch).
Tensors are NCHW in torch; the layout does not change what the model computes
(only the order of the Flatten features, which a fresh random init does not see).

Per epoch it prints
    Epoch e/E - Ns - loss: x - accuracy: x - val_loss: x - val_accuracy: x
and at the end of each model one machine-readable line
    RESULT model=<mlp|cnn> test_accuracy=<x> test_loss=<y> wall_s=<z> threads=<t>
wall_s covers training and test evaluation (not the interpreter start or IDX reading).
"""
import argparse
import gzip
import os
import sys
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import torch_resnet  # noqa: E402

DATA_DIR = "/usr/share/datasets/fashion-mnist"

CONFIGS = {
    "mlp": {"batch_size": 128, "lr": 1e-3, "spec": "jobs/models/mnist_mlp512.nn"},
    "cnn": {"batch_size": 64, "lr": 1e-3, "spec": "jobs/models/fashion_cnn.nn"},
    "resnet": {"batch_size": 128, "lr": 1e-3, "spec": "jobs/models/resnet20_fashion.nn"},
}


def read_idx(path):
    """Parse one gzipped IDX file (images: uint8 N x 28 x 28, labels: uint8 N)."""
    try:
        with gzip.open(path, "rb") as f:
            raw = f.read()
    except OSError as exc:
        sys.exit("torch_reference: cannot read %s: %s" % (path, exc))
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] != 0x08:
        sys.exit("torch_reference: %s: not an unsigned-byte IDX file (bad magic)" % path)
    ndim = raw[3]
    header = 4 + 4 * ndim
    if len(raw) < header:
        sys.exit("torch_reference: %s: truncated IDX header" % path)
    dims = [int.from_bytes(raw[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim)]
    count = int(np.prod(dims)) if dims else 0
    if len(raw) - header != count:
        sys.exit("torch_reference: %s: expected %d data bytes for dims %s, found %d"
                 % (path, count, dims, len(raw) - header))
    return np.frombuffer(raw, dtype=np.uint8, offset=header).reshape(dims)


def load_split(data_dir, prefix):
    x = read_idx(os.path.join(data_dir, "%s-images-idx3-ubyte.gz" % prefix))
    y = read_idx(os.path.join(data_dir, "%s-labels-idx1-ubyte.gz" % prefix))
    if x.ndim != 3 or y.ndim != 1 or x.shape[0] != y.shape[0]:
        sys.exit("torch_reference: %s/%s: images %s and labels %s do not match"
                 % (data_dir, prefix, x.shape, y.shape))
    x = torch.from_numpy(x.astype(np.float32) / 255.0)
    y = torch.from_numpy(y.astype(np.int64))
    return x, y


class MLP(nn.Module):
    def __init__(self):
        super().__init__()
        self.d1 = nn.Linear(784, 512)
        self.d2 = nn.Linear(512, 10)

    def forward(self, x):                      # x: (B, 28, 28)
        x = x.reshape(x.shape[0], -1)
        return self.d2(F.relu(self.d1(x)))     # logits; softmax is inside the loss


class CNN(nn.Module):
    def __init__(self):
        super().__init__()
        self.c1 = nn.Conv2d(1, 32, 3)          # 28 -> 26, pool -> 13
        self.c2 = nn.Conv2d(32, 64, 3)         # 13 -> 11, pool -> 5
        self.c3 = nn.Conv2d(64, 64, 3)         # 5 -> 3
        self.d1 = nn.Linear(3 * 3 * 64, 64)
        self.d2 = nn.Linear(64, 10)

    def forward(self, x):                      # x: (B, 28, 28)
        x = x.unsqueeze(1)
        x = F.max_pool2d(F.relu(self.c1(x)), 2)
        x = F.max_pool2d(F.relu(self.c2(x)), 2)
        x = F.relu(self.c3(x))
        x = torch.flatten(x, 1)
        return self.d2(F.relu(self.d1(x)))


def keras_init(model):
    """glorot_uniform kernels, zero biases (Keras defaults)."""
    for mod in model.modules():
        if isinstance(mod, (nn.Linear, nn.Conv2d)):
            nn.init.xavier_uniform_(mod.weight)
            nn.init.zeros_(mod.bias)


def evaluate(model, x, y, batch=1000):
    """Mean loss and accuracy over (x, y), Keras model.evaluate."""
    model.eval()
    resnet = isinstance(model, torch_resnet.ResNetV1)   # images with a channel axis
    loss_sum, correct = 0.0, 0
    with torch.no_grad():
        for i in range(0, x.shape[0], batch):
            xb = x[i:i + batch]
            logits = model(xb.unsqueeze(1) if resnet else xb)
            t = y[i:i + batch]
            loss_sum += F.cross_entropy(logits, t, reduction="sum").item()
            correct += (logits.argmax(1) == t).sum().item()
        n = x.shape[0]
        penalty = model.reg_penalty().item() if resnet else 0.0   # in Keras's loss
    return loss_sum / n + penalty, correct / n


def run(name, x_all, y_all, x_test, y_test, epochs, seed, threads, val_split=0.1):
    cfg = CONFIGS[name]
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    resnet = name == "resnet"
    if resnet:   # its own Keras initialisation; Adam and the L2 penalty as the spec
        model = torch_resnet.build("resnet20_fashion")
        opt = torch_resnet.adam(model)
    else:
        model = MLP() if name == "mlp" else CNN()
        keras_init(model)
        opt = torch.optim.RMSprop(model.parameters(), lr=cfg["lr"], alpha=0.9, eps=1e-7,
                                  momentum=0.0, centered=False)
    nparams = sum(p.numel() for p in model.parameters())

    # Keras: validation_split takes the LAST fraction, before any shuffling.
    n_all = x_all.shape[0]
    split_at = int(n_all * (1.0 - val_split))
    x_tr, y_tr = x_all[:split_at], y_all[:split_at]
    x_va, y_va = x_all[split_at:], y_all[split_at:]
    n, B = x_tr.shape[0], cfg["batch_size"]
    print("[%s] %s: %d params; train on %d samples, validate on %d, test on %d; "
          "batch %d, %s(lr=%g, eps=1e-7), %d thread%s, seed %d"
          % (name, cfg["spec"], nparams, n, x_va.shape[0], x_test.shape[0], B,
             "Adam" if resnet else "RMSprop", cfg["lr"],
             threads, "" if threads == 1 else "s", seed), flush=True)

    t_start = time.perf_counter()
    for epoch in range(epochs):
        t0 = time.perf_counter()
        model.train()
        perm = torch.from_numpy(rng.permutation(n))
        loss_sum, correct = 0.0, 0
        for i in range(0, n, B):
            idx = perm[i:i + B]
            xb, yb = x_tr[idx], y_tr[idx]
            logits = model(xb.unsqueeze(1) if resnet else xb)
            loss = F.cross_entropy(logits, yb)        # mean over the batch
            if resnet:   # Keras prints the loss with the penalty in it
                loss = loss + model.reg_penalty()
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            loss_sum += loss.item() * yb.shape[0]
            correct += (logits.detach().argmax(1) == yb).sum().item()
        val_loss, val_acc = evaluate(model, x_va, y_va)
        print("Epoch %d/%d - %.0fs - loss: %.4f - accuracy: %.4f - val_loss: %.4f - "
              "val_accuracy: %.4f" % (epoch + 1, epochs, time.perf_counter() - t0,
                                      loss_sum / n, correct / n, val_loss, val_acc),
              flush=True)
    test_loss, test_acc = evaluate(model, x_test, y_test)
    wall = time.perf_counter() - t_start
    print("Test (%d samples) - loss: %.4f - accuracy: %.4f" % (x_test.shape[0], test_loss,
                                                                 test_acc))
    print("RESULT model=%s test_accuracy=%.4f test_loss=%.4f wall_s=%.1f threads=%d"
          % (name, test_acc, test_loss, wall, threads), flush=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--model", choices=["mlp", "cnn", "resnet", "both"], default="both")
    ap.add_argument("--epochs", type=int, default=5)
    ap.add_argument("--threads", type=int, default=2, help="torch.set_num_threads (default 2)")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--data", default=DATA_DIR,
                    help="directory with the four Fashion-MNIST IDX .gz files (default %s)"
                    % DATA_DIR)
    a = ap.parse_args()
    if a.epochs < 0 or a.threads < 1 or a.seed < 0:
        ap.error("need --epochs >= 0, --threads >= 1, --seed >= 0")
    torch.set_num_threads(a.threads)
    try:
        torch.set_num_interop_threads(1)
    except RuntimeError:
        pass
    x_all, y_all = load_split(a.data, "train")
    x_test, y_test = load_split(a.data, "t10k")
    for name in (["mlp", "cnn"] if a.model == "both" else [a.model]):
        run(name, x_all, y_all, x_test, y_test, a.epochs, a.seed, a.threads)
    return 0


if __name__ == "__main__":
    sys.exit(main())
