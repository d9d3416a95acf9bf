/* Fuzz target: the Keras JSON config loader (nn_keras_json_to_spec), as a
 * checkpoint saved by Keras reaches it, then the model builder.
 * Input: model_config JSON, optionally a NUL byte and a training_config. */
#include <stdlib.h>
#include <string.h>

#include "fuzz_util.h"
#include "nntrain/keras.h"
#include "nntrain/model.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = malloc(size + 2);
    if (!text)
        return 0;
    memcpy(text, data, size);
    text[size] = text[size + 1] = 0;
    const char *nul = memchr(text, 0, size);
    const char *tc = nul && nul < text + size ? nul + 1 : NULL;
    nn_spec s;
    nn_error e = {0};
    int rc = nn_keras_json_to_spec(text, tc, "fuzz.h5:model_config", &s, &e);
    nn_fuzz_check(rc, &e, "nn_keras_json_to_spec");
    if (!rc) {
        nn_model m;
        nn_error e2 = {0};
        rc = nn_model_build(&m, &s, &e2);
        nn_fuzz_check(rc, &e2, "nn_model_build");
        if (!rc)
            nn_model_free(&m);
        nn_spec_free(&s);
    }
    free(text);
    return 0;
}
