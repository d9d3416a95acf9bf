/* Chrome-trace timeline: each rank's events gathered to rank 0, written as
 * {"traceEvents": [{"name", "ph": "X", "pid": 0, "tid": rank, "ts", "dur"}]}
 * with microsecond times. Clocks are aligned per rank at start (t0), which is
 * close enough to read overlap between compute and communication. A run that
 * ends abnormally cannot gather: each rank still alive writes its own row
 * (nn_timeline_write_own), with an instant event saying why. */
#define _POSIX_C_SOURCE 200809L
#include "nntrain/timeline.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "nntrain/clock.h"
#include "nntrain/tmpfile.h"

const char *const nn_timeline_kinds[] = {"data", "forward+backward", "allreduce wait",
                                         "optimizer", "validation"};

int nn_timeline_start(nn_timeline *tl, size_t cap, nn_error *e)
{
    memset(tl, 0, sizeof *tl);
    tl->ev = malloc(cap * sizeof *tl->ev);
    if (!tl->ev)
        return nn_err(e, NN_ENOMEM, "cannot allocate the timeline (%zu events)", cap);
    tl->cap = cap;
    tl->t0 = nn_now();
    return NN_OK;
}

void nn_timeline_add(nn_timeline *tl, int kind, double start, double end)
{
    if (!tl || !tl->ev)
        return;
    if (tl->n == tl->cap) {
        tl->dropped++;
        return;
    }
    nn_tl_event *v = &tl->ev[tl->n++];
    v->kind = kind;
    v->t = start - tl->t0;
    v->dur = end - start;
}

/* The rows of ranks r0 .. r0 + nranks - 1 (counts[i] events each, in ev),
 * then an instant event at time at on the last row saying why (if not NULL). */
static int write_json(const nn_tl_event *ev, const int *counts, int r0, int nranks,
                      const char *why, double at, const char *path, nn_error *e)
{
    char tmp[NN_TMP_NAME_MAX];
    FILE *f = nn_tmp_fopen(path, tmp, sizeof tmp);
    if (!f)
        return nn_err(e, NN_EIO, "cannot write timeline '%s': %s", tmp, strerror(errno));
    fprintf(f, "{\"displayTimeUnit\": \"ms\", \"traceEvents\": [\n");
    int first = 1;
    for (int r = r0; r < r0 + nranks; r++)
        fprintf(f, "%s{\"name\": \"thread_name\", \"ph\": \"M\", \"pid\": 0, \"tid\": %d, \"args\": {\"name\": \"rank %d\"}}",
                first ? (first = 0, "") : ",\n", r, r);
    size_t k = 0;
    for (int r = r0; r < r0 + nranks; r++)
        for (int i = 0; i < counts[r - r0]; i++, k++)
            fprintf(f, ",\n{\"name\": \"%s\", \"ph\": \"X\", \"pid\": 0, \"tid\": %d, \"ts\": %.1f, \"dur\": %.1f}",
                    nn_timeline_kinds[ev[k].kind], r, ev[k].t * 1e6, ev[k].dur * 1e6);
    if (why) {   /* our own text, but keep the JSON valid whatever it holds */
        fprintf(f, ",\n{\"name\": \"");
        for (const char *c = why; *c; c++)
            if (*c == '"' || *c == '\\')
                fprintf(f, "\\%c", *c);
            else if ((unsigned char)*c >= 0x20)
                fputc(*c, f);
        fprintf(f, "\", \"ph\": \"i\", \"s\": \"t\", \"pid\": 0, \"tid\": %d, \"ts\": %.1f}",
                r0 + nranks - 1, at * 1e6);
    }
    fprintf(f, "\n]}\n");
    if (nn_tmp_fclose(f, tmp, 0) || nn_tmp_commit(tmp, path))
        return nn_err(e, NN_EIO, "error writing timeline '%s'", path);
    return NN_OK;
}

void nn_timeline_own_path(const char *path, int rank, char *out, size_t len)
{
    if (rank == 0)
        snprintf(out, len, "%s", path);
    else
        snprintf(out, len, "%s.rank%d", path, rank);
}

int nn_timeline_write_own(nn_timeline *tl, int rank, const char *path, const char *why,
                          nn_error *e)
{
    char own[4096];
    nn_timeline_own_path(path, rank, own, sizeof own);
    int count = (int)tl->n;
    tl->own_written = 1;
    return write_json(tl->ev, &count, rank, 1, why, nn_now() - tl->t0, own, e);
}

int nn_timeline_write(nn_timeline *tl, nn_dist *d, const char *path, nn_error *e)
{
    int ranks = d->active ? d->size : 1, mine = (int)tl->n, rc;
    int *counts = calloc((size_t)ranks, sizeof *counts);
    int *displs = calloc((size_t)ranks, sizeof *displs);
    if (!counts || !displs) {
        free(counts);
        free(displs);
        return nn_dist_agree(d, nn_err(e, NN_ENOMEM, "out of memory"), e);
    }
    if (d->active && d->size > 1) {
        rc = MPI_Gather(&mine, 1, MPI_INT, counts, 1, MPI_INT, 0, d->comm);
    } else {
        counts[0] = mine;
        rc = MPI_SUCCESS;
    }
    size_t total = 0;
    for (int r = 0; r < ranks; r++) {
        displs[r] = (int)(total * sizeof(nn_tl_event));
        total += (size_t)counts[r];
    }
    nn_tl_event *all = d->rank == 0 ? malloc((total + 1) * sizeof *all) : NULL;
    if (d->active && d->size > 1 && rc == MPI_SUCCESS) {
        int *bytes = malloc((size_t)ranks * sizeof *bytes);
        for (int r = 0; bytes && r < ranks; r++)
            bytes[r] = counts[r] * (int)sizeof(nn_tl_event);
        rc = MPI_Gatherv(tl->ev, mine * (int)sizeof(nn_tl_event), MPI_BYTE, all, bytes, displs,
                         MPI_BYTE, 0, d->comm);
        free(bytes);
    } else if (all) {
        memcpy(all, tl->ev, total * sizeof *all);
    }
    int st = rc == MPI_SUCCESS ? NN_OK : nn_err(e, NN_EMPI, "gathering the timeline failed");
    if (!st && d->rank == 0)
        st = all ? write_json(all, counts, 0, ranks, NULL, 0, path, e)
                 : nn_err(e, NN_ENOMEM, "out of memory for %zu timeline events", total);
    free(all);
    free(counts);
    free(displs);
    st = nn_dist_agree(d, st, e);
    if (!st && tl->own_written && d->rank > 0) {   /* the whole trace replaces it */
        char own[4096];
        nn_timeline_own_path(path, d->rank, own, sizeof own);
        unlink(own);
    }
    return st;
}

void nn_timeline_free(nn_timeline *tl)
{
    free(tl->ev);
    memset(tl, 0, sizeof *tl);
}
