/* nn_convert_csv: a CSV table with a header row into the nntrain HDF5
 * schema (/train only). One column holds class labels (strings or integers;
 * the classes are the sorted distinct values, numerically when every label
 * is an integer) or some columns hold float regression targets; all other
 * columns are float32 features. Fields may be double-quoted ("" is a quote).
 * Every error names file:line and the column, since a CSV with a stray
 * "NA" on line 4,381 is the usual way this goes wrong. */
#define _XOPEN_SOURCE 700   /* realpath */

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "csv.h"
#include "h5priv.h"
#include "nntrain/convert.h"

#define CSV_MAX_BYTES ((size_t)1 << 34)
#define CSV_MAX_CLASSES 10000

enum { COL_FEATURE = 0, COL_LABEL = 1, COL_TARGET = 2 };

int csv_read_whole(const char *path, char **out, nn_error *e)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return nn_err(e, NN_EIO, "%s: cannot open: %s", path, strerror(errno));
    size_t cap = 1 << 16, len = 0;
    char *buf = malloc(cap);
    int rc = NN_OK;
    while (!rc && buf) {
        if (len + 1 >= cap) {
            char *nb = cap < CSV_MAX_BYTES ? realloc(buf, cap * 2) : NULL;
            if (!nb) {
                rc = nn_err(e, NN_ENOMEM, "%s: cannot hold %zu bytes in memory", path, cap * 2);
                break;
            }
            buf = nb;
            cap *= 2;
        }
        size_t r = fread(buf + len, 1, cap - 1 - len, f);
        len += r;
        if (r == 0)
            break;
    }
    if (!buf)
        rc = nn_err(e, NN_ENOMEM, "%s: cannot allocate a read buffer", path);
    if (!rc && ferror(f))
        rc = nn_err(e, NN_EIO, "%s: read error: %s", path, strerror(errno));
    fclose(f);
    if (rc) {
        free(buf);
        return rc;
    }
    buf[len] = 0;
    if (strlen(buf) != len) {
        free(buf);
        return nn_err(e, NN_EFORMAT, "%s: contains a NUL byte: not a text CSV file", path);
    }
    *out = buf;
    return NN_OK;
}

char *csv_trim(char *s)
{
    while (*s == ' ' || *s == '\t')
        s++;
    size_t n = strlen(s);
    while (n && (s[n - 1] == ' ' || s[n - 1] == '\t'))
        s[--n] = 0;
    return s;
}

/* Splits line in place into *fields; returns the count, or -1 after an
 * unterminated quote or text after a closing quote (message in e). */
int csv_split_fields(char *line, char ***fields, int *cap, const char *path, int ln,
                     nn_error *e)
{
    int nf = 0;
    char *r = line;
    for (;;) {
        if (nf == *cap) {
            int ncap = *cap ? *cap * 2 : 16;
            char **nv = ncap < 1000000 ? realloc(*fields, (size_t)ncap * sizeof *nv) : NULL;
            if (!nv) {
                nn_err(e, NN_ENOMEM, "%s:%d: too many fields", path, ln);
                return -1;
            }
            *fields = nv;
            *cap = ncap;
        }
        while (*r == ' ' || *r == '\t')
            r++;
        char *w = r, *start = r;
        if (*r == '"') {
            start = w = ++r - 1;   /* the value overwrites the opening quote */
            for (;;) {
                if (!*r) {
                    nn_err(e, NN_EFORMAT, "%s:%d: field %d: unterminated quote", path, ln,
                           nf + 1);
                    return -1;
                }
                if (*r == '"' && r[1] == '"') {
                    *w++ = '"';
                    r += 2;
                } else if (*r == '"') {
                    r++;
                    break;
                } else {
                    *w++ = *r++;
                }
            }
            while (*r == ' ' || *r == '\t')
                r++;
            if (*r && *r != ',') {
                nn_err(e, NN_EFORMAT, "%s:%d: field %d: text after the closing quote", path,
                       ln, nf + 1);
                return -1;
            }
        } else {
            while (*r && *r != ',')
                r++;
            w = r;
            while (w > start && (w[-1] == ' ' || w[-1] == '\t'))
                w--;
        }
        int last = *r != ',';
        *w = 0;   /* w <= r: the separator was read already */
        (*fields)[nf++] = start;
        if (last)
            return nf;
        r++;
    }
}

int csv_next_record(char **p, int *ln, char ***fields, int *cap, const char *path,
                    nn_error *e)
{
    while (*p && **p) {
        char *nl = strchr(*p, '\n'), *line = *p;
        if (nl)
            *nl = 0;
        *p = nl ? nl + 1 : NULL;
        ++*ln;
        size_t len = strlen(line);
        if (len && line[len - 1] == '\r')
            line[--len] = 0;
        if (*csv_trim(line))
            return csv_split_fields(line, fields, cap, path, *ln, e);
    }
    return 0;
}

typedef struct csv_label {
    const char *s;
    long v;
    size_t row;
} csv_label;

static int cmp_label_num(const void *a, const void *b)
{
    const csv_label *x = a, *y = b;
    int c = (x->v > y->v) - (x->v < y->v);
    return c ? c : (x->row > y->row) - (x->row < y->row);
}

static int cmp_label_str(const void *a, const void *b)
{
    const csv_label *x = a, *y = b;
    int c = strcmp(x->s, y->s);
    return c ? c : (x->row > y->row) - (x->row < y->row);
}

static int same_label(const csv_label *x, const csv_label *y, int numeric)
{
    return numeric ? x->v == y->v : !strcmp(x->s, y->s);
}

/* Maps labels to sorted class indices; fills y and *names (owned). */
static int classify(csv_label *lab, size_t n, int32_t *y, char ***names, int *ncls,
                    const char *path, const char *col, nn_error *e)
{
    int numeric = 1;
    for (size_t i = 0; i < n && numeric; i++) {
        char *end;
        errno = 0;
        lab[i].v = strtol(lab[i].s, &end, 10);
        numeric = !errno && *end == 0 && end != lab[i].s;
    }
    qsort(lab, n, sizeof *lab, numeric ? cmp_label_num : cmp_label_str);
    int k = 0;
    for (size_t i = 0; i < n; i++) {
        if (i && !same_label(&lab[i], &lab[i - 1], numeric))
            k++;
        if (k >= CSV_MAX_CLASSES)
            return nn_err(e, NN_EFORMAT, "%s: label column '%s' has more than %d distinct "
                          "values: is it a regression target? (use --target-columns)", path,
                          col, CSV_MAX_CLASSES);
        y[lab[i].row] = k;
    }
    *ncls = k + 1;
    char **nv = calloc((size_t)*ncls, sizeof *nv);
    if (!nv)
        return nn_err(e, NN_ENOMEM, "%s: cannot allocate class names", path);
    k = 0;
    char num[32];
    for (size_t i = 0; i < n; i++) {
        if (i && same_label(&lab[i], &lab[i - 1], numeric))
            continue;
        snprintf(num, sizeof num, "%ld", lab[i].v);
        if (!(nv[k++] = strdup(numeric ? num : lab[i].s))) {
            for (int j = 0; j < k; j++)
                free(nv[j]);
            free(nv);
            return nn_err(e, NN_ENOMEM, "%s: cannot allocate class names", path);
        }
    }
    *names = nv;
    return NN_OK;
}

/* Column roles from the header; slot[c] = the column's index among the
 * features, or among the targets (in o->target_columns order). */
static int assign_roles(char **head, int nc, const nn_convert_opts *o, int *role, int *slot,
                        int *nt, const char *path, int hl, nn_error *e)
{
    char known[600] = "";
    for (int c = 0; c < nc; c++) {
        size_t k = strlen(known);
        if (k < sizeof known - 80)
            snprintf(known + k, sizeof known - k, "%s'%s'", c ? ", " : "", head[c]);
        for (int d = 0; d < c; d++)
            if (!strcmp(head[c], head[d]))
                return nn_err(e, NN_EFORMAT, "%s:%d: column name '%s' appears twice (columns "
                              "%d and %d)", path, hl, head[c], d + 1, c + 1);
        role[c] = COL_FEATURE;
    }
    *nt = 0;
    const char *want = o->label_column ? o->label_column : o->target_columns;
    char *list = strdup(want);
    if (!list)
        return nn_err(e, NN_ENOMEM, "%s: out of memory", path);
    int rc = NN_OK;
    char *save = NULL;
    for (char *t = strtok_r(list, ",", &save); t && !rc; t = strtok_r(NULL, ",", &save)) {
        t = csv_trim(t);
        int c = 0;
        while (c < nc && strcmp(head[c], t))
            c++;
        if (c == nc)
            rc = nn_err(e, NN_EINVAL, "%s:%d: no column '%s' in the header (columns: %s)",
                        path, hl, t, known);
        else if (role[c] != COL_FEATURE)
            rc = nn_err(e, NN_EINVAL, "%s: column '%s' named twice in --target-columns", path,
                        t);
        else if (o->label_column && *nt == 1)
            rc = nn_err(e, NN_EINVAL, "--label-column takes one column, got '%s'", want);
        else {
            role[c] = o->label_column ? COL_LABEL : COL_TARGET;
            slot[c] = (*nt)++;
        }
    }
    for (int c = 0, k = 0; c < nc; c++)
        if (role[c] == COL_FEATURE)
            slot[c] = k++;
    free(list);
    if (!rc && *nt == 0)
        rc = nn_err(e, NN_EINVAL, "%s: no column named in '%s'", path, want);
    if (!rc && *nt == nc)
        rc = nn_err(e, NN_EFORMAT, "%s:%d: no feature columns left (columns: %s)", path, hl,
                    known);
    return rc;
}

static int parse_float(const char *s, float *out)
{
    char *end;
    errno = 0;
    float v = strtof(s, &end);
    *out = v;
    return *s && end != s && *end == 0 && errno != ERANGE && isfinite(v);
}

int nn_convert_csv(const char *csv, const char *out, const nn_convert_opts *o,
                   nn_convert_stats *st, nn_error *e)
{
    if (!csv || !out || !o)
        return nn_err(e, NN_EINVAL, "nn_convert_csv: need an input, an output and options");
    if (o->sklearn && (o->label_column || o->target_columns))
        return nn_err(e, NN_EINVAL, "%s: --sklearn takes the classes from the header: no "
                      "--label-column or --target-columns", csv);
    if (o->sklearn)
        return csv_convert_sklearn(csv, out, o, st, e);
    if (!o->label_column == !o->target_columns)
        return nn_err(e, NN_EINVAL, "%s: give either --label-column NAME (classification) or "
                      "--target-columns A,B (regression)", csv);
    char *text = NULL, **f = NULL, **head = NULL, **names = NULL;
    int fcap = 0, nc = 0, nt = 0, hl = 0, ncls = 0, *role = NULL, *slot = NULL;
    size_t n = 0, cap = 0;
    float *x = NULL, *yf = NULL;
    csv_label *lab = NULL;
    int32_t *y = NULL;
    int rc = csv_read_whole(csv, &text, e);
    char *p = text;
    int ln = 0, nf;
    while (!rc && (nf = csv_next_record(&p, &ln, &f, &fcap, csv, e)) != 0) {
        if (nf < 0) {
            rc = e ? e->code : NN_EFORMAT;
            break;
        }
        if (!head) {
            hl = ln;
            nc = nf;
            head = malloc((size_t)nc * sizeof *head);
            role = malloc((size_t)nc * sizeof *role);
            slot = malloc((size_t)nc * sizeof *slot);
            if (!head || !role || !slot) {
                rc = nn_err(e, NN_ENOMEM, "%s: out of memory", csv);
                break;
            }
            for (int c = 0; c < nc; c++)
                head[c] = f[c];
            rc = assign_roles(head, nc, o, role, slot, &nt, csv, hl, e);
            continue;
        }
        if (nf != nc) {
            rc = nn_err(e, NN_EFORMAT, "%s:%d: %d field%s, expected %d as in the header "
                        "(line %d)", csv, ln, nf, nf == 1 ? "" : "s", nc, hl);
            break;
        }
        if (n == cap) {
            size_t ncap = cap ? cap * 2 : 1024;
            float *nx = realloc(x, ncap * (size_t)(nc - nt) * sizeof *nx);
            x = nx ? nx : x;
            float *ny = nx ? realloc(yf, ncap * (size_t)nt * sizeof *ny) : NULL;
            yf = ny ? ny : yf;
            csv_label *nlab = ny ? realloc(lab, ncap * sizeof *nlab) : NULL;
            lab = nlab ? nlab : lab;
            if (!nlab) {
                rc = nn_err(e, NN_ENOMEM, "%s:%d: cannot allocate %zu rows", csv, ln, ncap);
                break;
            }
            cap = ncap;
        }
        float *xr = x + n * (size_t)(nc - nt);
        for (int c = 0; c < nc && !rc; c++) {
            if (role[c] == COL_LABEL) {
                if (!*f[c])
                    rc = nn_err(e, NN_EFORMAT, "%s:%d: column '%s': empty label", csv, ln,
                                head[c]);
                lab[n] = (csv_label){f[c], 0, n};
            } else if (!parse_float(f[c], role[c] == COL_FEATURE
                                              ? &xr[slot[c]]
                                              : &yf[n * (size_t)nt + (size_t)slot[c]])) {
                rc = nn_err(e, NN_EFORMAT, "%s:%d: column '%s': %s%s%s: expected a finite "
                            "number", csv, ln, head[c], *f[c] ? "'" : "empty value",
                            f[c], *f[c] ? "'" : "");
            }
        }
        n++;
    }
    if (!rc && !head)
        rc = nn_err(e, NN_EFORMAT, "%s: empty file: expected a header row and data rows", csv);
    if (!rc && n == 0)
        rc = nn_err(e, NN_EFORMAT, "%s: no data rows after the header (line %d)", csv, hl);
    if (!rc && o->label_column) {
        if (!(y = malloc(n * sizeof *y)))
            rc = nn_err(e, NN_ENOMEM, "%s: out of memory", csv);
        else
            rc = classify(lab, n, y, &names, &ncls, csv, o->label_column, e);
        free(yf);
        yf = NULL;
    }
    if (!rc) {
        char *abs = realpath(csv, NULL), source[1024];
        snprintf(source, sizeof source, "CSV file %s", abs ? abs : csv);
        free(abs);
        nn_conv_split s = {.name = "train", .n = n, .xf = x, .y = y, .yf = yf, .ydim = nt};
        x = NULL;
        y = NULL;
        yf = NULL;
        rc = nn_conv_finish(&s, 1, nn_shape1(nc - nt), (const char *const *)names, ncls, source,
                            out, o, st, e);
        nn_conv_split_free(&s, 1);
    }
    for (int i = 0; names && i < ncls; i++)
        free(names[i]);
    free(names);
    free(x);
    free(y);
    free(yf);
    free(lab);
    free(f);
    free(head);
    free(role);
    free(slot);
    free(text);
    return rc;
}
