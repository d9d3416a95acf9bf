/* nntrain inspect FILE.h5: what is in an nntrain HDF5 dataset (splits,
 * shapes, types, storage, samples per class with names, byte-identical
 * duplicates, source and creator), with every split's x checksum recomputed
 * and compared to the stored attribute. Exits 1 when the file does not fit
 * the schema or a checksum does not match. */
#include <inttypes.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "infer.h"
#include "nntrain/convert.h"

#define MAX_LISTED_CLASSES 30

static const char *help =
    "usage: nntrain inspect FILE.h5\n"
    "Prints the splits, shapes, types, storage, samples per class, byte-identical\n"
    "duplicates, source and creator of an nntrain HDF5 dataset, and verifies each\n"
    "split's checksum. Exit status 1 if the file is invalid or a checksum differs.\n";

static void print_dims(size_t n, const nn_shape *s, int extra)
{
    printf("(%zu", n);
    for (int i = 0; i < s->n; i++)
        printf(", %d", s->d[i]);
    if (extra > 0)
        printf(", %d", extra);
    printf("%s)", s->n == 0 && extra <= 0 ? "," : "");
}

static void class_counts(const nn_h5_file *f, const nn_h5_loaded *l)
{
    size_t *cnt = calloc((size_t)f->nclasses, sizeof *cnt);
    if (!cnt)
        return;
    for (size_t i = 0; i < l->s.n; i++)
        cnt[l->s.y_label[i]]++;
    size_t lo = SIZE_MAX, hi = 0;
    for (int c = 0; c < f->nclasses; c++) {
        lo = cnt[c] < lo ? cnt[c] : lo;
        hi = cnt[c] > hi ? cnt[c] : hi;
    }
    printf("  per class (%zu..%zu):", lo, hi);
    if (f->nclasses > MAX_LISTED_CLASSES) {
        printf(" %d classes, not listed\n", f->nclasses);
    } else {
        printf("\n");
        for (int c = 0; c < f->nclasses; c++)
            printf("    %3d %-24s %zu\n", c, f->class_names ? f->class_names[c] : "", cnt[c]);
    }
    free(cnt);
}

static void target_stats(const nn_h5_loaded *l)
{
    for (int k = 0; k < l->s.ydim && k < 8; k++) {
        double lo = INFINITY, hi = -INFINITY, sum = 0;
        for (size_t i = 0; i < l->s.n; i++) {
            double v = l->s.y_f32[i * (size_t)l->s.ydim + (size_t)k];
            lo = v < lo ? v : lo;
            hi = v > hi ? v : hi;
            sum += v;
        }
        printf("  target %d: min %g, max %g, mean %g\n", k, lo, hi, sum / (double)l->s.n);
    }
}

/* Prints one split; returns 1 when its checksum does not match. */
static int print_split(const char *path, const nn_h5_file *f, int k, nn_error *e)
{
    const nn_h5_loaded *l = &f->split[k];
    const nn_h5_split *s = &l->s;
    size_t per = nn_shape_size(&s->shape), row = per * (s->x_u8 ? 1 : sizeof(float));
    printf("/%s: %zu samples\n  x: %s ", l->name, s->n, l->x_type);
    print_dims(s->n, &s->shape, 0);
    if (l->chunk0)
        printf(", chunks of %llu sample%s", l->chunk0, l->chunk0 == 1 ? "" : "s");
    else
        printf(", contiguous");
    if (l->gzip >= 0)
        printf(", gzip %d", l->gzip);
    printf("%s\n", s->x_u8 ? " (read as x / 255)" : "");
    printf("  y: %s (%zu%s", l->y_type, s->n, l->y_rank == 2 ? "" : ",");
    if (l->y_rank == 2)
        printf(", %d", s->ydim);
    printf(") %s\n", s->y_label ? "class labels" : "targets");
    if (s->y_label)
        class_counts(f, l);
    else
        target_stats(l);

    size_t *orig = malloc(s->n * sizeof *orig), *in_ref = malloc(s->n * sizeof *in_ref);
    size_t ndup = 0, ncross = 0, nconf = 0;
    const nn_h5_loaded *tr = &f->split[0];
    int rc = orig && in_ref ? nn_find_duplicates(l->x, s->n, row, k ? tr->x : NULL,
                                                 k ? tr->s.n : 0, orig, in_ref, &ndup,
                                                 &ncross, e)
                            : nn_err(e, NN_ENOMEM, "out of memory");
    for (size_t i = 0; !rc && s->y_label && i < s->n; i++)
        nconf += orig[i] != SIZE_MAX && s->y_label[i] != s->y_label[orig[i]];
    free(orig);
    free(in_ref);
    if (rc)
        return -1;
    printf("  duplicates: %zu byte-identical sample%s", ndup, ndup == 1 ? "" : "s");
    if (nconf)
        printf(" (%zu with a different label than the first copy)", nconf);
    if (k)
        printf("; %zu also in /%s", ncross, tr->name);
    printf("\n");

    char hex[17];
    snprintf(hex, sizeof hex, "%016" PRIx64, nn_fnv1a(NN_FNV_INIT, l->x, s->n * row));
    if (!l->checksum[0]) {
        printf("  checksum: none stored (FNV-1a 64 of x is %s)\n", hex);
        return 0;
    }
    if (strcmp(l->checksum, hex) == 0) {
        printf("  checksum: %s OK\n", hex);
        return 0;
    }
    printf("  checksum: MISMATCH: stored %s, computed %s\n", l->checksum, hex);
    nn_err(e, NN_EFORMAT, "%s: /%s/x checksum mismatch (stored %s, computed %s): the data "
           "changed after the file was written", path, l->name, l->checksum, hex);
    return 1;
}

int cmd_inspect(int argc, char **argv)
{
    cli_opt opts[] = {{"--help", 0, NULL, 0}, {NULL, 0, NULL, 0}};
    const char *pos[1];
    int npos = 0;
    nn_error e = {0};
    if (cli_parse(argc, argv, 2, opts, pos, 1, &npos, &e) || (npos != 1 && !opts[0].given)) {
        if (!e.msg[0])
            nn_err(&e, NN_EINVAL, "inspect needs one .h5 file");
        cli_error(NULL, &e);
        fputs(help, stderr);
        return CLI_USAGE;
    }
    if (opts[0].given) {
        fputs(help, stdout);
        return CLI_OK;
    }
    nn_h5_file f;
    if (nn_h5_load(pos[0], &f, &e)) {
        cli_hint_path(e.code, &e, pos[0], CLI_WANT_DATA);
        nn_h5_file_free(&f);
        cli_error(NULL, &e);
        return CLI_FAIL;
    }
    printf("%s\n  format:  %s", pos[0], f.format[0] ? f.format : "(no format attribute)");
    if (f.version >= 0)
        printf(", version %d", f.version);
    printf("\n  creator: %s\n  source:  %s\n", f.creator[0] ? f.creator : "(unknown)",
           f.source[0] ? f.source : "(unknown)");
    if (f.nclasses)
        printf("  classes: %d%s\n", f.nclasses, f.class_names ? "" : " (no class_names)");
    else
        printf("  targets: regression (%d per sample)\n", f.split[0].s.ydim);
    int bad = 0;
    for (int k = 0; k < f.nsplits; k++) {
        int r = print_split(pos[0], &f, k, &e);
        if (r < 0) {
            nn_h5_file_free(&f);
            cli_error(NULL, &e);
            return CLI_FAIL;
        }
        bad |= r;
    }
    nn_h5_file_free(&f);
    if (bad) {
        cli_error(NULL, &e);
        return CLI_FAIL;
    }
    return CLI_OK;
}
