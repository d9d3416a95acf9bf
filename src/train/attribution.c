/* Attribution methods (nntrain/attribution.h) on the attribution executor
 * (attr_exec.c): the gradient methods as DeepExplain computes them, Grad-CAM,
 * and the perturbation methods, which only run forward passes (batched: one
 * row per masked copy of an image). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "nntrain/attribution.h"
#include "nntrain/confusion.h"
#include "nntrain/rng.h"
#include "train/attr_exec.h"

const char *const nn_attr_names[] = {"saliency",  "grad_input", "integrated_gradients",
                                     "elrp",      "deeplift",   "occlusion",
                                     "shapley_sampling", "gradcam", NULL};

int nn_attr_parse(const char *name, nn_attr_method *out)
{
    for (int i = 0; i < NN_ATTR_COUNT; i++)
        if (!strcmp(name, nn_attr_names[i])) {
            *out = (nn_attr_method)i;
            return 0;
        }
    return -1;
}

void nn_attr_opts_defaults(nn_attr_opts *o)
{
    memset(o, 0, sizeof *o);
    o->batch = 16;
    o->steps = 100;
    o->epsilon = 1e-4f;
    o->window = 0;
    o->step = 0;
    o->samples = 5;
    o->layer = -1;
    o->seed = 42;
}

int nn_attr_find_layer(const nn_model *m, const char *name, int *index, nn_error *e)
{
    int found = -1;
    for (int i = 0; i < m->nlayers; i++)
        if (name ? !strcmp(m->layers[i].name, name)
                 : !strcmp(m->layers[i].ops->kind, "Conv2D"))
            found = i;
    if (found < 0)
        return name ? nn_err(e, NN_EINVAL, "Grad-CAM: the model has no layer named '%s'", name)
                    : nn_err(e, NN_EINVAL, "Grad-CAM: the model has no Conv2D layer; name the "
                             "layer whose feature maps to use");
    const nn_layer *l = &m->layers[found];
    if (l->out.n != 3 || l->ops->reshape) {
        char s[64];
        return nn_err(e, NN_EINVAL, "Grad-CAM: layer '%s' (%s) outputs %s, not feature maps "
                      "(height, width, channels)", l->name, l->ops->kind,
                      nn_shape_str(&l->out, s, sizeof s));
    }
    *index = found;
    return NN_OK;
}

static int prob_output(const nn_model *m)
{
    nn_act a = m->layers[m->nlayers - 1].act;
    return m->from_logits || a == NN_ACT_SOFTMAX || a == NN_ACT_SIGMOID;
}

int nn_attr_classes(const nn_model *m)
{
    int K = (int)nn_model_out_size(m);
    return prob_output(m) ? nn_class_count(K) : K;
}

int nn_attr_check(const nn_model *m, nn_error *e)
{
    for (int i = 0; i < m->nlayers; i++) {
        const nn_layer *l = &m->layers[i];
        for (int k = 0; k < l->nin; k++)
            if (l->inp[k] < 0 && l->ops->no_dx)
                return nn_err(e, NN_EINVAL, "layer '%s' (%s) reads the model's input as integer "
                              "ids, which have no gradient: nothing can be attributed to them",
                              l->name, l->ops->kind);
    }
    return NN_OK;
}

/* Image dims of the input: (H, W, C), or (1, size, 1) when it is not 3-D. */
static void dims(const nn_model *m, int *H, int *W, int *C)
{
    const nn_shape *s = &m->in_shape;
    if (s->n == 3) {
        *H = s->d[0], *W = s->d[1], *C = s->d[2];
    } else {
        *H = 1, *W = (int)nn_shape_size(s), *C = 1;
    }
}

static void baseline(const nn_model *m, const nn_attr_opts *o, const float *x, float *x0, int n)
{
    int H, W, C;
    dims(m, &H, &W, &C);
    size_t P = (size_t)H * (size_t)W, in = P * (size_t)C;
    for (int r = 0; r < n; r++) {
        const float *xr = x + (size_t)r * in;
        float *b = x0 + (size_t)r * in;
        for (int c = 0; c < C; c++) {
            double mean = 0;
            for (size_t p = 0; o->baseline == NN_BASELINE_MEAN && p < P; p++)
                mean += xr[p * (size_t)C + (size_t)c];
            float v = o->baseline == NN_BASELINE_MEAN ? (float)(mean / (double)P)
                    : o->baseline == NN_BASELINE_VALUE ? o->baseline_value : 0.0f;
            for (size_t p = 0; p < P; p++)
                b[p * (size_t)C + (size_t)c] = v;
        }
    }
}

typedef struct attr_run {
    attr_exec ax;
    const nn_attr_opts *o;
    nn_attr_method method;
    int H, W, C, layer;
    size_t in;
    float *x0, *xb, *acc;       /* (B, in) each */
    double *heat;               /* (in) */
    double *cnt;                /* (H W) */
    uint64_t *perm;             /* (H W) */
    float *s0;                  /* (B) scores of the unmasked rows */
} attr_run;

static void gradient(attr_run *R, const float *x, int n, const int *cls, attr_rule rule)
{
    attr_forward(&R->ax, x, n, 0);
    attr_backward(&R->ax, x, n, cls, rule, -1);
}

static int gradcam(attr_run *R, int n, float *out, nn_error *e)
{
    const nn_layer *l = &R->ax.m->layers[R->layer];
    int OH = l->out.d[0], OW = l->out.d[1], F = l->out.d[2];
    size_t fo = (size_t)OH * OW * F;
    float *cam = malloc((size_t)OH * OW * sizeof *cam);
    if (!cam)
        return nn_err(e, NN_ENOMEM, "out of memory for Grad-CAM");
    for (int r = 0; r < n; r++) {
        const float *A = R->ax.y[R->layer] + (size_t)r * fo;     /* (OH, OW, F) */
        const float *G = R->ax.dy[R->layer] + (size_t)r * fo;    /* d score / dA */
        double w[4096];
        for (int f = 0; f < F && f < 4096; f++) {
            double s = 0;
            for (int p = 0; p < OH * OW; p++)
                s += G[(size_t)p * F + f];
            w[f] = s / (OH * OW);
        }
        for (int p = 0; p < OH * OW; p++) {
            double s = 0;
            for (int f = 0; f < F && f < 4096; f++)
                s += w[f] * A[(size_t)p * F + f];
            cam[p] = s > 0 ? (float)s : 0.0f;
        }
        /* bilinear, pixel centres aligned (as image resizers do) */
        float *o = out + (size_t)r * R->in;
        for (int h = 0; h < R->H; h++) {
            double sy = (h + 0.5) * OH / R->H - 0.5;
            sy = sy < 0 ? 0 : sy > OH - 1 ? OH - 1 : sy;
            int y0 = (int)sy, y1 = y0 + 1 < OH ? y0 + 1 : y0;
            double fy = sy - y0;
            for (int wd = 0; wd < R->W; wd++) {
                double sx = (wd + 0.5) * OW / R->W - 0.5;
                sx = sx < 0 ? 0 : sx > OW - 1 ? OW - 1 : sx;
                int x0 = (int)sx, x1 = x0 + 1 < OW ? x0 + 1 : x0;
                double fx = sx - x0;
                double v = (1 - fy) * ((1 - fx) * cam[y0 * OW + x0] + fx * cam[y0 * OW + x1]) +
                           fy * ((1 - fx) * cam[y1 * OW + x0] + fx * cam[y1 * OW + x1]);
                for (int c = 0; c < R->C; c++)
                    o[((size_t)h * R->W + wd) * R->C + c] = (float)(v / R->C);
            }
        }
    }
    free(cam);
    return NN_OK;
}

/* Scores of rows [0, k) of R->xb for class c. */
static void masked_scores(attr_run *R, int k, int c, float *s)
{
    attr_forward(&R->ax, R->xb, k, 0);
    for (int j = 0; j < k; j++)
        s[j] = attr_score(&R->ax, j, c);
}

static void zero_pixel(attr_run *R, float *row, size_t p)
{
    memset(row + p * (size_t)R->C, 0, (size_t)R->C * sizeof *row);
}

/* 0: a window of about a twelfth of the shorter side, half a window apart */
static void occlusion_window(const attr_run *R, int *win, int *st)
{
    int side = R->H < R->W ? R->H : R->W;
    *win = R->o->window ? R->o->window : side / 12 > 1 ? side / 12 : 1;
    *st = R->o->step ? R->o->step : *win / 2 > 1 ? *win / 2 : 1;
}

static void occlusion(attr_run *R, const float *x, int c, float s0, float *out)
{
    int win, st, B = R->ax.B;
    occlusion_window(R, &win, &st);
    int ny = (R->H - win) / st + 1, nx = (R->W - win) / st + 1, np = ny * nx;
    float s[4096];
    memset(R->heat, 0, R->in * sizeof *R->heat);
    memset(R->cnt, 0, (size_t)R->H * R->W * sizeof *R->cnt);
    for (int p0 = 0; p0 < np; p0 += B) {
        int k = np - p0 < B ? np - p0 : B;
        for (int j = 0; j < k; j++) {
            float *row = R->xb + (size_t)j * R->in;
            int py = (p0 + j) / nx * st, px = (p0 + j) % nx * st;
            memcpy(row, x, R->in * sizeof *row);
            for (int h = py; h < py + win; h++)
                for (int w = px; w < px + win; w++)
                    zero_pixel(R, row, (size_t)h * R->W + w);
        }
        masked_scores(R, k, c, s);
        for (int j = 0; j < k; j++) {
            int py = (p0 + j) / nx * st, px = (p0 + j) % nx * st;
            for (int h = py; h < py + win; h++)
                for (int w = px; w < px + win; w++) {
                    size_t p = (size_t)h * R->W + w;
                    R->cnt[p] += (double)win * win * R->C;
                    for (int ch = 0; ch < R->C; ch++)
                        R->heat[p * R->C + ch] += (double)(s0 - s[j]);
                }
        }
    }
    for (size_t p = 0; p < (size_t)R->H * R->W; p++)
        for (int ch = 0; ch < R->C; ch++)   /* a pixel no window covers: 0 */
            out[p * R->C + ch] = R->cnt[p] > 0 ? (float)(R->heat[p * R->C + ch] / R->cnt[p]) : 0.0f;
}

static void shapley(attr_run *R, const float *x, int c, float s0, uint64_t id, float *out)
{
    size_t P = (size_t)R->H * R->W;
    int B = R->ax.B;
    float s[4096];
    memset(R->heat, 0, P * sizeof *R->heat);
    for (int smp = 0; smp < R->o->samples; smp++) {
        nn_rng g = nn_rng_key(R->o->seed, id, (uint64_t)smp, 0x5ba9);
        nn_rng_permutation(&g, R->perm, P);
        float prev = s0;
        const float *cur = x;   /* the pixels before this batch zeroed */
        for (size_t k0 = 0; k0 < P; k0 += (size_t)B) {
            int k = P - k0 < (size_t)B ? (int)(P - k0) : B;
            for (int j = 0; j < k; j++) {   /* row j: one more pixel zeroed */
                float *row = R->xb + (size_t)j * R->in;
                memcpy(row, j ? row - R->in : cur, R->in * sizeof *row);
                zero_pixel(R, row, R->perm[k0 + (size_t)j]);
            }
            masked_scores(R, k, c, s);
            for (int j = 0; j < k; j++) {
                R->heat[R->perm[k0 + (size_t)j]] += (double)(prev - s[j]);
                prev = s[j];
            }
            memcpy(R->acc, R->xb + (size_t)(k - 1) * R->in, R->in * sizeof *R->acc);
            cur = R->acc;
        }
    }
    for (size_t p = 0; p < P; p++)
        for (int ch = 0; ch < R->C; ch++)
            out[p * R->C + ch] = (float)(R->heat[p] / R->o->samples / R->C);
}

static int check_opts(const nn_model *m, nn_attr_method method, const nn_attr_opts *o, int H,
                      int W, nn_error *e)
{
    if (o->batch < 1 || o->batch > 4096)
        return nn_err(e, NN_EINVAL, "attribution: batch must be 1..4096, found %d", o->batch);
    if (method == NN_ATTR_INTEGRATED && o->steps < 1)
        return nn_err(e, NN_EINVAL, "integrated_gradients: steps must be >= 1, found %d", o->steps);
    if (method == NN_ATTR_ELRP && !(o->epsilon > 0))
        return nn_err(e, NN_EINVAL, "elrp: epsilon must be > 0 (DeepExplain's default 1e-4), "
                      "found %g", (double)o->epsilon);
    if (method == NN_ATTR_SHAPLEY && o->samples < 1)
        return nn_err(e, NN_EINVAL, "shapley_sampling: samples must be >= 1, found %d", o->samples);
    if (method == NN_ATTR_OCCLUSION &&
        (o->window < 0 || o->step < 0 || o->window > H || o->window > W))
        return nn_err(e, NN_EINVAL, "occlusion: window %d and step %d must be >= 1, the window "
                      "no larger than the %dx%d input", o->window, o->step, H, W);
    if (method == NN_ATTR_GRADCAM && m->in_shape.n != 3)
        return nn_err(e, NN_EINVAL, "gradcam: the model's input is not an image (height, width, "
                      "channels)");
    if (method == NN_ATTR_GRADCAM && o->layer >= 0 &&
        (o->layer >= m->nlayers || m->layers[o->layer].out.n != 3))
        return nn_err(e, NN_EINVAL, "gradcam: layer %d does not output feature maps", o->layer);
    return NN_OK;
}

static void run_free(attr_run *R)
{
    attr_close(&R->ax);
    free(R->x0);
    free(R->xb);
    free(R->acc);
    free(R->heat);
    free(R->cnt);
    free(R->perm);
    free(R->s0);
}

/* One chunk of n <= B rows: classes, outputs, then the method. */
static int chunk(attr_run *R, const float *x, int *cls, const uint64_t *ids, uint64_t base, int n,
                 float *out, float *probs, nn_error *e)
{
    attr_exec *ax = &R->ax;
    int K = ax->K, classes = ax->prob_out ? nn_class_count(K) : K;   /* acts run linear now */
    attr_forward(ax, x, n, 0);
    for (int r = 0; r < n; r++) {
        float p[4096];   /* K <= 4096: checked */
        attr_output(ax, r, p);
        if (probs)
            memcpy(probs + (size_t)r * K, p, (size_t)K * sizeof *p);
        if (cls[r] < 0)
            cls[r] = K > 1 || ax->prob_out ? nn_pred_class(p, K, NULL) : 0;
        if (cls[r] >= classes)
            return nn_err(e, NN_EINVAL, "class %d is out of range: the model has %d class%s "
                          "(0..%d)", cls[r], classes, classes == 1 ? "" : "es", classes - 1);
        R->s0[r] = attr_score(ax, r, cls[r]);
    }
    size_t in = R->in, all = (size_t)n * in;
    switch (R->method) {
    case NN_ATTR_SALIENCY:
    case NN_ATTR_GRAD_INPUT:
    case NN_ATTR_ELRP:
        attr_backward(ax, x, n, cls, R->method == NN_ATTR_ELRP ? ATTR_RULE_ELRP : ATTR_GRAD, -1);
        for (size_t q = 0; q < all; q++)
            out[q] = R->method == NN_ATTR_SALIENCY ? fabsf(ax->dx[q]) : x[q] * ax->dx[q];
        break;
    case NN_ATTR_INTEGRATED:
        baseline(ax->m, R->o, x, R->x0, n);
        memset(R->acc, 0, all * sizeof *R->acc);
        for (int k = 1; k <= R->o->steps; k++) {
            float a = (float)k / (float)R->o->steps;
            for (size_t q = 0; q < all; q++)
                R->xb[q] = R->x0[q] + (x[q] - R->x0[q]) * a;
            gradient(R, R->xb, n, cls, ATTR_GRAD);
            for (size_t q = 0; q < all; q++)
                R->acc[q] += ax->dx[q];
        }
        for (size_t q = 0; q < all; q++)
            out[q] = (x[q] - R->x0[q]) * R->acc[q] / (float)R->o->steps;
        break;
    case NN_ATTR_DEEPLIFT:
        baseline(ax->m, R->o, x, R->x0, n);
        attr_forward(ax, R->x0, n, 1);
        gradient(R, x, n, cls, ATTR_RULE_DEEPLIFT);
        for (size_t q = 0; q < all; q++)
            out[q] = (x[q] - R->x0[q]) * ax->dx[q];
        break;
    case NN_ATTR_GRADCAM:
        attr_backward(ax, x, n, cls, ATTR_GRAD, R->layer);
        return gradcam(R, n, out, e);
    case NN_ATTR_OCCLUSION:
    case NN_ATTR_SHAPLEY:
        for (int r = 0; r < n; r++) {
            const float *xr = x + (size_t)r * in;
            if (R->method == NN_ATTR_OCCLUSION)
                occlusion(R, xr, cls[r], R->s0[r], out + (size_t)r * in);
            else
                shapley(R, xr, cls[r], R->s0[r], ids ? ids[r] : base + (uint64_t)r,
                        out + (size_t)r * in);
        }
        break;
    default:
        break;
    }
    return NN_OK;
}

int nn_attribute(nn_model *m, nn_attr_method method, const nn_attr_opts *o, const float *x,
                 int *cls, const uint64_t *ids, int n, float *out, float *probs, nn_error *e)
{
    attr_run R;
    memset(&R, 0, sizeof R);
    R.o = o;
    R.method = method;
    dims(m, &R.H, &R.W, &R.C);
    R.in = nn_model_in_size(m);
    R.layer = o->layer;
    int rc;
    if ((unsigned)method >= NN_ATTR_COUNT)
        return nn_err(e, NN_EINVAL, "unknown attribution method %d", (int)method);
    if ((rc = nn_attr_check(m, e)) || (rc = check_opts(m, method, o, R.H, R.W, e)))
        return rc;
    if (method == NN_ATTR_GRADCAM && R.layer < 0 && (rc = nn_attr_find_layer(m, NULL, &R.layer, e)))
        return rc;
    if ((size_t)nn_model_out_size(m) > 4096)
        return nn_err(e, NN_EINVAL, "attribution: at most 4096 outputs, found %zu",
                      nn_model_out_size(m));
    int perturb = method == NN_ATTR_OCCLUSION || method == NN_ATTR_SHAPLEY;
    int B = perturb || o->batch < n ? o->batch : n > 0 ? n : 1;
    if ((rc = attr_open(&R.ax, m, B, e)))
        return rc;
    R.ax.epsilon = o->epsilon;
    size_t all = (size_t)B * R.in, P = (size_t)R.H * R.W;
    R.x0 = malloc(all * sizeof(float));
    R.xb = malloc(all * sizeof(float));
    R.acc = malloc(all * sizeof(float));
    R.heat = malloc(R.in * sizeof(double));
    R.cnt = malloc(P * sizeof(double));
    R.perm = malloc(P * sizeof(uint64_t));
    R.s0 = malloc((size_t)B * sizeof(float));
    if (!R.x0 || !R.xb || !R.acc || !R.heat || !R.cnt || !R.perm || !R.s0)
        rc = nn_err(e, NN_ENOMEM, "out of memory for attribution");
    if (!rc && method == NN_ATTR_DEEPLIFT)
        rc = attr_want_ref(&R.ax, e);
    if (!rc && method == NN_ATTR_GRADCAM && m->layers[R.layer].out.d[2] > 4096)
        rc = nn_err(e, NN_EINVAL, "gradcam: at most 4096 feature maps");
    /* perturbation methods batch masked copies of one image at a time */
    int step = perturb ? 1 : B;
    for (int s = 0; !rc && s < n; s += step) {
        int k = n - s < step ? n - s : step;
        rc = chunk(&R, x + (size_t)s * R.in, cls + s, ids ? ids + s : NULL, (uint64_t)s, k,
                   out + (size_t)s * R.in, probs ? probs + (size_t)s * R.ax.K : NULL, e);
    }
    run_free(&R);
    return rc;
}
