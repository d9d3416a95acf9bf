/* Shared helpers of the fuzz targets (tests/fuzz/fuzz_<target>.c).
 *
 * Each target defines LLVMFuzzerTestOneInput and feeds the bytes to a real
 * nntrain reader: text readers get a NUL-terminated copy, file readers a
 * file in a private temporary directory. Built two ways:
 *   - with clang -fsanitize=fuzzer,address,undefined (-DNN_FUZZ=ON,
 *     scripts/fuzz.sh): a failed invariant aborts, so libFuzzer keeps the
 *     input as a crash;
 *   - into tests/fuzz/replay.c for the normal CTest suite
 *     (NN_FUZZ_REPLAY, the entry point renamed per target): the committed
 *     seeds and every crash input found so far are replayed, and a failed
 *     invariant is counted as a test failure.
 * The invariant checked after every call: it returns NN_OK or one of the
 * NN_E* codes, and an error comes with a message. */
#ifndef NNTRAIN_FUZZ_UTIL_H
#define NNTRAIN_FUZZ_UTIL_H

#include <stddef.h>
#include <stdint.h>

#include "nntrain/error.h"

/* The private temporary directory (created on first use, removed at exit). */
const char *nn_fuzz_dir(void);
/* "<dir>/<name>" in a static buffer per slot (slot 0..7). */
const char *nn_fuzz_path(int slot, const char *name);
/* Writes n bytes to path (0 on success; aborts the input on failure). */
int nn_fuzz_write(const char *path, const uint8_t *p, size_t n);
/* Removes every file under dir/sub (one level) and sub itself. */
void nn_fuzz_rmdir(const char *sub);
/* rc is NN_OK or an NN_E* code; an error has a non-empty message. With
 * NN_FUZZ_VERBOSE set in the environment every call and message is printed
 * (to see what a seed or a crash input reaches). */
void nn_fuzz_check(int rc, const nn_error *e, const char *call);
/* Reports a broken invariant: aborts under libFuzzer, counts in replay. */
void nn_fuzz_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Broken invariants so far (replay only). */
extern int nn_fuzz_failures;

/* Reads a little-endian u16 from the first bytes of data (0 if too short)
 * and advances past it: used to cut one input into two files. */
size_t nn_fuzz_take_u16(const uint8_t **data, size_t *size);

#endif
