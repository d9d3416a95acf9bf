/* Owns the choice of convolution algorithm for 3x3 stride-1 Conv2D layers
 * (nn_conv_algo, nntrain/layer.h): set by the caller (--conv-algo), else
 * from NNTRAIN_CONV_ALGO at the first use, else the direct kernels. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nntrain/layer.h"

static const char *const names[] = {"direct", "winograd", "auto", "winograd4"};
enum { NALGOS = sizeof names / sizeof names[0] };

static nn_conv_algo algo = NN_CONV_ALGO_DIRECT;
static int set_by_caller;
static pthread_once_t once = PTHREAD_ONCE_INIT;

int nn_conv_algo_parse(const char *s, nn_conv_algo *a)
{
    for (int i = 0; s && i < NALGOS; i++)
        if (!strcmp(s, names[i])) {
            *a = (nn_conv_algo)i;
            return 0;
        }
    return -1;
}

const char *nn_conv_algo_name(nn_conv_algo a)
{
    return (int)a >= 0 && (int)a < NALGOS ? names[a] : "?";
}

static void from_env(void)
{
    const char *v = getenv("NNTRAIN_CONV_ALGO");
    if (set_by_caller || !v || !*v)
        return;
    if (nn_conv_algo_parse(v, &algo))   /* library code does not exit: say so */
        fprintf(stderr, "nntrain: warning: NNTRAIN_CONV_ALGO=%s is not one of direct, "
                "winograd, winograd4, auto; using direct\n", v);
}

void nn_conv_set_algo(nn_conv_algo a)
{
    pthread_once(&once, from_env);
    algo = a;
    set_by_caller = 1;
}

nn_conv_algo nn_conv_get_algo(void)
{
    pthread_once(&once, from_env);
    return algo;
}
