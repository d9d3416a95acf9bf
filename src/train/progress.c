/* Keras-style progress: "Epoch 3/5 - 12s 6ms/step - loss: 0.3012 - ...". */
#include "progress.h"

#include "nntrain/clock.h"

void nn_progress_begin(nn_progress *p, FILE *f, int bar, int epoch, int epochs, long steps)
{
    p->f = f;
    p->bar = bar;
    p->epoch = epoch;
    p->epochs = epochs;
    p->steps = steps;
    p->t0 = nn_now();
    p->last_draw = 0;
}

static void metrics(FILE *f, const char *const *names, const double *vals, int n)
{
    for (int i = 0; i < n; i++)
        fprintf(f, " - %s: %.4f", names[i], vals[i]);
}

void nn_progress_step(nn_progress *p, long step, const char *const *names,
                      const double *vals, int n)
{
    if (!p->bar)
        return;
    double t = nn_now();
    if (step < p->steps && t - p->last_draw < 0.1)
        return;
    p->last_draw = t;
    const int width = 30;
    int done = (int)(width * step / (p->steps ? p->steps : 1));
    char bar[64];
    for (int i = 0; i < width; i++)
        bar[i] = i < done ? '=' : i == done ? '>' : '.';
    bar[width] = 0;
    double el = t - p->t0, eta = step ? el / (double)step * (double)(p->steps - step) : 0;
    fprintf(p->f, "\r\033[KEpoch %d/%d %ld/%ld [%s] - ETA: %.0fs", p->epoch, p->epochs,
            step, p->steps, bar, eta);
    metrics(p->f, names, vals, n);
    fflush(p->f);
}

void nn_progress_end(nn_progress *p, double train_s, const char *const *names,
                     const double *vals, int n)
{
    double el = nn_now() - p->t0;
    double ms = p->steps ? 1e3 * train_s / (double)p->steps : 0;
    if (p->bar)
        fprintf(p->f, "\r\033[K");
    fprintf(p->f, "Epoch %d/%d - %.0fs %.0fms/step", p->epoch, p->epochs, el, ms);
    metrics(p->f, names, vals, n);
    fprintf(p->f, "\n");
    fflush(p->f);
}
