/* Shared by `nntrain evaluate`, `predict` and `analyze` (src/cli/infer.c):
 * their common command line and preamble (MODEL.h5, its input and options),
 * loading a trained model file, opening what it runs on (a dataset split or
 * a folder of images) together with class names and file names, the image
 * shape a model input stands for, CSV quoting and atomic PNG writing. */
#ifndef NNTRAIN_CLI_INFER_H
#define NNTRAIN_CLI_INFER_H

#include <stdint.h>
#include <stdio.h>

#include "cli.h"
#include "nntrain/data.h"
#include "nntrain/images.h"
#include "nntrain/model.h"

/* What a path on the command line is, for hints (cli_path_kind). */
enum { CLI_KIND_OTHER, CLI_KIND_IMAGES, CLI_KIND_CLASS_FOLDERS, CLI_KIND_MODEL,
       CLI_KIND_DATASET };
/* A folder of image files or one image file (CLI_KIND_IMAGES), a folder of
 * class subfolders of images, an HDF5 checkpoint / Keras model, an HDF5
 * dataset, or something else. */
int cli_path_kind(const char *path);
/* What a command expected where path was given. */
enum { CLI_WANT_DATA, CLI_WANT_MODEL, CLI_WANT_SPEC, CLI_WANT_IMAGES };
/* After a failure rc (!= 0) to use path as want: when path is recognisably
 * something else (a folder of images, a checkpoint, a dataset), replaces e's
 * message by one naming what path is and the command or option that takes
 * it. Returns rc. */
int cli_hint_path(int rc, nn_error *e, const char *path, int want);

/* A path ending in .h5, .hdf5 or .keras: a model file (checkpoint or Keras). */
int cli_is_model_file(const char *path);

/* A model spec (nn_spec_load: .nn, a pasted script), or for a path ending in
 * .json a Keras model.to_json() / model_config file (Sequential or
 * functional; the architecture only, no compile()). */
int cli_spec_load(const char *path, nn_spec *s, nn_error *e);

/* nn_ckpt_load_model, with a hint when path is a spec (no weights); when
 * speak, what the Keras import left out is printed as warnings. */
int cli_load_model(const char *path, nn_model *m, int speak, nn_error *e);

/* 1 when the model's outputs are class probabilities: compiled with a
 * categorical cross-entropy (or binary with one output), or else ending in
 * softmax (or a single sigmoid). */
int cli_is_classifier(const nn_model *m);

/* The (H, W, C) image a sample is: data when it is 3-D, else the model
 * input when 3-D, else a flat input of F = S*S (grey) or 3*S*S (RGB)
 * values. Returns 0 (img->n = 0) when no image shape fits. */
int cli_image_shape(const nn_shape *model_in, const nn_shape *data, nn_shape *img);

typedef struct cli_input {
    nn_dataset ds;            /* what nn_predict / nn_evaluate read */
    int open;
    int labelled;             /* ds.y are true targets (not for --images) */
    char split[8];            /* "train" / "test"; "" for images */
    char **names;             /* class names (from the data or --class-names), or NULL */
    int nnames;
    nn_images im;             /* --images: the decoded pixels and file names */
    int has_im;
    char what[700];           /* "test.h5 (/test: 200 samples)" for messages */
} cli_input;

/* Opens split of src (NULL: "test" when src has one, else "train"). */
int cli_input_data(cli_input *in, const char *src, const char *split, nn_error *e);
/* Decodes every image of dir, resized and converted to the model's input
 * (notes on stderr when notes != 0: how many were resized / converted). */
int cli_input_images(cli_input *in, const char *dir, const nn_model *m, int notes,
                     nn_error *e);
/* Replaces the class names by "A,B,..." (--class-names). */
int cli_input_names(cli_input *in, const char *list, nn_error *e);
/* For a classifier, the names must be one per class: a wrong count from
 * --class-names (given) is an error; from the data a warning (when speak)
 * and the names are dropped (class_0, ... are used). */
int cli_input_check_names(cli_input *in, const nn_model *m, int given, int speak, nn_error *e);
void cli_input_free(cli_input *in);

/* The command line evaluate, predict and analyze share, read from the
 * command's opts: these must hold --data, --split, --batch-size, --threads,
 * --class-names and --help, and may hold --images, --limit, --errors, --out. */
typedef struct cli_infer_args {
    const char *model;        /* MODEL.h5, the one positional argument */
    const char *data, *split; /* --data SRC, --split test|train (NULL: not given) */
    const char *images;       /* --images DIR (NULL: not given) */
    const char *names;        /* --class-names A,B,.. (NULL: not given) */
    int batch, limit;         /* --batch-size (64), --limit (-1: every sample) */
    int threads, errors;      /* --threads (0: automatic), --errors (10) */
    int help;                 /* --help given: answer it (cli_help) and stop */
} cli_infer_args;

/* Parses argv[2..] of `nntrain cmd MODEL.h5 ...` into opts and a, "-o" read
 * as "--out" when opts has --out, and checks in this order: one MODEL.h5;
 * --data given (when opts has --images: exactly one of --data and --images);
 * the integers; --batch-size >= 1 with --errors in 0..100000 (when opts has
 * --errors) or --limit >= 1; --split test|train. Returns NN_OK (a->help: stop
 * at --help) or a usage error in e, for the command's own checks to follow
 * and cli_usage to report. */
int cli_infer_parse(int argc, char **argv, const char *cmd, cli_opt *opts, cli_infer_args *a,
                    nn_error *e);

/* Loads a->model into m (*have_model = 1 once loaded: free it with
 * nn_model_free) and opens its input into in: the images of a->images, else
 * a->split of a->data; then --class-names and the check of the names against
 * the model (notes and warnings on stderr when speak). */
int cli_infer_open(const cli_infer_args *a, int speak, nn_model *m, int *have_model,
                   cli_input *in, nn_error *e);

/* NN_ESHAPE unless a sample of in has as many values as m's input. */
int cli_input_check_shape(const cli_input *in, const nn_model *m, nn_error *e);

/* The targets of samples [0, n) of ds into y (n, ds->ydim). */
int cli_read_targets(nn_dataset *ds, size_t n, float *y, nn_error *e);

/* Class c's name: in->names[c], else "class_<c>" (into buf). */
const char *cli_class_name(const cli_input *in, int c, char *buf, size_t len);
/* Sample i's label for listings: its file name for images, else its index. */
const char *cli_sample_name(const cli_input *in, size_t i, char *buf, size_t len);

/* Writes s as a CSV field (quoted when it holds a comma, quote or newline). */
void cli_csv_field(FILE *f, const char *s);

/* Writes px (h, w, c) uint8 as a PNG at path (temporary name, then rename). */
int cli_write_png(const char *path, int w, int h, int c, const uint8_t *px, nn_error *e);

/* Model-input floats (H, W, C) -> uint8 in [0, 255] (values clipped to
 * [0, 1] first), nearest-neighbour upscaled by scale, into dst at (row, col)
 * of a canvas dw pixels wide with the same C. */
void cli_blit(uint8_t *dst, int dw, int row, int col, const float *src, const nn_shape *img,
              int scale);

/* s, or s quoted into buf (len >= 4) when it holds a comma, quote or newline. */
const char *cli_csv_quote(const char *s, char *buf, size_t len);

#endif
