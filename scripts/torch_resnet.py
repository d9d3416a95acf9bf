"""PyTorch twin of jobs/models/resnet*.nn (Keras's cifar10_resnet.py resnet_v1),
for scripts/torch_bench.py (speed) and scripts/torch_reference.py (accuracy).

Keras semantics made explicit where torch's defaults differ:
  * Conv2D kernels he_normal (Keras: truncated normal, stddev sqrt(2 / fan_in)),
    biases zero; the Dense head he_normal too, as the Keras script sets it;
  * BatchNormalization momentum 0.99 -> torch momentum 0.01, epsilon 1e-3;
  * kernel_regularizer=l2(1e-4) on every Conv2D kernel: 1e-4 * sum(w^2) added to
    the loss (reg_penalty), not torch's weight_decay (which is 2x and skips the
    printed loss);
  * Adam(lr=1e-3, epsilon=1e-7).
"""
import math

import torch
import torch.nn as nn
import torch.nn.functional as F

L2 = 1e-4


def he_normal_(w):
    """Keras he_normal: truncated normal (within 2 stddev), stddev sqrt(2/fan_in)."""
    fan_in = w[0].numel()
    std = math.sqrt(2.0 / fan_in) / 0.87962566103423978   # truncation correction
    with torch.no_grad():
        nn.init.trunc_normal_(w, 0.0, std, -2 * std, 2 * std)


class SameConv(nn.Conv2d):
    """Conv2D(padding="same") as TensorFlow pads it: at stride 2 on an even size
    the extra row and column go at the bottom and right (torch's symmetric
    padding would shift the grid by one pixel)."""

    def __init__(self, cin, cout, k, stride):
        super().__init__(cin, cout, k, stride=stride, padding=k // 2 if stride == 1 else 0)
        self.same = stride != 1 and k > 1

    def forward(self, x):
        if self.same:
            h = x.shape[-1]
            s = self.stride[0]
            k = self.kernel_size[0]
            pad = max((math.ceil(h / s) - 1) * s + k - h, 0)
            x = F.pad(x, (pad // 2, pad - pad // 2, pad // 2, pad - pad // 2))
        return super().forward(x)


def conv(cin, cout, k, stride):
    c = SameConv(cin, cout, k, stride)
    he_normal_(c.weight)
    nn.init.zeros_(c.bias)
    return c


def bn(c):
    return nn.BatchNorm2d(c, eps=1e-3, momentum=0.01)


class Block(nn.Module):
    """Two 3x3 conv + BN (ReLU between), a strided 1x1 conv shortcut when the
    shape changes, add, ReLU."""

    def __init__(self, cin, cout, stride):
        super().__init__()
        self.c1, self.b1 = conv(cin, cout, 3, stride), bn(cout)
        self.c2, self.b2 = conv(cout, cout, 3, 1), bn(cout)
        self.short = conv(cin, cout, 1, stride) if stride != 1 else None

    def forward(self, x):
        y = F.relu(self.b1(self.c1(x)))
        y = self.b2(self.c2(y))
        s = self.short(x) if self.short is not None else x
        return F.relu(s + y)


class ResNetV1(nn.Module):
    def __init__(self, n, cin=3, pool=8, classes=10):
        super().__init__()
        self.c0, self.b0 = conv(cin, 16, 3, 1), bn(16)
        blocks, c = [], 16
        for stack in range(3):
            cout = 16 * 2 ** stack
            for b in range(n):
                blocks.append(Block(c, cout, 2 if stack > 0 and b == 0 else 1))
                c = cout
        self.blocks = nn.Sequential(*blocks)
        self.pool = pool
        self.fc = nn.Linear(64, classes)
        he_normal_(self.fc.weight)   # fan_in 64, as Keras's (64, 10) kernel
        nn.init.zeros_(self.fc.bias)

    def forward(self, x):
        x = F.relu(self.b0(self.c0(x)))
        x = self.blocks(x)
        x = F.avg_pool2d(x, self.pool)
        return self.fc(torch.flatten(x, 1))   # logits: softmax is in the loss

    def reg_penalty(self):
        return L2 * sum((m.weight ** 2).sum() for m in self.modules() if isinstance(m, nn.Conv2d))


def build(name):
    """resnet20 (32x32x3), resnet56, resnet20_fashion (28x28x1)."""
    if name == "resnet20":
        return ResNetV1(3)
    if name == "resnet56":
        return ResNetV1(9)
    if name == "resnet20_fashion":
        return ResNetV1(3, cin=1, pool=7)
    raise KeyError(name)


def adam(model):
    return torch.optim.Adam(model.parameters(), lr=1e-3, eps=1e-7)
