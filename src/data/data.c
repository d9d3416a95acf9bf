/* nn_data_open: maps a source string and a split ("train"/"test") onto a
 * dataset reader, so the CLI and the trainer never care which format a
 * dataset comes in. Accepted: "synthetic:sqrt[:N]", a directory of IDX files
 * and nntrain HDF5 files (*.h5, *.hdf5: the /train or /test group). */
#define _POSIX_C_SOURCE 200809L

#include "nntrain/data.h"
#include "nntrain/h5data.h"
#include "nntrain/rng.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define SQRT_PREFIX "synthetic:sqrt"
#define SQRT_TRAIN_DEFAULT 1000
#define SQRT_TEST_N 200
#define SQRT_MAX_N 1000000000ULL

#define ACCEPTED "expected an nntrain HDF5 file (*.h5, see nntrain convert), a directory " \
                 "with IDX files (train-images-idx3-ubyte[.gz], train-labels-idx1-ubyte[.gz], " \
                 "t10k-...) or synthetic:sqrt[:N]"

static int ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), k = strlen(suffix);
    return n >= k && strcmp(s + n - k, suffix) == 0;
}

static int open_sqrt(const char *src, int test, uint64_t seed, nn_dataset *d,
                     nn_error *e)
{
    const char *rest = src + strlen(SQRT_PREFIX);
    unsigned long long n = SQRT_TRAIN_DEFAULT;
    if (*rest == ':') {
        char *end = NULL;
        errno = 0;
        /* strtoull accepts a sign and spaces; require a plain digit first. */
        if (rest[1] < '0' || rest[1] > '9')
            return nn_err(e, NN_EINVAL, "%s: bad sample count '%s': expected "
                          "synthetic:sqrt:N with N a positive integer", src, rest + 1);
        n = strtoull(rest + 1, &end, 10);
        if (errno || *end != '\0' || n == 0 || n > SQRT_MAX_N)
            return nn_err(e, NN_EINVAL, "%s: bad sample count '%s': expected "
                          "synthetic:sqrt:N with 1 <= N <= %llu", src, rest + 1,
                          SQRT_MAX_N);
    }
    if (test) {
        /* The test split has a fixed size and its own stream: derive a seed
         * from (seed, "test") so it never repeats the training x values. */
        nn_rng r = nn_rng_key(seed, 0x7e57, 0, 0);
        return nn_sqrt_open(SQRT_TEST_N, nn_rng_u64(&r), d, e);
    }
    return nn_sqrt_open((size_t)n, seed, d, e);
}

int nn_data_open(const char *src, const char *split, uint64_t seed, nn_dataset *d,
                 nn_error *e)
{
    if (!d)
        return nn_err(e, NN_EINVAL, "nn_data_open: dataset pointer is NULL");
    memset(d, 0, sizeof *d);
    if (!src || !*src)
        return nn_err(e, NN_EINVAL, "nn_data_open: empty data source: " ACCEPTED);
    if (!split || (strcmp(split, "train") != 0 && strcmp(split, "test") != 0))
        return nn_err(e, NN_EINVAL, "%s: unknown split '%s': expected train or test",
                      src, split ? split : "(null)");
    int test = strcmp(split, "test") == 0;

    if (strcmp(src, SQRT_PREFIX) == 0 ||
        strncmp(src, SQRT_PREFIX ":", strlen(SQRT_PREFIX ":")) == 0)
        return open_sqrt(src, test, seed, d, e);
    if (strncmp(src, "synthetic:", strlen("synthetic:")) == 0)
        return nn_err(e, NN_EIO, "%s: unknown synthetic dataset: expected synthetic:sqrt[:N]",
                      src);
    if (ends_with(src, ".h5") || ends_with(src, ".hdf5"))
        return nn_h5_open(src, split, d, e);

    struct stat st;
    if (stat(src, &st) == 0 && S_ISDIR(st.st_mode))
        return nn_idx_open_dir(src, test ? "t10k" : "train", d, e);
    if (stat(src, &st) != 0)
        return nn_err(e, NN_EIO, "%s: no such file or directory: " ACCEPTED, src);
    return nn_err(e, NN_EIO, "%s: unknown data source (not a directory): " ACCEPTED, src);
}

void nn_data_close(nn_dataset *d)
{
    if (!d)
        return;
    if (d->close)
        d->close(d);
    memset(d, 0, sizeof *d);
}

int nn_data_check_read(const nn_dataset *d, size_t n, const uint64_t *idx, int count,
                       nn_error *e)
{
    if (!d->priv)
        return nn_err(e, NN_EINVAL, "%s: dataset is closed", d->source);
    if (count < 0 || (count > 0 && !idx))
        return nn_err(e, NN_EINVAL, "%s: bad read request (count %d)", d->source, count);
    for (int i = 0; i < count; i++)
        if (idx[i] >= (uint64_t)n)
            return nn_err(e, NN_EINVAL,
                          "%s: sample index %llu (position %d of the request) out of "
                          "range: dataset has %zu samples", d->source,
                          (unsigned long long)idx[i], i, n);
    return NN_OK;
}
