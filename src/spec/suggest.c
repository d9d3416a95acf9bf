/* "did you mean ...?" for unknown names: the nearest candidate by edit
 * distance (optimal string alignment, case-insensitive), when it is close
 * enough to be the name meant rather than a different one. */
#include <ctype.h>
#include <string.h>

#include "nntrain/spec.h"

#define MAXLEN 64

static int distance(const char *a, const char *b)
{
    size_t n = strlen(a), m = strlen(b);
    if (n >= MAXLEN || m >= MAXLEN)
        return MAXLEN;
    int d[MAXLEN + 1][MAXLEN + 1];
    for (size_t i = 0; i <= n; i++)
        d[i][0] = (int)i;
    for (size_t j = 0; j <= m; j++)
        d[0][j] = (int)j;
    for (size_t i = 1; i <= n; i++)
        for (size_t j = 1; j <= m; j++) {
            int ca = tolower((unsigned char)a[i - 1]), cb = tolower((unsigned char)b[j - 1]);
            int best = d[i - 1][j - 1] + (ca != cb);
            if (d[i - 1][j] + 1 < best)
                best = d[i - 1][j] + 1;
            if (d[i][j - 1] + 1 < best)
                best = d[i][j - 1] + 1;
            if (i > 1 && j > 1 && ca == tolower((unsigned char)b[j - 2]) &&
                tolower((unsigned char)a[i - 2]) == cb && d[i - 2][j - 2] + 1 < best)
                best = d[i - 2][j - 2] + 1;   /* a transposition */
            d[i][j] = best;
        }
    return d[n][m];
}

const char *nn_suggest(const char *name, const char *const cands[])
{
    const char *best = NULL;
    int bd = MAXLEN;
    for (int i = 0; name && cands && cands[i]; i++) {
        int dd = distance(name, cands[i]);
        if (dd < bd)
            bd = dd, best = cands[i];
    }
    /* a third of the longer name, at least 2: "Dens" -> "Dense", "rmsprop" ->
     * "RMSprop", "sparse_categorical_crossentropi" -> the real one, but not
     * "GRU" -> "LSTM" */
    size_t len = strlen(name ? name : "");
    if (best && strlen(best) > len)
        len = strlen(best);
    int limit = (int)(len / 3) > 2 ? (int)(len / 3) : 2;
    return best && bd <= limit && bd < (int)strlen(name) ? best : NULL;
}
