/* FNV-1a 64: the one hash of byte strings (duplicate samples in converters
 * and image folders, the dataset checksum attribute, the check that every
 * rank runs the same command). Not cryptographic. */
#ifndef NNTRAIN_HASH_H
#define NNTRAIN_HASH_H

#include <stddef.h>
#include <stdint.h>

#define NN_FNV_INIT 0xcbf29ce484222325ULL   /* FNV-1a 64 offset basis */

/* FNV-1a 64 of n bytes at p, continuing from h (start with NN_FNV_INIT). */
uint64_t nn_fnv1a(uint64_t h, const void *p, size_t n);

/* FNV-1a 64 of the string s with its terminating NUL (NULL hashes as ""),
 * continuing from h: the NUL keeps a list of strings apart ("ab", "c" and
 * "a", "bc" differ). */
uint64_t nn_fnv1a_str(uint64_t h, const char *s);

#endif
