/* Binding a call's arguments to named parameters, Python style: positional
 * ones in order, then keywords; typed getters with defaults. Every error
 * names path:line:col, the call, the argument and what was expected. */
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "nntrain/args.h"

const char *nn_value_where(const nn_call *c, const nn_value *v, char *buf, int len)
{
    snprintf(buf, (size_t)len, "%s:%d:%d", c->path ? c->path : "<spec>",
             v ? v->line : c->line, v ? v->col : c->col);
    return buf;
}

static void known_list(const char *const names[], char *buf, size_t len)
{
    size_t k = 0;
    buf[0] = 0;
    for (int i = 0; names[i] && k < len; i++)
        if (strcmp(names[i], "*"))
            k += (size_t)snprintf(buf + k, len - k, "%s%s", k ? ", " : "", names[i]);
}

static int find(const char *const names[], const char *key)
{
    for (int i = 0; names[i]; i++)
        if (!strcmp(names[i], key))
            return i;
    return -1;
}

int nn_args_bind(nn_args *a, const nn_call *c, const char *const names[],
                 const char *const aliases[], nn_error *e)
{
    memset(a, 0, sizeof *a);
    a->call = c;
    a->names = names;
    int npos = 0, nnames = 0, maxpos = -1;
    char w[300], known[600];
    while (names[nnames]) {
        if (!strcmp(names[nnames], "*"))   /* the rest are keyword-only */
            maxpos = nnames;
        nnames++;
    }
    if (maxpos < 0)
        maxpos = nnames;
    if (nnames > NN_MAX_ARGS)
        return nn_err(e, NN_EINVAL, "internal: too many argument names for %s", c->fn);
    known_list(names, known, sizeof known);
    for (int i = 0; i < c->nargs; i++) {
        const nn_value *v = &c->vals[i];
        int slot;
        if (!c->keys[i]) {
            if (i > 0 && c->keys[i - 1])
                return nn_err(e, NN_EINVAL, "%s: %s(): positional argument follows keyword argument",
                              nn_value_where(c, v, w, sizeof w), c->fn);
            if (npos >= maxpos) {
                int given = 0;
                for (int k = 0; k < c->nargs; k++)
                    given += !c->keys[k];
                return nn_err(e, NN_EINVAL, "%s: %s() takes at most %d positional arguments (%s), %d given",
                              nn_value_where(c, v, w, sizeof w), c->fn, maxpos, known, given);
            }
            slot = npos++;
        } else {
            const char *key = c->keys[i];
            for (int k = 0; aliases && aliases[k]; k += 2)
                if (!strcmp(aliases[k], key))
                    key = aliases[k + 1];
            slot = find(names, key);
            if (slot < 0) {
                const char *g = nn_suggest(key, names);
                char mean[96] = "";
                if (g)
                    snprintf(mean, sizeof mean, ": did you mean '%s'?", g);
                return nn_err(e, NN_EINVAL, "%s: %s() got an unknown argument '%s'%s (known: %s)",
                              nn_value_where(c, v, w, sizeof w), c->fn, c->keys[i], mean, known);
            }
        }
        if (a->v[slot])
            return nn_err(e, NN_EINVAL, "%s: %s() got argument '%s' twice",
                          nn_value_where(c, v, w, sizeof w), c->fn, names[slot]);
        a->v[slot] = v;
    }
    return NN_OK;
}

static int slot_of(const nn_args *a, const char *name)
{
    return find(a->names, name);
}

int nn_args_has(const nn_args *a, const char *name)
{
    int s = slot_of(a, name);
    return s >= 0 && a->v[s] && a->v[s]->kind != NN_V_NONE;
}

const nn_value *nn_args_get(const nn_args *a, const char *name)
{
    int s = slot_of(a, name);
    return s >= 0 ? a->v[s] : NULL;
}

/* What was found, for messages: 3.5, "relu", a tuple of 3 values, ... */
static const char *describe(const nn_value *v, char *buf, size_t len)
{
    switch (v->kind) {
    case NN_V_NONE: return "None";
    case NN_V_NUM: snprintf(buf, len, "%.10g", v->num); break;
    case NN_V_STR: snprintf(buf, len, "\"%.60s\"", v->str); break;
    case NN_V_BOOL: return v->boolean ? "True" : "False";
    case NN_V_LIST: snprintf(buf, len, "a tuple of %d value%s", v->n, v->n == 1 ? "" : "s"); break;
    default: snprintf(buf, len, "a call %.60s()", v->call ? v->call->fn : ""); break;
    }
    return buf;
}

static int type_err(nn_args *a, const char *name, const nn_value *v, const char *want,
                    nn_error *e)
{
    char w[300], got[96];
    return nn_err(e, NN_EINVAL, "%s: %s(): argument '%s' must be %s, got %s",
                  nn_value_where(a->call, v, w, sizeof w), a->call->fn, name, want,
                  describe(v, got, sizeof got));
}

/* The bound value, or NULL when absent or None (the default applies). */
static const nn_value *lookup(nn_args *a, const char *name)
{
    int s = slot_of(a, name);
    if (s < 0)
        return NULL;
    a->used[s] = 1;
    const nn_value *v = a->v[s];
    return v && v->kind != NN_V_NONE ? v : NULL;
}

static int as_int(const nn_value *v, int *out)
{
    if (v->kind != NN_V_NUM || v->num != floor(v->num) || fabs(v->num) > 2147483647.0)
        return -1;
    *out = (int)v->num;
    return 0;
}

int nn_args_int(nn_args *a, const char *name, int def, int *out, nn_error *e)
{
    const nn_value *v = lookup(a, name);
    *out = def;
    if (v && as_int(v, out))
        return type_err(a, name, v, "an integer", e);
    return NN_OK;
}

int nn_args_double(nn_args *a, const char *name, double def, double *out, nn_error *e)
{
    const nn_value *v = lookup(a, name);
    *out = def;
    if (!v)
        return NN_OK;
    if (v->kind != NN_V_NUM)
        return type_err(a, name, v, "a number", e);
    *out = v->num;
    return NN_OK;
}

int nn_args_bool(nn_args *a, const char *name, int def, int *out, nn_error *e)
{
    const nn_value *v = lookup(a, name);
    *out = def;
    if (!v)
        return NN_OK;
    if (v->kind != NN_V_BOOL)
        return type_err(a, name, v, "True or False", e);
    *out = v->boolean;
    return NN_OK;
}

int nn_args_str(nn_args *a, const char *name, const char *def, const char **out,
                nn_error *e)
{
    const nn_value *v = lookup(a, name);
    *out = def;
    if (!v)
        return NN_OK;
    if (v->kind != NN_V_STR)
        return type_err(a, name, v, "a \"string\"", e);
    *out = v->str;
    return NN_OK;
}

int nn_args_choice(nn_args *a, const char *name, const char *def,
                   const char *const choices[], int *idx, nn_error *e)
{
    const char *s;
    int rc = nn_args_str(a, name, def, &s, e);
    if (rc)
        return rc;
    for (int i = 0; choices[i]; i++)
        if (s && !strcasecmp(s, choices[i])) {
            *idx = i;
            return NN_OK;
        }
    char w[300], known[600];
    known_list(choices, known, sizeof known);
    return nn_err(e, NN_EINVAL, "%s: %s(): unknown %s '%s' (known: %s)",
                  nn_value_where(a->call, nn_args_get(a, name), w, sizeof w), a->call->fn,
                  name, s ? s : "None", known);
}

int nn_args_ints(nn_args *a, const char *name, int n, const int *def, int *out,
                 nn_error *e)
{
    const nn_value *v = lookup(a, name);
    char want[64];
    snprintf(want, sizeof want, "an integer or a tuple of %d integers", n);
    for (int i = 0; i < n; i++)
        out[i] = def ? def[i] : 0;
    if (!v)
        return NN_OK;
    if (v->kind == NN_V_NUM) {
        int x;
        if (as_int(v, &x))
            return type_err(a, name, v, want, e);
        for (int i = 0; i < n; i++)
            out[i] = x;
        return NN_OK;
    }
    if (v->kind != NN_V_LIST || v->n != n)
        return type_err(a, name, v, want, e);
    for (int i = 0; i < n; i++)
        if (as_int(&v->items[i], &out[i]))
            return type_err(a, name, v, want, e);
    return NN_OK;
}

int nn_args_shape(nn_args *a, const char *name, int max, int *out, int *n, nn_error *e)
{
    const nn_value *v = lookup(a, name);
    char want[80], w[300];
    snprintf(want, sizeof want, "a tuple of 1 to %d positive integers", max);
    *n = 0;
    if (!v)
        return NN_OK;
    if (v->kind == NN_V_NUM) {
        if (as_int(v, &out[0]) || out[0] <= 0)
            return type_err(a, name, v, want, e);
        *n = 1;
        return NN_OK;
    }
    if (v->kind != NN_V_LIST || v->n < 1 || v->n > max)
        return type_err(a, name, v, want, e);
    for (int i = 0; i < v->n; i++)
        if (as_int(&v->items[i], &out[i]) || out[i] <= 0)
            return nn_err(e, NN_EINVAL, "%s: %s(): %s must hold positive integers",
                          nn_value_where(a->call, &v->items[i], w, sizeof w), a->call->fn,
                          name);
    *n = v->n;
    return NN_OK;
}
