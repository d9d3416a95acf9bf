/* fit(callbacks=...) entries other than ModelCheckpoint, in Python and R
 * spellings (src/train/callbacks_spec.c). */
#ifndef NNTRAIN_TRAIN_CALLBACKS_SPEC_H
#define NNTRAIN_TRAIN_CALLBACKS_SPEC_H

#include "nntrain/callbacks.h"
#include "nntrain/spec.h"

/* 1 when fn names ModelCheckpoint (its own parser is in model_build.c). */
int nn_cb_is_checkpoint(const char *fn);
/* Binds one EarlyStopping, ReduceLROnPlateau, CSVLogger or TerminateOnNaN
 * call into c; an unknown callback is an error with "did you mean" and the
 * known names; a second one of a kind is an error. */
int nn_cb_from_call(nn_callbacks *c, const nn_call *call, nn_error *e);

#endif
