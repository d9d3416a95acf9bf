#!/usr/bin/python3
"""Golden fixtures for tests/test_golden_rnn.c: Embedding, SimpleRNN and LSTM
computed independently with PyTorch (torch.nn.functional.embedding,
torch.nn.RNN, torch.nn.LSTM).

Run with Debian's interpreter (python3-torch, python3-h5py, python3-numpy):
    /usr/bin/python3 scripts/gen_fixtures_rnn.py [out.h5]
Writes tests/fixtures/golden_rnn.h5 by default. Deterministic (fixed numpy
seed); every stored array is float32. Layout:

  <case>/            one layer
    attrs  call         the nntrain spec line, e.g. LSTM(4, return_sequences=True)
           input_shape  per-sample shape, int32: (T,) ids or (T, D)
           param_names  "kernel:0,recurrent_kernel:0,bias:0" (Keras names, in order)
    x      (B, ...)     input; Embedding: token ids stored as floats
    param<k>            the k-th weight tensor in Keras layout
    params (P,)         all of them flattened in nntrain order (= Keras order)
    y      (B, ...)     forward output
    dy     (B, ...)     random upstream gradient
    dx     (B, ...)     d sum(y * dy) / dx (zeros for Embedding: ids)
    dparams (P,)        d sum(y * dy) / dparams, same order as params

  model_<name>/      a small Sequential stack (no compile: no fused loss)
    attrs  spec         the spec text
    x, params, y, dy, dparams as above (dparams: the whole model's flat buffer)

Keras -> torch: SimpleRNN kernel (D, U) is weight_ih_l0 transposed,
recurrent_kernel (U, U) is weight_hh_l0 transposed, bias is bias_ih_l0 and
bias_hh_l0 = 0 (Keras has one bias). LSTM: same with 4U rows; torch's gate
order i, f, g, o is Keras's i, f, c, o. go_backwards: the module runs on
x.flip(1) and its outputs are kept in processing order, as Keras returns
them. Reference maths is float64; results are rounded to float32.
"""
import os
import sys

import h5py
import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from fixture_h5 import fixture  # noqa: E402

torch.set_default_dtype(torch.float64)
RNG = np.random.default_rng(20240917)

OUT = sys.argv[1] if len(sys.argv) > 1 else os.path.join(
    os.path.dirname(os.path.abspath(__file__)), "..", "tests", "fixtures", "golden_rnn.h5")


def f32(a):
    return np.ascontiguousarray(np.asarray(a, dtype=np.float32))


def t64(a, grad=True):
    """float32-rounded numpy -> float64 torch tensor."""
    return torch.tensor(np.asarray(a, dtype=np.float32).astype(np.float64),
                        requires_grad=grad)


def unif(shape, lo=-1.0, hi=1.0):
    return f32(RNG.uniform(lo, hi, size=shape))


def group(parent, name):
    """A group without timestamps, so reruns are byte-identical."""
    gcpl = h5py.h5p.create(h5py.h5p.GROUP_CREATE)
    gcpl.set_obj_track_times(False)
    h5py.h5g.create(parent.id, name.encode(), gcpl=gcpl)
    return parent[name]


def put(g, name, data):
    g.create_dataset(name, data=data, track_times=False)


def set_str(obj, key, text):
    obj.attrs[key] = np.bytes_(text.encode("ascii"))


def write_case(h5, name, call, x, names, params, y, dy, dx, dparams):
    g = group(h5, name)
    set_str(g, "call", call)
    g.attrs["input_shape"] = np.array(x.shape[1:], dtype=np.int32)
    set_str(g, "param_names", ",".join(names))
    put(g, "x", f32(x))
    for k, p in enumerate(params):
        put(g, "param%d" % k, f32(p))
    put(g, "params", f32(np.concatenate([f32(p).ravel() for p in params])))
    put(g, "y", f32(y))
    put(g, "dy", f32(dy))
    put(g, "dx", f32(dx))
    put(g, "dparams", f32(np.concatenate([np.asarray(d).ravel() for d in dparams])))


# ------------------------------------------------------------- the layers --
def embedding_fwd(ids, w):
    return F.embedding(ids, w)


class Recurrent:
    """torch.nn.RNN / LSTM holding Keras-layout weights k (D, nU), r (U, nU),
    b (nU,) or None; grads() returns their gradients in Keras layout."""

    def __init__(self, kind, k, r, b, nonlinearity="tanh"):
        D, U = k.shape[0], r.shape[0]
        if kind == "rnn":
            self.mod = torch.nn.RNN(D, U, nonlinearity=nonlinearity, bias=b is not None,
                                    batch_first=True)
        else:
            self.mod = torch.nn.LSTM(D, U, bias=b is not None, batch_first=True)
        m = self.mod
        with torch.no_grad():
            m.weight_ih_l0.copy_(t64(k, False).t())
            m.weight_hh_l0.copy_(t64(r, False).t())
            if b is not None:
                m.bias_ih_l0.copy_(t64(b, False))
                m.bias_hh_l0.zero_()    # Keras has a single bias

    def __call__(self, x, go_backwards=False, return_sequences=False):
        out, _ = self.mod(x.flip(1) if go_backwards else x)
        return out if return_sequences else out[:, -1]

    def grads(self):
        m = self.mod
        g = [m.weight_ih_l0.grad.t().numpy(), m.weight_hh_l0.grad.t().numpy()]
        if m.bias:
            g.append(m.bias_ih_l0.grad.numpy())
        return g


def rnn_preacts(x, k, r, b, go_backwards, act):
    """Pre-activations of a SimpleRNN (numpy float64), to keep ReLU off its kink."""
    x = x[:, ::-1] if go_backwards else x
    B, T, _ = x.shape
    h = np.zeros((B, r.shape[0]))
    zs = []
    for t in range(T):
        z = x[:, t] @ k + h @ r + (0 if b is None else b)
        zs.append(z)
        h = np.maximum(z, 0) if act == "relu" else np.tanh(z)
    return np.concatenate(zs)


def recurrent_case(h5, name, call, kind, B, T, D, U, use_bias=True, go_backwards=False,
                   return_sequences=False, act="tanh"):
    n = 1 if kind == "rnn" else 4
    for _ in range(100):
        x = unif((B, T, D))
        k = unif((D, n * U), -0.6, 0.6)
        r = unif((U, n * U), -0.6, 0.6)
        b = unif((n * U,), -0.3, 0.3) if use_bias else None
        if act != "relu" or np.abs(rnn_preacts(x.astype(np.float64), k, r, b,
                                               go_backwards, act)).min() > 1e-2:
            break
    else:
        raise RuntimeError(name + ": could not avoid the ReLU kink")
    tx = t64(x)
    layer = Recurrent(kind, k, r, b, act)
    y = layer(tx, go_backwards, return_sequences)
    dy = unif(tuple(y.shape))
    (y * torch.tensor(dy.astype(np.float64))).sum().backward()
    names = ["kernel:0", "recurrent_kernel:0"] + (["bias:0"] if use_bias else [])
    params = [k, r] + ([b] if use_bias else [])
    grads = layer.grads()
    write_case(h5, name, call, x, names, params, y.detach().numpy(), dy, tx.grad.numpy(),
               grads)


def embedding_case(h5, name, call, V, OD, ids):
    ids = np.asarray(ids, dtype=np.int64)
    w = unif((V, OD), -0.5, 0.5)
    tw = t64(w)
    y = embedding_fwd(torch.tensor(ids), tw)
    dy = unif(tuple(y.shape))
    (y * torch.tensor(dy.astype(np.float64))).sum().backward()
    x = ids.astype(np.float32)
    write_case(h5, name, call, x, ["embeddings:0"], [w], y.detach().numpy(), dy,
               np.zeros_like(x), [tw.grad.numpy()])


def layers(h5):
    embedding_case(h5, "emb", "Embedding(11, 4)", 11, 4,
                   [[1, 4, 4, 0, 10, 2], [2, 2, 5, 1, 9, 3], [0, 0, 0, 7, 1, 1]])
    embedding_case(h5, "emb_len", "Embedding(6, 3, input_length=4)", 6, 3,
                   [[5, 0, 3, 3], [1, 2, 5, 4]])
    recurrent_case(h5, "rnn_last", "SimpleRNN(5)", "rnn", 3, 6, 3, 5)
    recurrent_case(h5, "rnn_seq", "SimpleRNN(5, return_sequences=True)", "rnn", 2, 6, 3, 5,
                   return_sequences=True)
    recurrent_case(h5, "rnn_relu_nobias_seq",
                   'SimpleRNN(4, activation="relu", use_bias=False, return_sequences=True)',
                   "rnn", 2, 5, 3, 4, use_bias=False, return_sequences=True, act="relu")
    recurrent_case(h5, "rnn_backwards_seq",
                   "SimpleRNN(4, go_backwards=True, return_sequences=True)", "rnn", 2, 5, 2,
                   4, go_backwards=True, return_sequences=True)
    recurrent_case(h5, "rnn_t1", "SimpleRNN(3)", "rnn", 2, 1, 4, 3)
    recurrent_case(h5, "lstm_last", "LSTM(4)", "lstm", 3, 6, 3, 4)
    recurrent_case(h5, "lstm_seq", "LSTM(4, return_sequences=True)", "lstm", 2, 5, 3, 4,
                   return_sequences=True)
    recurrent_case(h5, "lstm_nobias_backwards", "LSTM(3, use_bias=False, go_backwards=True)",
                   "lstm", 2, 4, 2, 3, use_bias=False, go_backwards=True)
    recurrent_case(h5, "lstm_backwards_seq",
                   "LSTM(3, go_backwards=True, return_sequences=True)", "lstm", 2, 4, 5, 3,
                   go_backwards=True, return_sequences=True)


# ----------------------------------------------------------- a small model --
def model(h5):
    """Embedding -> SimpleRNN(return_sequences) -> LSTM -> Dense(sigmoid)."""
    V, E, T, U1, U2, B = 12, 4, 7, 5, 3, 3
    spec = ("Embedding(12, 4, input_length=7)\n"
            "SimpleRNN(5, return_sequences=True)\n"
            "LSTM(3)\n"
            'Dense(1, activation="sigmoid")\n')
    ids = RNG.integers(0, V, size=(B, T))
    shapes = [(V, E), (E, U1), (U1, U1), (U1,), (U1, 4 * U2), (U2, 4 * U2), (4 * U2,),
              (U2, 1), (1,)]
    ps = [unif(s, -0.6, 0.6) for s in shapes]
    emb, wd, bd = t64(ps[0]), t64(ps[7]), t64(ps[8])
    rnn = Recurrent("rnn", ps[1], ps[2], ps[3])
    lstm = Recurrent("lstm", ps[4], ps[5], ps[6])
    h = embedding_fwd(torch.tensor(ids), emb)
    h = lstm(rnn(h, return_sequences=True))
    y = torch.sigmoid(h @ wd + bd)
    dy = unif(tuple(y.shape))
    (y * torch.tensor(dy.astype(np.float64))).sum().backward()
    grads = [emb.grad.numpy()] + rnn.grads() + lstm.grads() + [wd.grad.numpy(),
                                                                bd.grad.numpy()]
    g = group(h5, "model_imdb_tiny")
    set_str(g, "spec", spec)
    put(g, "x", f32(ids))
    put(g, "params", f32(np.concatenate([p.ravel() for p in ps])))
    put(g, "y", f32(y.detach().numpy()))
    put(g, "dy", f32(dy))
    put(g, "dparams", f32(np.concatenate([d.ravel() for d in grads])))


def main():
    out = os.path.normpath(OUT)
    os.makedirs(os.path.dirname(out), exist_ok=True)
    with fixture(out, "scripts/gen_fixtures_rnn.py", torch.__version__) as h5:
        layers(h5)
        model(h5)
    print("%s: %d bytes" % (out, os.path.getsize(out)))


if __name__ == "__main__":
    main()
