/* infra: the build infrastructure as core sees it: the image registry
 * (core.registry), the pull-through caches of the base registries, and
 * whether they are ready (the registry answers and ferry/busybox is in it).
 *
 * ferryd's supervisor (src/ferryd/supervisor.c) brings them up in its own
 * thread and keeps the registry running; it reports here what it did.
 * Builds, the sweep, housekeeping and the rollout engine only wait for
 * readiness and read what is set. A leaf of core: it knows no module above.
 */
#ifndef FERRY_CORE_INFRA_H
#define FERRY_CORE_INFRA_H

#include <stddef.h>

#include "lib/error.h"

struct registry;

/* At most this many --base-registry upstreams. */
#define INFRA_MAX_BASE_REGISTRIES 8

/* Waits up to timeout_ms for the registry and base image to be ready.
 * Returns 0, or -1 with e set: the last start-up error, or a 503 when it is
 * still starting (also once infra_stopping was called). */
int infra_wait(int timeout_ms, struct ferr *e);

/* --- for the supervisor --- */

/* The registry answers: sets core.registry (reg NULL: it is gone, at stop). */
void infra_set_registry(struct registry *reg);
/* The base registries' caches, in search order, and the upstream each one
 * caches (both arrays must live until infra_set_caches(NULL, NULL, 0)). */
void infra_set_caches(struct registry *const *caches, const char *const *upstreams, size_t n);
/* Ready (the error cleared, waiters woken) or the last start-up failure. */
void infra_ready(void);
void infra_failed(const struct ferr *e);
/* ferryd stops: waiters stop waiting, infra_sleep returns at once. */
void infra_stopping(void);
/* Clears the stopping mark and readiness (a new start). */
void infra_reset(void);
/* Sleeps up to ms unless stopping. Returns 1 when stopping. */
int infra_sleep(int ms);

/* --- for builds --- */

/* The number of base-image caches; caches[i] and upstreams[i] for i below
 * it (either may be NULL when not wanted). Read once the infra is ready. */
size_t infra_caches(struct registry *const **caches, const char *const **upstreams);

#endif
