/* Monotonic wall clock in seconds. */
#ifndef NNTRAIN_CLOCK_H
#define NNTRAIN_CLOCK_H

double nn_now(void);

#endif
