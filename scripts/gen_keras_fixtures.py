#!/usr/bin/python3
"""Keras 2 .h5 fixtures for tests/test_checkpoint.c, made without TensorFlow.

Run with Debian's interpreter (python3-h5py, python3-numpy, python3-torch):
    /usr/bin/python3 scripts/gen_keras_fixtures.py [outdir]
Writes into tests/fixtures/ by default (deterministic, fixed numpy seed):

  keras_mlp.h5   as TF 2.11's model.save("x.h5") writes it (h5py 3: string
                 attributes are variable-length): InputLayer + batch_input_shape,
                 GlorotUniform initialisers, legacy RMSprop, MeanMetricWrapper
                 metrics, model_weights/top_level_model_weights.
                 Dense(16, relu, input 8) -> Dense(3, softmax)
  keras_cnn.h5   as Keras 2.2.4 (h5py 2: fixed-length string attributes) writes
                 it: no InputLayer, batch_input_shape on the first layer,
                 VarianceScaling initialisers, Adam(lr=...), names conv2d_1 ...
                 Conv2D(4, (3, 3), same, relu, input (6, 6, 2)) -> MaxPooling2D
                 -> Flatten -> Dense(3, softmax)
  keras_expect.h5  mlp/x, mlp/y, cnn/x, cnn/y (float32): an input batch and the
                 model outputs computed independently with PyTorch in float64.
  keras_mlp_<writer>.h5  keras_mlp.h5 with the training_config another writer
                 puts there (same weights, so mlp/x, mlp/y hold for them):
    rkeras       R keras 2.2 / Keras 2.2.4: RMSprop(lr) with clipnorm and
                 clipvalue -1.0 ("not set"), sample_weight_mode
    tf211        tf.keras 2.11's new Adam: name, weight_decay null, clipnorm 1,
                 use_ema, ema_*, jit_compile, is_legacy_optimizer false,
                 amsgrad false, learning_rate an ExponentialDecay dict; the
                 loss a SparseCategoricalCrossentropy dict (reduction "auto")
    k3           Keras 3 (legacy .h5): module/registered_name everywhere, SGD
                 momentum 0.9 nesterov, global_clipnorm 1, loss_scale_factor
                 and gradient_accumulation_steps null, a CosineDecay dict
                 with name and warmup_target null; metrics as objects
    amsgrad      Keras 2.3 Adam(amsgrad=True): nntrain's Adam has no AMSGrad,
                 so the optimizer is left out with a warning (the loss stays)
    adagrad      tf.keras 2.x Adagrad with a Huber loss: neither exists in
                 nntrain; the whole compile is left out with a warning

The layout follows Keras's own save code (save_attributes_to_hdf5_group,
save_weights_to_hdf5_group, save_optimizer_weights_to_hdf5_group): root attrs
keras_version, backend, model_config, training_config (JSON); model_weights
with attrs layer_names, backend, keras_version; per layer a group with attr
weight_names (an empty float64 array for layers without weights) and the
datasets model_weights/<layer>/<layer>/kernel:0, bias:0; optimizer_weights.
PyTorch side: NHWC -> NCHW by permute, HWIO -> OIHW kernels, "same" padding
for a 3x3/stride-1 conv is 1 on each side, and the Flatten after the conv
takes the channels_last (H, W, C) order (permute back to NHWC, then reshape).
"""
import json
import os
import shutil
import sys

import h5py
import numpy as np
import torch
import torch.nn.functional as F

torch.set_default_dtype(torch.float64)
RNG = np.random.default_rng(20240612)
OUTDIR = sys.argv[1] if len(sys.argv) > 1 else os.path.join(
    os.path.dirname(os.path.abspath(__file__)), "..", "tests", "fixtures")


def f32(a):
    return np.ascontiguousarray(np.asarray(a, dtype=np.float32))


def uniform(shape, lim):
    return f32(RNG.uniform(-lim, lim, size=shape))


# ---- Keras's HDF5 save, replayed with h5py -------------------------------

def save_attributes(group, name, data, fixed):
    """save_attributes_to_hdf5_group: a list of bytes -> 'S' array; [] ->
    numpy's empty float64 array (that is what h5py makes of [])."""
    group.attrs[name] = np.asarray(data) if (data or fixed) else data


def put_bytes(obj, name, text, fixed):
    """A JSON/bytes attribute: h5py 3 stores bytes as a variable-length ASCII
    string, h5py 2 (Keras 2.2 era) as a fixed-length one."""
    raw = text.encode("utf8")
    obj.attrs[name] = np.bytes_(raw) if fixed else raw


def save_model(path, keras_version, model_config, training_config, layers, opt_weights,
               fixed, top_level):
    """layers: [(name, [(weight_name, array), ...])] in model order."""
    with h5py.File(path, "w") as f:
        if fixed:
            put_bytes(f, "keras_version", keras_version, True)
            put_bytes(f, "backend", "tensorflow", True)
        else:
            f.attrs["keras_version"] = keras_version     # str: UTF-8 vlen
            f.attrs["backend"] = "tensorflow"
        put_bytes(f, "model_config", json.dumps(model_config), fixed)
        put_bytes(f, "training_config", json.dumps(training_config), fixed)
        mw = f.create_group("model_weights")
        save_attributes(mw, "layer_names", [n.encode("utf8") for n, _ in layers], fixed)
        put_bytes(mw, "backend", "tensorflow", fixed)
        put_bytes(mw, "keras_version", keras_version, fixed)
        for name, weights in sorted(layers, key=lambda x: x[0]):
            g = mw.create_group(name)
            save_attributes(g, "weight_names", [w.encode("utf8") for w, _ in weights], False)
            for wname, val in weights:
                d = g.create_dataset(wname, val.shape, dtype=val.dtype)
                d[()] = val
        if top_level:
            g = mw.create_group("top_level_model_weights")
            save_attributes(g, "weight_names", [], False)
        og = f.create_group("optimizer_weights")
        save_attributes(og, "weight_names", [w.encode("utf8") for w, _ in opt_weights], False)
        for wname, val in opt_weights:
            d = og.create_dataset(wname, val.shape, dtype=val.dtype)
            d[()] = val


def null_regs():
    return {"kernel_regularizer": None, "bias_regularizer": None,
            "activity_regularizer": None, "kernel_constraint": None, "bias_constraint": None}


GLOROT_TF2 = {"class_name": "GlorotUniform", "config": {"seed": None}}
GLOROT_K22 = {"class_name": "VarianceScaling",
              "config": {"scale": 1.0, "mode": "fan_avg", "distribution": "uniform", "seed": None}}
ZEROS = {"class_name": "Zeros", "config": {}}


# ---- (a) MLP, TF 2.11 style ----------------------------------------------

def make_mlp():
    w1, b1 = uniform((8, 16), 0.5), uniform((16,), 0.1)
    w2, b2 = uniform((16, 3), 0.5), uniform((3,), 0.1)
    x = uniform((5, 8), 1.0)

    def dense(name, units, act, first):
        c = {"name": name, "trainable": True, "dtype": "float32"}
        if first:
            c["batch_input_shape"] = [None, 8]
        c.update({"units": units, "activation": act, "use_bias": True,
                  "kernel_initializer": GLOROT_TF2, "bias_initializer": ZEROS})
        c.update(null_regs())
        return {"class_name": "Dense", "config": c}

    model_config = {"class_name": "Sequential", "config": {"name": "sequential", "layers": [
        {"class_name": "InputLayer", "config": {"batch_input_shape": [None, 8], "dtype": "float32",
                                                "sparse": False, "ragged": False,
                                                "name": "dense_input"}},
        dense("dense", 16, "relu", True), dense("dense_1", 3, "softmax", False)]}}
    training_config = {
        "loss": "sparse_categorical_crossentropy",
        "metrics": [[{"class_name": "MeanMetricWrapper",
                      "config": {"name": "accuracy", "dtype": "float32",
                                 "fn": "sparse_categorical_accuracy"}}]],
        "weighted_metrics": None, "loss_weights": None,
        "optimizer_config": {"class_name": "RMSprop", "config": {
            "name": "RMSprop", "learning_rate": 0.0010000000474974513, "decay": 0.0,
            "rho": 0.8999999761581421, "momentum": 0.0, "epsilon": 1e-07, "centered": False,
            "is_legacy_optimizer": True}}}
    layers = [("dense", [("dense/kernel:0", w1), ("dense/bias:0", b1)]),
              ("dense_1", [("dense_1/kernel:0", w2), ("dense_1/bias:0", b2)])]
    opt = [("RMSprop/iter:0", np.int64(7))]
    for lname, ws in layers:
        for wname, val in ws:
            opt.append(("RMSprop/" + wname.replace(":0", "") + "/rms:0",
                        f32(RNG.uniform(0, 0.01, size=val.shape))))
    save_model(os.path.join(OUTDIR, "keras_mlp.h5"), "2.11.0", model_config, training_config,
               layers, opt, fixed=False, top_level=True)

    t = lambda a: torch.from_numpy(np.asarray(a, dtype=np.float64))
    h = torch.relu(t(x) @ t(w1) + t(b1))
    y = torch.softmax(h @ t(w2) + t(b2), dim=1)
    return x, f32(y.numpy())


# ---- (b) CNN, Keras 2.2.4 style ------------------------------------------

def make_cnn():
    k1, c1 = uniform((3, 3, 2, 4), 0.5), uniform((4,), 0.1)       # HWIO
    k2, c2 = uniform((36, 3), 0.5), uniform((3,), 0.1)            # (in, out)
    x = uniform((3, 6, 6, 2), 1.0)                                # NHWC

    conv = {"name": "conv2d_1", "trainable": True, "batch_input_shape": [None, 6, 6, 2],
            "dtype": "float32", "filters": 4, "kernel_size": [3, 3], "strides": [1, 1],
            "padding": "same", "data_format": "channels_last", "dilation_rate": [1, 1],
            "activation": "relu", "use_bias": True, "kernel_initializer": GLOROT_K22,
            "bias_initializer": ZEROS}
    conv.update(null_regs())
    dense = {"name": "dense_1", "trainable": True, "units": 3, "activation": "softmax",
             "use_bias": True, "kernel_initializer": GLOROT_K22, "bias_initializer": ZEROS}
    dense.update(null_regs())
    model_config = {"class_name": "Sequential", "config": {"name": "sequential_1", "layers": [
        {"class_name": "Conv2D", "config": conv},
        {"class_name": "MaxPooling2D", "config": {
            "name": "max_pooling2d_1", "trainable": True, "pool_size": [2, 2],
            "padding": "valid", "strides": [2, 2], "data_format": "channels_last"}},
        {"class_name": "Flatten", "config": {"name": "flatten_1", "trainable": True,
                                             "data_format": "channels_last"}},
        {"class_name": "Dense", "config": dense}]}}
    training_config = {
        "optimizer_config": {"class_name": "Adam", "config": {
            "lr": 0.0010000000474974513, "beta_1": 0.8999999761581421,
            "beta_2": 0.9990000128746033, "decay": 0.0, "epsilon": 1e-07, "amsgrad": False}},
        "loss": "categorical_crossentropy", "metrics": ["accuracy"],
        "sample_weight_mode": None, "loss_weights": None}
    layers = [("conv2d_1", [("conv2d_1/kernel:0", k1), ("conv2d_1/bias:0", c1)]),
              ("max_pooling2d_1", []), ("flatten_1", []),
              ("dense_1", [("dense_1/kernel:0", k2), ("dense_1/bias:0", c2)])]
    # Keras 2.2 Adam: [iterations] + ms + vs + vhats, unnamed Variables
    shapes = [k1.shape, c1.shape, k2.shape, c2.shape]
    slots = [f32(RNG.uniform(0, 0.01, size=s)) for s in shapes * 2] + \
        [np.zeros((1,), np.float32)] * 4
    opt = [("Adam/iterations:0", np.int64(3))] + [
        ("training/Adam/Variable%s:0" % ("" if i == 0 else "_%d" % i), v)
        for i, v in enumerate(slots)]
    save_model(os.path.join(OUTDIR, "keras_cnn.h5"), "2.2.4", model_config, training_config,
               layers, opt, fixed=True, top_level=False)

    t = lambda a: torch.from_numpy(np.asarray(a, dtype=np.float64))
    xc = t(x).permute(0, 3, 1, 2)                     # NCHW
    w = t(k1).permute(3, 2, 0, 1)                     # OIHW
    h = torch.relu(F.conv2d(xc, w, t(c1), padding=1))
    h = F.max_pool2d(h, 2)                            # (B, 4, 3, 3)
    h = h.permute(0, 2, 3, 1).reshape(x.shape[0], -1)  # channels_last flatten
    y = torch.softmax(h @ t(k2) + t(c2), dim=1)
    return x, f32(y.numpy())


# ---- (c) training_configs as other writers write them ---------------------

def writer_configs():
    scce = "sparse_categorical_crossentropy"
    k3 = lambda mod, cls, cfg: {"module": mod, "class_name": cls, "config": cfg,
                                "registered_name": None}
    new_opt = {"weight_decay": None, "clipnorm": None, "global_clipnorm": None,
               "clipvalue": None, "use_ema": False, "ema_momentum": 0.99,
               "ema_overwrite_frequency": None, "jit_compile": True,
               "is_legacy_optimizer": False}
    tf211 = dict(new_opt, name="Adam", clipnorm=1.0, learning_rate={
        "class_name": "ExponentialDecay", "config": {
            "initial_learning_rate": 0.01, "decay_steps": 100, "decay_rate": 0.9,
            "staircase": False, "name": None}},
        beta_1=0.9, beta_2=0.999, epsilon=1e-07, amsgrad=False)
    sgd3 = dict(new_opt, name="SGD", jit_compile=True, global_clipnorm=1.0,
                loss_scale_factor=None, gradient_accumulation_steps=None, momentum=0.9,
                nesterov=True, learning_rate=k3("keras.optimizers.schedules", "CosineDecay", {
                    "initial_learning_rate": 0.1, "decay_steps": 1000, "alpha": 0.0,
                    "name": "CosineDecay", "warmup_target": None, "warmup_steps": 0}))
    del sgd3["is_legacy_optimizer"]
    return {
        "rkeras": {
            "optimizer_config": {"class_name": "RMSprop", "config": {
                "lr": 0.0010000000474974513, "rho": 0.8999999761581421, "decay": 0.0,
                "epsilon": 1e-07, "clipnorm": -1.0, "clipvalue": -1.0}},
            "loss": scce, "metrics": ["accuracy"], "sample_weight_mode": None,
            "loss_weights": None},
        "tf211": {
            "loss": {"class_name": "SparseCategoricalCrossentropy", "config": {
                "reduction": "auto", "name": scce, "from_logits": False}},
            "metrics": [[{"class_name": "MeanMetricWrapper", "config": {
                "name": "accuracy", "dtype": "float32", "fn": "sparse_categorical_accuracy"}}]],
            "weighted_metrics": None, "loss_weights": None,
            "optimizer_config": {"class_name": "Custom>Adam", "config": tf211}},
        "k3": {
            "loss": k3("keras.losses", "SparseCategoricalCrossentropy", {
                "name": scce, "reduction": "sum_over_batch_size", "from_logits": False,
                "ignore_class": None}),
            "metrics": [k3("keras.metrics", "SparseCategoricalAccuracy", {
                "name": "sparse_categorical_accuracy", "dtype": "float32"})],
            "weighted_metrics": None, "loss_weights": None, "run_eagerly": False,
            "steps_per_execution": 1, "jit_compile": False,
            "optimizer_config": k3("keras.optimizers", "SGD", sgd3)},
        "amsgrad": {
            "optimizer_config": {"class_name": "Adam", "config": {
                "learning_rate": 0.0010000000474974513, "beta_1": 0.8999999761581421,
                "beta_2": 0.9990000128746033, "decay": 0.0, "epsilon": 1e-07,
                "amsgrad": True, "name": "Adam"}},
            "loss": scce, "metrics": ["accuracy"], "weighted_metrics": None,
            "sample_weight_mode": None, "loss_weights": None},
        "adagrad": {
            "optimizer_config": {"class_name": "Adagrad", "config": {
                "name": "Adagrad", "learning_rate": 0.001, "decay": 0.0,
                "initial_accumulator_value": 0.1, "epsilon": 1e-07}},
            "loss": {"class_name": "Huber", "config": {
                "reduction": "auto", "name": "huber_loss", "delta": 1.0}},
            "metrics": [], "weighted_metrics": None, "loss_weights": None},
    }


def main():
    os.makedirs(OUTDIR, exist_ok=True)
    mx, my = make_mlp()
    cx, cy = make_cnn()
    with h5py.File(os.path.join(OUTDIR, "keras_expect.h5"), "w") as f:
        for name, x, y in (("mlp", mx, my), ("cnn", cx, cy)):
            g = f.create_group(name)
            g.attrs["source"] = "keras_%s.h5" % name
            g["x"] = x
            g["y"] = y
    names = ["keras_mlp.h5", "keras_cnn.h5", "keras_expect.h5"]
    for writer, tc in writer_configs().items():
        n = "keras_mlp_%s.h5" % writer
        shutil.copy(os.path.join(OUTDIR, "keras_mlp.h5"), os.path.join(OUTDIR, n))
        with h5py.File(os.path.join(OUTDIR, n), "r+") as f:
            fixed = writer in ("rkeras", "amsgrad")   # h5py 2 era writers
            put_bytes(f, "training_config", json.dumps(tc), fixed)
        names.append(n)
    for n in names:
        p = os.path.join(OUTDIR, n)
        print("%s: %d bytes" % (p, os.path.getsize(p)))


if __name__ == "__main__":
    main()
