/* Fuzz target: the model-spec parser (nn_spec_parse) and everything a spec
 * reaches before training: the model builder (layer options, shapes,
 * compile(), fit(), ImageDataGenerator()), the Keras JSON export of a built
 * model and its import back (which must give the same parameter count). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_util.h"
#include "nntrain/checkpoint.h"
#include "nntrain/keras.h"
#include "nntrain/model.h"
#include "nntrain/spec.h"

/* JSON export and import of a built model: same parameter count. */
static void round_trip(const nn_model *m, const char *text)
{
    nn_error e = {0};
    char *mc = nn_model_to_keras_json(m, text, &e);
    if (!mc) {
        nn_fuzz_check(e.code ? e.code : NN_EINVAL, &e, "nn_model_to_keras_json");
        return;
    }
    nn_error e2 = {0};
    char *tc = m->compiled ? nn_model_training_config_json(m, &e2) : NULL;
    if (m->compiled && !tc)
        nn_fuzz_check(e2.code ? e2.code : NN_EINVAL, &e2, "nn_model_training_config_json");
    nn_spec s2;
    nn_error e3 = {0};
    int rc = nn_keras_json_to_spec(mc, tc, "fuzz:model_config", &s2, &e3);
    nn_fuzz_check(rc, &e3, "nn_keras_json_to_spec(export)");
    if (!rc) {
        nn_model m2;
        nn_error e4 = {0};
        rc = nn_model_build(&m2, &s2, &e4);
        nn_fuzz_check(rc, &e4, "nn_model_build(export)");
        if (rc)
            nn_fuzz_fail("a built model's own Keras JSON does not build again: %s\n%s", e4.msg,
                         mc);
        else if (m2.nparams != m->nparams)
            nn_fuzz_fail("Keras JSON round trip changed the parameter count %zu -> %zu",
                         m->nparams, m2.nparams);
        if (!rc)
            nn_model_free(&m2);
        nn_spec_free(&s2);
    }
    free(tc);
    free(mc);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = malloc(size + 1);
    if (!text)
        return 0;
    memcpy(text, data, size);
    text[size] = 0;
    nn_spec s;
    nn_error e = {0};
    int rc = nn_spec_parse(text, "fuzz.nn", &s, &e);
    nn_fuzz_check(rc, &e, "nn_spec_parse");
    if (!rc) {
        nn_model m;
        nn_error e2 = {0};
        rc = nn_model_build(&m, &s, &e2);
        nn_fuzz_check(rc, &e2, "nn_model_build");
        if (!rc) {
            FILE *devnull = fopen("/dev/null", "w");
            if (devnull) {
                nn_model_summary(&m, devnull);
                fclose(devnull);
            }
            round_trip(&m, s.text);
            nn_model_free(&m);
        }
        nn_spec_free(&s);
    }
    free(text);
    return 0;
}
