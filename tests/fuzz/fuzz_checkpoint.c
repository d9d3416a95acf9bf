/* Fuzz target: the checkpoint reader: nn_ckpt_load_model (the /nntrain spec
 * or the Keras model_config JSON, the model, every weight by layer name and
 * shape), then nn_ckpt_load_state (optimizer slots, counters, history) as
 * --resume reads it, and nn_ckpt_read_spec. Malformed files that HDF5
 * itself opens. Input: the .h5 file. */
#include <stdlib.h>

#include "fuzz_util.h"
#include "nntrain/checkpoint.h"
#include "nntrain/model.h"
#include "nntrain/history.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *path = nn_fuzz_path(0, "ckpt.h5");
    nn_fuzz_write(path, data, size);
    nn_model m;
    nn_error e = {0};
    int rc = nn_ckpt_load_model(path, &m, &e);
    nn_fuzz_check(rc, &e, "nn_ckpt_load_model");
    if (!rc) {
        nn_error e2 = {0};
        if (m.compiled && nn_optim_alloc(&m.optim, m.nparams, &e2) == NN_OK) {
            nn_train_state st;
            nn_history h = {0};
            nn_error e3 = {0};
            rc = nn_ckpt_load_state(path, &m, &st, &h, &e3);
            nn_fuzz_check(rc, &e3, "nn_ckpt_load_state");
            nn_history_free(&h);
        }
        nn_model_free(&m);
    }
    nn_error e4 = {0};
    char *spec = nn_ckpt_read_spec(path, &e4);
    if (!spec)
        nn_fuzz_check(e4.code ? e4.code : NN_EINVAL, &e4, "nn_ckpt_read_spec");
    free(spec);
    return 0;
}
