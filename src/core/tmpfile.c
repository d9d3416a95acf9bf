/* Write-to-a-temporary-name-then-rename (see tmpfile.h): the one naming
 * scheme "<path>.tmp-<pid>" and the commit/cleanup steps every writer uses. */
#define _POSIX_C_SOURCE 200809L
#include "nntrain/tmpfile.h"

#include <errno.h>
#include <stdio.h>
#include <unistd.h>

int nn_tmp_path(char *tmp, size_t len, const char *path)
{
    int n = snprintf(tmp, len, "%s.tmp-%ld", path, (long)getpid());
    if (n < 0 || (size_t)n >= len) {
        if (len)
            tmp[0] = 0;   /* no truncated name for nn_tmp_discard to remove */
        errno = ENAMETOOLONG;
        return -1;
    }
    return 0;
}

FILE *nn_tmp_fopen(const char *path, char *tmp, size_t len)
{
    return nn_tmp_path(tmp, len, path) ? NULL : fopen(tmp, "w");
}

int nn_tmp_fclose(FILE *f, const char *tmp, int failed)
{
    failed |= ferror(f) != 0;
    if (fclose(f) || failed) {
        nn_tmp_discard(tmp);
        return -1;
    }
    return 0;
}

int nn_tmp_commit(const char *tmp, const char *path)
{
    if (rename(tmp, path) == 0)
        return 0;
    nn_tmp_discard(tmp);
    return -1;
}

void nn_tmp_discard(const char *tmp)
{
    int err = errno;
    remove(tmp);
    errno = err;
}
