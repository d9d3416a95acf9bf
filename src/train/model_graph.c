/* Functional models: the spec's calls name the calls they take their
 * inputs from (nn_call.inputs); here those become each layer's inputs
 * (nn_layer.inp), in the spec's order, which is topological because a
 * call can only name calls before it. Layers that do not feed the
 * Model(...) output are dropped, as Keras builds a model from its output
 * back. Everything after this (shapes, executor, files) reads nin/inp. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "train/graph.h"

int nn_graph_consumers(const nn_model *m, int i)
{
    int n = 0;
    for (int j = i + 1; j < m->nlayers; j++)
        for (int k = 0; k < m->layers[j].nin; k++)
            n += m->layers[j].inp[k] == i;
    return n;
}

void nn_graph_describe_inputs(const nn_model *m, const nn_layer *l, char *buf, size_t len)
{
    size_t at = (size_t)snprintf(buf, len, " (inputs:");
    for (int k = 0; k < l->nin && at < len; k++) {
        char sh[96];
        int p = l->inp[k];
        const nn_shape *s = p < 0 ? &m->in_shape : &m->layers[p].out;
        at += (size_t)snprintf(buf + at, len - at, "%s '%s' %s", k ? "," : "",
                               p < 0 ? "input" : m->layers[p].name, nn_shape_str(s, sh, sizeof sh));
    }
    if (at < len)
        snprintf(buf + at, len - at, ")");
}

/* Layer i's inputs from its call. */
static int wire_layer(nn_model *m, const nn_spec *s, int i, const int *layer_call,
                      const int *call_layer, nn_error *e)
{
    nn_layer *l = &m->layers[i];
    const nn_call *c = &s->calls[layer_call[i]];
    char w[300];
    if (c->ninputs == 0) {
        l->nin = 1;
        l->inp[0] = i - 1;
        return NN_OK;
    }
    if (c->ninputs > NN_MAX_INPUTS)
        return nn_err(e, NN_EINVAL, "%s: %s() takes %d inputs, at most %d are supported",
                      nn_value_where(c, NULL, w, sizeof w), c->fn, c->ninputs, NN_MAX_INPUTS);
    l->nin = c->ninputs;
    for (int k = 0; k < c->ninputs; k++) {
        int ci = c->inputs[k];
        int li = ci >= 0 && ci < layer_call[i] ? call_layer[ci] : -3;
        if (li < -1)
            return nn_err(e, NN_EINVAL, "%s: %s(): input %d is not a layer or the Input "
                          "defined before it", nn_value_where(c, NULL, w, sizeof w), c->fn,
                          k + 1);
        l->inp[k] = li;
    }
    return NN_OK;
}

/* Marks the layers that feed layer out (keep), in reverse order. */
static void mark_ancestors(const nn_model *m, int out, unsigned char *keep)
{
    keep[out] = 1;
    for (int i = out; i >= 0; i--)
        if (keep[i])
            for (int k = 0; k < m->layers[i].nin; k++)
                if (m->layers[i].inp[k] >= 0)
                    keep[m->layers[i].inp[k]] = 1;
}

/* Keeps the layers marked in keep, renumbering inputs and layer_call. */
static void compact(nn_model *m, int *layer_call, const unsigned char *keep)
{
    int *to = malloc((size_t)m->nlayers * sizeof *to), n = 0;
    if (!to)
        return;   /* keeping them all is only wasteful */
    for (int i = 0; i < m->nlayers; i++) {
        if (!keep[i]) {
            nn_layer_destroy(&m->layers[i]);
            to[i] = -1;
            continue;
        }
        to[i] = n;
        if (n != i) {
            m->layers[n] = m->layers[i];
            layer_call[n] = layer_call[i];
        }
        nn_layer *l = &m->layers[n++];
        for (int k = 0; k < l->nin; k++)
            l->inp[k] = l->inp[k] < 0 ? -1 : to[l->inp[k]];
    }
    for (int i = n; i < m->nlayers; i++)
        memset(&m->layers[i], 0, sizeof m->layers[i]);
    m->nlayers = n;
    free(to);
}

static int is_graph(const nn_model *m)
{
    for (int i = 0; i < m->nlayers; i++) {
        const nn_layer *l = &m->layers[i];
        /* a merge runs only on the graph path (a one-input Concatenate too) */
        if (l->ops->merge || l->nin != 1 || l->inp[0] != i - 1 ||
            nn_graph_consumers(m, i - 1) > 1)
            return 1;
    }
    return 0;
}

int nn_graph_connect(nn_model *m, const nn_spec *s, int *layer_call, const int *call_layer,
                     int output_call, nn_error *e)
{
    char w[300];
    for (int i = 0; i < m->nlayers; i++) {
        int rc = wire_layer(m, s, i, layer_call, call_layer, e);
        if (rc)
            return rc;
    }
    if (output_call >= 0) {
        const nn_call *mc = &s->calls[output_call];
        int oc = mc->ninputs == 1 ? mc->inputs[0] : -1;
        int out = oc >= 0 && oc < output_call ? call_layer[oc] : -3;
        if (out < 0)
            return nn_err(e, NN_EINVAL, "%s: %s(): outputs must be a layer's output defined "
                          "before it", nn_value_where(mc, NULL, w, sizeof w), mc->fn);
        unsigned char *keep = calloc((size_t)m->nlayers, 1);
        if (!keep)
            return nn_err(e, NN_ENOMEM, "out of memory");
        mark_ancestors(m, out, keep);
        for (int i = out + 1; i < m->nlayers; i++)
            keep[i] = 0;
        compact(m, layer_call, keep);
        free(keep);
    }
    for (int i = 0; i < m->nlayers; i++) {
        const nn_layer *l = &m->layers[i];
        const nn_call *c = &s->calls[layer_call[i]];
        const nn_layer_merge_ops *mo = l->ops->merge;
        if (!mo && l->nin != 1)
            return nn_err(e, NN_EINVAL, "%s: %s() takes one input, it is given %d (only merge "
                          "layers such as Add and Concatenate take several)",
                          nn_value_where(c, NULL, w, sizeof w), c->fn, l->nin);
        if (mo && l->nin < mo->min_inputs)
            return nn_err(e, NN_EINVAL, "%s: %s() needs at least %d inputs, it is given %d",
                          nn_value_where(c, NULL, w, sizeof w), c->fn, mo->min_inputs, l->nin);
    }
    m->graph = is_graph(m);
    return NN_OK;
}
