#!/usr/bin/python3
"""Checks nntrain's Functional model_config against one Keras wrote for the
same model (no TensorFlow here: the structure that Keras's model_from_json /
load_model reads, compared with h5py and json).

    /usr/bin/python3 scripts/check_keras_func.py KERAS.h5 NNTRAIN.h5

Both files' root attribute model_config must have: the same class_name
("Functional"), the same keys in config; input_layers and output_layers as
lists of [name, 0, 0]; per entry of config.layers the same keys as Keras's
(class_name, config, name, inbound_nodes), the same layers in the same order
with the same class names, inbound_nodes of the same nesting
[[[name, node, tensor, {kwargs}], ...]] naming the same layers, and for each
layer class the same config keys as Keras's. Weights: the same
layer names in model_weights, each with the same weight names and shapes.
Prints "ok ..." or one line per difference; exits 1 on a difference, 77 when
h5py is missing or a file is absent (CTest counts that as skipped).
"""
import json
import os
import sys

try:
    import h5py
except ImportError:
    print("SKIP: check_keras_func.py needs h5py")
    sys.exit(77)


def text(v):
    return v.decode("utf8") if hasattr(v, "decode") else v


def shape_of(v, depth=0):
    """The nesting of a JSON value: lists keep their structure, leaves their type."""
    if isinstance(v, list):
        return [shape_of(x, depth + 1) for x in v]
    if isinstance(v, dict):
        return "dict"
    return type(v).__name__


def weights(f):
    out = {}
    mw = f["model_weights"]
    for name in mw:
        g = mw[name]
        wn = [text(n) for n in g.attrs.get("weight_names", [])]
        out[name] = [(n.split("/")[-1], g[n].shape) for n in wn]
    return {k: v for k, v in out.items() if v}


def main():
    if len(sys.argv) != 3 or not all(os.path.exists(p) for p in sys.argv[1:]):
        print("SKIP: usage: check_keras_func.py KERAS.h5 NNTRAIN.h5 (both must exist)")
        sys.exit(77)
    with h5py.File(sys.argv[1], "r") as a, h5py.File(sys.argv[2], "r") as b:
        ka, kb = (json.loads(text(f.attrs["model_config"])) for f in (a, b))
        wa, wb = weights(a), weights(b)
    bad = []
    if ka["class_name"] != kb["class_name"]:
        bad.append("class_name %s, Keras wrote %s" % (kb["class_name"], ka["class_name"]))
    ca, cb = ka["config"], kb["config"]
    if sorted(ca) != sorted(cb):
        bad.append("config keys %s, Keras wrote %s" % (sorted(cb), sorted(ca)))
    for key in ("input_layers", "output_layers"):
        if shape_of(ca.get(key)) != shape_of(cb.get(key)) or ca.get(key) != cb.get(key):
            bad.append("%s %s, Keras wrote %s" % (key, cb.get(key), ca.get(key)))
    la, lb = ca["layers"], cb["layers"]
    if [(x["class_name"], x["name"]) for x in la] != [(x["class_name"], x["name"]) for x in lb]:
        bad.append("layers differ: %s vs Keras's %s" % (
            [x["name"] for x in lb][:8], [x["name"] for x in la][:8]))
    keys_by_class = {}
    for x, y in zip(la, lb):
        if list(x) != list(y):
            bad.append("layer %s: entry keys %s, Keras wrote %s" % (y["name"], list(y), list(x)))
        if shape_of(x["inbound_nodes"]) != shape_of(y["inbound_nodes"]):
            bad.append("layer %s: inbound_nodes %s, Keras wrote %s" % (
                y["name"], y["inbound_nodes"], x["inbound_nodes"]))
        elif [[t[:3] for t in n] for n in x["inbound_nodes"]] != \
                [[t[:3] for t in n] for n in y["inbound_nodes"]]:
            bad.append("layer %s: takes %s, Keras's takes %s" % (
                y["name"], y["inbound_nodes"], x["inbound_nodes"]))
        missing = sorted(set(x["config"]) - set(y["config"]))
        extra = sorted(set(y["config"]) - set(x["config"]))
        if missing or extra:
            keys_by_class.setdefault(x["class_name"], (missing, extra))
    for cls, (missing, extra) in sorted(keys_by_class.items()):
        bad.append("%s config: missing %s, extra %s" % (cls, missing, extra))
    if wa != wb:
        diff = [k for k in sorted(set(wa) | set(wb)) if wa.get(k) != wb.get(k)][:4]
        bad.append("weights differ at layers %s" % diff)
    for line in bad:
        print("%s: %s" % (sys.argv[2], line))
    if not bad:
        print("ok %s: the structure of %s (%d layers)" % (sys.argv[2], sys.argv[1], len(la)))
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    main()
