/* rollout internals shared by rollout.c and rollout_logs.c. Not for other
 * modules: they use core/rollout.h. */
#ifndef FERRY_ROLLOUT_INT_H
#define FERRY_ROLLOUT_INT_H

#include "lib/error.h"

struct runtime;

/* The engine's runtime driver once it is up; NULL (with e set: 503 and
 * why) while it is still starting or when rollout_start was not called. */
struct runtime *rollout_runtime(struct ferr *e);

#endif
