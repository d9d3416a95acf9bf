/* The attribution executor (attr_exec.h). Every layer with an activation
 * (fused into Dense/Conv2D, or an Activation/ReLU/Softmax layer) runs
 * linear while attributing, so its pre-activation z is kept; the executor
 * applies the activation itself, and in backward its derivative, or
 * DeepExplain's override of it: eLRP g y / (z + eps sign z), DeepLIFT
 * Rescale g (y - y0) / (z - z0) (the derivative at the midpoint when
 * |z - z0| <= 1e-5), for relu, elu, sigmoid, tanh and softplus (the
 * activations DeepExplain overrides; the others keep their gradient). The
 * fusions the model planned for training (a ReLU's derivative applied by
 * the max pooling above) are turned off meanwhile. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "nntrain/fpmode.h"
#include "train/attr_exec.h"
#include "train/exec.h"

static size_t out_size(const attr_exec *ax, int i)
{
    return nn_shape_size(&ax->m->layers[i].out);
}

/* Layer j's output buffer (x for j < 0; a reshape layer's is its input's). */
static const float *out_of(const attr_exec *ax, const float *x, int j, int ref)
{
    while (j >= 0 && ax->m->layers[j].ops->reshape)
        j = ax->m->layers[j].inp[0];
    return j < 0 ? x : ref ? ax->ry[j] : ax->y[j];
}

static int overridden(nn_act a)
{
    return a == NN_ACT_RELU || a == NN_ACT_ELU || a == NN_ACT_SIGMOID || a == NN_ACT_TANH ||
           a == NN_ACT_SOFTPLUS;
}

static float act1(nn_act a, float v)
{
    nn_act_forward(a, &v, 1, 1);
    return v;
}

static float deriv1(nn_act a, float z)
{
    float y = act1(a, z), d = 1.0f;
    nn_act_backward_z(a, nn_act_needs_z(a) ? &z : &y, &d, 1, 1);
    return d;
}

static int layer_has_no_z(const nn_layer *l)
{
    return !l->ops->fusion || !l->ops->fusion->act || l->act == NN_ACT_LINEAR;
}

int attr_open(attr_exec *ax, nn_model *m, int B, nn_error *e)
{
    memset(ax, 0, sizeof *ax);
    ax->m = m;
    ax->B = B;
    ax->L = m->nlayers;
    ax->epsilon = 1e-4f;
    int rc = nn_model_plan(m, B, e);
    if (rc)
        return rc;
    nn_exec *ex = m->exec;
    int L = ax->L;
    ax->T = nn_exec_whole_batch(m) ? 1 : ex->threads;
    ax->work_bytes = ex->work_bytes;
    ax->kind = calloc((size_t)L, 1);
    ax->act = calloc((size_t)L, sizeof *ax->act);
    ax->saved = calloc(3 * (size_t)L, sizeof *ax->saved);
    ax->y = calloc((size_t)L, sizeof *ax->y);
    ax->z = calloc((size_t)L, sizeof *ax->z);
    ax->ry = calloc((size_t)L, sizeof *ax->ry);
    ax->rz = calloc((size_t)L, sizeof *ax->rz);
    ax->dy = calloc((size_t)L, sizeof *ax->dy);
    ax->work = calloc((size_t)ax->T, sizeof *ax->work);
    ax->grads = calloc((size_t)ax->T, sizeof *ax->grads);
    if (!ax->kind || !ax->act || !ax->saved || !ax->y || !ax->z || !ax->ry || !ax->rz ||
        !ax->dy || !ax->work || !ax->grads) {
        attr_close(ax);
        return nn_err(e, NN_ENOMEM, "out of memory for attribution");
    }
    size_t widest = nn_model_in_size(m), Bz = (size_t)B;
    int fail = 0;
    for (int i = 0; i < L; i++) {
        nn_layer *l = &m->layers[i];
        ax->saved[3 * i] = (int)l->act;
        ax->saved[3 * i + 1] = l->dy_is_preact;
        ax->saved[3 * i + 2] = l->mask_relu;
        ax->act[i] = l->act;
        ax->kind[i] = layer_has_no_z(l)        ? ATTR_PLAIN
                      : l->ops->fusion->pure ? ATTR_PURE
                                             : ATTR_FUSED;
        for (int k = 0; k < l->nin; k++)
            if (nn_shape_size(&l->ins[k]) > widest)
                widest = nn_shape_size(&l->ins[k]);
        size_t bytes = Bz * out_size(ax, i) * sizeof(float);
        if (!l->ops->reshape && !(ax->y[i] = malloc(bytes)))
            fail = 1;
        if (ax->kind[i] == ATTR_FUSED && !(ax->z[i] = malloc(bytes)))
            fail = 1;
        if (!(ax->dy[i] = malloc(bytes)))
            fail = 1;
    }
    ax->dx = malloc(Bz * nn_model_in_size(m) * sizeof(float));
    ax->widest = widest;
    ax->scratch = malloc(Bz * widest * sizeof(float));
    for (int t = 0; t < ax->T; t++) {
        if (ax->work_bytes && !(ax->work[t] = malloc(ax->work_bytes)))
            fail = 1;
        if (!(ax->grads[t] = calloc(m->nparams ? m->nparams : 1, sizeof(float))))
            fail = 1;
    }
    if (fail || !ax->dx || !ax->scratch) {
        attr_close(ax);
        return nn_err(e, NN_ENOMEM, "out of memory for attribution buffers at batch %d", B);
    }
    nn_act la = ax->act[L - 1];
    ax->K = (int)out_size(ax, L - 1);
    ax->logit = ax->kind[L - 1] != ATTR_PLAIN && (la == NN_ACT_SOFTMAX || la == NN_ACT_SIGMOID);
    ax->prob_out = ax->logit || m->from_logits;
    /* from here on the model runs as attribution needs it (attr_close restores it) */
    ax->applied = 1;
    for (int i = 0; i < L; i++) {
        nn_layer *l = &m->layers[i];
        l->mask_relu = 0;
        l->dy_is_preact = 0;
        if (ax->kind[i] != ATTR_PLAIN)
            l->act = NN_ACT_LINEAR;
    }
    return NN_OK;
}

int attr_want_ref(attr_exec *ax, nn_error *e)
{
    for (int i = 0; i < ax->L; i++) {
        size_t bytes = (size_t)ax->B * out_size(ax, i) * sizeof(float);
        if (!ax->m->layers[i].ops->reshape && !ax->ry[i] && !(ax->ry[i] = malloc(bytes)))
            return nn_err(e, NN_ENOMEM, "out of memory for DeepLIFT's reference activations");
        if (ax->kind[i] == ATTR_FUSED && !ax->rz[i] && !(ax->rz[i] = malloc(bytes)))
            return nn_err(e, NN_ENOMEM, "out of memory for DeepLIFT's reference activations");
    }
    return NN_OK;
}

static void free_list(float **v, int n)
{
    for (int i = 0; v && i < n; i++)
        free(v[i]);
    free(v);
}

void attr_close(attr_exec *ax)
{
    if (!ax->m)
        return;
    for (int i = 0; ax->applied && i < ax->L; i++) {
        nn_layer *l = &ax->m->layers[i];
        l->act = (nn_act)ax->saved[3 * i];
        l->dy_is_preact = ax->saved[3 * i + 1];
        l->mask_relu = ax->saved[3 * i + 2];
    }
    free_list(ax->y, ax->L);
    free_list(ax->z, ax->L);
    free_list(ax->ry, ax->L);
    free_list(ax->rz, ax->L);
    free_list(ax->dy, ax->L);
    free_list(ax->work, ax->T);
    free_list(ax->grads, ax->T);
    free(ax->kind);
    free(ax->act);
    free(ax->saved);
    free(ax->dx);
    free(ax->scratch);
    memset(ax, 0, sizeof *ax);
}

void attr_target(const attr_exec *ax, int c, int *unit, float *sign)
{
    if (ax->K == 1 && ax->prob_out) {
        *unit = 0;
        *sign = c == 0 ? -1.0f : 1.0f;
    } else {
        *unit = c;
        *sign = 1.0f;
    }
}

float attr_score(const attr_exec *ax, int r, int c)
{
    int unit, L = ax->L;
    float sign;
    attr_target(ax, c, &unit, &sign);
    const float *o = ax->z[L - 1];
    if (!ax->logit)
        o = out_of(ax, NULL, L - 1, 0);
    else if (ax->kind[L - 1] == ATTR_PURE)   /* the logit is its input */
        o = out_of(ax, NULL, ax->m->layers[L - 1].inp[0], 0);
    return sign * o[(size_t)r * (size_t)ax->K + (size_t)unit];
}

void attr_output(const attr_exec *ax, int r, float *p)
{
    memcpy(p, out_of(ax, NULL, ax->L - 1, 0) + (size_t)r * (size_t)ax->K,
           (size_t)ax->K * sizeof *p);
    if (ax->m->from_logits)
        nn_loss_logits_to_probs(ax->m->loss, p, 1, ax->K);
}

typedef struct attr_job {
    attr_exec *ax;
    const float *x;
    int n, ref, backward, stop;
    const int *cls;
    attr_rule rule;
} attr_job;

static nn_ctx thread_ctx(const attr_exec *ax, int t, long r0)
{
    nn_ctx c = {0};
    c.row0 = (int)r0;
    c.work = ax->work[t];
    c.work_bytes = ax->work_bytes;
    return c;
}

static size_t last_dim(const nn_shape *s)
{
    return (size_t)s->d[s->n - 1];
}

static void forward_rows(attr_exec *ax, const float *x, long r0, long n, int t, int ref)
{
    nn_model *m = ax->m;
    nn_ctx c = thread_ctx(ax, t, r0);
    float **ys = ref ? ax->ry : ax->y, **zs = ref ? ax->rz : ax->z;
    for (int i = 0; i < ax->L; i++) {
        nn_layer *l = &m->layers[i];
        if (l->ops->reshape)
            continue;
        size_t w = out_size(ax, i), off = (size_t)r0 * w;
        size_t win = nn_shape_size(&l->in);
        const float *in = out_of(ax, x, l->inp[0], ref) + (size_t)r0 * win;
        float *y = ys[i] + off;
        if (l->ops->merge) {
            const float *xs[NN_MAX_INPUTS];
            for (int k = 0; k < l->nin; k++)
                xs[k] = out_of(ax, x, l->inp[k], ref) + (size_t)r0 * nn_shape_size(&l->ins[k]);
            l->ops->merge->forward(l, xs, y, (int)n, &c);
            continue;
        }
        float *into = ax->kind[i] == ATTR_FUSED ? zs[i] + off : y;
        l->ops->forward(l, m->params + l->param_off, in, into, (int)n, &c);
        if (ax->kind[i] == ATTR_PLAIN)
            continue;
        if (into != y)
            memcpy(y, into, (size_t)n * w * sizeof *y);
        size_t C = last_dim(&l->out);
        nn_act_forward(ax->act[i], y, (size_t)n * w / C, C);
    }
}

/* d (cnt values) := dL/dz from dL/dy under rule. */
static void act_backward(const attr_exec *ax, int i, attr_rule rule, const float *z,
                         const float *y, const float *z0, const float *y0, float *d,
                         size_t cnt)
{
    nn_act a = ax->act[i];
    if (rule == ATTR_GRAD || !overridden(a)) {
        size_t C = last_dim(&ax->m->layers[i].out);
        nn_act_backward_z(a, nn_act_needs_z(a) ? z : y, d, cnt / C, C);
        return;
    }
    if (rule == ATTR_RULE_ELRP) {
        float eps = ax->epsilon;
        for (size_t q = 0; q < cnt; q++)
            d[q] = d[q] * y[q] / (z[q] + (z[q] >= 0.0f ? eps : -eps));
        return;
    }
    for (size_t q = 0; q < cnt; q++) {
        float dz = z[q] - z0[q];
        d[q] = fabsf(dz) > 1e-5f ? d[q] * (y[q] - y0[q]) / dz
                                 : d[q] * deriv1(a, 0.5f * (z[q] + z0[q]));
    }
}

static void add_into(attr_exec *ax, int j, long r0, long n, const float *src)
{
    size_t w = j < 0 ? nn_model_in_size(ax->m) : out_size(ax, j);
    float *dst = (j < 0 ? ax->dx : ax->dy[j]) + (size_t)r0 * w;
    size_t cnt = (size_t)n * w;
    for (size_t q = 0; q < cnt; q++)
        dst[q] += src[q];
}

static void backward_rows(attr_exec *ax, const float *x, long r0, long n, int t,
                          const int *cls, attr_rule rule, int stop)
{
    nn_model *m = ax->m;
    nn_ctx c = thread_ctx(ax, t, r0);
    int L = ax->L;
    size_t in = nn_model_in_size(m);
    memset(ax->dx + (size_t)r0 * in, 0, (size_t)n * in * sizeof(float));
    for (int i = 0; i < L; i++)
        memset(ax->dy[i] + (size_t)r0 * out_size(ax, i), 0,
               (size_t)n * out_size(ax, i) * sizeof(float));
    for (long r = r0; r < r0 + n; r++) {
        int unit;
        float sign;
        attr_target(ax, cls[r], &unit, &sign);
        ax->dy[L - 1][(size_t)r * (size_t)ax->K + (size_t)unit] = sign;
    }
    for (int i = L - 1; i > stop; i--) {
        nn_layer *l = &m->layers[i];
        size_t w = out_size(ax, i), off = (size_t)r0 * w, cnt = (size_t)n * w;
        float *d = ax->dy[i] + off;
        float *sx = ax->scratch + (size_t)r0 * ax->widest;   /* this thread's rows */
        const float *xin = out_of(ax, x, l->inp[0], 0) + (size_t)r0 * nn_shape_size(&l->in);
        if (l->ops->reshape) {
            add_into(ax, l->inp[0], r0, n, d);
            continue;
        }
        const float *y = ax->y[i] + off;
        if (ax->kind[i] != ATTR_PLAIN) {
            const float *z = ax->kind[i] == ATTR_PURE ? xin : ax->z[i] + off;
            const float *z0 = NULL, *y0 = NULL;
            if (rule == ATTR_RULE_DEEPLIFT) {
                y0 = ax->ry[i] + off;
                z0 = ax->kind[i] == ATTR_PURE
                         ? out_of(ax, x, l->inp[0], 1) + (size_t)r0 * nn_shape_size(&l->in)
                         : ax->rz[i] + off;
            }
            if (!(i == L - 1 && ax->logit))   /* the score is the logit */
                act_backward(ax, i, rule, z, y, z0, y0, d, cnt);
            if (ax->kind[i] == ATTR_PURE) {
                add_into(ax, l->inp[0], r0, n, d);
                continue;
            }
            y = z;   /* the layer ran linear */
        }
        if (l->ops->merge) {
            const float *xs[NN_MAX_INPUTS];
            for (int k = 0; k < l->nin; k++)
                xs[k] = out_of(ax, x, l->inp[k], 0) + (size_t)r0 * nn_shape_size(&l->ins[k]);
            for (int k = 0; k < l->nin; k++) {
                l->ops->merge->backward(l, k, xs, y, d, sx, (int)n, &c);
                add_into(ax, l->inp[k], r0, n, sx);
            }
            continue;
        }
        l->ops->backward(l, m->params + l->param_off, ax->grads[t] + l->param_off, xin, y, d,
                         sx, (int)n, &c);
        add_into(ax, l->inp[0], r0, n, sx);
    }
}

static void job_thread(void *arg, int t, int T)
{
    attr_job *j = arg;
    long r0, n;
    if (T > j->ax->T) {   /* a whole-batch layer: thread 0 runs every row */
        if (t)
            return;
        T = 1;
    }
    nn_pool_split(j->n, T, t, &r0, &n);
    if (!n)
        return;
    unsigned fp = nn_fp_enter();
    if (j->backward)
        backward_rows(j->ax, j->x, r0, n, t, j->cls, j->rule, j->stop);
    else
        forward_rows(j->ax, j->x, r0, n, t, j->ref);
    nn_fp_leave(fp);
}

static void run(attr_exec *ax, attr_job *j)
{
    nn_pool_run(ax->T > 1 ? ax->m->exec->pool : NULL, job_thread, j);
}

void attr_forward(attr_exec *ax, const float *x, int n, int ref)
{
    attr_job j = {.ax = ax, .x = x, .n = n, .ref = ref};
    run(ax, &j);
}

void attr_backward(attr_exec *ax, const float *x, int n, const int *cls, attr_rule rule,
                   int stop)
{
    attr_job j = {.ax = ax, .x = x, .n = n, .backward = 1, .cls = cls, .rule = rule,
                  .stop = stop};
    run(ax, &j);
}
