#!/usr/bin/env bash
# nntrain plot-model: the .dot text has a node per layer (and the InputLayer)
# and an edge per distinct connection, counted independently of nntrain's
# model builder from the spec text (a small parser of `v = Layer(...)(x)` /
# `v = add([x, y])` lines) and from the summary table (its rows and its
# "Connected to" column), for Sequential specs, ResNet20, a small functional
# spec with a merge of one tensor twice, a Keras .h5, a Keras
# model.to_json() and a checkpoint trained here; PNG output has the PNG signature and decodes (PIL), SVG is
# XML with one node group per layer; the options reach the DOT text; without
# Graphviz's dot on PATH a picture is refused with a hint and .dot still
# works; a dot that fails leaves no file behind.
#   plot_model.sh NNTRAIN
set -u
NN=$(realpath "${1:?usage: plot_model.sh NNTRAIN}")
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/lib.sh"
ROOT=$HERE/../..
FIX=$HERE/../fixtures
PY=/usr/bin/python3
T=$(mktemp -d "${TMPDIR:-/tmp}/nntrain-plot.XXXXXX") || exit 1
trap 'rm -rf "$T"' EXIT
cd "$T" || exit 1
export OPENBLAS_NUM_THREADS=1
HAVE_DOT=0
command -v dot >/dev/null && HAVE_DOT=1

# nodes and edges of a .dot file nntrain wrote: "N [label=...]" and "A -> B;"
dot_counts() {
    echo "$(grep -cE '^[0-9]+ \[label=' "$1") $(grep -cE '^[0-9]+ -> [0-9]+;$' "$1")"
}
# nodes and edges from a summary table: Sequential rows " name (Class)"
# (plus the InputLayer, one edge each), or functional rows "name (Class)"
# whose "Connected to" entries (continuation lines too) are counted once per
# distinct source
summary_counts() {
    "$NN" summary "$1" >sum.txt 2>/dev/null || { echo "summary failed"; return; }
    $PY - sum.txt <<'PY'
import re, sys
rows = open(sys.argv[1]).read().splitlines()
if any("Connected to" in r for r in rows):
    layers, cur = {}, None
    for r in rows:
        m = re.match(r"^(\S+) \((\w+)\)\s", r)
        if m and r.startswith("Layer (type)"):
            continue
        if m:
            cur = m.group(1)
            layers[cur] = set()
        elif not r.strip() or r[0] in "_=" or r.startswith(("Total", "Trainable", "Non-")):
            cur = None if r[:1] in "=" else cur
            continue
        if cur is not None:
            c = re.search(r"(\S+)\[\d+\]\[\d+\]\s*$", r)
            if c:
                layers[cur].add(c.group(1))
    print(len(layers), sum(len(v) for v in layers.values()))
else:
    n = sum(1 for r in rows if re.match(r"^ \S+ \(\w+\)\s", r) and "Layer (type)" not in r)
    print(n + 1, n)
PY
}
# nodes and edges of a functional spec from its text: each assignment but
# Model(...) is a node; its inputs are the distinct nodes the variables of
# its last call's parentheses hold at that line
spec_counts() {
    $PY - "$1" <<'PY'
import re, sys
var, nodes, edges = {}, 0, 0
for line in open(sys.argv[1]):
    line = line.split("#")[0].strip()
    m = re.match(r"^(\w+)\s*=\s*(\w+)\((.*)\)$", line)
    if not m or m.group(2) == "Model":
        continue
    v, fn, rest = m.groups()
    if fn == "Input":
        args = []
    else:
        # Layer(...)(x): what follows the last ")("; add([x, y]): the list
        call = rest.rsplit(")(", 1)[-1] if ")(" in rest else rest
        args = re.findall(r"[A-Za-z_]\w*", call.strip("[]"))
    edges += len({var[a] for a in args})
    var[v] = nodes
    nodes += 1
print(nodes, edges)
PY
}
# plot MODEL EXPECT WHAT: the .dot counts equal EXPECT ("nodes edges")
check_dot() {
    local model=$1 expect=$2 what=$3 got
    if ! "$NN" plot-model "$model" -o g.dot --show-shapes >p.out 2>p.err; then
        bad "$what" "plot-model failed: $(cat p.err)"
        return
    fi
    got=$(dot_counts g.dot)
    if [ "$got" = "$expect" ]; then
        ok "$what: $got nodes/edges"
    else
        bad "$what" "the .dot has nodes/edges $got, expected $expect"
    fi
}

# ---- the models -------------------------------------------------------------
cat >fn.nn <<'EOF'
inputs = Input(shape=(8,), name="x_in")
a = Dense(4, activation="relu")(inputs)
b = Dense(4)(a)
c = add([a, b])
d = multiply([c, c])
e = concatenate([d, a])
out = Dense(1)(e)
model = Model(inputs=inputs, outputs=out)
EOF
# by hand: 7 nodes; edges in-a, a-b, a-c, b-c, c-d (once), d-e, a-e, e-out
[ "$(spec_counts fn.nn)" = "7 8" ] && ok "spec parser on the small functional spec: 7 8" ||
    bad "spec parser" "got $(spec_counts fn.nn) for fn.nn, by hand 7 8"
[ "$(summary_counts fn.nn)" = "7 8" ] && ok "summary parser on the small functional spec: 7 8" ||
    bad "summary parser" "got $(summary_counts fn.nn) for fn.nn, by hand 7 8"

check_dot fn.nn "7 8" "small functional spec"
R20=$ROOT/jobs/models/resnet20.nn
want=$(spec_counts "$R20")
[ "$want" = "$(summary_counts "$R20")" ] && ok "resnet20: the spec and the summary agree: $want" ||
    bad "resnet20 counts" "spec $want, summary $(summary_counts "$R20")"
check_dot "$R20" "$want" "resnet20.nn (from its spec text)"
for s in rick_cnn.nn mnist_mlp.nn cifar10_cnn.nn; do
    check_dot "$ROOT/jobs/models/$s" "$(summary_counts "$ROOT/jobs/models/$s")" "$s (Sequential)"
done
check_dot "$FIX/keras_cnn.h5" "$(summary_counts "$FIX/keras_cnn.h5")" "keras_cnn.h5 (a Keras 2 file)"
check_dot "$FIX/keras_func/unet_k222.json" "$(summary_counts "$FIX/keras_func/unet_k222.json")" \
    "unet_k222.json (Keras model.to_json(), Concatenate)"
# an nntrain checkpoint of a functional model trained here
cat >ck.nn <<'EOF'
inputs = Input(shape=(1,))
a = Dense(8, activation="relu")(inputs)
b = Dense(8, activation="relu")(a)
out = Dense(1)(add([a, b]))
model = Model(inputs=inputs, outputs=out)
compile(loss="mse", optimizer=Adam())
fit(batch_size=16, epochs=1)
EOF
if "$NN" train ck.nn --data synthetic:sqrt:64 --out run --verbose 0 >t.out 2>&1; then
    check_dot run/last.h5 "$(summary_counts run/last.h5)" "an nntrain checkpoint (functional)"
    [ "$(dot_counts g.dot)" = "5 5" ] || bad "checkpoint by hand" "$(dot_counts g.dot), by hand 5 5"
else
    bad "train ck.nn" "$(tail -n 3 t.out)"
fi

# ---- labels and options -----------------------------------------------------
"$NN" plot-model fn.nn -o fn.dot --show-shapes >/dev/null 2>&1
if grep -qF '5 [label="concatenate: Concatenate\n|{input:|output:}|{{[(None, 4), (None, 4)]}|{(None, 8)}}"];' fn.dot &&
    grep -qF '0 [label="x_in: InputLayer\n|{input:|output:}|{{[(None, 8)]}|{[(None, 8)]}}"];' fn.dot &&
    grep -qx 'rankdir=TB;' fn.dot && grep -qx 'dpi=96;' fn.dot; then
    ok "--show-shapes: Keras's record labels"
else
    bad "--show-shapes labels" "$(cat fn.dot)"
fi
"$NN" plot-model "$ROOT/jobs/models/mnist_mlp.nn" -o m.dot --hide-layer-names --rankdir lr \
    --dpi 50 >/dev/null 2>&1
if grep -qx '0 \[label="InputLayer"\];' m.dot && grep -qx '1 \[label="Dense"\];' m.dot &&
    grep -qx 'rankdir=LR;' m.dot && grep -qx 'dpi=50;' m.dot; then
    ok "--hide-layer-names --rankdir lr --dpi 50"
else
    bad "--hide-layer-names --rankdir --dpi" "$(cat m.dot)"
fi
"$NN" plot-model "$ROOT/jobs/models/mnist_mlp.nn" -o m.dot >/dev/null 2>&1
grep -qx '0 \[label="dense_input: InputLayer"\];' m.dot && ok "Sequential: tf.keras's InputLayer name" ||
    bad "Sequential InputLayer" "$(head -n 7 m.dot)"

# ---- pictures ---------------------------------------------------------------
if [ $HAVE_DOT -eq 1 ]; then
    if "$NN" plot-model "$R20" -o r20.png --show-shapes >p.out 2>p.err &&
        $PY - r20.png <<'PY'
import sys
from PIL import Image
data = open(sys.argv[1], "rb").read()
assert data[:8] == b"\x89PNG\r\n\x1a\n", data[:8]
im = Image.open(sys.argv[1]); im.load()
assert im.size[0] > 100 and im.size[1] > 2000, im.size   # 72 boxes, top to bottom
PY
    then
        ok "resnet20 PNG: signature, decodes"
    else
        bad "resnet20 PNG" "$(cat p.err)"
    fi
    for m in fn.nn "$R20" "$ROOT/jobs/models/rick_cnn.nn"; do
        n=$(summary_counts "$m" | cut -d' ' -f1)
        if "$NN" plot-model "$m" -o g.svg --rankdir LR >p.out 2>p.err &&
            $PY - g.svg "$n" <<'PY'
import sys, xml.etree.ElementTree as ET
root = ET.parse(sys.argv[1]).getroot()
assert root.tag == "{http://www.w3.org/2000/svg}svg", root.tag
nodes = [g for g in root.iter("{http://www.w3.org/2000/svg}g") if g.get("class") == "node"]
assert len(nodes) == int(sys.argv[2]), (len(nodes), sys.argv[2])
PY
        then
            ok "$(basename "$m") SVG: XML with $n node groups"
        else
            bad "$(basename "$m") SVG" "$(cat p.err)"
        fi
    done
    "$NN" plot-model fn.nn -o f.pdf >/dev/null 2>&1 && [ "$(head -c 5 f.pdf)" = "%PDF-" ] &&
        ok "PDF" || bad "PDF" "no %PDF- header"
else
    echo "skip pictures: Graphviz's dot is not installed"
fi

# ---- without Graphviz, and a dot that fails -----------------------------------
mkdir -p nodot fakedot
if env PATH="$T/nodot" "$NN" plot-model fn.nn -o x.png >p.out 2>p.err; then
    bad "no dot on PATH" "exit status 0"
elif grep -q "install Graphviz" p.err && [ -z "$(ls x.png* 2>/dev/null)" ]; then
    ok "no dot on PATH: $(head -n1 p.err | cut -c1-80)..."
else
    bad "no dot on PATH" "$(cat p.err; ls x.png*)"
fi
env PATH="$T/nodot" "$NN" plot-model fn.nn -o x.dot >/dev/null 2>&1 && [ "$(dot_counts x.dot)" = "7 8" ] &&
    ok "no dot on PATH: .dot still written" || bad "no dot on PATH: .dot" "$(cat x.dot)"
# a dot that writes half a picture and fails
cat >fakedot/dot <<'EOF'
#!/bin/sh
while [ $# -gt 1 ]; do [ "$1" = -o ] && printf '\211PNG half' >"$2"; shift; done
echo "Error: out of memory (pretend)" >&2
exit 3
EOF
chmod +x fakedot/dot
if env PATH="$T/fakedot:/usr/bin:/bin" "$NN" plot-model fn.nn -o y.png >p.out 2>p.err; then
    bad "failing dot" "exit status 0"
elif grep -q "failed (exit status 3): Error: out of memory (pretend)" p.err &&
    [ -z "$(ls y.png* 2>/dev/null)" ]; then
    ok "failing dot: its message, nothing left"
else
    bad "failing dot" "$(cat p.err; ls y.png*)"
fi
finish
