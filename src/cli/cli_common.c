/* Option parsing (with the -o / -h aliases), help and usage-error printing,
 * thread choice, the same-run check over the ranks and other checks shared
 * by the subcommands. */
#define _GNU_SOURCE
#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "core/gemm_bf16.h"
#include "nntrain/gemm.h"
#include "nntrain/hash.h"

cli_opt *cli_find(cli_opt *opts, const char *name)
{
    for (int i = 0; opts[i].name; i++)
        if (!strcmp(opts[i].name, name))
            return &opts[i];
    return NULL;
}

static const char *alias(const char *a, int aliases)
{
    if ((aliases & CLI_ALIAS_O) && !strcmp(a, "-o"))
        return "--out";
    if ((aliases & CLI_ALIAS_H) && !strcmp(a, "-h"))
        return "--help";
    return a;
}

int cli_parse_alias(int argc, char **argv, int first, int aliases, cli_opt *opts,
                    const char **pos, int max_pos, int *npos, nn_error *e)
{
    *npos = 0;
    for (int i = first; i < argc; i++) {
        const char *a = alias(argv[i], aliases);
        if (a[0] == '-' && a[1] == '-') {
            const char *eq = strchr(a, '=');
            char name[64];
            size_t len = eq ? (size_t)(eq - a) : strlen(a);
            if (len >= sizeof name)
                len = sizeof name - 1;
            memcpy(name, a, len);
            name[len] = 0;
            cli_opt *o = cli_find(opts, name);
            if (!o) {
                char known[1024] = "";
                for (int k = 0; opts[k].name; k++)
                    strncat(strncat(known, k ? ", " : "", sizeof known - strlen(known) - 1),
                            opts[k].name, sizeof known - strlen(known) - 1);
                return nn_err(e, NN_EINVAL, "unknown option '%s' (known: %s)", name, known);
            }
            o->given = 1;
            if (o->takes_value) {
                if (eq)
                    o->value = eq + 1;
                else if (i + 1 < argc)
                    o->value = alias(argv[++i], aliases);
                else
                    return nn_err(e, NN_EINVAL, "option %s needs a value", name);
            } else if (eq) {
                return nn_err(e, NN_EINVAL, "option %s takes no value", name);
            }
        } else {
            if (*npos >= max_pos)
                return nn_err(e, NN_EINVAL, "unexpected argument '%s'", a);
            pos[(*npos)++] = a;
        }
    }
    return NN_OK;
}

int cli_parse(int argc, char **argv, int first, cli_opt *opts, const char **pos,
              int max_pos, int *npos, nn_error *e)
{
    return cli_parse_alias(argc, argv, first, 0, opts, pos, max_pos, npos, e);
}

/* The number given for option name into *out, *given = 0 (and *out
 * untouched) when the option is not given: an integer in int range when
 * integer, else what strtod reads. */
static int opt_number(cli_opt *opts, const char *name, int integer, double *out, int *given,
                      nn_error *e)
{
    cli_opt *o = cli_find(opts, name);
    *given = o && o->given;
    if (!*given)
        return NN_OK;
    char *end;
    errno = 0;
    double v = integer ? (double)strtol(o->value, &end, 10) : strtod(o->value, &end);
    if (errno || *end || end == o->value ||
        (integer && (v < -2147483647.0 || v > 2147483647.0)))
        return nn_err(e, NN_EINVAL, "option %s expects %s, got '%s'", name,
                      integer ? "an integer" : "a number", o->value);
    *out = v;
    return NN_OK;
}

int cli_int(cli_opt *opts, const char *name, int *out, nn_error *e)
{
    double v = 0;
    int given, rc = opt_number(opts, name, 1, &v, &given, e);
    if (!rc && given)
        *out = (int)v;
    return rc;
}

int cli_double(cli_opt *opts, const char *name, double *out, nn_error *e)
{
    int given;
    return opt_number(opts, name, 0, out, &given, e);
}

void cli_error(const nn_dist *d, const nn_error *e)
{
    if (!d || d->rank == 0) {
        fflush(stdout);
        fprintf(stderr, "nntrain: error: %s\n", e->msg[0] ? e->msg : nn_err_name(e->code));
    }
}

int cli_help(const nn_dist *d, const char *help)
{
    if (!d || d->rank == 0)
        fputs(help, stdout);
    return CLI_OK;
}

int cli_usage(const nn_dist *d, const nn_error *e, const char *help)
{
    cli_error(d, e);
    if (!d || d->rank == 0)
        fputs(help, stderr);
    return CLI_USAGE;
}

int cli_usage_hint(const nn_error *e, const char *cmd)
{
    cli_error(NULL, e);
    fprintf(stderr, "Run 'nntrain %s --help' for the options.\n", cmd);
    return CLI_USAGE;
}

static int env_int(const char *name)
{
    const char *v = getenv(name);
    return v && *v ? atoi(v) : 0;
}

int cli_conv_algo(cli_opt *opts, nn_error *e)
{
    const cli_opt *o = cli_find(opts, "--conv-algo");
    nn_conv_algo a;
    if (!o || !o->given) {
        (void)nn_conv_get_algo();   /* NNTRAIN_CONV_ALGO now: a bad one warns at the start */
        return NN_OK;
    }
    if (nn_conv_algo_parse(o->value, &a))
        return nn_err(e, NN_EINVAL, "--conv-algo must be 'direct', 'winograd', 'winograd4' or "
                      "'auto', not '%s'", o->value);
    nn_conv_set_algo(a);
    return NN_OK;
}

int cli_precision(cli_opt *opts, nn_error *e)
{
    const cli_opt *o = cli_find(opts, "--precision");
    if (!o || !o->given)
        return NN_OK;
    if (!strcmp(o->value, "bf16") || !strcmp(o->value, "mixed_bfloat16"))
        nn_model_force_bf16(1);
    else if (!strcmp(o->value, "fp32") || !strcmp(o->value, "float32"))
        nn_model_force_bf16(0);
    else
        return nn_err(e, NN_EINVAL, "--precision must be 'bf16' (mixed_bfloat16) or 'fp32', "
                      "not '%s'", o->value);
    return NN_OK;
}

void cli_precision_warn(const nn_model *m, int rank0)
{
    static int said;
    if (!m->bf16 || !rank0 || said || strcmp(nn_gemm_bf16_isa(), "emulated"))
        return;
    said = 1;
    fprintf(stderr, "nntrain: warning: %s: mixed_bfloat16 runs its products in an emulation, "
            "several times slower than fp32 (same results); --precision fp32 turns it off\n",
            getenv("NNTRAIN_BF16") ? "NNTRAIN_BF16=emulated is set"
                                   : "this CPU has no AVX512_BF16 (grep avx512_bf16 "
                                     "/proc/cpuinfo)");
}

int cli_threads(const nn_dist *d, int requested)
{
    if (requested > 0)
        return requested;
    int t = env_int("SLURM_CPUS_PER_TASK");
    if (t > 0)
        return t;
    cpu_set_t set;
    int cores = (int)sysconf(_SC_NPROCESSORS_ONLN);
    if (sched_getaffinity(0, sizeof set, &set) == 0)
        cores = CPU_COUNT(&set);
    int local = env_int("OMPI_COMM_WORLD_LOCAL_SIZE");
    if (local <= 0)
        local = env_int("SLURM_NTASKS_PER_NODE");
    if (local <= 0)
        local = d && d->size > 1 ? d->size : 1;   /* assume one node */
    t = cores / local;
    return t > 0 ? t : 1;
}

int cli_use_threads(nn_dist *d, nn_model *m, int requested, int *threads, nn_error *e)
{
    int t = cli_threads(d, requested);
    if (threads)
        *threads = t;
    nn_blas_set_threads(1);
    cli_check_blas(d);
    return nn_dist_agree(d, nn_model_set_threads(m, t, e), e);
}

void cli_check_blas(const nn_dist *d)
{
    if (d && d->rank != 0)
        return;
    const char *core = nn_blas_corename();
    __builtin_cpu_init();
    int avx512 = __builtin_cpu_supports("avx512f"), avx2 = __builtin_cpu_supports("avx2");
    if (!core)
        return;
    int generic = !strcasecmp(core, "Prescott") || !strcasecmp(core, "Core2") ||
                  !strcasecmp(core, "Nehalem") || !strcasecmp(core, "Sandybridge");
    /* AVX2-only kernels on an AVX-512 CPU (an old OpenBLAS, or a site's
     * OPENBLAS_CORETYPE): half the sgemm speed, measured on this project's
     * machines (122 against 238 GFLOP/s per core). */
    int avx2_only = !strcasecmp(core, "Haswell") || !strcasecmp(core, "Zen");
    if ((generic && (avx512 || avx2)) || (avx2_only && avx512))
        fprintf(stderr,
                "nntrain: warning: OpenBLAS uses its '%s' kernel on a CPU with %s: sgemm may run "
                "2 or more times slower. Set OPENBLAS_CORETYPE=%s before starting nntrain "
                "(scripts/bench.sh checks that it gives the same results).\n",
                core, avx512 ? "AVX-512" : "AVX2", avx512 ? "SkylakeX" : "Haswell");
}

int cli_mkdirs(const char *path, nn_error *e)
{
    char buf[4096];
    snprintf(buf, sizeof buf, "%s", path);
    for (char *p = buf + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = 0;
        if (mkdir(buf, 0777) && errno != EEXIST)
            return nn_err(e, NN_EIO, "cannot create directory '%s': %s", buf, strerror(errno));
        *p = '/';
    }
    if (mkdir(buf, 0777) && errno != EEXIST)
        return nn_err(e, NN_EIO, "cannot create directory '%s': %s", buf, strerror(errno));
    return NN_OK;
}

int cli_check_same_run(nn_dist *d, const char *spec_text, int argc, char **argv, nn_error *e)
{
    uint64_t h = nn_fnv1a_str(NN_FNV_INIT, spec_text);
    for (int i = 2; i < argc; i++)
        h = nn_fnv1a_str(h, argv[i]);
    return nn_dist_check_same(d, h, "the model spec and command line", e);
}
