/* Image folders -> uint8 NHWC arrays with class labels, for
 *   nntrain convert images DIR=label DIR=label ... -o data.h5
 * One folder per class, classes in the order given (a label given twice
 * names one class); a "folder" may also be a single image file. Files whose
 * name has an image extension (nn_images_is_image_name) are decoded with
 * stb_image (JPEG, PNG, BMP, ...) in sorted name order; other files are
 * skipped and counted (Thumbs.db, notes), so the output is deterministic; optionally resized
 * (stb_image_resize) and converted to grey or RGB. Byte-identical files are
 * found by a hash of their bytes (confirmed byte by byte) and reported, also
 * across classes; with dedupe the first copy is kept, and a content found in
 * two classes is dropped from both (its label is ambiguous). */
#ifndef NNTRAIN_IMAGES_H
#define NNTRAIN_IMAGES_H

#include <stddef.h>
#include <stdint.h>

#include "nntrain/error.h"

typedef struct nn_image_class {
    const char *dir;      /* folder holding the class's images */
    const char *label;    /* class name ("": messages name the folder alone) */
} nn_image_class;

typedef struct nn_images_opts {
    int h, w;             /* > 0: resize every image to (h, w); 0: keep (all must agree) */
    int channels;         /* 0: those of the first image; 1: grey; 3: RGB (also 2, 4) */
    int dedupe;           /* drop byte-identical copies */
} nn_images_opts;

typedef struct nn_images {
    size_t n;             /* images kept */
    int h, w, c;
    uint8_t *x;           /* (n, h, w, c) */
    int32_t *y;           /* (n,) class index */
    char **files;         /* (n) "DIR/name" of each kept image, for messages */
    int nclasses;
    char **class_names;   /* (nclasses) */
    size_t *class_count;  /* (nclasses) images kept per class */
    /* what was read */
    size_t nfiles;        /* image files read */
    size_t ndistinct;     /* distinct byte contents */
    size_t nrepeats;      /* files repeating an earlier file in the same class */
    size_t ncross;        /* contents present in more than one class */
    size_t ndropped;      /* files dropped by dedupe */
    size_t nresized;      /* files resized to (h, w) */
    int resized_from_h, resized_from_w;   /* the first resized file's own size */
    size_t nconverted;    /* files converted to c channels */
    size_t nskipped;      /* files skipped: their name is not an image's */
    char *skipped_example;   /* "DIR/name" of one of them (the least name), or NULL */
    char *report;         /* duplicates and notes, lines ending in '\n' ("" if none) */
} nn_images;

/* 1 when name ends in an extension stb_image reads, in any case: .jpg .jpeg
 * .jpe .jfif .png .bmp .gif .tga .psd .hdr .pic .pnm .ppm .pgm. */
int nn_images_is_image_name(const char *name);

/* The subfolders of dir (names not starting with '.') sorted by byte order
 * (strcmp), as Keras's flow_from_directory numbers its classes: class k is
 * (*names)[k]. *nimages counts the image files directly in dir. *n = 0 when
 * there is none. Free with nn_images_free_names. */
int nn_images_class_folders(const char *dir, char ***names, int *n, size_t *nimages,
                            nn_error *e);
void nn_images_free_names(char **names, int n);

/* FNV-1a 64 of what nn_images_load would read from classes: labels, image
 * file paths, sizes and modification times (not the bytes), to tell a
 * cached conversion whether the folders changed. */
int nn_images_fingerprint(const nn_image_class *classes, int nclasses, uint64_t *h,
                          nn_error *e);

/* Loads the folders of classes[0..nclasses). Errors name the file: a missing
 * or empty folder (or one with no image files), a file stb_image cannot decode (with stb's reason: not an
 * image, truncated, corrupt), an image over 64 megapixels, mixed sizes without opts->h/w (naming two files
 * and their sizes). On failure out is left empty (nothing to free).
 * nn_images_free releases a loaded set. */
int nn_images_load(const nn_image_class *classes, int nclasses, const nn_images_opts *opts,
                   nn_images *out, nn_error *e);
void nn_images_free(nn_images *im);
/* Puts the images (x, y, files) in the order of a permutation drawn from
 * seed, the same on every machine: converted folders come class after class,
 * and Keras's validation_split takes the last fraction before shuffling, so
 * file order would validate on the last class alone. */
int nn_images_shuffle(nn_images *im, uint64_t seed, nn_error *e);

#endif
