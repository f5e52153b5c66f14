/* rollout_instance: the name that tells this ferryd's replicas from any
 * other's, for both engines (podman, Kubernetes). */
#ifndef FERRY_ROLLOUT_INSTANCE_H
#define FERRY_ROLLOUT_INSTANCE_H

#include <stddef.h>

#include "lib/error.h"

/* This ferryd's runtime instance name (label ferry.instance /
 * ferry.dev/instance), kept in DATA/runtime-instance so that a restarted
 * ferryd finds what it runs and two ferryds never touch each other's:
 * read, or made ("fy" and 8 hex digits) and written on first use, into out.
 * Returns 0 or -1 with e set. */
int rollout_instance_load(const char *data_dir, char *out, size_t size, struct ferr *e);

#endif
