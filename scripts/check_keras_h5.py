#!/usr/bin/python3
"""Checks that .h5 files have what Keras 2's load_model needs (no TensorFlow).

    /usr/bin/python3 scripts/check_keras_h5.py FILE.h5 [FILE.h5 ...]

For each file: root attributes keras_version, backend and model_config (JSON
of a model with class_name and config); training_config, when present, is
JSON with loss, optimizer_config {class_name, config} and loss_weights (TF 2.x
reads that key unconditionally); group model_weights with attributes
layer_names, backend, keras_version; layer_names are the model's layers in
order (InputLayer excluded); each is a group with a weight_names attribute,
and every weight name is a floating-point dataset there whose shape is the
one the config implies (Dense kernel (in, units), Conv2D kernel HWIO, bias
(units,)), with shapes inferred through Conv2D, MaxPooling2D,
AveragePooling2D, the global poolings, ZeroPadding2D, Flatten, Dropout,
Activation and Dense of a Sequential model. optimizer_weights, when
present, must hold every name it lists.
Prints "FILE: ok ..." or one line per problem; exits 1 if any file has a
problem, 77 if h5py is not installed (CTest counts that as skipped).
"""
import json
import math
import sys

try:
    import h5py
    import numpy as np
except ImportError:
    print("SKIP: check_keras_h5.py needs h5py and numpy (python3-h5py)")
    sys.exit(77)


def text(v):
    return v.decode("utf8") if hasattr(v, "decode") else v


def names_attr(group, name):
    """load_attributes_from_hdf5_group: name, or name0, name1, ... chunks."""
    if name in group.attrs:
        return [text(n) for n in group.attrs[name]]
    out, k = [], 0
    while "%s%d" % (name, k) in group.attrs:
        out.extend(text(n) for n in group.attrs["%s%d" % (name, k)])
        k += 1
    return out if k else None


def pair(v):
    return [v, v] if isinstance(v, int) else list(v)


def out_size(n, k, s, padding):
    return -(-n // s) if padding == "same" else (n - k) // s + 1


def expected_weights(layers, problems, notes):
    """{layer name: [shapes]} for a Sequential config, inferring shapes."""
    shape, out = None, {}
    for i, L in enumerate(layers):
        cls, cfg = L.get("class_name"), L.get("config", {})
        if "batch_input_shape" in cfg and shape is None:
            shape = list(cfg["batch_input_shape"][1:])
        if cls == "InputLayer":
            continue
        name = cfg.get("name")
        if shape is None or any(d is None for d in shape):
            problems.append("layer '%s': input shape unknown (no batch_input_shape)" % name)
            return None
        if cls == "Dense":
            units = cfg["units"]
            out[name] = [(shape[-1], units)] + ([(units,)] if cfg.get("use_bias", True) else [])
            shape = shape[:-1] + [units]
        elif cls == "Conv2D":
            kh, kw = pair(cfg["kernel_size"])
            sh, sw = pair(cfg.get("strides", 1))
            f = cfg["filters"]
            out[name] = [(kh, kw, shape[2], f)] + ([(f,)] if cfg.get("use_bias", True) else [])
            pad = cfg.get("padding", "valid")
            shape = [out_size(shape[0], kh, sh, pad), out_size(shape[1], kw, sw, pad), f]
        elif cls in ("MaxPooling2D", "MaxPool2D", "AveragePooling2D", "AvgPool2D"):
            ph, pw = pair(cfg.get("pool_size", 2))
            st = cfg.get("strides") or [ph, pw]
            sh, sw = pair(st)
            pad = cfg.get("padding", "valid")
            shape = [out_size(shape[0], ph, sh, pad), out_size(shape[1], pw, sw, pad), shape[2]]
            out[name] = []
        elif cls == "Flatten":
            shape = [math.prod(shape)]
            out[name] = []
        elif cls in ("GlobalAveragePooling2D", "GlobalMaxPooling2D", "GlobalAvgPool2D",
                     "GlobalMaxPool2D"):
            shape = [1, 1, shape[2]] if cfg.get("keepdims") else [shape[2]]
            out[name] = []
        elif cls == "ZeroPadding2D":
            p = cfg.get("padding", 1)
            if isinstance(p, int):
                (t, b), (lf, r) = (p, p), (p, p)
            elif isinstance(p[0], int):
                (t, b), (lf, r) = (p[0], p[0]), (p[1], p[1])
            else:
                (t, b), (lf, r) = p
            shape = [shape[0] + t + b, shape[1] + lf + r, shape[2]]
            out[name] = []
        elif cls in ("Dropout", "Activation"):
            out[name] = []
        else:   # not inferred here: the weights are still checked to exist
            notes.append("shapes not checked from layer '%s' (%s) on" % (name, cls))
            return out
        if any(d < 1 for d in shape):
            problems.append("layer '%s': output shape %s is empty" % (name, shape))
            return None
    return out


def check(path):
    problems = []
    try:
        f = h5py.File(path, "r")
    except OSError as ex:
        return ["cannot open as HDF5: %s" % ex], ""
    with f:
        for a in ("keras_version", "backend", "model_config"):
            if a not in f.attrs:
                problems.append("root attribute '%s' is missing" % a)
        if problems:
            return problems, ""
        try:
            mc = json.loads(text(f.attrs["model_config"]))
            layers = mc["config"]["layers"] if isinstance(mc["config"], dict) else mc["config"]
            mc["class_name"]
        except (ValueError, KeyError, TypeError) as ex:
            return ["model_config is not the JSON of a Keras model: %r" % ex], ""
        if "training_config" in f.attrs:
            try:
                tc = json.loads(text(f.attrs["training_config"]))
                for k in ("loss", "optimizer_config", "loss_weights"):
                    if k not in tc:
                        problems.append("training_config has no '%s'" % k)
                oc = tc.get("optimizer_config", {})
                if not (isinstance(oc, dict) and "class_name" in oc and "config" in oc):
                    problems.append("training_config optimizer_config needs class_name and config")
            except ValueError as ex:
                problems.append("training_config is not JSON: %s" % ex)
        if "model_weights" not in f or not isinstance(f["model_weights"], h5py.Group):
            return problems + ["group 'model_weights' is missing"], ""
        mw = f["model_weights"]
        for a in ("backend", "keras_version"):
            if a not in mw.attrs:
                problems.append("model_weights attribute '%s' is missing" % a)
        lnames = names_attr(mw, "layer_names")
        if lnames is None:
            return problems + ["model_weights attribute 'layer_names' is missing"], ""
        cfg_names = [L.get("config", {}).get("name") for L in layers
                     if L.get("class_name") != "InputLayer"]
        if mc["class_name"] == "Sequential" and lnames != cfg_names:
            problems.append("layer_names %s differ from the model_config layers %s"
                            % (lnames, cfg_names))
        notes = []
        expect = expected_weights(layers, problems, notes) if mc["class_name"] == "Sequential" \
            else None
        nweights = 0
        for name in lnames:
            if name not in mw or not isinstance(mw[name], h5py.Group):
                problems.append("model_weights/%s: group missing" % name)
                continue
            g = mw[name]
            wn = names_attr(g, "weight_names")
            if wn is None:
                problems.append("model_weights/%s: attribute 'weight_names' missing" % name)
                continue
            want = expect.get(name) if expect else None
            if want is not None and len(want) != len(wn):
                problems.append("model_weights/%s: %d weights listed, the config implies %d"
                                % (name, len(wn), len(want)))
            for j, w in enumerate(wn):
                if w not in g or not isinstance(g[w], h5py.Dataset):
                    problems.append("model_weights/%s/%s: dataset missing" % (name, w))
                    continue
                d = g[w]
                nweights += 1
                if d.dtype.kind != "f":
                    problems.append("model_weights/%s/%s: dtype %s, expected float"
                                    % (name, w, d.dtype))
                if want is not None and j < len(want) and tuple(d.shape) != tuple(want[j]):
                    problems.append("model_weights/%s/%s: shape %s, the config implies %s"
                                    % (name, w, d.shape, tuple(want[j])))
                try:
                    np.asarray(d)
                except OSError as ex:
                    problems.append("model_weights/%s/%s: unreadable: %s" % (name, w, ex))
        if "optimizer_weights" in f:
            og = f["optimizer_weights"]
            for w in names_attr(og, "weight_names") or []:
                if w not in og:
                    problems.append("optimizer_weights/%s: dataset missing" % w)
        return problems, "%s, %d layers, %d weight arrays, keras_version %s%s" % (
            mc["class_name"], len(lnames), nweights, text(f.attrs["keras_version"]),
            "".join("; " + n for n in notes))


def main(argv):
    if len(argv) < 2:
        print(__doc__.strip().splitlines()[0], file=sys.stderr)
        print("usage: check_keras_h5.py FILE.h5 [FILE.h5 ...]", file=sys.stderr)
        return 2
    bad = 0
    for path in argv[1:]:
        problems, summary = check(path)
        if problems:
            bad = 1
            for p in problems:
                print("%s: %s" % (path, p))
        else:
            print("%s: ok (%s)" % (path, summary))
    return bad


if __name__ == "__main__":
    sys.exit(main(sys.argv))
