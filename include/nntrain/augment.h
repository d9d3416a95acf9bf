/* On-the-fly image augmentation for training samples (Keras
 * ImageDataGenerator names). Configured by a spec line such as
 *   ImageDataGenerator(horizontal_flip=True, rotation_range=20, zoom_range=0.1)
 * Random numbers come from nn_rng_key(seed, epoch, sample index, ...), never
 * from the rank, so np = 1 and np = N see the same augmented images. */
#ifndef NNTRAIN_AUGMENT_H
#define NNTRAIN_AUGMENT_H

#include <stdint.h>

#include "nntrain/error.h"
#include "nntrain/spec.h"
#include "nntrain/tensor.h"

typedef enum { NN_FILL_NEAREST = 0, NN_FILL_CONSTANT, NN_FILL_REFLECT, NN_FILL_WRAP } nn_fill;

typedef struct nn_augment {
    int enabled;                /* any transform set */
    int horizontal_flip, vertical_flip;
    double rotation_range;      /* degrees, uniform in [-r, r] */
    double width_shift_range;   /* fraction of the width */
    double height_shift_range;
    double shear_range;         /* degrees */
    double zoom_range[2];       /* scale factors, e.g. [0.9, 1.1] for zoom_range=0.1 */
    double brightness_range[2]; /* multiplicative, [1, 1] = off */
    double contrast_range;      /* factor in [1 - c, 1 + c] around the image mean */
    double channel_shift_range; /* added per channel, in [0, 1] pixel units */
    double gaussian_noise;      /* stddev, in [0, 1] pixel units */
    double invert;              /* probability of 1 - x */
    nn_fill fill_mode;
    double cval;
    double rescale;             /* pixel scale applied on read: 1/255 (default) */
} nn_augment;

void nn_augment_defaults(nn_augment *a);
/* From an ImageDataGenerator(...) / image_data_generator(...) call. */
int nn_augment_from_call(nn_augment *a, const nn_call *c, nn_error *e);
/* Augments one image x (H, W, C) in place, with numbers keyed by
 * (seed, epoch, sample). scratch holds at least H*W*C floats. */
void nn_augment_apply(const nn_augment *a, float *x, const nn_shape *shape, uint64_t seed,
                      uint64_t epoch, uint64_t sample, float *scratch);
/* "horizontal_flip, rotation_range=20, ..." for logs. */
void nn_augment_describe(const nn_augment *a, char *buf, size_t len);

#endif
