/* Inside the Keras JSON import: the per-layer and compile emitters of
 * keras_json.c, shared with the functional model path of keras_graph.c. */
#ifndef NNTRAIN_IO_KERAS_JSON_H
#define NNTRAIN_IO_KERAS_JSON_H

#include <cjson/cJSON.h>

#include "nntrain/keras.h"
#include "nntrain/strbuf.h"

#define KJ_MAX_NOTES 8

typedef struct jctx {
    const char *where;      /* "file.h5:model_config" */
    nn_error *e;
    nn_strbuf *b;           /* the spec text being written */
    const char *lname, *lclass;
    int first;              /* first layer: batch_input_shape is its input */
    int have_input;
    int functional;         /* a Model/Functional config: the InputLayer keeps its name */
    int nnotes;             /* what was left out (training_config), for the spec's notes */
    char notes[KJ_MAX_NOTES][512];
} jctx;

/* Shared by the emitters: an error "where: [Keras layer 'n' (Class): ]msg";
 * a short JSON text for messages; a string the spec parser can hold (no
 * quote, no line break); key's value in spec syntax (lists as tuples). */
int kj_err(jctx *c, int code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
const char *kj_show(const cJSON *v, char *buf, size_t len);
int kj_str_ok(const char *s);
int kj_emit_value(jctx *c, const char *key, const cJSON *v, int depth);

/* One entry of config.layers -> one spec call appended to c->b, without
 * the line break. Unsupported layers and options: NN_EINVAL naming both. */
int kj_emit_layer(jctx *c, const cJSON *L);
/* training_config -> a compile(...) line (nothing when not compiled;
 * keras_compile.c). What nntrain cannot train with (an optimizer, option or
 * loss it does not have) is left out with a note, so the model still loads
 * for summary, predict and evaluate; malformed JSON is still an error. */
int kj_emit_compile(jctx *c, const cJSON *tc);
/* A functional model_config's config -> out (keras_graph.c): spec text in
 * the Python functional spelling, parsed: the Input call first, the layer
 * calls with their inputs, a Model call taking the output layer, compile. */
int kj_functional_spec(jctx *c, const cJSON *cf, const cJSON *tc, nn_spec *out);

#endif
