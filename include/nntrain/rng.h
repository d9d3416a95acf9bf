/* Counter-keyed random numbers. Every stream is keyed by values that do not
 * depend on the MPI rank, e.g. (seed, epoch, sample index, layer), so 1 and N
 * ranks draw the same numbers for the same sample. */
#ifndef NNTRAIN_RNG_H
#define NNTRAIN_RNG_H

#include <stdint.h>

typedef struct nn_rng {
    uint64_t s;
} nn_rng;

/* The i-th draw (from 0) of nn_rng_u64 on a stream in state r, without
 * advancing it: a pure function of i, so loops over i vectorise. */
static inline uint64_t nn_rng_at(nn_rng r, uint64_t i)
{
    uint64_t z = r.s + (i + 1) * 0x9e3779b97f4a7c15ULL;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

/* A stream keyed by up to four integers (unused ones 0). */
nn_rng nn_rng_key(uint64_t seed, uint64_t a, uint64_t b, uint64_t c);
uint64_t nn_rng_u64(nn_rng *r);
float nn_rng_uniform(nn_rng *r);            /* [0, 1) */
double nn_rng_uniform_d(nn_rng *r);         /* [0, 1), 53 bits */
float nn_rng_normal(nn_rng *r);             /* N(0, 1) */
float nn_rng_truncnormal(nn_rng *r);        /* N(0,1) redrawn outside [-2, 2] */
uint64_t nn_rng_below(nn_rng *r, uint64_t n); /* uniform in [0, n) */
/* Fisher-Yates permutation of 0..n-1 from one stream. */
void nn_rng_permutation(nn_rng *r, uint64_t *perm, uint64_t n);

#endif
