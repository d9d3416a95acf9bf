/* FNV-1a 64 (see hash.h): the project's one implementation. */
#include "nntrain/hash.h"

#include <string.h>

#define FNV_PRIME 0x100000001b3ULL

uint64_t nn_fnv1a(uint64_t h, const void *p, size_t n)
{
    const unsigned char *b = p;
    for (size_t i = 0; i < n; i++)
        h = (h ^ b[i]) * FNV_PRIME;
    return h;
}

uint64_t nn_fnv1a_str(uint64_t h, const char *s)
{
    s = s ? s : "";
    return nn_fnv1a(h, s, strlen(s) + 1);
}
