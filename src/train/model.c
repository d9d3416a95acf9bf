/* The model's lifecycle outside the executor: Keras default initialisation,
 * sizes, the Keras-style summary and freeing. Construction is model_build.c;
 * the plan and the compute threads are plan.c, forward, backward and the
 * optimizer step exec.c (with exec_ref.c, their serial reference). */
#include <stdlib.h>
#include <string.h>

#include "core/gemm_bf16.h"

#include "nntrain/model.h"
#include "train/exec.h"

void nn_model_init_params(nn_model *m, uint64_t seed)
{
    for (int i = 0; i < m->nlayers; i++) {
        nn_layer *l = &m->layers[i];
        nn_rng r = nn_rng_key(seed, 0x1a7e5, (uint64_t)i, 0);
        if (l->param_len && l->ops->init_params)
            l->ops->init_params(l, m->params + l->param_off, &r);
    }
}

size_t nn_model_in_size(const nn_model *m)
{
    return nn_shape_size(&m->in_shape);
}

size_t nn_model_out_size(const nn_model *m)
{
    return m->nlayers ? nn_shape_size(&m->layers[m->nlayers - 1].out) : 0;
}

size_t nn_model_trainable_params(const nn_model *m)
{
    size_t n = 0;
    for (int i = 0; i < m->nlayers; i++)
        if (m->layers[i].trainable)
            n += m->layers[i].param_len - m->layers[i].frozen_len;
    return n;
}

/* 1234567 -> "1,234,567" */
static const char *commas(size_t v, char *buf)
{
    char tmp[32];
    int n = snprintf(tmp, sizeof tmp, "%zu", v), k = 0;
    for (int i = 0; i < n; i++) {
        if (i && (n - i) % 3 == 0)
            buf[k++] = ',';
        buf[k++] = tmp[i];
    }
    buf[k] = 0;
    return buf;
}

static void put_rule(FILE *f, char c, int len)
{
    for (int i = 0; i < len; i++)
        fputc(c, f);
    fputc('\n', f);
}

/* The Input's name as Keras's functional table and config show it. */
const char *nn_model_input_name(const nn_model *m)
{
    return m->in_name[0] ? m->in_name : "input_1";
}

/* "name[0][0]" of input k of layer l (each layer is called once). */
static void conn_str(const nn_model *m, const nn_layer *l, int k, char *buf, size_t len)
{
    int p = l->inp[k];
    snprintf(buf, len, "%s[0][0]", p < 0 ? nn_model_input_name(m) : m->layers[p].name);
}

/* tf.keras 2.x's table of a functional model: columns at 32, 53, 65 and 98
 * characters, a line per extra input of a merge, the InputLayer first.
 * A column that would cut its text (Keras truncates) is widened instead. */
static int summary_graph(const nn_model *m, FILE *f)
{
    char shape[80], who[160], conn[96];
    int w[4] = {32, 21, 12, 33};
    snprintf(who, sizeof who, "%s (InputLayer)", nn_model_input_name(m));
    w[0] = (int)strlen(who) + 1 > w[0] ? (int)strlen(who) + 1 : w[0];
    w[1] = (int)strlen(nn_shape_str(&m->in_shape, shape, sizeof shape)) + 3 > w[1]
               ? (int)strlen(shape) + 3 : w[1];
    for (int i = 0; i < m->nlayers; i++) {
        const nn_layer *l = &m->layers[i];
        int n = snprintf(who, sizeof who, "%s (%s)", l->name, l->ops->kind);
        w[0] = n + 1 > w[0] ? n + 1 : w[0];
        n = (int)strlen(nn_shape_str(&l->out, shape, sizeof shape));
        w[1] = n + 1 > w[1] ? n + 1 : w[1];
        for (int k = 0; k < l->nin; k++) {
            conn_str(m, l, k, conn, sizeof conn);
            n = (int)strlen(conn);
            w[3] = n + 1 > w[3] ? n + 1 : w[3];
        }
    }
    int len = w[0] + w[1] + w[2] + w[3];
    fprintf(f, "Model: \"%s\"\n", m->name);
    put_rule(f, '_', len);
    fprintf(f, "%-*s%-*s%-*s%-*s\n", w[0], "Layer (type)", w[1], "Output Shape", w[2], "Param #",
            w[3], "Connected to");
    put_rule(f, '=', len);
    snprintf(who, sizeof who, "%s (InputLayer)", nn_model_input_name(m));
    snprintf(conn, sizeof conn, "[%s]", nn_shape_str(&m->in_shape, shape, sizeof shape));
    fprintf(f, "%-*s%-*s%-*d%-*s\n", w[0], who, w[1], conn, w[2], 0, w[3], "");
    for (int i = 0; i < m->nlayers; i++) {
        const nn_layer *l = &m->layers[i];
        put_rule(f, '_', len);
        snprintf(who, sizeof who, "%s (%s)", l->name, l->ops->kind);
        conn_str(m, l, 0, conn, sizeof conn);
        fprintf(f, "%-*s%-*s%-*zu%-*s\n", w[0], who, w[1],
                nn_shape_str(&l->out, shape, sizeof shape), w[2], l->param_len, w[3],
                l->nin > 0 ? conn : "");
        for (int k = 1; k < l->nin; k++) {
            conn_str(m, l, k, conn, sizeof conn);
            fprintf(f, "%-*s%-*s\n", w[0] + w[1] + w[2], "", w[3], conn);
        }
    }
    put_rule(f, '=', len);
    return len;
}

/* Under mixed_bfloat16: what runs in bf16 and on which kernel. */
static void policy_line(const nn_model *m, FILE *f)
{
    if (m->bf16)
        fprintf(f, "Policy mixed_bfloat16: Dense and Conv2D products on bf16 inputs and "
                "weights with fp32 sums (%s kernel; a Conv2D of fewer than 2048 channels in "
                "x out keeps fp32 unless NNTRAIN_BF16_CONV=all); weights, optimizer and loss "
                "in fp32\n", nn_gemm_bf16_isa());
}

void nn_model_summary(const nn_model *m, FILE *f)
{
    if (m->graph) {
        char n1[32];
        size_t tr = nn_model_trainable_params(m);
        int len = summary_graph(m, f);
        fprintf(f, "Total params: %s\n", commas(m->nparams, n1));
        fprintf(f, "Trainable params: %s\n", commas(tr, n1));
        fprintf(f, "Non-trainable params: %s\n", commas(m->nparams - tr, n1));
        put_rule(f, '_', len);
        policy_line(m, f);
        return;
    }

    /* Keras's layout, with a first column wide enough for the longest
     * "name (Type)" instead of Keras's wrapping. */
    char rule[256], dbl[256], shape[64], who[128], n1[32];
    int wide = 37;
    for (int i = 0; i < m->nlayers; i++) {
        int n = snprintf(who, sizeof who, "%s (%s)", m->layers[i].name, m->layers[i].ops->kind);
        wide = n > wide && n < (int)sizeof who ? n : wide;
    }
    int len = 74 + wide - 37;   /* the rules span the three columns */
    memset(rule, '_', (size_t)len);
    memset(dbl, '=', (size_t)len);
    rule[len] = dbl[len] = 0;
    fprintf(f, "Model: \"%s\"\n%s\n", m->name, rule);
    fprintf(f, " %-*s %-25s %-10s\n%s\n", wide, "Layer (type)", "Output Shape", "Param #", dbl);
    for (int i = 0; i < m->nlayers; i++) {
        const nn_layer *l = &m->layers[i];
        snprintf(who, sizeof who, "%s (%s)", l->name, l->ops->kind);
        fprintf(f, " %-*s %-25s %-10zu\n", wide, who, nn_shape_str(&l->out, shape, sizeof shape),
                l->param_len);
        if (i + 1 < m->nlayers)
            fprintf(f, "\n");
    }
    size_t tr = nn_model_trainable_params(m);
    fprintf(f, "%s\nTotal params: %s\n", dbl, commas(m->nparams, n1));
    fprintf(f, "Trainable params: %s\n", commas(tr, n1));
    fprintf(f, "Non-trainable params: %s\n%s\n", commas(m->nparams - tr, n1), rule);
    policy_line(m, f);
}

void nn_model_free(nn_model *m)
{
    nn_exec_free(m);
    free(m->prof);
    for (int i = 0; i < m->nlayers; i++)
        nn_layer_destroy(&m->layers[i]);
    free(m->layers);
    free(m->params);
    free(m->grads);
    nn_optim_free(&m->optim);
    memset(m, 0, sizeof *m);
}
