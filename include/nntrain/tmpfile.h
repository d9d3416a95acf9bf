/* Writing a file so that no reader ever sees half of it: write to the
 * temporary name "<path>.tmp-<pid>" beside path, then rename() it over path;
 * a failure removes the temporary file. Every output of nntrain (datasets,
 * checkpoints, history, timeline, CSV and PNG files) goes this way. */
#ifndef NNTRAIN_TMPFILE_H
#define NNTRAIN_TMPFILE_H

#include <stddef.h>
#include <stdio.h>

/* Bytes ".tmp-<pid>" and the NUL add to strlen(path), at the most. */
#define NN_TMP_EXTRA 32
/* A buffer that holds the temporary name of any path Linux accepts. */
#define NN_TMP_NAME_MAX (4096 + NN_TMP_EXTRA)

/* Writes "<path>.tmp-<pid>" into tmp (len bytes). Returns 0, or -1 with
 * errno = ENAMETOOLONG and tmp = "" when it does not fit. */
int nn_tmp_path(char *tmp, size_t len, const char *path);

/* nn_tmp_path, then fopen(tmp, "w"). Returns the stream, or NULL with errno
 * set (nothing to remove). */
FILE *nn_tmp_fopen(const char *path, char *tmp, size_t len);

/* Closes f, a stream from nn_tmp_fopen. When the writer failed (failed != 0),
 * the stream has an error or fclose fails, removes tmp and returns -1;
 * else returns 0 (then nn_tmp_commit). */
int nn_tmp_fclose(FILE *f, const char *tmp, int failed);

/* Renames tmp over path. On failure removes tmp and returns -1 with errno
 * from rename(); else returns 0. */
int nn_tmp_commit(const char *tmp, const char *path);

/* Removes tmp after a failure, leaving errno as it was. */
void nn_tmp_discard(const char *tmp);

#endif
