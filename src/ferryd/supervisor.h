/* supervisor: ferryd's supervisor of the parts around it: the build
 * infrastructure and HAProxy, the gateway.
 *
 * The build infrastructure, in a thread of its own, so the API answers at
 * once: stops a registry a killed ferryd of this data dir left running,
 * opens the base registries' pull-through caches (--base-registry) and the
 * image registry (managed: a docker-registry under DATA/registry; or
 * external, --registry), makes sure ferry/busybox is in it, then once a
 * second restarts a managed registry or cache that exited and keeps
 * DATA/registry/ferryd.pid current. What it did is told to core through
 * core/infra.h (core.registry, readiness, the last failure), where builds
 * and the rollout engine wait for it.
 *
 * HAProxy is started (or adopted) when the rollout engine first needs it,
 * through supervisor_gateway_open, which ferryd hands the engine; from
 * then on a second thread checks it once a second and starts it again when
 * it died, then has the engine converge its routes (gateway_restored).
 *
 * Both record what they see alike, through core/parts.h: every check
 * (parts_seen) and every restart (parts_restarted: logged, in the audit
 * log as part.restarted, counted in /healthz?verbose=1).
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
	/* The gateway: HAProxy's address (copied pointer), and what converges
	 * its routes once it was started again (the rollout engine's
	 * rollout_gateway_restored: *ret_routes and *ret_servers restored,
	 * 0, or -1 with e set). */
	const char *gateway_listen;      /* "127.0.0.1:8080" */
	int (*gateway_restored)(size_t *ret_routes, size_t *ret_servers, struct ferr *e);
};

/* Starts the supervisor's thread. Returns 0, or -1 with e set if the
 * thread cannot start; failures to open the registry are retried and
 * reported through infra_wait. */
int supervisor_start(const struct supervisor_options *opts, struct ferr *e);

/* Stops the threads and closes the registries (a managed one stops) and
 * frees the gateway (HAProxy keeps running: the next ferryd adopts it).
 * Call after jobq_stop and rollout_stop. Safe when not started. */
void supervisor_stop(void);

struct gateway;

/* rollout_config.gateway_open: starts HAProxy under DATA/gateway (or
 * adopts the one an earlier ferryd left running) and watches it from then
 * on. Returns the gateway (the supervisor's: freed at supervisor_stop) or
 * NULL with e set. Call after supervisor_start, once at a time. */
struct gateway *supervisor_gateway_open(struct ferr *e);

/* rollout_config.gateway_left_running: 1 when HAProxy's pid file is there
 * (an earlier ferryd started it on this data dir and it may still run). */
int supervisor_gateway_left_running(void);

#endif
