/* Listing image folders (src/data/image_list.c), private to src/data: which
 * files of a folder are images, in which order, and what was skipped. */
#ifndef NNTRAIN_DATA_IMAGE_LIST_H
#define NNTRAIN_DATA_IMAGE_LIST_H

#include <stddef.h>

#include "nntrain/error.h"

typedef struct img_skips {
    size_t nother;        /* regular files whose name is not an image's */
    size_t nhidden;       /* names starting with '.' */
    size_t ndirs;         /* subfolders and special files */
    char *example;        /* "DIR/name" of the first other file by name (malloc'd) */
} img_skips;

/* The image files of dir as "DIR/name" paths sorted by name (strcmp), or
 * dir itself when it is a regular file (whatever its name: decoding it says
 * whether it is an image). Adds what was skipped to *sk. An empty listing is
 * not an error here. Free the paths with img_free_list. */
int img_list_files(const char *dir, char ***paths, size_t *n, img_skips *sk, nn_error *e);
void img_free_list(char **v, size_t n);

#endif
