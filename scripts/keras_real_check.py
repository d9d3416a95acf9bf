#!/usr/bin/python3
"""Independent forward pass of a Sequential or functional Keras .h5 (the real
files in ../shared/data/keras-real), for tests/cli/keras_real.sh: reads
model_config and the weights with h5py, runs the layers in PyTorch
(float64), never nntrain, on random inputs of the model's shape.

    /usr/bin/python3 scripts/keras_real_check.py MODEL.h5 OUTDIR [N [SCALE]]

writes OUTDIR/data.h5 (an nntrain dataset: test/x (N, ...) in [0, SCALE),
SCALE 1 unless given (smaller for a model whose softmax saturates),
test/y zeros) and OUTDIR/expect.csv (N rows of the model's outputs). Exit 77
when h5py or torch is missing. Layers: InputLayer, Conv2D (stride 1, valid or
same with odd kernels), Activation, LeakyReLU, ReLU, Softmax, Reshape,
MaxPooling2D (valid), Dropout, Flatten, Dense, BatchNormalization (last axis,
inference: the moving statistics, torch's F.batch_norm); in functional models
(layers in file order, each on the tensors of its inbound node) also Add,
Concatenate, UpSampling2D (nearest), Conv2DTranspose, and Conv2D, MaxPooling2D
and AveragePooling2D with strides and TensorFlow's "same" padding (the odd
cell after; the average over the cells inside the image).
"""
import json
import os
import sys

try:
    import h5py
    import numpy as np
    import torch
    import torch.nn.functional as F
except ImportError:
    sys.exit(77)

ACT = {"linear": lambda t: t, "relu": F.relu, "sigmoid": torch.sigmoid, "tanh": torch.tanh,
       "softmax": lambda t: torch.softmax(t, -1), "leaky_relu": lambda t: F.leaky_relu(t, 0.2)}


def text(v):
    return v.decode() if isinstance(v, bytes) else v


def all_weights(h5, name):
    """layer name's weights by Keras name (kernel, gamma, ...), whatever the
    nesting (Keras 2 or 3)."""
    found = {}
    h5["model_weights"][name].visititems(
        lambda k, o: found.__setitem__(k.split("/")[-1].split(":")[0], o[()])
        if isinstance(o, h5py.Dataset) else None)
    return found


def weights(h5, name):
    """kernel and bias of layer name."""
    found = all_weights(h5, name)
    return (torch.tensor(found["kernel"].astype(np.float64)),
            torch.tensor(found["bias"].astype(np.float64)) if "bias" in found else None)


def keras_relu(t, slope, max_value, threshold):
    pos = t if max_value is None else torch.clamp(t, max=max_value)
    return torch.where(t > threshold, pos, slope * (t - threshold))


def same_pad(t, k, s, value=0.0):
    """TensorFlow's "same" padding of an NCHW tensor for kernel k, stride s:
    the total max((ceil(n/s) - 1) * s + k - n, 0) per axis, the extra one
    after (bottom/right)."""
    pads = []
    for n, kk, ss in ((t.shape[3], k[1], s[1]), (t.shape[2], k[0], s[0])):
        total = max((-(-n // ss) - 1) * ss + kk - n, 0)
        pads += [total // 2, total - total // 2]
    return F.pad(t, pads, value=value)


def nchw(t):
    return t.permute(0, 3, 1, 2)


def nhwc(t):
    return t.permute(0, 2, 3, 1)


def layer(h5, L, ins):
    """One Keras layer on its input tensors (NHWC, float64)."""
    cls, cf = L["class_name"], L["config"]
    t = ins[0]
    if cls in ("InputLayer", "Dropout"):
        return t
    if cls == "Conv2D":
        k, b = weights(h5, cf["name"])
        ks, st = tuple(k.shape[:2]), tuple(cf.get("strides", [1, 1]))
        x = same_pad(nchw(t), ks, st) if cf["padding"] == "same" else nchw(t)
        t = nhwc(F.conv2d(x, k.permute(3, 2, 0, 1), b, stride=st))
        return ACT[cf.get("activation", "linear")](t)
    if cls == "Conv2DTranspose":
        k, b = weights(h5, cf["name"])        # (KH, KW, F, C)
        st = tuple(cf.get("strides", [1, 1]))
        assert cf.get("output_padding") is None
        y = F.conv_transpose2d(nchw(t), k.permute(3, 2, 0, 1), b, stride=st)
        if cf["padding"] == "same":           # crop the full output to n * s
            for ax, (n, kk, ss) in ((2, (t.shape[1], k.shape[0], st[0])),
                                    (3, (t.shape[2], k.shape[1], st[1]))):
                crop = max(kk - ss, 0)
                y = y.narrow(ax, crop // 2, n * ss)
        return ACT[cf.get("activation", "linear")](nhwc(y))
    if cls in ("MaxPooling2D", "AveragePooling2D"):
        ps = tuple(cf["pool_size"])
        st = tuple(cf.get("strides") or ps)
        if cls == "MaxPooling2D":
            x = same_pad(nchw(t), ps, st, float("-inf")) if cf["padding"] == "same" else nchw(t)
            return nhwc(F.max_pool2d(x, ps, st))
        if cf["padding"] == "valid":
            return nhwc(F.avg_pool2d(nchw(t), ps, st))
        # TF's "same" average: over the cells inside the image only
        ones = same_pad(torch.ones_like(nchw(t)), ps, st)
        return nhwc(F.avg_pool2d(same_pad(nchw(t), ps, st), ps, st) /
                    F.avg_pool2d(ones, ps, st))
    if cls == "UpSampling2D":
        assert cf.get("interpolation", "nearest") == "nearest"
        return nhwc(F.interpolate(nchw(t), scale_factor=tuple(cf["size"]), mode="nearest"))
    if cls == "Add":
        return sum(ins)
    if cls == "Concatenate":
        return torch.cat(ins, dim=cf.get("axis", -1))
    return run_chain(h5, [L], t)


def run_graph(h5, cf, x):
    """A functional model: layers in file order (Keras writes them in
    topological order), each on the tensors its one inbound node names."""
    out = {}
    for L in cf["layers"]:
        nodes = L.get("inbound_nodes") or []
        ins = [out[r[0]] for r in nodes[0]] if nodes else [torch.tensor(x.astype(np.float64))]
        out[L["name"]] = layer(h5, L, ins)
    ends = cf["output_layers"]
    ends = list(ends.values()) if isinstance(ends, dict) else ends
    return out[ends[0][0]].numpy()


def run(h5, layers, x):
    return run_chain(h5, layers, torch.tensor(x.astype(np.float64))).numpy()


def run_chain(h5, layers, t):
    for L in layers:
        cls, cf = L["class_name"], L["config"]
        if cls in ("InputLayer", "Dropout"):
            continue
        if cls == "Conv2D":
            k, b = weights(h5, cf["name"])
            kh, kw = k.shape[0], k.shape[1]
            assert tuple(cf.get("strides", [1, 1])) == (1, 1)
            pad = (kh // 2, kw // 2) if cf["padding"] == "same" else (0, 0)
            assert cf["padding"] == "valid" or (kh % 2 and kw % 2)
            t = F.conv2d(t.permute(0, 3, 1, 2), k.permute(3, 2, 0, 1), b,
                         padding=pad).permute(0, 2, 3, 1)
            t = ACT[cf.get("activation", "linear")](t)
        elif cls == "Dense":
            k, b = weights(h5, cf["name"])
            t = t @ k + (b if b is not None else 0)
            t = ACT[cf.get("activation", "linear")](t)
        elif cls == "Activation":
            t = ACT[cf["activation"]](t)
        elif cls == "LeakyReLU":
            t = F.leaky_relu(t, cf.get("alpha", cf.get("negative_slope", 0.3)))
        elif cls == "ReLU":
            t = keras_relu(t, cf.get("negative_slope", 0.0), cf.get("max_value"),
                           cf.get("threshold", 0.0))
        elif cls == "Softmax":
            t = torch.softmax(t, -1)
        elif cls == "Reshape":
            t = t.reshape((t.shape[0],) + tuple(cf["target_shape"]))
        elif cls == "MaxPooling2D":
            assert cf["padding"] == "valid"
            t = F.max_pool2d(t.permute(0, 3, 1, 2), tuple(cf["pool_size"]),
                             tuple(cf["strides"])).permute(0, 2, 3, 1)
        elif cls == "Flatten":
            t = t.reshape(t.shape[0], -1)
        elif cls == "BatchNormalization":
            axis = cf.get("axis", -1)
            axis = axis[0] if isinstance(axis, list) else axis
            assert axis in (-1, t.dim() - 1)
            w = {k: torch.tensor(v.astype(np.float64)) for k, v in all_weights(h5, cf["name"]).items()}
            ch_first = t.movedim(-1, 1)   # torch normalizes dimension 1
            t = F.batch_norm(ch_first, w["moving_mean"], w["moving_variance"], w.get("gamma"),
                             w.get("beta"), training=False,
                             eps=cf.get("epsilon", 1e-3)).movedim(1, -1)
        else:
            raise SystemExit("keras_real_check.py: layer %s is not handled" % cls)
    return t


def main():
    path, out = sys.argv[1], sys.argv[2]
    n = int(sys.argv[3]) if len(sys.argv) > 3 else 5
    scale = float(sys.argv[4]) if len(sys.argv) > 4 else 1.0
    with h5py.File(path, "r") as h5:
        mc = json.loads(text(h5.attrs["model_config"]))
        cf = mc["config"]
        layers = cf if isinstance(cf, list) else cf["layers"]
        first = layers[0]["config"]
        shape = first.get("batch_input_shape") or first.get("batch_shape")
        x = np.random.default_rng(17).uniform(0, scale, (n,) + tuple(shape[1:])).astype(np.float32)
        y = run_graph(h5, cf, x) if mc["class_name"] in ("Model", "Functional") else \
            run(h5, layers, x)
    with h5py.File(os.path.join(out, "data.h5"), "w") as d:
        d.create_dataset("test/x", data=x)
        d.create_dataset("test/y", data=np.zeros(n, dtype=np.int32))
    np.savetxt(os.path.join(out, "expect.csv"), y.reshape(n, -1), delimiter=",", fmt="%.9g")


if __name__ == "__main__":
    main()
