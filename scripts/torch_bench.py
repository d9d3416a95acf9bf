#!/usr/bin/python3
"""PyTorch twin of `nntrain bench`: training images/s on synthetic data.

Run with Debian's interpreter (python3-torch), never the one on PATH:
    /usr/bin/python3 scripts/torch_bench.py --model cifar10_cnn --batch 32 --threads 1

The models are those of jobs/models/ (same layers, activations, losses, RMSprop
with Keras's rho=0.9 and epsilon=1e-7, the spec's learning rate and batch size):
  mlp512       mnist_mlp512.nn  Dense 784-512 relu, Dense 10 softmax (SCCE), b128
  mnist_cnn    mnist_cnn.nn     Conv 32/64/64 3x3, 2 max-pools, Dense 64, Dense 10, b64
  cifar10_cnn  cifar10_cnn.nn   the Keras cifar10_cnn example with its dropouts, b32
  rick_cnn     rick_cnn.nn      Conv 20/20/64 5x5 + max-pool 3, Dense 100, Dropout,
                                Dense 1 sigmoid (BCE), input 90x160x3, b100
  rick_dense   rick_dense.nn    Flatten 90x160x3, Dense 100 relu, Dense 1 sigmoid, b500
  resnet20     resnet20.nn      Keras's ResNet20 v1 (scripts/torch_resnet.py): BN, add,
                                L2 1e-4 on the conv kernels, Adam, b32
Softmax/sigmoid are fused into the loss (CrossEntropyLoss, BCEWithLogitsLoss), as
nntrain fuses them. Inputs are generated NHWC, as nntrain sees them, and converted
to NCHW once, before timing; each step then gathers a random batch from a pool of
max(batch, 64 MiB) samples (nntrain's bench copies its batches the same way).

Warm-up steps, then timed steps (forward, loss, backward, optimizer step);
prints one machine-readable line
    TORCH model=<m> threads=<t> batch=<b> img_s=<x> ms_step=<y> rss_mb=<z> steps=<s>
          blas_threads=<n> omp_wait=<OMP_WAIT_POLICY or default> memory_format=<f>
          autocast=<none or bf16>
--autocast bf16 runs forward and loss under torch.autocast("cpu", dtype=torch.bfloat16),
PyTorch's own mixed precision on a CPU (its bf16 products go to oneDNN where it has
them), the twin of nntrain's --precision bf16.
rss_mb is the peak RSS of this process (the interpreter and torch included).
Debian's torch does its Linear products in OpenBLAS, whose own thread pool ignores
torch.set_num_threads: it is set to --threads too (blas_threads in the line), or a
"1 thread" run would use every core for its GEMMs. At more than one thread, torch's
OpenMP workers spin after each parallel region while OpenBLAS's threads run a Linear
product on the same cores: with the default wait policy the MNIST MLP ran 5,700 img/s
on 2 threads against 44,000 with OMP_WAIT_POLICY=PASSIVE (and 40,000 on 1 thread),
while some convolutions ran faster with it. The policy must be set before torch
loads, so bench.sh runs both and keeps the faster; omp_wait says which this was.
--memory-format channels_last keeps images and convolution weights NHWC, nntrain's
own layout: it ran the Rick CNN at 185 img/s on 1 thread against 103 in NCHW, the
CIFAR-10 CNN at 2 threads slower; bench.sh runs convolution models both ways.
"""
import argparse
import ctypes
import os
import resource
import sys
import time

import torch
import torch.nn as nn

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import torch_resnet  # noqa: E402

# name: (input HWC, batch, lr, loss, spec file)
MODELS = {
    "mlp512": ((784,), 128, 1e-3, "ce", "jobs/models/mnist_mlp512.nn"),
    "mnist_cnn": ((28, 28, 1), 64, 1e-3, "ce", "jobs/models/mnist_cnn.nn"),
    "cifar10_cnn": ((32, 32, 3), 32, 1e-4, "ce", "jobs/models/cifar10_cnn.nn"),
    "rick_cnn": ((90, 160, 3), 100, 1e-3, "bce", "jobs/models/rick_cnn.nn"),
    "rick_dense": ((90, 160, 3), 500, 1e-3, "bce", "jobs/models/rick_dense.nn"),
    "resnet20": ((32, 32, 3), 32, 1e-3, "ce", "jobs/models/resnet20.nn"),
}
# nntrain spec basenames accepted as aliases
ALIASES = {"mnist_mlp512": "mlp512"}


def build(name):
    """The torch twin of jobs/models/<name>.nn (NCHW)."""
    R = nn.ReLU
    if name == "mlp512":
        return nn.Sequential(nn.Linear(784, 512), R(), nn.Linear(512, 10))
    if name == "mnist_cnn":
        return nn.Sequential(
            nn.Conv2d(1, 32, 3), R(), nn.MaxPool2d(2),
            nn.Conv2d(32, 64, 3), R(), nn.MaxPool2d(2),
            nn.Conv2d(64, 64, 3), R(), nn.Flatten(),
            nn.Linear(3 * 3 * 64, 64), R(), nn.Linear(64, 10))
    if name == "cifar10_cnn":
        return nn.Sequential(
            nn.Conv2d(3, 32, 3, padding=1), R(), nn.Conv2d(32, 32, 3), R(),
            nn.MaxPool2d(2), nn.Dropout(0.25),
            nn.Conv2d(32, 64, 3, padding=1), R(), nn.Conv2d(64, 64, 3), R(),
            nn.MaxPool2d(2), nn.Dropout(0.25), nn.Flatten(),
            nn.Linear(6 * 6 * 64, 512), R(), nn.Dropout(0.5), nn.Linear(512, 10))
    if name == "rick_cnn":
        return nn.Sequential(
            nn.Conv2d(3, 20, 5), R(), nn.MaxPool2d(3),
            nn.Conv2d(20, 20, 5), R(), nn.MaxPool2d(3),
            nn.Conv2d(20, 64, 5), R(), nn.MaxPool2d(3), nn.Flatten(),
            nn.Linear(64 * 1 * 4, 100), R(), nn.Dropout(0.5), nn.Linear(100, 1))
    if name == "rick_dense":
        return nn.Sequential(nn.Flatten(), nn.Linear(90 * 160 * 3, 100), R(), nn.Linear(100, 1))
    if name.startswith("resnet"):
        return torch_resnet.build(name)
    raise KeyError(name)


def openblas_threads(n):
    """Sets the loaded OpenBLAS's thread count to n (when n > 0); returns it, or -1
    when this process has no OpenBLAS."""
    with open("/proc/self/maps") as f:
        libs = {l.split()[-1] for l in f if "libopenblas" in l}
    for path in sorted(libs):
        lib = ctypes.CDLL(path)
        if n > 0:
            lib.openblas_set_num_threads(ctypes.c_int(n))
        return lib.openblas_get_num_threads()
    return -1


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--model", required=True,
                    help="one of: " + ", ".join(MODELS) + " (or the spec basename)")
    ap.add_argument("--batch", type=int, default=0, help="batch size (default: the spec's)")
    ap.add_argument("--threads", type=int, default=1, help="torch.set_num_threads (default 1)")
    ap.add_argument("--steps", type=int, default=20, help="timed steps (default 20)")
    ap.add_argument("--warmup", type=int, default=3, help="warm-up steps (default 3)")
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--memory-format", choices=("contiguous", "channels_last"),
                    default="contiguous", help="layout of images and conv weights")
    ap.add_argument("--autocast", choices=("none", "bf16"), default="none",
                    help="bf16: torch.autocast on the CPU (mixed precision)")
    a = ap.parse_args()
    name = ALIASES.get(a.model, a.model)
    if name not in MODELS:
        ap.error("unknown model '%s' (known: %s)" % (a.model, ", ".join(MODELS)))
    if a.batch < 0 or a.threads < 1 or a.steps < 1 or a.warmup < 0:
        ap.error("--batch must be >= 0, --threads and --steps >= 1, --warmup >= 0")
    shape, batch, lr, loss_kind, _spec = MODELS[name]
    B = a.batch or batch

    torch.set_num_threads(a.threads)
    torch.zeros(2, 2) @ torch.zeros(2, 2)      # loads the BLAS
    blas_threads = openblas_threads(a.threads)
    try:
        torch.set_num_interop_threads(1)
    except RuntimeError:
        pass
    torch.manual_seed(a.seed)
    model = build(name)
    model.train()
    fmt = torch.channels_last if a.memory_format == "channels_last" else torch.contiguous_format
    if len(shape) == 3:
        model = model.to(memory_format=fmt)
    resnet = name.startswith("resnet")   # Adam and the L2 penalty, as the spec
    opt = (torch_resnet.adam(model) if resnet
           else torch.optim.RMSprop(model.parameters(), lr=lr, alpha=0.9, eps=1e-7))
    loss_fn = nn.CrossEntropyLoss() if loss_kind == "ce" else nn.BCEWithLogitsLoss()

    per_sample = 1
    for s in shape:
        per_sample *= s
    pool_n = max(B, (64 << 20) // (4 * (per_sample + 1)))
    pool_n = min(pool_n, B * max(a.steps, a.warmup))
    x = torch.rand((pool_n,) + shape)                      # NHWC, as nntrain
    if len(shape) == 3:
        x = x.permute(0, 3, 1, 2).contiguous(memory_format=fmt)   # NCHW view
    if loss_kind == "ce":
        y = torch.randint(0, 10, (pool_n,))
    else:
        y = torch.randint(0, 2, (pool_n, 1)).float()
    g = torch.Generator().manual_seed(a.seed)

    def step():
        idx = torch.randint(0, pool_n, (B,), generator=g)
        xb = x.index_select(0, idx)
        yb = y.index_select(0, idx)
        opt.zero_grad(set_to_none=False)
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=a.autocast == "bf16"):
            loss = loss_fn(model(xb), yb)
        if resnet:
            loss = loss + model.reg_penalty()
        loss.backward()
        opt.step()
        return loss

    for _ in range(a.warmup):
        step()
    t0 = time.perf_counter()
    for _ in range(a.steps):
        loss = step()
    wall = time.perf_counter() - t0
    if not torch.isfinite(loss):
        sys.exit("torch_bench: loss is not finite")
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
    print("TORCH model=%s threads=%d batch=%d img_s=%.2f ms_step=%.3f rss_mb=%.1f steps=%d "
          "blas_threads=%d omp_wait=%s memory_format=%s autocast=%s"
          % (name, a.threads, B, B * a.steps / wall, 1e3 * wall / a.steps, rss_mb, a.steps,
             blas_threads, os.environ.get("OMP_WAIT_POLICY") or "default", a.memory_format,
             a.autocast))


if __name__ == "__main__":
    main()
