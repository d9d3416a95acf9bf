/* Token sequences -> padded matrices (pad_sequences) -> nntrain HDF5. */
#define _POSIX_C_SOURCE 200809L
#include "nntrain/sequences.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nntrain/h5data.h"

void nn_seq_defaults(nn_seq_opts *o)
{
    memset(o, 0, sizeof *o);
    o->pre_padding = 1;
    o->pre_truncating = 1;
}

void nn_pad_sequence(const int32_t *tok, size_t n, const nn_seq_opts *o, float *out)
{
    size_t L = (size_t)o->maxlen, keep = n < L ? n : L;
    /* pre truncating keeps the last maxlen tokens */
    const int32_t *src = o->pre_truncating && n > L ? tok + (n - L) : tok;
    size_t at = o->pre_padding ? L - keep : 0;
    for (size_t i = 0; i < L; i++)
        out[i] = 0.0f;
    for (size_t i = 0; i < keep; i++) {
        int32_t t = src[i];
        if (o->num_words > 0 && t >= o->num_words)
            t = 2;
        out[at + i] = (float)t;
    }
}

typedef struct seqs {
    size_t n, cap;
    float *x;
    int32_t *y;
    int maxlab;
} seqs;

static int load(const char *path, const nn_seq_opts *o, seqs *s, nn_error *e)
{
    memset(s, 0, sizeof *s);
    s->maxlab = -1;
    FILE *f = fopen(path, "r");
    if (!f)
        return nn_err(e, NN_EIO, "cannot open sequences '%s': %s", path, strerror(errno));
    char *line = NULL;
    size_t lcap = 0, tcap = 0;
    int32_t *tok = NULL;
    int rc = NN_OK;
    long lineno = 0;
    while (!rc && getline(&line, &lcap, f) >= 0) {
        lineno++;
        char *p = line, *end;
        while (*p == ' ' || *p == '\t')
            p++;
        if (*p == '#' || *p == '\n' || *p == '\r' || !*p)
            continue;
        errno = 0;
        long lab = strtol(p, &end, 10);
        if (end == p || errno || lab < 0 || lab > 65535) {
            rc = nn_err(e, NN_EFORMAT, "%s:%ld: expected a class label 0..65535 at the start of the line",
                        path, lineno);
            break;
        }
        size_t n = 0;
        for (p = end;;) {
            while (*p == ' ' || *p == '\t' || *p == ',')
                p++;
            if (!*p || *p == '\n' || *p == '\r')
                break;
            errno = 0;
            long t = strtol(p, &end, 10);
            if (end == p || errno || t < 0 || t > INT32_MAX || t > 16777216) {
                rc = nn_err(e, NN_EFORMAT, "%s:%ld: token %zu is not an integer id 0..16777216",
                            path, lineno, n + 1);
                break;
            }
            if (n == tcap) {
                tcap = tcap ? 2 * tcap : 256;
                int32_t *nt = realloc(tok, tcap * sizeof *tok);
                if (!nt) {
                    rc = nn_err(e, NN_ENOMEM, "out of memory reading %s", path);
                    break;
                }
                tok = nt;
            }
            tok[n++] = (int32_t)t;
            p = end;
        }
        if (rc)
            break;
        if (s->n == s->cap) {
            size_t cap = s->cap ? 2 * s->cap : 1024;
            float *x = realloc(s->x, cap * (size_t)o->maxlen * sizeof *x);
            if (x)
                s->x = x;
            int32_t *y = x ? realloc(s->y, cap * sizeof *y) : NULL;
            if (!x || !y) {
                rc = nn_err(e, NN_ENOMEM, "out of memory reading %s", path);
                break;
            }
            s->y = y;
            s->cap = cap;
        }
        nn_pad_sequence(tok, n, o, s->x + s->n * (size_t)o->maxlen);
        s->y[s->n++] = (int32_t)lab;
        if (lab > s->maxlab)
            s->maxlab = (int)lab;
    }
    int err = ferror(f);
    fclose(f);
    free(line);
    free(tok);
    if (!rc && err)
        rc = nn_err(e, NN_EIO, "error reading %s", path);
    if (!rc && s->n == 0)
        rc = nn_err(e, NN_EFORMAT, "%s: no sequences (expected lines 'label tok tok ...')", path);
    if (rc) {
        free(s->x);
        free(s->y);
    }
    return rc;
}

int nn_convert_sequences(const char *text, const char *test_text, const char *out,
                         const nn_seq_opts *o, nn_error *e)
{
    if (o->maxlen < 1 || o->maxlen > 1000000)
        return nn_err(e, NN_EINVAL, "maxlen must be in 1..1000000, got %d", o->maxlen);
    seqs tr, te = {0};
    int rc = load(text, o, &tr, e);
    if (rc)
        return rc;
    if (test_text && (rc = load(test_text, o, &te, e))) {
        free(tr.x);
        free(tr.y);
        return rc;
    }
    int maxlab = te.maxlab > tr.maxlab ? te.maxlab : tr.maxlab;
    nn_h5_split sp[2] = {
        {.name = "train", .n = tr.n, .shape = {1, {o->maxlen}}, .x_f32 = tr.x, .y_label = tr.y},
        {.name = "test", .n = te.n, .shape = {1, {o->maxlen}}, .x_f32 = te.x, .y_label = te.y}};
    char src[1200];
    snprintf(src, sizeof src, "sequences %s%s%s (maxlen %d, %s padding, %s truncating)", text,
             test_text ? " + " : "", test_text ? test_text : "", o->maxlen,
             o->pre_padding ? "pre" : "post", o->pre_truncating ? "pre" : "post");
    nn_h5_meta meta = {.source = src, .nclasses = maxlab + 1, .compress = o->compress};
    rc = nn_h5_write(out, sp, test_text ? 2 : 1, &meta, e);
    free(tr.x);
    free(tr.y);
    free(te.x);
    free(te.y);
    return rc;
}
