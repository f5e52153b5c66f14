/* containers: ferry's own configuration for podman, buildah and skopeo.
 *
 * The tools from github.com/containers read containers.conf, registries.conf
 * and an auth file. ferry never edits the machine's /etc/containers: it
 * writes its own files under DATA/containers/ and hands every podman,
 * buildah or skopeo call an environment vector that points at them:
 *
 *   CONTAINERS_CONF             runc as the OCI runtime (cgroups v1 hosts),
 *                               cgroupfs, file event log, fixed ulimits
 *   CONTAINERS_REGISTRIES_CONF  the image registry (managed loopback one or
 *                               external), aliases such as ferry/busybox,
 *                               short names searched only there
 *   REGISTRY_AUTH_FILE          credentials for an external registry (0600)
 *
 * Build tools (buildah bud/push/rmi/from/mount, skopeo on local images) get
 * one more, containers_build_env():
 *
 *   CONTAINERS_STORAGE_CONF     a local image store of ferry's own for
 *                               builds, DATA/containers/storage, whose
 *                               overlay driver does not use idmapped lower
 *                               layers (see containers.c: with them, the
 *                               sandbox's uid mapping leaked into layers)
 *
 * With CONTAINERS_REGISTRIES_CONF set, the tools do not read the system
 * registries.conf nor its registries.conf.d drop-ins, so short names such as
 * "debian" can never silently resolve to a public registry.
 */
#ifndef FERRY_CONTAINERS_H
#define FERRY_CONTAINERS_H

#include "error.h"

/* The registry images are pulled from and pushed to. */
struct containers_registry {
	const char *host;      /* "127.0.0.1:5000" or "registry.example.com[:port]" */
	int insecure;          /* 1: plain HTTP / no TLS verification */
	const char *username;  /* NULL: anonymous */
	const char *password;  /* with username; never logged */
	/* Short names resolved to host/<name>, e.g. "ferry/busybox". NULL-
	 * terminated, may be NULL. Each matches [a-z0-9][a-z0-9._/-]*. */
	const char *const *aliases;
	/* Registries (host:port, plain HTTP: ferry's loopback base-image
	 * caches) searched for other short names after host, in order.
	 * NULL-terminated, may be NULL. */
	const char *const *search_after;
};

struct containers {
	char *dir;             /* DATA/containers */
	char *conf_path;       /* DATA/containers/containers.conf */
	char *registries_path; /* DATA/containers/registries.conf */
	/* DATA/containers/registries.conf.d, kept empty: buildah reads the
	 * system's registries.conf.d drop-ins (Debian's shortnames.conf maps
	 * "python" to docker.io) even with CONTAINERS_REGISTRIES_CONF set,
	 * unless --registries-conf-dir names another directory. */
	char *registries_dir;
	char *auth_path;       /* DATA/containers/auth.json */
	char *storage_path;    /* DATA/containers/storage.conf */
	char *env[4];          /* the three KEY=VALUE entries, then NULL */
	char *build_env[5];    /* those and CONTAINERS_STORAGE_CONF, then NULL */
};

#define CONTAINERS_INIT { NULL, NULL, NULL, NULL, NULL, NULL, { NULL }, { NULL } }

/* Creates DATA/containers/ (0700) under data_dir and (re)writes
 * containers.conf, registries.conf and auth.json (0600) for reg, each
 * atomically (write to a temporary file, rename). Safe to call again when
 * the registry changes (e.g. its port); tools started afterwards see the new
 * files. Fills c, which the caller releases with containers_release().
 * Returns 0, or -1 with e set (invalid host/alias/username, I/O error). */
int containers_setup(struct containers *c, const char *data_dir,
		     const struct containers_registry *reg, struct ferr *e);

/* The NULL-terminated "KEY=VALUE" vector to pass as struct spawn.env to
 * every podman/buildah/skopeo call. Owned by c; valid until release. */
const char *const *containers_env(const struct containers *c);

/* The same for build tools: also CONTAINERS_STORAGE_CONF, ferry's own
 * image store for builds. Owned by c; valid until release. */
const char *const *containers_build_env(const struct containers *c);

/* Frees what containers_setup allocated (the files stay). Accepts a c
 * that was never set up (CONTAINERS_INIT). */
void containers_release(struct containers *c);

#endif
