/* nntrain compare A.h5 B.h5: whether two checkpoints hold the same training
 * state bit for bit (deterministic mode's promise: the same bits whatever
 * the ranks and threads). Compares every layer's weights, the optimizer's
 * slots and iteration count, the counters (epoch, step, partial-epoch sums)
 * and the history; not the spec text, the callbacks' state, the class names
 * or anything else HDF5 keeps (creation times). Exit 0: identical, 1: a
 * difference, 2: a file that cannot be read. */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "nntrain/checkpoint.h"

static const char *help =
    "usage: nntrain compare A.h5 B.h5\n"
    "Compares two nntrain checkpoints bit for bit: every layer's weights, the optimizer\n"
    "state (slots, iterations), the counters (epoch, step, partial-epoch sums) and the\n"
    "history. Prints 'identical' or each difference with its first differing element.\n"
    "Exit status 0 identical, 1 different, 2 unreadable file.\n";

typedef struct ckpt {
    nn_model m;
    nn_train_state st;
    nn_history h;
} ckpt;

static int load(const char *path, ckpt *c, nn_error *e)
{
    memset(c, 0, sizeof *c);
    int rc = nn_ckpt_load_model(path, &c->m, e);
    if (!rc)
        rc = nn_optim_alloc(&c->m.optim, c->m.nparams, e);
    if (!rc)
        rc = nn_ckpt_load_state(path, &c->m, &c->st, &c->h, e);
    return rc;
}

/* n floats (or doubles: size 8) of a and b; prints the first difference
 * and their count under name. Returns 1 when they differ. */
static int diff(const char *name, const void *a, const void *b, size_t n, size_t size)
{
    if (!memcmp(a, b, n * size))
        return 0;
    size_t first = SIZE_MAX, count = 0;
    for (size_t i = 0; i < n; i++)
        if (memcmp((const char *)a + i * size, (const char *)b + i * size, size)) {
            first = first == SIZE_MAX ? i : first;
            count++;
        }
    double va = size == 4 ? ((const float *)a)[first] : ((const double *)a)[first];
    double vb = size == 4 ? ((const float *)b)[first] : ((const double *)b)[first];
    printf("differ: %s: %zu of %zu values, first at [%zu]: %.*g vs %.*g\n", name, count, n,
           first, size == 4 ? 9 : 17, va, size == 4 ? 9 : 17, vb);
    return 1;
}

/* The same architecture: layer names and parameter counts in order. */
static int same_layout(const nn_model *a, const nn_model *b)
{
    if (a->nlayers != b->nlayers || a->nparams != b->nparams)
        return 0;
    for (int i = 0; i < a->nlayers; i++)
        if (strcmp(a->layers[i].name, b->layers[i].name) ||
            a->layers[i].param_len != b->layers[i].param_len)
            return 0;
    return 1;
}

static int compare(const ckpt *a, const ckpt *b)
{
    int nd = 0;
    char name[160];
    for (int i = 0; i < a->m.nlayers; i++) {
        const nn_layer *l = &a->m.layers[i];
        snprintf(name, sizeof name, "weights of layer '%s'", l->name);
        nd += diff(name, a->m.params + l->param_off, b->m.params + l->param_off, l->param_len,
                   sizeof(float));
    }
    const nn_optim *oa = &a->m.optim, *ob = &b->m.optim;
    if (oa->nslots != ob->nslots || oa->kind != ob->kind) {
        printf("differ: optimizer: %s with %d slots vs %s with %d\n", nn_optim_names[oa->kind],
               oa->nslots, nn_optim_names[ob->kind], ob->nslots);
        nd++;
    }
    for (int s = 0; s < oa->nslots && s < ob->nslots && oa->n == ob->n; s++) {
        snprintf(name, sizeof name, "optimizer slot %d", s);
        nd += diff(name, oa->slot[s], ob->slot[s], oa->n, sizeof(float));
    }
    if (oa->iterations != ob->iterations || a->st.epoch != b->st.epoch ||
        a->st.step != b->st.step) {
        printf("differ: counters: epoch %d step %ld iterations %" PRId64 " vs epoch %d step %ld "
               "iterations %" PRId64 "\n", a->st.epoch, a->st.step, oa->iterations, b->st.epoch,
               b->st.step, ob->iterations);
        nd++;
    }
    nd += diff("partial-epoch sums", a->st.epoch_sums, b->st.epoch_sums,
               sizeof a->st.epoch_sums / sizeof(double), sizeof(double));
    int hc = a->h.ncols == b->h.ncols && a->h.epochs == b->h.epochs;
    for (int c = 0; hc && c < a->h.ncols; c++)
        hc = !strcmp(a->h.cols[c], b->h.cols[c]);
    if (!hc) {
        printf("differ: history: %d epochs of %d columns vs %d of %d (or other columns)\n",
               a->h.epochs, a->h.ncols, b->h.epochs, b->h.ncols);
        nd++;
    } else if (a->h.epochs) {
        nd += diff("history", a->h.vals, b->h.vals, (size_t)a->h.epochs * (size_t)a->h.ncols,
                   sizeof(double));
    }
    return nd;
}

int cmd_compare(int argc, char **argv)
{
    cli_opt opts[] = {{"--help", 0, 0, 0}, {NULL, 0, 0, 0}};
    const char *pos[2];
    int npos = 0;
    nn_error e = {0};
    int rc = cli_parse_alias(argc, argv, 2, CLI_ALIAS_H, opts, pos, 2, &npos, &e);
    if (!rc && cli_find(opts, "--help")->given)
        return cli_help(NULL, help);
    if (!rc && npos != 2)
        rc = nn_err(&e, NN_EINVAL, "compare needs two checkpoint files");
    if (rc)
        return cli_usage(NULL, &e, help);
    ckpt a, b;
    rc = load(pos[0], &a, &e);
    if (!rc)
        rc = load(pos[1], &b, &e);
    else
        memset(&b, 0, sizeof b);
    int code = CLI_USAGE;
    if (rc) {
        cli_error(NULL, &e);
    } else if (!same_layout(&a.m, &b.m)) {
        printf("differ: %s and %s hold different models (layers or parameter counts)\n",
               pos[0], pos[1]);
        code = CLI_FAIL;
    } else {
        int nd = compare(&a, &b);
        if (!nd)
            printf("identical: %s and %s (weights of %zu parameters, %d optimizer slot%s, "
                   "%" PRId64 " iterations, history of %d epoch%s)\n",
                   pos[0], pos[1], a.m.nparams, a.m.optim.nslots,
                   a.m.optim.nslots == 1 ? "" : "s", a.m.optim.iterations, a.h.epochs,
                   a.h.epochs == 1 ? "" : "s");
        code = nd ? CLI_FAIL : CLI_OK;
    }
    nn_history_free(&a.h);
    nn_history_free(&b.h);
    nn_model_free(&a.m);
    nn_model_free(&b.m);
    return code;
}
