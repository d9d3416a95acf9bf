#!/usr/bin/python3
"""Functional Keras model_configs for tests/test_keras_func.c, written as each
Keras writes them (without TensorFlow: the JSON layouts are replayed by hand
from Keras's get_config/serialization code and the real files in
../shared/data/keras-real).

    /usr/bin/python3 scripts/gen_keras_func.py [outdir]

Writes into tests/fixtures/keras_func/ (deterministic):

  Three small models, each in several writers' spellings:
    resnet  Input(6, 6, 2) -> Conv2D(4, 3, same) -> BatchNormalization -> relu
            -> Conv2D(4, 3, same); a 1x1 Conv2D(4) shortcut from the input;
            Add -> relu -> GlobalAveragePooling2D -> Dense(3, softmax)
            (267 parameters, 8 non-trainable)
    unet    Input(8, 8, 2) -> Conv2D(3, 3, same, relu) -> MaxPooling2D ->
            Conv2D(5, 3, same, relu) -> UpSampling2D; Concatenate(axis=3) of
            that and the first conv -> Conv2D(1, 1, sigmoid) (206 parameters)
    chain   Input(4) -> Dense(5, relu) -> Dense(2, softmax) (37 parameters)
  Writers:
    k222  Keras 2.2.2 (and R keras): class_name "Model", entries {name,
          class_name, config, inbound_nodes}, nodes [[["conv2d", 0, 0, {}]]],
          VarianceScaling initialisers, InputLayer without ragged
    tf23  tf.keras 2.3: class_name "Model", input_layers/output_layers as
          dicts {"data_in": [name, 0, 0]} (a model built on dict inputs, as
          tfkeras230_functional_resnet_add_bn.h5 has them)
    tf24  tf.keras 2.4+: class_name "Functional", GlorotUniform, groups: 1
    k3    Keras 3: "Functional" with module/registered_name/build_config,
          dtype as a DTypePolicy object, InputLayer batch_shape, nodes as
          {"args": [...], "kwargs": {}} with __keras_tensor__ keras_history
          entries (a merge's tensors in one list), input_layers and
          output_layers as one bare [name, 0, 0]
  Files: <model>_<writer>.json (model_config), and resnet_tf24.h5: the
  resnet as tf.keras 2.4's model.save writes it, with weights, and
  resnet_expect.h5: x (5, 6, 6, 2) and the outputs y computed with PyTorch
  (float64, BatchNormalization in inference: the moving statistics);
  resnet_summary.txt and resnet_short_summary.txt: the summary tables
  tf.keras 2.x prints for the resnet (print_summary's rules replayed).
"""
import json
import os
import sys

import h5py
import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from gen_keras_fixtures import save_model  # noqa: E402  (Keras's .h5 save, replayed)

torch.set_default_dtype(torch.float64)
RNG = np.random.default_rng(1717)
OUTDIR = sys.argv[1] if len(sys.argv) > 1 else os.path.join(
    os.path.dirname(os.path.abspath(__file__)), "..", "tests", "fixtures", "keras_func")

GLOROT_TF2 = {"class_name": "GlorotUniform", "config": {"seed": None}}
GLOROT_K22 = {"class_name": "VarianceScaling",
              "config": {"scale": 1.0, "mode": "fan_avg", "distribution": "uniform", "seed": None}}
ZEROS = {"class_name": "Zeros", "config": {}}
ONES = {"class_name": "Ones", "config": {}}


# ---- the models, writer-neutral: (name, class, options, inputs) -----------

def resnet():
    return (6, 6, 2), [
        ("conv2d", "Conv2D", {"filters": 4, "kernel_size": [3, 3], "padding": "same"}, ["input_1"]),
        ("batch_normalization", "BatchNormalization", {}, ["conv2d"]),
        ("activation", "Activation", {"activation": "relu"}, ["batch_normalization"]),
        ("conv2d_1", "Conv2D", {"filters": 4, "kernel_size": [3, 3], "padding": "same"},
         ["activation"]),
        ("conv2d_2", "Conv2D", {"filters": 4, "kernel_size": [1, 1], "padding": "valid"},
         ["input_1"]),
        ("add", "Add", {}, ["conv2d_1", "conv2d_2"]),
        ("activation_1", "Activation", {"activation": "relu"}, ["add"]),
        ("global_average_pooling2d", "GlobalAveragePooling2D", {}, ["activation_1"]),
        ("dense", "Dense", {"units": 3, "activation": "softmax"}, ["global_average_pooling2d"]),
    ]


def unet():
    return (8, 8, 2), [
        ("conv2d", "Conv2D", {"filters": 3, "kernel_size": [3, 3], "padding": "same",
                              "activation": "relu"}, ["input_1"]),
        ("max_pooling2d", "MaxPooling2D", {}, ["conv2d"]),
        ("conv2d_1", "Conv2D", {"filters": 5, "kernel_size": [3, 3], "padding": "same",
                                "activation": "relu"}, ["max_pooling2d"]),
        ("up_sampling2d", "UpSampling2D", {}, ["conv2d_1"]),
        ("concatenate", "Concatenate", {"axis": 3}, ["up_sampling2d", "conv2d"]),
        ("conv2d_2", "Conv2D", {"filters": 1, "kernel_size": [1, 1], "padding": "valid",
                                "activation": "sigmoid"}, ["concatenate"]),
    ]


def chain():
    return (4,), [
        ("dense", "Dense", {"units": 5, "activation": "relu"}, ["input_1"]),
        ("dense_1", "Dense", {"units": 2, "activation": "softmax"}, ["dense"]),
    ]


# ---- each writer's layer config -------------------------------------------

def config(writer, name, cls, opt):
    k3 = writer == "k3"
    c = {"name": name, "trainable": True}
    if writer != "k222":
        c["dtype"] = ({"module": "keras", "class_name": "DTypePolicy",
                       "config": {"name": "float32"}, "registered_name": None}
                      if k3 else "float32")
    init = GLOROT_K22 if writer == "k222" else GLOROT_TF2
    if k3:
        init = {"module": "keras.initializers", "class_name": "GlorotUniform",
                "config": {"seed": None}, "registered_name": None}
    zeros = ({"module": "keras.initializers", "class_name": "Zeros", "config": {},
              "registered_name": None} if k3 else ZEROS)
    ones = ({"module": "keras.initializers", "class_name": "Ones", "config": {},
             "registered_name": None} if k3 else ONES)
    regs = {"kernel_regularizer": None, "bias_regularizer": None,
            "activity_regularizer": None, "kernel_constraint": None, "bias_constraint": None}
    if cls == "Conv2D":
        c.update({"filters": opt["filters"], "kernel_size": opt["kernel_size"],
                  "strides": [1, 1], "padding": opt["padding"],
                  "data_format": "channels_last", "dilation_rate": [1, 1]})
        if writer in ("tf24", "k3"):
            c["groups"] = 1
        c.update({"activation": opt.get("activation", "linear"), "use_bias": True,
                  "kernel_initializer": init, "bias_initializer": zeros})
        c.update(regs)
    elif cls == "Dense":
        c.update({"units": opt["units"], "activation": opt["activation"], "use_bias": True,
                  "kernel_initializer": init, "bias_initializer": zeros})
        c.update(regs)
    elif cls == "BatchNormalization":
        c.update({"axis": -1 if k3 else [3], "momentum": 0.99, "epsilon": 0.001,
                  "center": True, "scale": True, "beta_initializer": zeros,
                  "gamma_initializer": ones, "moving_mean_initializer": zeros,
                  "moving_variance_initializer": ones, "beta_regularizer": None,
                  "gamma_regularizer": None, "beta_constraint": None, "gamma_constraint": None})
        if k3:
            c["synchronized"] = False
    elif cls == "Activation":
        c["activation"] = opt["activation"]
    elif cls == "MaxPooling2D":
        c.update({"pool_size": [2, 2], "padding": "valid", "strides": [2, 2],
                  "data_format": "channels_last"})
    elif cls == "UpSampling2D":
        c.update({"size": [2, 2], "data_format": "channels_last", "interpolation": "nearest"})
    elif cls == "GlobalAveragePooling2D":
        c["data_format"] = "channels_last"
        if k3:
            c["keepdims"] = False
    elif cls == "Concatenate":
        c["axis"] = opt["axis"]
    return c


def keras3_tensor(name, shape):
    return {"class_name": "__keras_tensor__",
            "config": {"shape": shape, "dtype": "float32", "keras_history": [name, 0, 0]}}


def model_config(writer, model):
    in_shape, layers = model
    k3 = writer == "k3"
    input_name = "input_layer" if k3 else "input_1"
    rename = lambda n: input_name if n == "input_1" else n
    if k3:
        inp = {"module": "keras.layers", "class_name": "InputLayer",
               "config": {"batch_shape": [None] + list(in_shape), "dtype": "float32",
                          "sparse": False, "name": input_name},
               "registered_name": None, "name": input_name, "inbound_nodes": []}
    else:
        ic = {"batch_input_shape": [None] + list(in_shape), "dtype": "float32",
              "sparse": False}
        if writer != "k222":
            ic["ragged"] = False
        ic["name"] = input_name
        inp = {"class_name": "InputLayer", "config": ic, "name": input_name,
               "inbound_nodes": []}
        if writer == "k222":
            inp = {"name": input_name, "class_name": "InputLayer", "config": ic,
                   "inbound_nodes": []}
    entries = [inp]
    for name, cls, opt, ins in layers:
        c = config(writer, name, cls, opt)
        ins = [rename(n) for n in ins]
        if k3:
            ts = [keras3_tensor(n, None) for n in ins]
            node = {"args": [ts] if len(ts) > 1 else ts, "kwargs": {}}
            entries.append({"module": "keras.layers", "class_name": cls, "config": c,
                            "registered_name": None, "build_config": {"input_shape": None},
                            "name": name, "inbound_nodes": [node]})
        elif writer == "k222":
            entries.append({"name": name, "class_name": cls, "config": c,
                            "inbound_nodes": [[[n, 0, 0, {}] for n in ins]]})
        else:
            entries.append({"class_name": cls, "config": c, "name": name,
                            "inbound_nodes": [[[n, 0, 0, {}] for n in ins]]})
    out = layers[-1][0]
    if k3:
        cf = {"name": "functional", "trainable": True, "layers": entries,
              "input_layers": [input_name, 0, 0], "output_layers": [out, 0, 0]}
        return {"module": "keras", "class_name": "Functional", "config": cf,
                "registered_name": "Functional", "build_config": {"input_shape": None}}
    if writer == "tf23":
        cf = {"name": "model", "layers": entries, "input_layers": {"data_in": [input_name, 0, 0]},
              "output_layers": {"data_out": [out, 0, 0]}}
    elif writer == "k222":
        cf = {"name": "model_1", "layers": entries, "input_layers": [[input_name, 0, 0]],
              "output_layers": [[out, 0, 0]]}
    else:
        cf = {"name": "model", "layers": entries, "input_layers": [[input_name, 0, 0]],
              "output_layers": [[out, 0, 0]]}
    return {"class_name": "Functional" if writer == "tf24" else "Model", "config": cf}


# ---- the resnet as a tf.keras 2.4 .h5, and its PyTorch outputs ------------

def f32(a):
    return np.ascontiguousarray(np.asarray(a, dtype=np.float32))


def uniform(shape, lim):
    return f32(RNG.uniform(-lim, lim, size=shape))


def resnet_h5():
    w = {
        "conv2d": [uniform((3, 3, 2, 4), 0.5), uniform((4,), 0.1)],
        "batch_normalization": [f32(RNG.uniform(0.5, 1.5, 4)), uniform((4,), 0.2),
                                uniform((4,), 0.3), f32(RNG.uniform(0.5, 2.0, 4))],
        "conv2d_1": [uniform((3, 3, 4, 4), 0.4), uniform((4,), 0.1)],
        "conv2d_2": [uniform((1, 1, 2, 4), 0.6), uniform((4,), 0.1)],
        "dense": [uniform((4, 3), 0.7), uniform((3,), 0.1)],
    }
    names = {"conv2d": ["kernel:0", "bias:0"], "conv2d_1": ["kernel:0", "bias:0"],
             "conv2d_2": ["kernel:0", "bias:0"], "dense": ["kernel:0", "bias:0"],
             "batch_normalization": ["gamma:0", "beta:0", "moving_mean:0", "moving_variance:0"]}
    mc = model_config("tf24", resnet())
    order = ["input_1"] + [n for n, _, _, _ in resnet()[1]]
    layers = [(n, [("%s/%s" % (n, k), v) for k, v in zip(names.get(n, []), w.get(n, []))])
              for n in order]
    tc = {"loss": "sparse_categorical_crossentropy", "metrics": ["accuracy"],
          "weighted_metrics": None, "loss_weights": None,
          "optimizer_config": {"class_name": "Adam", "config": {
              "name": "Adam", "learning_rate": 0.001, "decay": 0.0, "beta_1": 0.9,
              "beta_2": 0.999, "epsilon": 1e-07, "amsgrad": False}}}
    save_model(os.path.join(OUTDIR, "resnet_tf24.h5"), "2.4.0", mc, tc, layers, [],
               fixed=False, top_level=False)

    t = lambda a: torch.from_numpy(np.asarray(a, dtype=np.float64))
    x = uniform((5, 6, 6, 2), 1.0)
    xc = t(x).permute(0, 3, 1, 2)                                   # NCHW
    conv = lambda h, k, b, p: F.conv2d(h, t(k).permute(3, 2, 0, 1), t(b), padding=p)
    g, be, mu, var = w["batch_normalization"]
    h = conv(xc, *w["conv2d"], 1)
    h = F.batch_norm(h, t(mu), t(var), t(g), t(be), training=False, eps=1e-3)
    h = conv(torch.relu(h), *w["conv2d_1"], 1)
    s = conv(xc, *w["conv2d_2"], 0)
    h = torch.relu(h + s).mean(dim=(2, 3))
    y = torch.softmax(h @ t(w["dense"][0]) + t(w["dense"][1]), dim=1)
    with h5py.File(os.path.join(OUTDIR, "resnet_expect.h5"), "w") as f:
        f["x"] = x
        f["y"] = f32(y.numpy())


# ---- model.summary() as tf.keras 2.x prints a functional model ----------

def print_summary(model_name, input_name, in_shape, rows, trainable):
    """layer_utils.print_summary of tf.keras 2.0-2.8 for a functional model:
    line_length 98, positions [.33, .55, .67, 1.] of it, print_row (each
    field starts at the previous position; the character before it becomes a
    space; a field is cut at its position), "Connected to" as
    name[node][tensor] with one extra row per further input, a '_' rule
    between rows, '=' after the last. rows: (name, class, output shape,
    params, [inbound layer names]). nntrain widens a column instead of
    cutting its text (as its Sequential table does): widths are raised to
    fit, which leaves a table whose texts fit unchanged."""
    shape = lambda s: "(None, %s)" % ", ".join(str(d) for d in s) if len(s) > 1 else \
        "(None, %d)" % s[0]
    table = [("%s (InputLayer)" % input_name, "[%s]" % shape(in_shape), 0, [])]
    table += [("%s (%s)" % (n, c), shape(o), p, ["%s[0][0]" % i for i in ins])
              for n, c, o, p, ins in rows]
    widths = [32, 53 - 32, 65 - 53, 98 - 65]
    for who, out, _, conns in table:
        widths[0] = max(widths[0], len(who) + 1)
        widths[1] = max(widths[1], len(out) + 1)
        widths[3] = max([widths[3]] + [len(c) + 1 for c in conns])
    positions = [sum(widths[:i + 1]) for i in range(4)]
    line_length = positions[-1]
    lines = []

    def print_row(fields):
        line = ""
        for i, f in enumerate(fields):
            if i > 0:
                line = line[:-1] + " "
            line += str(f)
            line = line[:positions[i]]
            line += " " * (positions[i] - len(line))
        lines.append(line)

    lines.append('Model: "%s"' % model_name)
    lines.append("_" * line_length)
    print_row(["Layer (type)", "Output Shape", "Param #", "Connected to"])
    lines.append("=" * line_length)
    for i, (who, out, params, conns) in enumerate(table):
        print_row([who, out, params, conns[0] if conns else ""])
        for c in conns[1:]:
            print_row(["", "", "", c])
        lines.append("=" * line_length if i == len(table) - 1 else "_" * line_length)
    total = sum(r[3] for r in rows)
    lines.append("Total params: {:,}".format(total))
    lines.append("Trainable params: {:,}".format(trainable))
    lines.append("Non-trainable params: {:,}".format(total - trainable))
    lines.append("_" * line_length)
    return "\n".join(lines) + "\n", line_length


def summaries():
    """resnet_summary.txt (the fixture's names; two columns widened) and
    resnet_short_summary.txt (short names: exactly Keras's 98 columns)."""
    shapes = {"conv2d": (6, 6, 4), "batch_normalization": (6, 6, 4), "activation": (6, 6, 4),
              "conv2d_1": (6, 6, 4), "conv2d_2": (6, 6, 4), "add": (6, 6, 4),
              "activation_1": (6, 6, 4), "global_average_pooling2d": (4,), "dense": (3,)}
    params = {"conv2d": 76, "batch_normalization": 16, "conv2d_1": 148, "conv2d_2": 12,
              "dense": 15}
    short = {"conv2d": "c1", "batch_normalization": "bn", "activation": "a1", "conv2d_1": "c2",
             "conv2d_2": "c3", "add": "add", "activation_1": "a2",
             "global_average_pooling2d": "gap", "dense": "d", "input_1": "input_1"}
    for fname, ren in (("resnet_summary.txt", lambda n: n),
                       ("resnet_short_summary.txt", lambda n: short[n])):
        rows = [(ren(n), c, shapes[n], params.get(n, 0), [ren(i) for i in ins])
                for n, c, _, ins in resnet()[1]]
        text, width = print_summary("model", "input_1", (6, 6, 2), rows, 267 - 8)
        assert fname != "resnet_short_summary.txt" or width == 98
        with open(os.path.join(OUTDIR, fname), "w") as f:
            f.write(text)


def main():
    os.makedirs(OUTDIR, exist_ok=True)
    made = {"resnet": ("k222", "tf23", "tf24", "k3"), "unet": ("k222", "k3"),
            "chain": ("tf24", "k3")}
    for model, writers in made.items():
        for writer in writers:
            p = os.path.join(OUTDIR, "%s_%s.json" % (model, writer))
            with open(p, "w") as f:
                json.dump(model_config(writer, globals()[model]()), f)
                f.write("\n")
    resnet_h5()
    summaries()
    for n in sorted(os.listdir(OUTDIR)):
        print("%s: %d bytes" % (os.path.join(OUTDIR, n), os.path.getsize(os.path.join(OUTDIR, n))))


if __name__ == "__main__":
    main()
