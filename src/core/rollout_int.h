/* rollout internals shared by rollout.c, rollout_logs.c and execution.c
 * (task runs use the engine's runtime driver). Not for other modules: they
 * use core/rollout.h. */
#ifndef FERRY_ROLLOUT_INT_H
#define FERRY_ROLLOUT_INT_H

#include <stddef.h>
#include <stdint.h>

#include "lib/error.h"

struct runtime;

/* The engine's runtime driver once it is up; NULL (with e set: 503 and
 * why) while it is still starting or when rollout_start was not called. */
struct runtime *rollout_runtime(struct ferr *e);

/* Starts the container of one execution of task deployment deployment_id
 * exactly as the engine starts a replica (ferry-init as PID 1, the
 * deployment's configuration snapshot on the driver's tmpfs, FERRY_*
 * variables plus FERRY_EXECUTION, the project+environment network, which
 * is created if missing), with replica slot execution_id (so the container
 * is labelled with it and a restarted ferryd finds it with runtime_list),
 * task = 1 and args (NULL-terminated, or NULL: the image's CMD) after the
 * image's ENTRYPOINT. Writes the runtime id to ret_id. Returns 0, or -1
 * with e set (503 while the runtime is starting, 409 if that execution's
 * container already exists, 400 if the deployment is not a task's). */
int rollout_task_start(int64_t deployment_id, int64_t execution_id, const char *const *args,
		       char ret_id[65], struct ferr *e);

/* 1 if deployment dep's status is status now (read from the store). */
int rollout_status_is(int64_t dep, const char *status);

#endif
