/* The callbacks' state in a checkpoint (src/io/ckpt_callbacks.c). */
#ifndef NNTRAIN_IO_CKPT_CALLBACKS_H
#define NNTRAIN_IO_CKPT_CALLBACKS_H

#include <hdf5.h>

#include "nntrain/callbacks.h"

/* Writes group "callbacks" under g; 0 or -1. */
int ck_put_callbacks(hid_t g, const nn_cb_state *s);

#endif
