/* Owns the ZeroPadding2D layer (Keras), channels_last: zero rows above and
 * below, zero columns left and right. padding takes Keras's three forms: n
 * (all four sides), (height, width) (symmetric per axis) or
 * ((top, bottom), (left, right)). Forward writes every output row once (the
 * zero margins and one memcpy of the image row); backward copies the inner
 * block of dy back. No parameters, no saved state. */
#include <limits.h>
#include <stdio.h>
#include <string.h>

#include "layers/layer_util.h"
#include "nntrain/layer.h"

typedef struct zpad {
    int top, bottom, left, right;
    int H, W, C;
} zpad;

static const char *const zpad_args[] = {"padding", "data_format", NULL};

/* An int into *out; 0 if v is not one. */
static int pad_int(const nn_value *v, int *out)
{
    if (v->kind != NN_V_NUM || !(v->num >= INT_MIN && v->num <= INT_MAX) ||
        v->num != (double)(int)v->num)
        return 0;
    *out = (int)v->num;
    return 1;
}

/* A pair of ints (a, b) into out[0], out[1]. */
static int pad_pair(const nn_value *v, int *out)
{
    return v->kind == NN_V_LIST && v->n == 2 && pad_int(&v->items[0], &out[0]) &&
           pad_int(&v->items[1], &out[1]);
}

/* A number or a nested tuple of numbers as written, else what it is. */
static void show(const nn_value *v, char *buf, size_t len, int depth)
{
    size_t k;
    if (v->kind == NN_V_NUM) {
        snprintf(buf, len, "%.10g", v->num);
        return;
    }
    if (v->kind != NN_V_LIST || depth > 3) {
        snprintf(buf, len, "%s", v->kind == NN_V_STR ? "a string" : "a value of another kind");
        return;
    }
    snprintf(buf, len, "(");
    for (int i = 0; i < v->n && (k = strlen(buf)) + 1 < len; i++) {
        if (i)
            snprintf(buf + k, len - k, ", ");
        k = strlen(buf);
        show(&v->items[i], buf + k, len - k, depth + 1);
    }
    k = strlen(buf);
    snprintf(buf + k, len - k, v->n == 1 ? ",)" : ")");
}

/* padding: n, (h, w) or ((top, bottom), (left, right)) -> t[4]. */
static int bind_pad(nn_layer *l, nn_args *a, int t[4], nn_error *e)
{
    const nn_value *v = nn_args_get(a, "padding");
    for (int i = 0; a->names[i]; i++)   /* read here, not by a typed getter */
        if (!strcmp(a->names[i], "padding"))
            a->used[i] = 1;
    int ok = 1, p[2];
    t[0] = t[1] = t[2] = t[3] = 1;
    if (!v || v->kind == NN_V_NONE)
        return NN_OK;
    if (pad_int(v, &p[0])) {
        t[0] = t[1] = t[2] = t[3] = p[0];
    } else if (pad_pair(v, p)) {
        t[0] = t[1] = p[0];
        t[2] = t[3] = p[1];
    } else {
        ok = v->kind == NN_V_LIST && v->n == 2 && pad_pair(&v->items[0], &t[0]) &&
             pad_pair(&v->items[1], &t[2]);
    }
    if (!ok) {
        char got[96];
        show(v, got, sizeof got, 0);
        return nn_layer_arg_err(l, a, "padding", e, NN_EINVAL, "padding: expected an integer, "
                                "(height, width) or ((top, bottom), (left, right)), found %s",
                                got);
    }
    if (t[0] < 0 || t[1] < 0 || t[2] < 0 || t[3] < 0)
        return nn_layer_arg_err(l, a, "padding", e, NN_EINVAL, "padding: expected "
                                "non-negative integers, found ((%d, %d), (%d, %d))", t[0],
                                t[1], t[2], t[3]);
    return NN_OK;
}

static int zpad_create(nn_layer *l, nn_args *a, nn_error *e)
{
    int t[4], rc;
    if ((rc = bind_pad(l, a, t, e)) || (rc = nn_layer_bind_channels_last(l, a, e)))
        return rc;
    zpad z = {.top = t[0], .bottom = t[1], .left = t[2], .right = t[3]};
    return nn_layer_keep(l, &z, sizeof z, e);
}

static int zpad_configure(nn_layer *l, nn_error *e)
{
    zpad *z = l->priv;
    char buf[64], w[96];
    int rc = nn_layer_need_image(l, e);
    if (rc)
        return rc;
    z->H = l->in.d[0];
    z->W = l->in.d[1];
    z->C = l->in.d[2];
    size_t OH = (size_t)z->H + z->top + z->bottom, OW = (size_t)z->W + z->left + z->right;
    if (OH > INT_MAX || OW > INT_MAX || OH * OW * (size_t)z->C > INT_MAX)
        return nn_err(e, NN_ESHAPE, "%s: input %s with padding ((%d, %d), (%d, %d)) gives "
                      "more than 2^31 elements per sample", nn_layer_who(l, w, sizeof w),
                      nn_shape_str(&l->in, buf, sizeof buf), z->top, z->bottom, z->left,
                      z->right);
    l->out = nn_shape3((int)OH, (int)OW, z->C);
    l->param_len = 0;
    return NN_OK;
}

static void zpad_forward(nn_layer *l, const float *p, const float *x /* (B, H, W, C) */,
                         float *y /* (B, OH, OW, C) */, int B, nn_ctx *ctx)
{
    const zpad *z = l->priv;
    (void)p;
    (void)ctx;
    const size_t C = (size_t)z->C, irow = (size_t)z->W * C;
    const size_t orow = ((size_t)z->W + z->left + z->right) * C;
    const size_t lpad = (size_t)z->left * C, rpad = (size_t)z->right * C;
    for (int b = 0; b < B; b++) {
        const float *xb = x + (size_t)b * z->H * irow;
        float *o = y + (size_t)b * (z->H + z->top + z->bottom) * orow;
        memset(o, 0, (size_t)z->top * orow * sizeof *o);
        o += (size_t)z->top * orow;
        for (int h = 0; h < z->H; h++, o += orow) {
            memset(o, 0, lpad * sizeof *o);
            memcpy(o + lpad, xb + (size_t)h * irow, irow * sizeof *o);
            memset(o + lpad + irow, 0, rpad * sizeof *o);
        }
        memset(o, 0, (size_t)z->bottom * orow * sizeof *o);
    }
}

static void zpad_backward(nn_layer *l, const float *p, float *g, const float *x,
                          const float *y, float *dy /* (B, OH, OW, C) */,
                          float *dx /* (B, H, W, C) or NULL */, int B, nn_ctx *ctx)
{
    const zpad *z = l->priv;
    (void)p;
    (void)g;
    (void)x;
    (void)y;
    (void)ctx;
    if (!dx)
        return;
    const size_t C = (size_t)z->C, irow = (size_t)z->W * C;
    const size_t orow = ((size_t)z->W + z->left + z->right) * C;
    for (int b = 0; b < B; b++) {
        const float *d = dy + ((size_t)b * (z->H + z->top + z->bottom) + z->top) * orow +
                         (size_t)z->left * C;
        float *db = dx + (size_t)b * z->H * irow;
        for (int h = 0; h < z->H; h++)
            memcpy(db + (size_t)h * irow, d + (size_t)h * orow, irow * sizeof *db);
    }
}

const nn_layer_ops nn_zero_padding2d_ops = {
    .kind = "ZeroPadding2D",
    .arg_names = zpad_args,
    .arg_aliases = NULL,
    .create = zpad_create,
    .configure = zpad_configure,
    .param_specs = nn_layer_no_param_specs,
    .init_params = nn_layer_no_init_params,
    .plan = NULL,
    .forward = zpad_forward,
    .backward = zpad_backward,
    .destroy = NULL,
    .bwd_skips = NN_SKIPS_X | NN_SKIPS_Y,
};
