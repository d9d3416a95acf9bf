/* Monotonic clock for step timings (MPI_Wtime is not usable before MPI_Init). */
#define _POSIX_C_SOURCE 200809L
#include "nntrain/clock.h"

#include <time.h>

double nn_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}
