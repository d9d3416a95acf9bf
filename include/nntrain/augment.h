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
    double width_shift_range;   /* fraction of the width (>= 1: pixels, as Keras) */
    double height_shift_range;
    double shear_range;         /* degrees */
    double zoom_range[2];       /* scale factors, e.g. [0.9, 1.1] for zoom_range=0.1 */
    double brightness_range[2]; /* multiplicative, [1, 1] = off */
    double contrast_range;      /* factor in [1 - c, 1 + c] around the image mean */
    double channel_shift_range; /* one shift added to all channels, in [0, 1] pixel units */
    double gaussian_noise;      /* stddev, in [0, 1] pixel units */
    double invert;              /* probability of 1 - x */
    nn_fill fill_mode;
    double cval;
    double rescale;             /* pixel scale applied on read: 1/255 (default) */
} nn_augment;

void nn_augment_defaults(nn_augment *a);
/* From an ImageDataGenerator(...) / image_data_generator(...) call. Keras
 * options that change other parts of training (featurewise_center, ...) are
 * accepted only at their defaults; any other unknown option is an error.
 * Keras units: channel_shift_range and cval are raw pixel levels (0..255,
 * Keras applies them before rescale) and are stored divided by 255. */
int nn_augment_from_call(nn_augment *a, const nn_call *c, nn_error *e);
/* Augments one image x (H, W, C) in place, with numbers keyed by
 * (seed, epoch, sample). scratch holds at least H*W*C floats.
 * x is in model units: [0, 1] with rescale=1/255, [0, 255] with rescale=1
 * (the reader multiplies back before augmenting); results stay in that range. */
void nn_augment_apply(const nn_augment *a, float *x, const nn_shape *shape, uint64_t seed,
                      uint64_t epoch, uint64_t sample, float *scratch);
/* "horizontal_flip, rotation_range=20, ..." for logs. */
void nn_augment_describe(const nn_augment *a, char *buf, size_t len);

/* The random draw of one nn_augment_apply, split out so that tests and the
 * preview can apply chosen transforms. Angles in degrees; tx, ty shifts in
 * pixels along rows (H) and columns (W); zx, zy inverse zoom factors (Keras:
 * > 1 shows more of the image, smaller). */
typedef struct nn_augment_params {
    double theta, tx, ty, shear, zx, zy;
    int hflip, vflip, invert;
    double channel_shift;   /* added to every channel, in [0, 1] pixel units */
    double brightness;      /* multiplier */
    double contrast;        /* factor around the image mean */
    uint64_t noise_key;     /* stream for the Gaussian noise */
} nn_augment_params;

/* Draws every parameter (always the same count of numbers, in a fixed order,
 * so turning one option on does not change the others' draws). */
void nn_augment_draw(const nn_augment *a, const nn_shape *shape, uint64_t seed,
                     uint64_t epoch, uint64_t sample, nn_augment_params *p);
void nn_augment_apply_params(const nn_augment *a, const nn_augment_params *p, float *x,
                             const nn_shape *shape, float *scratch);

/* augment-preview: a uint8 grid image (gh, gw, C) with one row per sample
 * x[i] (n, H, W, C) in [0, 1]: the original, then `versions` augmented
 * copies (epochs 0, 1, ...), each upscaled by `scale` (nearest), with 2 px
 * separators. *out is malloc'd (caller frees). */
int nn_augment_grid(const nn_augment *a, const float *x, const uint64_t *sample_ids, int n,
                    const nn_shape *shape, int versions, int scale, uint64_t seed,
                    uint8_t **out, int *gh, int *gw, nn_error *e);

#endif
