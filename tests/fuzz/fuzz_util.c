/* Helpers of the fuzz targets (see fuzz_util.h). */
#define _POSIX_C_SOURCE 200809L
#include "fuzz_util.h"

#include <dirent.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int nn_fuzz_failures;
static char dir[256];

static void cleanup(void)
{
    if (!dir[0])
        return;
    DIR *d = opendir(dir);
    if (d) {
        struct dirent *de;
        while ((de = readdir(d))) {
            if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
                continue;
            char p[600];
            snprintf(p, sizeof p, "%s/%s", dir, de->d_name);
            struct stat st;
            if (lstat(p, &st) == 0 && S_ISDIR(st.st_mode))
                nn_fuzz_rmdir(de->d_name);
            else
                unlink(p);
        }
        closedir(d);
    }
    rmdir(dir);
}

const char *nn_fuzz_dir(void)
{
    if (!dir[0]) {
        const char *t = getenv("TMPDIR");
        snprintf(dir, sizeof dir, "%s/nntrain-fuzz.XXXXXX", t && *t ? t : "/tmp");
        if (!mkdtemp(dir)) {
            perror("nn_fuzz_dir: mkdtemp");
            abort();
        }
        atexit(cleanup);
    }
    return dir;
}

const char *nn_fuzz_path(int slot, const char *name)
{
    static char buf[8][600];
    slot &= 7;
    snprintf(buf[slot], sizeof buf[slot], "%s/%s", nn_fuzz_dir(), name);
    return buf[slot];
}

int nn_fuzz_write(const char *path, const uint8_t *p, size_t n)
{
    FILE *f = fopen(path, "wb");
    if (!f || (n && fwrite(p, 1, n, f) != n) || fclose(f)) {
        perror(path);
        abort();   /* the disk, not the reader: stop rather than report garbage */
    }
    return 0;
}

void nn_fuzz_rmdir(const char *sub)
{
    char d[600];
    snprintf(d, sizeof d, "%s/%s", nn_fuzz_dir(), sub);
    DIR *h = opendir(d);
    if (!h)
        return;
    struct dirent *de;
    while ((de = readdir(h))) {
        char p[1200];
        if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
            continue;
        snprintf(p, sizeof p, "%s/%s", d, de->d_name);
        unlink(p);
    }
    closedir(h);
    rmdir(d);
}

void nn_fuzz_fail(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "fuzz invariant broken: ");
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, "\n");
    va_end(ap);
#ifdef NN_FUZZ_REPLAY
    nn_fuzz_failures++;
#else
    abort();
#endif
}

void nn_fuzz_check(int rc, const nn_error *e, const char *call)
{
    static int verbose = -1;
    if (verbose < 0)
        verbose = getenv("NN_FUZZ_VERBOSE") != NULL;
    if (verbose)
        fprintf(stderr, "%s -> %d %s\n", call, rc, rc ? e->msg : "");
    if (rc > 0 || rc < NN_ESTOP)
        nn_fuzz_fail("%s returned %d, not NN_OK or an NN_E* code", call, rc);
    else if (rc && (e->code != rc || !e->msg[0]))
        nn_fuzz_fail("%s returned %d but the error says code %d, message '%s'", call, rc,
                     e->code, e->msg);
}

size_t nn_fuzz_take_u16(const uint8_t **data, size_t *size)
{
    if (*size < 2)
        return 0;
    size_t v = (size_t)(*data)[0] | (size_t)(*data)[1] << 8;
    *data += 2;
    *size -= 2;
    return v;
}
