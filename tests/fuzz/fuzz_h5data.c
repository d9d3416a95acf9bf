/* Fuzz target: the HDF5 dataset reader (nn_h5_open: schema checks, labels,
 * sharded sample reads) and the whole-file loader (nn_h5_load, used by
 * inspect and split) on malformed files that HDF5 itself opens.
 * Input: the .h5 file. */
#include <stdlib.h>

#include "fuzz_util.h"
#include "nntrain/convert.h"
#include "nntrain/h5data.h"

/* Samples 0 and n-1 of a split, then an index past the end. */
static void read_some(nn_dataset *d)
{
    size_t per = nn_shape_size(&d->x_shape);
    if (d->n < 1 || per < 1 || d->ydim < 1)
        nn_fuzz_fail("nn_h5_open: n %zu, %zu values per sample, ydim %d", d->n, per, d->ydim);
    if (per > ((size_t)1 << 20) || d->ydim > 4096)
        return;   /* what a real batch would need; the file is tiny */
    uint64_t idx[3] = {d->n - 1, 0, d->n};
    float *x = malloc(2 * per * sizeof *x), *y = malloc(2 * (size_t)d->ydim * sizeof *y);
    if (x && y) {
        nn_error e = {0};
        int rc = d->read(d, idx, 2, x, y, &e);
        nn_fuzz_check(rc, &e, "h5 read");   /* HDF5 may still find a bad chunk here */
        for (int i = 0; !rc && d->nclasses > 0 && i < 2; i++)
            if (!(y[i] >= 0 && y[i] < d->nclasses))
                nn_fuzz_fail("label %g outside 0..%d", y[i], d->nclasses - 1);
        nn_error e2 = {0};
        if (d->read(d, idx + 2, 1, x, y, &e2) != NN_EINVAL)
            nn_fuzz_fail("reading sample n = %zu did not fail", d->n);
    }
    free(x);
    free(y);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *path = nn_fuzz_path(0, "data.h5");
    nn_fuzz_write(path, data, size);
    static const char *const splits[2] = {"train", "test"};
    for (int k = 0; k < 2; k++) {
        nn_dataset d;
        nn_error e = {0};
        int rc = nn_h5_open(path, splits[k], &d, &e);
        nn_fuzz_check(rc, &e, "nn_h5_open");
        if (!rc) {
            read_some(&d);
            nn_data_close(&d);
        }
    }
    nn_h5_file f;
    nn_error e = {0};
    int rc = nn_h5_load(path, &f, &e);
    nn_fuzz_check(rc, &e, "nn_h5_load");
    nn_h5_file_free(&f);
    return 0;
}
