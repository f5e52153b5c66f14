/* podman: the runtime driver that runs replicas with the podman CLI.
 *
 * Every podman call is a child process (lib/spawn, no shell) given the
 * caller's environment vector (containers_env(): ferry's containers.conf
 * with runc, ulimits, registries). Output is read with --format json.
 *
 * Names:   network   <prefix>-<project>-<environment>
 *          replica   <prefix>-<project>-<environment>-<component>-d<dep>-r<n>
 * Config:  <run dir>/<replica name>/env (0400) and files/<i> (0400), the
 *          directory 0700, owned by the image's user; the run dir is a tmpfs
 *          (see podman_runtime_new).
 * Crashes: podman's own policy, --restart on-failure:<restart_max>, keeps a
 *          crashing service up while ferryd is down; past that the replica
 *          stays exited and ferryd restarts it with its own backoff
 *          (runtime_restart_replica). Tasks are never restarted.
 */
#ifndef FERRY_RUNTIME_PODMAN_H
#define FERRY_RUNTIME_PODMAN_H

#include "runtime.h"

struct podman_config {
	/* DATA. Unless run_dir is given, configuration directories live on a
	 * tmpfs: as root, one mounted at DATA/run (mode 0700, kept mounted
	 * across ferryd restarts, because running replicas' bind mounts come
	 * from it); otherwise /dev/shm/ferry-<uid>-<instance>. */
	const char *data_dir;
	/* Use this directory (must be on a tmpfs) instead; for tests. */
	const char *run_dir;
	/* Names this ferryd among others on the host: label ferry.instance.
	 * [a-z0-9-], 1-32. NULL: "ferry". */
	const char *instance;
	/* Prefix of network and container names, [a-z0-9-], 1-32.
	 * NULL: the instance. */
	const char *prefix;
	/* Host path of the ferry-init binary (static). Required. */
	const char *init_path;
	/* "KEY=VALUE" entries for every podman call; may be NULL. Copied. */
	const char *const *env;
	/* The podman program; NULL: "podman" from PATH. */
	const char *podman;
	/* --restart on-failure:N for services; 0: 3. */
	int restart_max;
};

/* Creates a podman driver. Prepares (and verifies, with statfs, that it is
 * a tmpfs) the run directory, checks init_path is an executable file.
 * Does not run podman. Returns 0 and *ret (free with runtime_free), or -1
 * with e set. */
int podman_runtime_new(struct runtime **ret, const struct podman_config *cfg,
		       struct ferr *e);

/* The directory where the driver keeps replicas' configuration, for
 * diagnostics and tests. Owned by rt. */
const char *podman_runtime_run_dir(const struct runtime *rt);

#endif
