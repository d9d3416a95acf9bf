/* nntrain plot-model MODEL -o FILE.png|.svg|.pdf|.dot [--show-shapes]
 *                    [--show-layer-names | --hide-layer-names]
 *                    [--rankdir TB|LR|BT|RL] [--dpi N]
 * Keras's plot_model: the model's graph as DOT text (model_dot.c), laid out
 * and drawn by Graphviz's `dot` program, run without a shell. MODEL is
 * whatever summary reads. The picture is written to a temporary name and
 * renamed, so a failed `dot` leaves nothing behind; .dot needs no Graphviz. */
#define _POSIX_C_SOURCE 200809L
#include <ctype.h>
#include <errno.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cli.h"
#include "model_dot.h"
#include "nntrain/tmpfile.h"

extern char **environ;

static const char help[] =
    "usage: nntrain plot-model MODEL -o FILE.png|.svg|.pdf|.dot [options]\n"
    "\n"
    "Draws the model as Keras's plot_model does: a box per layer (\"name: Class\")\n"
    "and an arrow along each connection, graph models included, laid out by\n"
    "Graphviz's dot program (Debian package graphviz). MODEL is a spec (.nn, a\n"
    "Keras script), a Keras model.to_json() .json, an nntrain checkpoint or a Keras\n"
    ".h5: whatever 'nntrain summary' reads. FILE.dot is the DOT text itself and\n"
    "needs no Graphviz.\n"
    "\n"
    "options:\n"
    "  -o, --out FILE       the picture; its extension picks the format (default\n"
    "                       model.png, as Keras's to_file)\n"
    "  --show-shapes        each box with its input and output shapes\n"
    "  --show-layer-names   \"name: Class\" in the boxes (the default, as Keras)\n"
    "  --hide-layer-names   only the class names\n"
    "  --rankdir DIR        TB: top to bottom (default), LR: left to right (also BT, RL)\n"
    "  --dpi N              resolution of a PNG (default 96, as Keras; 1..1200)\n";

/* Graphviz's -T format for path's extension, NULL when none fits. */
static const char *format_of(const char *path)
{
    static const char *const fmts[] = {"png", "svg", "pdf", "dot", "gv"};
    const char *base = strrchr(path, '/');
    const char *dot = strrchr(base ? base + 1 : path, '.');
    if (!dot)
        return NULL;
    for (size_t i = 0; i < sizeof fmts / sizeof *fmts; i++)
        if (!strcasecmp(dot + 1, fmts[i]))
            return fmts[i];
    return NULL;
}

/* The first line of what dot printed (its error), into buf. */
static void first_line(FILE *f, char *buf, size_t len)
{
    buf[0] = 0;
    if (fseek(f, 0, SEEK_SET) || !fgets(buf, (int)len, f))
        return;
    buf[strcspn(buf, "\n")] = 0;
}

static int no_dot(nn_error *e)
{
    return nn_err(e, NN_EIO, "Graphviz's 'dot' program is not on PATH: install Graphviz "
                  "(Debian/Ubuntu: apt-get install graphviz), or write the DOT text "
                  "(-o model.dot) and draw it where Graphviz is");
}

/* Runs `dot -T<fmt> -o out` on the DOT text in src (a file positioned at
 * its start) and waits for it; its messages go to a scratch file quoted in
 * the error. */
static int run_dot(const char *fmt, FILE *src, const char *out, nn_error *e)
{
    FILE *err = tmpfile();
    if (!err)
        return nn_err(e, NN_EIO, "cannot create a scratch file for Graphviz's messages: %s",
                      strerror(errno));
    char targ[16];
    snprintf(targ, sizeof targ, "-T%s", fmt);
    char *argv[] = {"dot", targ, "-o", (char *)out, NULL};
    posix_spawn_file_actions_t fa;
    pid_t pid;
    int rc = posix_spawn_file_actions_init(&fa);
    if (!rc)
        rc = posix_spawn_file_actions_adddup2(&fa, fileno(src), 0);
    if (!rc)
        rc = posix_spawn_file_actions_adddup2(&fa, fileno(err), 1);
    if (!rc)
        rc = posix_spawn_file_actions_adddup2(&fa, fileno(err), 2);
    if (!rc)
        rc = posix_spawnp(&pid, "dot", &fa, NULL, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    if (rc == ENOENT) {
        fclose(err);
        return no_dot(e);
    }
    if (rc) {
        fclose(err);
        return nn_err(e, NN_EIO, "cannot run Graphviz's 'dot': %s", strerror(rc));
    }
    int status;
    while (waitpid(pid, &status, 0) < 0) {
        if (errno != EINTR) {
            fclose(err);
            return nn_err(e, NN_EIO, "waiting for Graphviz's 'dot': %s", strerror(errno));
        }
    }
    rc = NN_OK;
    if (!WIFEXITED(status) || WEXITSTATUS(status)) {
        char msg[300];
        first_line(err, msg, sizeof msg);
        /* 127 without a word: the exec failed in the child (older C
         * libraries, valgrind) as a shell's "command not found" */
        if (WIFEXITED(status) && WEXITSTATUS(status) == 127 && !msg[0])
            rc = no_dot(e);
        else if (WIFSIGNALED(status))
            rc = nn_err(e, NN_EIO, "Graphviz's 'dot -T%s' was killed by signal %d%s%s", fmt,
                        WTERMSIG(status), msg[0] ? ": " : "", msg);
        else
            rc = nn_err(e, NN_EIO, "Graphviz's 'dot -T%s' failed (exit status %d)%s%s", fmt,
                        WEXITSTATUS(status), msg[0] ? ": " : "", msg);
    }
    fclose(err);
    return rc;
}

/* The DOT text of m into out: directly for .dot, else through dot. */
static int plot(const nn_model *m, const cli_dot_opts *o, const char *fmt, const char *out,
                nn_error *e)
{
    char tmp[NN_TMP_NAME_MAX];
    FILE *f = nn_tmp_fopen(out, tmp, sizeof tmp);
    if (!f)
        return nn_err(e, NN_EIO, "cannot write %s: %s", out, strerror(errno));
    int text = !strcmp(fmt, "dot") || !strcmp(fmt, "gv");
    FILE *src = text ? f : tmpfile();
    int rc = NN_OK;
    if (!src)
        rc = nn_err(e, NN_EIO, "cannot create a scratch file for the DOT text: %s",
                    strerror(errno));
    else if (cli_model_dot(m, o, src) || fflush(src))
        rc = nn_err(e, NN_EIO, "cannot write %s: %s", text ? out : "the DOT text",
                    strerror(errno));
    if (!text) {
        /* dot writes the picture to the temporary name we created */
        if (!rc && fclose(f))
            rc = nn_err(e, NN_EIO, "cannot write %s: %s", out, strerror(errno));
        else if (rc)
            fclose(f);
        if (!rc && fseek(src, 0, SEEK_SET))
            rc = nn_err(e, NN_EIO, "cannot rewind the DOT text: %s", strerror(errno));
        if (!rc)
            rc = run_dot(fmt, src, tmp, e);
        if (src)
            fclose(src);
        if (rc) {
            nn_tmp_discard(tmp);
            return rc;
        }
    } else if (nn_tmp_fclose(f, tmp, rc != NN_OK)) {
        return rc ? rc : nn_err(e, NN_EIO, "cannot write %s: %s", out, strerror(errno));
    }
    if (nn_tmp_commit(tmp, out))
        return nn_err(e, NN_EIO, "cannot write %s: %s", out, strerror(errno));
    return NN_OK;
}

int cmd_plot_model(int argc, char **argv)
{
    cli_opt opts[] = {{"--out", 1, 0, 0},         {"--output", 1, 0, 0},
                      {"--show-shapes", 0, 0, 0}, {"--show-layer-names", 0, 0, 0},
                      {"--hide-layer-names", 0, 0, 0}, {"--rankdir", 1, 0, 0},
                      {"--dpi", 1, 0, 0},         {"--help", 0, 0, 0},
                      {NULL, 0, 0, 0}};
    const char *pos[1] = {NULL};
    int npos = 0, dpi = 96;
    nn_error e = {0};
    if (cli_parse_alias(argc, argv, 2, CLI_ALIAS_O | CLI_ALIAS_H, opts, pos, 1, &npos, &e) ||
        cli_int(opts, "--dpi", &dpi, &e))
        return cli_usage_hint(&e, "plot-model");
    if (cli_find(opts, "--help")->given)
        return cli_help(NULL, help);
    if (npos != 1) {
        nn_err(&e, NN_EINVAL, "plot-model needs one model (a spec, a .json, a checkpoint or a "
               "Keras .h5)");
        return cli_usage(NULL, &e, help);
    }
    const char *out = cli_find(opts, "--out")->given      ? cli_find(opts, "--out")->value
                      : cli_find(opts, "--output")->given ? cli_find(opts, "--output")->value
                                                          : "model.png";
    const char *fmt = format_of(out);
    char rankdir[3] = "TB";
    const char *rd = cli_find(opts, "--rankdir")->value;
    if (rd) {
        for (int i = 0; i < 2 && rd[i]; i++)
            rankdir[i] = (char)toupper((unsigned char)rd[i]);
    }
    if (!fmt)
        nn_err(&e, NN_EINVAL, "cannot tell the picture format of '%s' from its extension: use "
               ".png, .svg, .pdf, or .dot for the DOT text", out);
    else if (rd && (strlen(rd) != 2 || (strcmp(rankdir, "TB") && strcmp(rankdir, "LR") &&
                                        strcmp(rankdir, "BT") && strcmp(rankdir, "RL"))))
        nn_err(&e, NN_EINVAL, "--rankdir '%s': expected TB (top to bottom) or LR (left to "
               "right), or BT, RL", rd);
    else if (dpi < 1 || dpi > 1200)
        nn_err(&e, NN_EINVAL, "--dpi %d: expected 1..1200 (Keras's default is 96)", dpi);
    else if (cli_find(opts, "--show-layer-names")->given &&
             cli_find(opts, "--hide-layer-names")->given)
        nn_err(&e, NN_EINVAL, "--show-layer-names and --hide-layer-names together");
    if (e.code)
        return cli_usage_hint(&e, "plot-model");

    nn_model m;
    if (cli_summary_model(pos[0], &m, &e)) {
        cli_error(NULL, &e);
        return CLI_FAIL;
    }
    cli_dot_opts o = {cli_find(opts, "--show-shapes")->given,
                      !cli_find(opts, "--hide-layer-names")->given, rankdir, dpi};
    int rc = plot(&m, &o, fmt, out, &e);
    if (!rc)
        printf("Wrote %s: %d layers and the InputLayer, %d connections\n", out, m.nlayers,
               cli_model_dot_edges(&m));
    nn_model_free(&m);
    if (rc) {
        cli_error(NULL, &e);
        return CLI_FAIL;
    }
    return CLI_OK;
}
