/* Fuzz target: the IDX reader (nn_idx_open: MNIST images + labels files,
 * plain or gzip) and reads of its samples.
 * Input: u16 LE length L, then L bytes of the images file, then the labels
 * file (the rest). Either file may be gzip (zlib reads both forms). */
#include <stdlib.h>

#include "fuzz_util.h"
#include "nntrain/data.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    size_t L = nn_fuzz_take_u16(&data, &size);
    if (L > size)
        L = size;
    const char *img = nn_fuzz_path(0, "train-images-idx3-ubyte");
    const char *lab = nn_fuzz_path(1, "train-labels-idx1-ubyte");
    nn_fuzz_write(img, data, L);
    nn_fuzz_write(lab, data + L, size - L);
    nn_dataset d;
    nn_error e = {0};
    int rc = nn_idx_open(img, lab, &d, &e);
    nn_fuzz_check(rc, &e, "nn_idx_open");
    if (rc)
        return 0;
    size_t per = nn_shape_size(&d.x_shape);
    if (d.n < 1 || per < 1 || d.ydim != 1 || d.nclasses < 1)
        nn_fuzz_fail("nn_idx_open: n %zu, %zu values per sample, ydim %d, %d classes", d.n,
                     per, d.ydim, d.nclasses);
    /* the first, the last and an out-of-range sample */
    uint64_t idx[3] = {0, d.n - 1, d.n};
    float *x = malloc(2 * per * sizeof *x), y[3];
    if (x) {
        nn_error e2 = {0};
        rc = d.read(&d, idx, 2, x, y, &e2);
        nn_fuzz_check(rc, &e2, "idx read");
        if (rc)
            nn_fuzz_fail("reading samples 0 and n-1 failed: %s", e2.msg);
        for (int i = 0; !rc && i < 2; i++)
            if (!(y[i] >= 0 && y[i] < d.nclasses))
                nn_fuzz_fail("label %g outside 0..%d", y[i], d.nclasses - 1);
        nn_error e3 = {0};
        if (d.read(&d, idx + 2, 1, x, y, &e3) != NN_EINVAL)
            nn_fuzz_fail("reading sample n = %zu did not fail", d.n);
        free(x);
    }
    nn_data_close(&d);
    return 0;
}
