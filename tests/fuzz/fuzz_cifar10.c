/* Fuzz target: the CIFAR-10 binary batch reader inside nn_convert_cifar10
 * (records of 1 label byte + 3072 channel-planar pixels, optional
 * batches.meta.txt class names), converted to an .h5 that must load again.
 * Input: u16 LE length L, L bytes of batches.meta.txt (no file when L = 0),
 * then data_batch_1.bin (the rest). */
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fuzz_util.h"
#include "nntrain/convert.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    size_t L = nn_fuzz_take_u16(&data, &size);
    if (L > size)
        L = size;
    const char *dir = nn_fuzz_path(0, "cifar");
    const char *meta = nn_fuzz_path(1, "cifar/batches.meta.txt");
    const char *batch = nn_fuzz_path(2, "cifar/data_batch_1.bin");
    const char *out = nn_fuzz_path(3, "cifar.h5");
    nn_fuzz_rmdir("cifar");
    unlink(out);
    mkdir(dir, 0700);
    if (L)
        nn_fuzz_write(meta, data, L);
    nn_fuzz_write(batch, data + L, size - L);
    nn_convert_stats st;
    nn_error e = {0};
    int rc = nn_convert_cifar10(dir, out, NULL, &st, &e);
    nn_fuzz_check(rc, &e, "nn_convert_cifar10");
    if (!rc) {
        size_t nrec = (size - L) / 3073;
        if (st.split[0].n_read != nrec || st.split[0].n_written != nrec)
            nn_fuzz_fail("%zu records in the batch, %zu read, %zu written", nrec,
                         st.split[0].n_read, st.split[0].n_written);
        nn_h5_file f;
        nn_error e2 = {0};
        rc = nn_h5_load(out, &f, &e2);
        nn_fuzz_check(rc, &e2, "nn_h5_load(converted)");
        if (rc)
            nn_fuzz_fail("the converted file does not load: %s", e2.msg);
        else if (f.nsplits != 1 || f.split[0].s.n != nrec)
            nn_fuzz_fail("the converted file has %d splits, %zu samples", f.nsplits,
                         f.split[0].s.n);
        nn_h5_file_free(&f);
    } else if (access(out, F_OK) == 0) {
        nn_fuzz_fail("nn_convert_cifar10 failed but left %s", out);
    }
    return 0;
}
