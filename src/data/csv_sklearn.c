/* scikit-learn's bundled tables (sklearn/datasets/data/iris.csv, wine_data.csv,
 * breast_cancer.csv): the header line is "n_samples,n_features,name0,name1,..."
 * (the class names in label order), then one row per sample of n_features
 * numbers and the class index. The counts in the header are checked, so a
 * cut or padded file is refused rather than trained on. Written as /train
 * with the class names. */
#define _POSIX_C_SOURCE 200809L   /* strdup */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "csv.h"
#include "h5priv.h"

#define SK_MAX_COUNT 100000000L

/* A whole non-negative integer field, or -1. */
static long count_field(const char *s)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    return errno || end == s || *end || v < 0 || v > SK_MAX_COUNT ? -1 : v;
}

static int parse_value(const char *s, float *out)
{
    char *end;
    errno = 0;
    *out = strtof(s, &end);
    return *s && end != s && !*end && errno != ERANGE && *out == *out && *out - *out == 0;
}

int csv_convert_sklearn(const char *csv, const char *out, const nn_convert_opts *o,
                        nn_convert_stats *st, nn_error *e)
{
    char *text = NULL, **f = NULL, **names = NULL;
    int fcap = 0, hl = 0, ncls = 0;
    long nsamp = -1, nfeat = -1;
    size_t n = 0;
    float *x = NULL;
    int32_t *y = NULL;
    int rc = csv_read_whole(csv, &text, e);
    char *p = text;
    int ln = 0, nf;
    while (!rc && (nf = csv_next_record(&p, &ln, &f, &fcap, csv, e)) != 0) {
        if (nf < 0) {
            rc = e ? e->code : NN_EFORMAT;
            break;
        }
        if (!hl) {   /* the header */
            hl = ln;
            nsamp = nf >= 2 ? count_field(f[0]) : -1;
            nfeat = nf >= 2 ? count_field(f[1]) : -1;
            ncls = nf - 2;
            if (nsamp < 1 || nfeat < 1 || ncls < 1)
                rc = nn_err(e, NN_EFORMAT, "%s:%d: --sklearn: expected the header "
                            "\"n_samples,n_features,class names...\" (iris.csv: "
                            "\"150,4,setosa,versicolor,virginica\"), got \"%.60s%s\"", csv, ln,
                            f[0], nf > 1 ? ",..." : "");
            else if (!(names = calloc((size_t)ncls, sizeof *names)) ||
                     !(x = malloc((size_t)nsamp * (size_t)nfeat * sizeof *x)) ||
                     !(y = malloc((size_t)nsamp * sizeof *y)))
                rc = nn_err(e, NN_ENOMEM, "%s: out of memory for %ld samples", csv, nsamp);
            for (int k = 0; !rc && k < ncls; k++)
                if (!*f[k + 2] || !(names[k] = strdup(f[k + 2])))
                    rc = !*f[k + 2] ? nn_err(e, NN_EFORMAT, "%s:%d: --sklearn: class name %d "
                                             "is empty", csv, ln, k)
                                    : nn_err(e, NN_ENOMEM, "%s: out of memory", csv);
            continue;
        }
        if (nf != nfeat + 1) {
            rc = nn_err(e, NN_EFORMAT, "%s:%d: %d field%s, expected %ld (the header's %ld "
                        "features and the class index)", csv, ln, nf, nf == 1 ? "" : "s",
                        nfeat + 1, nfeat);
            break;
        }
        if ((long)n == nsamp) {
            rc = nn_err(e, NN_EFORMAT, "%s:%d: more rows than the %ld samples the header "
                        "(line %d) announces", csv, ln, nsamp, hl);
            break;
        }
        for (long c = 0; c < nfeat && !rc; c++)
            if (!parse_value(f[c], &x[n * (size_t)nfeat + (size_t)c]))
                rc = nn_err(e, NN_EFORMAT, "%s:%d: feature %ld: '%s': expected a finite number",
                            csv, ln, c + 1, f[c]);
        long k = rc ? 0 : count_field(f[nfeat]);
        if (!rc && (k < 0 || k >= ncls))
            rc = nn_err(e, NN_EFORMAT, "%s:%d: class index '%s': expected 0 to %d (the header "
                        "names %d classes)", csv, ln, f[nfeat], ncls - 1, ncls);
        if (!rc)
            y[n++] = (int32_t)k;
    }
    if (!rc && !hl)
        rc = nn_err(e, NN_EFORMAT, "%s: empty file: expected scikit-learn's header "
                    "\"n_samples,n_features,class names...\"", csv);
    if (!rc && (long)n != nsamp)
        rc = nn_err(e, NN_EFORMAT, "%s: the header (line %d) announces %ld samples, the file "
                    "has %zu rows (cut short?)", csv, hl, nsamp, n);
    if (!rc) {
        char source[1100];
        snprintf(source, sizeof source, "scikit-learn CSV file %.1000s", csv);
        nn_conv_split s = {.name = "train", .n = n, .xf = x, .y = y};
        x = NULL;
        y = NULL;
        rc = nn_conv_finish(&s, 1, nn_shape1((int)nfeat), (const char *const *)names, ncls,
                            source, out, o, st, e);
        nn_conv_split_free(&s, 1);
    }
    for (int k = 0; names && k < ncls; k++)
        free(names[k]);
    free(names);
    free(x);
    free(y);
    free(f);
    free(text);
    return rc;
}
