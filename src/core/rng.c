/* Counter-keyed RNG: splitmix64 over a key hashed from (seed, a, b, c).
 * Streams never depend on the MPI rank, only on what is being randomised. */
#include "nntrain/rng.h"

#include <math.h>

static uint64_t mix(uint64_t z)
{
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

nn_rng nn_rng_key(uint64_t seed, uint64_t a, uint64_t b, uint64_t c)
{
    uint64_t h = mix(seed + 0x9e3779b97f4a7c15ULL);
    h = mix(h ^ (a + 0x632be59bd9b4e019ULL));
    h = mix(h ^ (b + 0x8cb92ba72f3d8dd7ULL));
    h = mix(h ^ (c + 0x2545f4914f6cdd1dULL));
    nn_rng r = {h};
    return r;
}

uint64_t nn_rng_u64(nn_rng *r)
{
    r->s += 0x9e3779b97f4a7c15ULL;
    return mix(r->s);
}

float nn_rng_uniform(nn_rng *r)
{
    return (float)(nn_rng_u64(r) >> 40) * (1.0f / 16777216.0f);
}

double nn_rng_uniform_d(nn_rng *r)
{
    return (double)(nn_rng_u64(r) >> 11) * (1.0 / 9007199254740992.0);
}

float nn_rng_normal(nn_rng *r)
{
    /* Box-Muller; 1 - u keeps the log argument in (0, 1]. */
    double u = 1.0 - nn_rng_uniform_d(r), v = nn_rng_uniform_d(r);
    return (float)(sqrt(-2.0 * log(u)) * cos(6.283185307179586 * v));
}

float nn_rng_truncnormal(nn_rng *r)
{
    float x;
    do
        x = nn_rng_normal(r);
    while (x < -2.0f || x > 2.0f);
    return x;
}

uint64_t nn_rng_below(nn_rng *r, uint64_t n)
{
    /* Rejection keeps it unbiased. */
    uint64_t lim = UINT64_MAX - UINT64_MAX % n, x;
    do
        x = nn_rng_u64(r);
    while (x >= lim);
    return x % n;
}

void nn_rng_permutation(nn_rng *r, uint64_t *perm, uint64_t n)
{
    for (uint64_t i = 0; i < n; i++)
        perm[i] = i;
    for (uint64_t i = n; i > 1; i--) {
        uint64_t j = nn_rng_below(r, i);
        uint64_t t = perm[i - 1];
        perm[i - 1] = perm[j];
        perm[j] = t;
    }
}
