/* A Chrome trace (chrome://tracing, Perfetto) of where each rank's time goes:
 * data, forward/backward, waiting for the allreduce, optimizer, validation.
 * Events are recorded into a buffer allocated up front (full = dropped) and
 * gathered to rank 0, which writes one JSON file with one row per rank. */
#ifndef NNTRAIN_TIMELINE_H
#define NNTRAIN_TIMELINE_H

#include <stddef.h>

#include "nntrain/dist.h"
#include "nntrain/error.h"

typedef struct nn_tl_event {
    int kind;            /* index into nn_timeline_kinds */
    double t, dur;       /* seconds since the timeline started */
} nn_tl_event;

enum { NN_TL_DATA = 0, NN_TL_COMPUTE, NN_TL_ALLREDUCE, NN_TL_OPTIM, NN_TL_VALIDATE,
       NN_TL_KINDS };
extern const char *const nn_timeline_kinds[];

typedef struct nn_timeline {
    double t0;
    size_t n, cap, dropped;
    nn_tl_event *ev;
    int own_written;     /* nn_timeline_write_own was called */
} nn_timeline;

/* cap events; returns NN_ENOMEM on failure. */
int nn_timeline_start(nn_timeline *tl, size_t cap, nn_error *e);
/* Records [start, end) (nn_now() values); a no-op for a NULL or full timeline. */
void nn_timeline_add(nn_timeline *tl, int kind, double start, double end);
/* Collective over d: rank 0 writes path (temporary name, then rename). */
int nn_timeline_write(nn_timeline *tl, nn_dist *d, const char *path, nn_error *e);
/* Not collective: this rank's events only, for a run that ends abnormally
 * (a stall, a rank gone) where the ranks cannot gather. Rank 0 writes path,
 * rank R > 0 path.rankR (see nn_timeline_own_path), through a temporary
 * name; why (if not NULL) ends the row as an instant event. A later
 * nn_timeline_write of the whole run removes the path.rankR files. */
int nn_timeline_write_own(nn_timeline *tl, int rank, const char *path, const char *why,
                          nn_error *e);
/* The file nn_timeline_write_own writes for rank (len bytes into out). */
void nn_timeline_own_path(const char *path, int rank, char *out, size_t len);
void nn_timeline_free(nn_timeline *tl);

#endif
