/* Chrome-trace timeline: each rank's events gathered to rank 0, written as
 * {"traceEvents": [{"name", "ph": "X", "pid": 0, "tid": rank, "ts", "dur"}]}
 * with microsecond times. Clocks are aligned per rank at start (t0), which is
 * close enough to read overlap between compute and communication. */
#include "nntrain/timeline.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

static int write_json(const nn_tl_event *ev, const int *counts, int ranks, const char *path,
                      nn_error *e)
{
    char tmp[NN_TMP_NAME_MAX];
    FILE *f = nn_tmp_fopen(path, tmp, sizeof tmp);
    if (!f)
        return nn_err(e, NN_EIO, "cannot write timeline '%s': %s", tmp, strerror(errno));
    fprintf(f, "{\"displayTimeUnit\": \"ms\", \"traceEvents\": [\n");
    int first = 1;
    for (int r = 0; r < ranks; r++)
        fprintf(f, "%s{\"name\": \"thread_name\", \"ph\": \"M\", \"pid\": 0, \"tid\": %d, \"args\": {\"name\": \"rank %d\"}}",
                first ? (first = 0, "") : ",\n", r, r);
    size_t k = 0;
    for (int r = 0; r < ranks; r++)
        for (int i = 0; i < counts[r]; i++, k++)
            fprintf(f, ",\n{\"name\": \"%s\", \"ph\": \"X\", \"pid\": 0, \"tid\": %d, \"ts\": %.1f, \"dur\": %.1f}",
                    nn_timeline_kinds[ev[k].kind], r, ev[k].t * 1e6, ev[k].dur * 1e6);
    fprintf(f, "\n]}\n");
    if (nn_tmp_fclose(f, tmp, 0) || nn_tmp_commit(tmp, path))
        return nn_err(e, NN_EIO, "error writing timeline '%s'", path);
    return NN_OK;
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
        st = all ? write_json(all, counts, ranks, path, e)
                 : nn_err(e, NN_ENOMEM, "out of memory for %zu timeline events", total);
    free(all);
    free(counts);
    free(displs);
    return nn_dist_agree(d, st, e);
}

void nn_timeline_free(nn_timeline *tl)
{
    free(tl->ev);
    memset(tl, 0, sizeof *tl);
}
