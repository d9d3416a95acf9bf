#!/usr/bin/python3
"""Keras files as each real writer lays them out, for tests/cli/keras_writers.sh.

    /usr/bin/python3 scripts/gen_keras_writers.py [outdir]

Keras is not installed: each file is written by hand with h5py/zipfile the
way that writer's save code does it (Keras 2.x hdf5_format.py, tf.keras's
legacy h5 writer, Keras 3's saving_lib.py), checked against the real files
of ../shared/data/keras-real (h5dump -A). Writes into
tests/fixtures/keras_writers/ (deterministic: fixed numpy seed, no
timestamps), per fixture STEM:
  STEM.h5 / STEM.keras   the model file
  STEM.io.h5             an nntrain dataset: test/x (the input batch), test/y
                         (zeros); /train is the same group
  STEM.expect.csv        the model's outputs on test/x, computed here in
                         PyTorch (float64) from the weights written
README.md in that folder lists each file's writer and quirks.
"""
import io
import json
import os
import sys
import zipfile

import h5py
import numpy as np
import torch
import torch.nn.functional as F

OUT = sys.argv[1] if len(sys.argv) > 1 else os.path.join(
    os.path.dirname(os.path.abspath(__file__)), "..", "tests", "fixtures", "keras_writers")
RNG = np.random.default_rng(18)
N = 5   # rows of the input batch


# ---- writing ------------------------------------------------------------

def h5_create(path):
    """A new HDF5 file without timestamps (same bytes on every run), in
    h5py's default (earliest) format, as Keras writes it."""
    fcpl = h5py.h5p.create(h5py.h5p.FILE_CREATE)
    fcpl.set_obj_track_times(False)
    fid = h5py.h5f.create(path.encode(), h5py.h5f.ACC_TRUNC, fcpl=fcpl)
    return h5py.File(fid)


def put(g, name, a):
    g.create_dataset(name, data=np.asarray(a, dtype=np.float32), track_times=False)


def names_attr(obj, key, names, vlen):
    """A name list as Keras's save_attributes_to_hdf5_group leaves it:
    fixed-length bytes (h5py 2 era) or variable-length str (tf.keras 2.12+)."""
    if vlen:
        obj.attrs.create(key, names, dtype=h5py.string_dtype())
    elif names:
        obj.attrs[key] = np.array([n.encode() for n in names])
    else:
        obj.attrs[key] = np.zeros(0)   # Keras writes [] as an empty float64 array


def text_attr(obj, key, s, as_bytes):
    # h5py 2 (Keras 2.0-2.2) stored s.encode() as variable-length ASCII,
    # h5py 3 (tf.keras 2.x) str as variable-length UTF-8
    if as_bytes:
        obj.attrs.create(key, s.encode(), dtype=h5py.string_dtype("ascii"))
    else:
        obj.attrs[key] = s


def save_h5(path, version, model_config, training_config, layers, old, save_weights=False):
    """Keras 2's model.save (or save_weights): layers = [(name, [(wname, array)])].
    old: the h5py 2 era (bytes attributes, fixed-length name lists)."""
    with h5_create(path) as f:
        if not save_weights:
            text_attr(f, "keras_version", version, old)
            text_attr(f, "backend", "tensorflow", old)
            text_attr(f, "model_config", json.dumps(model_config), old)
            if training_config is not None:
                text_attr(f, "training_config", json.dumps(training_config), old)
        mw = f if save_weights else f.create_group("model_weights")
        names_attr(mw, "layer_names", [n for n, _ in layers], not old)
        text_attr(mw, "backend", "tensorflow", old)
        text_attr(mw, "keras_version", version, old)
        for name, ws in layers:
            g = mw.create_group(name)
            names_attr(g, "weight_names", [w for w, _ in ws], not old)
            for w, a in ws:
                put(g, w, a)   # "dense_1/kernel:0": nested groups, as h5py makes them
        if not old and not save_weights:
            names_attr(mw.create_group("top_level_model_weights"), "weight_names", [], False)


def save_keras3(path, config, weights, opt_vars):
    """Keras 3's saving_lib.save_model: a zip (stored, not deflated) of
    metadata.json, config.json and model.weights.h5; weights = {group: [arrays]}
    with group "layers/<snake_case class>[_k]" in model.layers order."""
    tmp = path + ".weights.tmp"
    with h5_create(tmp) as f:
        f.create_group("vars")   # the model's own (none)
        for g, arrays in weights.items():
            v = f.create_group(g).create_group("vars")
            for i, a in enumerate(arrays):
                put(v, str(i), a)
        ov = f.create_group("optimizer").create_group("vars")
        ov.create_dataset("0", data=np.int64(0), track_times=False)   # iterations
        for i, a in enumerate(opt_vars):
            put(ov, str(i + 1), a)
    with open(tmp, "rb") as fh:
        image = fh.read()
    os.remove(tmp)
    when = (2024, 10, 30, 12, 0, 0)
    meta = {"keras_version": "3.6.0", "date_saved": "2024-10-30@12:00:00"}
    with zipfile.ZipFile(path, "w") as z:
        for name, data in (("metadata.json", json.dumps(meta).encode()),
                           ("config.json", json.dumps(config).encode()),
                           ("model.weights.h5", image)):
            z.writestr(zipfile.ZipInfo(name, when), data)


def save_io(stem, x, y):
    with h5_create(os.path.join(OUT, stem + ".io.h5")) as f:
        g = f.create_group("test")
        g.create_dataset("x", data=np.asarray(x, dtype=np.float32), track_times=False)
        g.create_dataset("y", data=np.zeros(len(x), dtype=np.int32), track_times=False)
        f["train"] = g   # a hard link: train --init-weights needs a /train split
    with open(os.path.join(OUT, stem + ".expect.csv"), "w") as fh:
        for row in y:
            fh.write(",".join("%.9g" % v for v in row) + "\n")


# ---- the reference forward pass (PyTorch, float64) ----------------------

def t64(a):
    return torch.tensor(np.asarray(a, dtype=np.float64))


def act(name, t):
    return {"relu": F.relu, "softmax": lambda v: torch.softmax(v, -1), "linear": lambda v: v,
            "tanh": torch.tanh, "sigmoid": torch.sigmoid}[name](t)


def dense(t, k, b, a):
    return act(a, t @ t64(k) + t64(b))


def conv_valid(t, k, b, a):
    """NHWC input, HWIO kernel, stride 1, valid."""
    y = F.conv2d(t.permute(0, 3, 1, 2), t64(k).permute(3, 2, 0, 1), t64(b))
    return act(a, y.permute(0, 2, 3, 1))


def maxpool2(t):
    return F.max_pool2d(t.permute(0, 3, 1, 2), 2).permute(0, 2, 3, 1)


def bn(t, g, b, mm, mv, eps):
    return (t - t64(mm)) / torch.sqrt(t64(mv) + eps) * t64(g) + t64(b)


def glorot(fan_in, fan_out, shape=None):
    lim = np.sqrt(6.0 / (fan_in + fan_out))
    return RNG.uniform(-lim, lim, shape or (fan_in, fan_out)).astype(np.float32)


def small(n):
    return RNG.uniform(-0.2, 0.2, n).astype(np.float32)


# ---- Keras 2 configs ----------------------------------------------------

VS = {"class_name": "VarianceScaling",
      "config": {"scale": 1.0, "mode": "fan_avg", "distribution": "uniform", "seed": None}}
ZEROS = {"class_name": "Zeros", "config": {}}
NULLS = {"kernel_regularizer": None, "bias_regularizer": None, "activity_regularizer": None,
         "kernel_constraint": None, "bias_constraint": None}


def k2_dense(name, units, activation, init=VS, **extra):
    cfg = dict(name=name, trainable=True, **extra)
    cfg.update(units=units, activation=activation, use_bias=True, kernel_initializer=init,
               bias_initializer=ZEROS, **NULLS)
    return {"class_name": "Dense", "config": cfg}


def keras204():
    """Keras 2.0.4: config a bare list of layers, batch_input_shape on the
    first, Adam(lr, epsilon 1e-08, decay), h5py 2 attributes."""
    k1, b1, k2, b2 = glorot(4, 6), small(6), glorot(6, 3), small(3)
    layers = [k2_dense("dense_1", 6, "relu", batch_input_shape=[None, 4], dtype="float32"),
              k2_dense("dense_2", 3, "softmax")]
    mc = {"class_name": "Sequential", "config": layers}
    tc = {"metrics": ["accuracy"], "loss": "categorical_crossentropy",
          "optimizer_config": {"class_name": "Adam", "config": {
              "lr": 0.0010000000474974513, "beta_1": 0.8999999761581421,
              "beta_2": 0.9990000128746033, "epsilon": 1e-08, "decay": 0.0}},
          "loss_weights": None, "sample_weight_mode": None}
    save_h5(os.path.join(OUT, "keras204_seq_mlp.h5"), "2.0.4", mc, tc,
            [("dense_1", [("dense_1/kernel:0", k1), ("dense_1/bias:0", b1)]),
             ("dense_2", [("dense_2/kernel:0", k2), ("dense_2/bias:0", b2)])], old=True)
    x = RNG.uniform(-1, 1, (N, 4))
    return "keras204_seq_mlp", x, dense(dense(t64(x), k1, b1, "relu"), k2, b2, "softmax")


def rkeras224():
    """R keras 2.2.4's save_model_hdf5 over Keras 2.2.4: a small CNN;
    RMSprop(lr, rho, epsilon, decay) with clipnorm and clipvalue -1 for
    "not set"; batch_input_shape; h5py 2 attributes; an Activation layer."""
    kc, bc = glorot(18, 27, (3, 3, 2, 3)), small(3)
    kd, bd = glorot(12, 2), small(2)
    conv = {"class_name": "Conv2D", "config": {
        "name": "conv2d_1", "trainable": True, "batch_input_shape": [None, 6, 6, 2],
        "dtype": "float32", "filters": 3, "kernel_size": [3, 3], "strides": [1, 1],
        "padding": "valid", "data_format": "channels_last", "dilation_rate": [1, 1],
        "activation": "linear", "use_bias": True, "kernel_initializer": VS,
        "bias_initializer": ZEROS, **NULLS}}
    layers = [conv,
              {"class_name": "Activation", "config": {"name": "activation_1", "trainable": True,
                                                      "activation": "relu"}},
              {"class_name": "MaxPooling2D", "config": {
                  "name": "max_pooling2d_1", "trainable": True, "pool_size": [2, 2],
                  "padding": "valid", "strides": [2, 2], "data_format": "channels_last"}},
              {"class_name": "Flatten", "config": {"name": "flatten_1", "trainable": True,
                                                   "data_format": "channels_last"}},
              k2_dense("dense_1", 2, "softmax")]
    mc = {"class_name": "Sequential", "config": {"name": "sequential_1", "layers": layers}}
    tc = {"optimizer_config": {"class_name": "RMSprop", "config": {
        "lr": 0.0010000000474974513, "rho": 0.8999999761581421, "decay": 0.0,
        "epsilon": 1e-07, "clipnorm": -1, "clipvalue": -1}},
        "loss": "sparse_categorical_crossentropy", "metrics": ["accuracy"],
        "sample_weight_mode": None, "loss_weights": None}
    names = [l["config"]["name"] for l in layers]
    ws = {"conv2d_1": [("conv2d_1/kernel:0", kc), ("conv2d_1/bias:0", bc)],
          "dense_1": [("dense_1/kernel:0", kd), ("dense_1/bias:0", bd)]}
    save_h5(os.path.join(OUT, "rkeras224_seq_cnn.h5"), "2.2.4", mc, tc,
            [(n, ws.get(n, [])) for n in names], old=True)
    x = RNG.uniform(0, 1, (N, 6, 6, 2))
    h = maxpool2(conv_valid(t64(x), kc, bc, "relu"))
    return "rkeras224_seq_cnn", x, dense(h.reshape(N, -1), kd, bd, "softmax")


def keras224():
    """Python Keras 2.2.4: SGD(lr, momentum, decay, nesterov), a Dropout,
    batch_input_shape, config {"name", "layers"}, h5py 2 attributes."""
    k1, b1, k2, b2 = glorot(3, 5), small(5), glorot(5, 1), small(1)
    layers = [k2_dense("dense_1", 5, "tanh", batch_input_shape=[None, 3], dtype="float32"),
              {"class_name": "Dropout", "config": {"name": "dropout_1", "trainable": True,
                                                   "rate": 0.5, "noise_shape": None,
                                                   "seed": None}},
              k2_dense("dense_2", 1, "sigmoid")]
    mc = {"class_name": "Sequential", "config": {"name": "sequential_1", "layers": layers}}
    tc = {"optimizer_config": {"class_name": "SGD", "config": {
        "lr": 0.009999999776482582, "momentum": 0.8999999761581421, "decay": 9.999999974752427e-07,
        "nesterov": True}}, "loss": "binary_crossentropy", "metrics": ["accuracy"],
        "sample_weight_mode": None, "loss_weights": None}
    save_h5(os.path.join(OUT, "keras224_seq_dropout.h5"), "2.2.4", mc, tc,
            [("dense_1", [("dense_1/kernel:0", k1), ("dense_1/bias:0", b1)]),
             ("dropout_1", []),
             ("dense_2", [("dense_2/kernel:0", k2), ("dense_2/bias:0", b2)])], old=True)
    x = RNG.uniform(-1, 1, (N, 3))
    return "keras224_seq_dropout", x, dense(dense(t64(x), k1, b1, "tanh"), k2, b2, "sigmoid")


GU = {"class_name": "GlorotUniform", "config": {"seed": None}}


def tf211_config(names, slash=False):
    first = {"class_name": "InputLayer", "config": {
        "batch_input_shape": [None, 4], "dtype": "float32", "sparse": False, "ragged": False,
        "name": "input_1"}}
    layers = [first, k2_dense(names[0], 6, "relu", GU, dtype="float32"),
              k2_dense(names[1], 3, "softmax", GU, dtype="float32")]
    return {"class_name": "Sequential", "config": {"name": "sequential", "layers": layers}}


def tfkeras211():
    """tf.keras 2.11's model.save("m.h5"): InputLayer, h5py 3 strings
    (variable-length), top_level_model_weights, and the new optimizer:
    Custom>Adam with is_legacy_optimizer false, jit_compile, use_ema,
    weight_decay, and learning_rate an ExponentialDecay schedule dict."""
    k1, b1, k2, b2 = glorot(4, 6), small(6), glorot(6, 3), small(3)
    tc = {"loss": "sparse_categorical_crossentropy", "metrics": [[{
        "class_name": "MeanMetricWrapper", "config": {"name": "accuracy", "dtype": "float32",
                                                      "fn": "sparse_categorical_accuracy"}}]],
        "weighted_metrics": None, "loss_weights": None, "optimizer_config": {
            "class_name": "Custom>Adam", "config": {
                "name": "Adam", "weight_decay": None, "clipnorm": None, "global_clipnorm": None,
                "clipvalue": None, "use_ema": False, "ema_momentum": 0.99,
                "ema_overwrite_frequency": None, "jit_compile": True, "is_legacy_optimizer": False,
                "learning_rate": {"class_name": "ExponentialDecay", "config": {
                    "initial_learning_rate": 0.01, "decay_steps": 100, "decay_rate": 0.9,
                    "staircase": False, "name": None}},
                "beta_1": 0.9, "beta_2": 0.999, "epsilon": 1e-07, "amsgrad": False}}}
    save_h5(os.path.join(OUT, "tfkeras211_seq_mlp.h5"), "2.11.0",
            tf211_config(["dense", "dense_1"]), tc,
            [("dense", [("dense/kernel:0", k1), ("dense/bias:0", b1)]),
             ("dense_1", [("dense_1/kernel:0", k2), ("dense_1/bias:0", b2)])], old=False)
    x = RNG.uniform(-1, 1, (N, 4))
    return "tfkeras211_seq_mlp", x, dense(dense(t64(x), k1, b1, "relu"), k2, b2, "softmax")


def tfkeras_slash():
    """tf.keras 2.x with layer names holding '/' (Dense(name="block1/fc")):
    h5py turns model_weights/block1/fc and the weight names
    block1/fc/kernel:0 into nested groups."""
    k1, b1, k2, b2 = glorot(4, 6), small(6), glorot(6, 3), small(3)
    save_h5(os.path.join(OUT, "tfkeras_slash_names.h5"), "2.11.0",
            tf211_config(["block1/fc", "head/out"]), None,
            [("block1/fc", [("block1/fc/kernel:0", k1), ("block1/fc/bias:0", b1)]),
             ("head/out", [("head/out/kernel:0", k2), ("head/out/bias:0", b2)])], old=False)
    x = RNG.uniform(-1, 1, (N, 4))
    return "tfkeras_slash_names", x, dense(dense(t64(x), k1, b1, "relu"), k2, b2, "softmax")


def tfkeras_weights():
    """tf.keras 2.x model.save_weights("w.h5"): no model_config, the layer
    groups at the root (attrs layer_names, backend, keras_version); loaded
    onto tfkeras_save_weights.nn with train --init-weights."""
    k1, b1, k2, b2 = glorot(4, 6), small(6), glorot(6, 3), small(3)
    save_h5(os.path.join(OUT, "tfkeras_save_weights.h5"), "2.11.0", None, None,
            [("dense", [("dense/kernel:0", k1), ("dense/bias:0", b1)]),
             ("dense_1", [("dense_1/kernel:0", k2), ("dense_1/bias:0", b2)])], old=False,
            save_weights=True)
    x = RNG.uniform(-1, 1, (N, 4))
    return "tfkeras_save_weights", x, dense(dense(t64(x), k1, b1, "relu"), k2, b2, "softmax")


# ---- Keras 3 -------------------------------------------------------------

def k3obj(module, cls, cfg, **extra):
    return dict({"module": module, "class_name": cls, "config": cfg, "registered_name": None},
                **extra)


POLICY = k3obj("keras", "DTypePolicy", {"name": "float32"})
K3GU = k3obj("keras.initializers", "GlorotUniform", {"seed": None})
K3Z = k3obj("keras.initializers", "Zeros", {})
K3O = k3obj("keras.initializers", "Ones", {})


def k3_dense(name, units, activation, in_shape):
    cfg = {"name": name, "trainable": True, "dtype": POLICY, "units": units,
           "activation": activation, "use_bias": True, "kernel_initializer": K3GU,
           "bias_initializer": K3Z, "kernel_regularizer": None, "bias_regularizer": None,
           "kernel_constraint": None, "bias_constraint": None}
    return k3obj("keras.layers", "Dense", cfg, build_config={"input_shape": in_shape})


def k3_input(n):
    return k3obj("keras.layers", "InputLayer", {"batch_shape": [None, n], "dtype": "float32",
                                                "sparse": False, "name": "input_layer"})


def k3_compile(loss):
    adam = {"name": "adam", "learning_rate": 0.0010000000474974513, "weight_decay": None,
            "clipnorm": None, "global_clipnorm": None, "clipvalue": None, "use_ema": False,
            "ema_momentum": 0.99, "ema_overwrite_frequency": None, "loss_scale_factor": None,
            "gradient_accumulation_steps": None, "beta_1": 0.9, "beta_2": 0.999,
            "epsilon": 1e-07, "amsgrad": False}
    return {"optimizer": k3obj("keras.optimizers", "Adam", adam), "loss": loss,
            "loss_weights": None, "metrics": ["accuracy"], "weighted_metrics": None,
            "run_eagerly": False, "steps_per_execution": 1, "jit_compile": False}


def keras3_seq():
    """Keras 3.6 model.save("m.keras"), Sequential: InputLayer(batch_shape),
    Dense, BatchNormalization, Dense; weights under layers/dense,
    layers/batch_normalization, layers/dense_1 (class names, not the layer
    names hidden/norm/probs)."""
    k1, b1, k2, b2 = glorot(4, 6), small(6), glorot(6, 3), small(3)
    g, be = RNG.uniform(0.5, 1.5, 6).astype(np.float32), small(6)
    mm, mv = small(6), RNG.uniform(0.5, 2, 6).astype(np.float32)
    bncfg = {"name": "norm", "trainable": True, "dtype": POLICY, "axis": -1, "momentum": 0.99,
             "epsilon": 0.001, "center": True, "scale": True, "beta_initializer": K3Z,
             "gamma_initializer": K3O, "moving_mean_initializer": K3Z,
             "moving_variance_initializer": K3O, "beta_regularizer": None,
             "gamma_regularizer": None, "beta_constraint": None, "gamma_constraint": None,
             "synchronized": False}
    layers = [k3_input(4), k3_dense("hidden", 6, "relu", [None, 4]),
              k3obj("keras.layers", "BatchNormalization", bncfg,
                    build_config={"input_shape": [None, 6]}),
              k3_dense("probs", 3, "softmax", [None, 6])]
    cfg = k3obj("keras", "Sequential", {"name": "sequential", "trainable": True, "dtype": POLICY,
                                        "layers": layers, "build_input_shape": [None, 4]},
                build_config={"input_shape": [None, 4]},
                compile_config=k3_compile("sparse_categorical_crossentropy"))
    zeros = [np.zeros_like(a) for a in (k1, k1, b1, b1, g, g, be, be, k2, k2, b2, b2)]
    save_keras3(os.path.join(OUT, "keras3_seq_bn.keras"), cfg,
                {"layers/dense": [k1, b1], "layers/batch_normalization": [g, be, mm, mv],
                 "layers/dense_1": [k2, b2]}, [np.float32(0.001)] + zeros)
    x = RNG.uniform(-1, 1, (N, 4))
    h = bn(dense(t64(x), k1, b1, "relu"), g, be, mm, mv, 0.001)
    return "keras3_seq_bn", x, dense(h, k2, b2, "softmax")


def ktensor(name, n):
    return {"class_name": "__keras_tensor__", "config": {
        "shape": [None, n], "dtype": "float32", "keras_history": [name, 0, 0]}}


def keras3_func():
    """Keras 3.6 model.save("m.keras"), Functional: inbound_nodes as
    {"args": [__keras_tensor__ ...], "kwargs": {}}, an Add of two branches,
    input_layers/output_layers [[name, 0, 0]]; weights under layers/dense,
    layers/dense_1, layers/dense_2 in model.layers order (the InputLayer has
    an empty layers/input_layer/vars)."""
    k1, b1 = glorot(4, 5), small(5)
    k2, b2 = glorot(5, 5), small(5)
    k3, b3 = glorot(5, 2), small(2)
    layers = [dict(k3_input(4), name="input_layer", inbound_nodes=[]),
              dict(k3_dense("trunk", 5, "relu", [None, 4]), name="trunk",
                   inbound_nodes=[{"args": [ktensor("input_layer", 4)], "kwargs": {}}]),
              dict(k3_dense("branch", 5, "tanh", [None, 5]), name="branch",
                   inbound_nodes=[{"args": [ktensor("trunk", 5)], "kwargs": {}}]),
              dict(k3obj("keras.layers", "Add", {"name": "add", "trainable": True,
                                                 "dtype": POLICY},
                         build_config={"input_shape": [[None, 5], [None, 5]]}),
                   name="add", inbound_nodes=[{"args": [[ktensor("trunk", 5),
                                                         ktensor("branch", 5)]],
                                               "kwargs": {}}]),
              dict(k3_dense("head", 2, "softmax", [None, 5]), name="head",
                   inbound_nodes=[{"args": [ktensor("add", 5)], "kwargs": {}}])]
    cfg = {"module": "keras.src.models.functional", "class_name": "Functional",
           "config": {"name": "functional", "trainable": True, "layers": layers,
                      "input_layers": [["input_layer", 0, 0]],
                      "output_layers": [["head", 0, 0]]},
           "registered_name": "Functional", "build_config": {"input_shape": None},
           "compile_config": k3_compile(k3obj("keras.losses", "CategoricalCrossentropy", {
               "name": "categorical_crossentropy", "reduction": "sum_over_batch_size",
               "from_logits": False, "label_smoothing": 0.0, "axis": -1}))}
    save_keras3(os.path.join(OUT, "keras3_func_add.keras"), cfg,
                {"layers/input_layer": [], "layers/dense": [k1, b1], "layers/dense_1": [k2, b2],
                 "layers/add": [], "layers/dense_2": [k3, b3]}, [np.float32(0.001)])
    x = RNG.uniform(-1, 1, (N, 4))
    t = dense(t64(x), k1, b1, "relu")
    return "keras3_func_add", x, dense(t + dense(t, k2, b2, "tanh"), k3, b3, "softmax")


def main():
    os.makedirs(OUT, exist_ok=True)
    for make in (keras204, rkeras224, keras224, tfkeras211, tfkeras_slash, tfkeras_weights,
                 keras3_seq, keras3_func):
        stem, x, y = make()
        save_io(stem, x, y.numpy())
        print("wrote", stem)


if __name__ == "__main__":
    main()
