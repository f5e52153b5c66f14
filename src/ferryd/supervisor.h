/* supervisor: ferryd's supervisor of the build infrastructure.
 *
 * In a thread of its own, so the API answers at once: stops a registry a
 * killed ferryd of this data dir left running, opens the base registries'
 * pull-through caches (--base-registry) and the image registry (managed:
 * a docker-registry under DATA/registry; or external, --registry), makes
 * sure ferry/busybox is in it, then once a second restarts a managed
 * registry or cache that exited (parts_restarted) and keeps
 * DATA/registry/ferryd.pid current. What it did is told to core through
 * core/infra.h (core.registry, readiness, the last failure), where builds
 * and the rollout engine wait for it. (HAProxy, the gateway, is kept up by
 * the rollout reconciler: it owns the routes it restores.)
 */
#ifndef FERRY_FERRYD_SUPERVISOR_H
#define FERRY_FERRYD_SUPERVISOR_H

#include <stddef.h>

#include "core/infra.h"
#include "lib/error.h"

struct supervisor_options {
	/* Registry: managed (registry_url NULL) or external. */
	const char *registry_url;        /* "https://host[:port]" or NULL */
	const char *registry_username;   /* NULL: anonymous */
	const char *registry_password;   /* copied; the caller may wipe it */
	const char *registry_binary;     /* NULL: docker-registry from PATH */
	const char *busybox;             /* NULL: /bin/busybox */
	/* Upstream registries for base images by short name (FROM
	 * python:3.12-slim), searched in order after ferry's own registry,
	 * each through a pull-through cache (copied pointers: the strings
	 * must live as long as ferryd). */
	const char *const *base_registries;
	size_t n_base_registries;        /* at most INFRA_MAX_BASE_REGISTRIES */
};

/* Starts the supervisor's thread. Returns 0, or -1 with e set if the
 * thread cannot start; failures to open the registry are retried and
 * reported through infra_wait. */
int supervisor_start(const struct supervisor_options *opts, struct ferr *e);

/* Stops the thread and closes the registries (a managed one stops). Call
 * after jobq_stop. Safe when not started. */
void supervisor_stop(void);

#endif
