/* The nntrain command line: subcommands share option parsing and the MPI
 * setup; only this layer prints errors and chooses exit codes. */
#ifndef NNTRAIN_CLI_H
#define NNTRAIN_CLI_H

#include "nntrain/dist.h"
#include "nntrain/checkpoint.h"
#include "nntrain/fit.h"
#include "nntrain/error.h"

enum { CLI_OK = 0, CLI_FAIL = 1, CLI_USAGE = 2 };

typedef struct cli_opt {
    const char *name;     /* "--epochs" */
    int takes_value;
    const char *value;    /* filled by cli_parse */
    int given;
} cli_opt;

/* Parses argv[first..] into opts (NULL-name terminated) and positional
 * arguments (up to max_pos); unknown options are errors. */
int cli_parse(int argc, char **argv, int first, cli_opt *opts, const char **pos,
              int max_pos, int *npos, nn_error *e);
/* Short spellings cli_parse_alias reads as long options, wherever they stand. */
enum { CLI_ALIAS_O = 1,   /* "-o" as "--out" */
       CLI_ALIAS_H = 2 }; /* "-h" as "--help" */
/* cli_parse with every argument equal to "-o" / "-h" read as "--out" /
 * "--help" (aliases: CLI_ALIAS_* ORed). Values point into argv. */
int cli_parse_alias(int argc, char **argv, int first, int aliases, cli_opt *opts,
                    const char **pos, int max_pos, int *npos, nn_error *e);
cli_opt *cli_find(cli_opt *opts, const char *name);
int cli_int(cli_opt *opts, const char *name, int *out, nn_error *e);
int cli_double(cli_opt *opts, const char *name, double *out, nn_error *e);

/* Prints "nntrain: error: msg" on rank 0 (or on every rank if d is NULL). */
void cli_error(const nn_dist *d, const nn_error *e);
/* --help: help on stdout, on rank 0 (every rank if d is NULL). Returns CLI_OK. */
int cli_help(const nn_dist *d, const char *help);
/* A usage error: cli_error, then help on stderr, on rank 0 (every rank if d
 * is NULL). Returns CLI_USAGE. */
int cli_usage(const nn_dist *d, const nn_error *e, const char *help);
/* A usage error for a command whose help is long: cli_error, then "Run
 * 'nntrain <cmd> --help' for the options." on stderr. Returns CLI_USAGE. */
int cli_usage_hint(const nn_error *e, const char *cmd);
/* Compute threads per rank: --threads, else SLURM_CPUS_PER_TASK, else the
 * cores this process may use divided by the ranks on this node. */
int cli_threads(const nn_dist *d, int requested);
/* --conv-algo direct|winograd|winograd4|auto (when given) as the Conv2D algorithm of
 * the models built after it (nn_conv_set_algo); a bad name is an error.
 * Without it, NNTRAIN_CONV_ALGO is read now (a bad value warns). */
int cli_conv_algo(cli_opt *opts, nn_error *e);
/* --precision bf16|fp32 (absent: the spec's policy) for the models built
 * after it (nn_model_force_bf16); a bad value is an error. */
int cli_precision(cli_opt *opts, nn_error *e);
/* Once, on rank 0, when m runs mixed_bfloat16 through the emulation: a
 * warning that it is slow. */
void cli_precision_warn(const nn_model *m, int rank0);
/* Gives m cli_threads(d, requested) compute threads (OpenBLAS single-threaded
 * inside each), stores the count in *threads (may be NULL) and runs
 * cli_check_blas. Collective: every rank learns of a rank that failed. */
int cli_use_threads(nn_dist *d, nn_model *m, int requested, int *threads, nn_error *e);
/* Warns when OpenBLAS runs a generic kernel on a CPU with AVX-512/AVX2. */
void cli_check_blas(const nn_dist *d);
int cli_mkdirs(const char *path, nn_error *e);
/* Collective: checks that every rank runs the same spec text (may be NULL)
 * with the same arguments argv[2..] (FNV-1a of both, compared over d). */
int cli_check_same_run(nn_dist *d, const char *spec_text, int argc, char **argv, nn_error *e);

/* Checkpointing state of one `train` run (train_ckpt.c). */
#define NN_EXIT_PREEMPTED 75   /* EX_TEMPFAIL: stopped by a signal, resume later */
typedef struct cli_ckpt {
    nn_dist *d;
    nn_model *m;
    const char *spec_text;
    nn_history *h;
    int verbose;
    char last[2300];          /* DIR/last.h5, written every epoch and on a stop */
    const char *best;         /* --checkpoint FILE, or NULL */
    char monitor[48];
    int col, maximize, best_only, period;
    nn_train_state st;
    nn_cb_state cbs;          /* the callbacks' (st.cb points here) */
    double sums[2 + NN_METRIC_MAX_SUMS];
} cli_ckpt;

volatile int *cli_install_stop_signals(void);
void cli_signal_ready(nn_dist *d);
int cli_ckpt_setup(cli_ckpt *c, cli_opt *opts, const char *outdir, const nn_model *m,
                   int has_val, nn_error *e);
int cli_ckpt_resume(cli_ckpt *c, const char *resume, nn_model *m,
                    nn_fit_opts *fo, const nn_dataset *train, int seed_given,
                    nn_history *h, nn_dist *d, nn_error *e);
int cli_ckpt_hook(void *arg, const nn_fit_event *ev, nn_error *e);

int cmd_summary(int argc, char **argv);
/* A model as summary reads it (src/cli/cmd_summary.c): a spec (.nn, a
 * script), a Keras model.to_json() .json, or a model file (an nntrain
 * checkpoint, a Keras .h5); the spec's notes and the Keras import's
 * warnings go to stderr. m is freed by the caller after success. */
int cli_summary_model(const char *path, nn_model *m, nn_error *e);
/* nntrain plot-model MODEL -o FILE.png|.svg|.pdf|.dot (src/cli/cmd_plot_model.c). */
int cmd_plot_model(int argc, char **argv);
int cmd_train(int argc, char **argv, nn_dist *d);
/* Trained models (src/cli/cmd_evaluate.c, cmd_predict.c, cmd_analyze.c; shared
 * helpers in infer.h): every rank runs them, rank 0 prints and writes. */
int cmd_evaluate(int argc, char **argv, nn_dist *d);
int cmd_predict(int argc, char **argv, nn_dist *d);
int cmd_analyze(int argc, char **argv, nn_dist *d);
int cmd_explain(int argc, char **argv, nn_dist *d);
/* Dataset tools (serial, no MPI): convert idx|cifar10|csv, inspect, split. */
int cmd_convert(int argc, char **argv);
int cmd_inspect(int argc, char **argv);
int cmd_split(int argc, char **argv);
/* nntrain compare A.h5 B.h5: two checkpoints' training state, bit for bit
 * (src/cli/cmd_compare.c; serial, no MPI). */
int cmd_compare(int argc, char **argv);

struct nn_convert_stats;
/* "Wrote OUT: train N, test M samples of ..." and per-split duplicate counts. */
void cli_convert_report(const struct nn_convert_stats *st, const char *out, int dedupe);
/* nntrain convert images DIR=label ... (src/cli/cmd_convert_images.c); argv[first]
 * is the first argument after "images". */
int cmd_convert_images(int argc, char **argv, int first);
/* nntrain convert sequences FILE --maxlen L (src/cli/cmd_convert_sequences.c). */
int cmd_convert_sequences(int argc, char **argv, int first);
/* nntrain augment-preview MODEL.nn --data FILE.h5 (src/cli/cmd_preview.c). */
int cmd_augment_preview(int argc, char **argv);

#endif
