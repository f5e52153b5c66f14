/* registry: the image registry builds are pushed to and deployments pull from.
 *
 * Managed mode (the default): ferryd runs CNCF distribution (Debian's
 * `docker-registry`) on 127.0.0.1 only, with everything under DATA/registry/:
 *
 *   config.yml   generated at every start (deletes enabled, no auth: loopback)
 *   port         the chosen port, kept so image references stay valid across
 *                restarts of ferryd
 *   storage/     the blobs and manifests
 *   registry.log its output (the previous run's in registry.log.1)
 *
 * The process is supervised: registry_supervise() restarts it if it died.
 * registry_gc() collects garbage the way distribution requires it: the
 * registry is restarted read-only (pulls keep working, pushes get 503), the
 * `garbage-collect` command runs against the storage, and it is restarted
 * read-write.
 *
 * External mode: any OCI/Docker v2 registry URL with optional credentials.
 * Nothing is started; credentials go into the auth file the tools read
 * (lib/containers.h) and are used for ferry's own HTTP calls (Basic, or the
 * Bearer token flow of Docker-style registries).
 *
 * Either way registry_open() also writes ferry's containers configuration
 * (lib/containers.h), so that `FROM ferry/busybox` resolves to this registry,
 * and registry_env() is the environment every podman/buildah/skopeo call must
 * get. All functions may be called from several threads at once.
 */
#ifndef FERRY_PIPELINE_REGISTRY_H
#define FERRY_PIPELINE_REGISTRY_H

#include <sys/types.h>

#include "lib/error.h"
#include "lib/strbuf.h"

struct registry;

struct registry_config {
	const char *data_dir;      /* DATA; required */
	/* Managed mode (external_url == NULL). */
	int port;                  /* 0: the one in DATA/registry/port, else a free one */
	const char *binary;        /* NULL: "docker-registry" from PATH */
	const char *subdir;        /* below DATA; NULL: "registry" */
	/* Managed only: run as a pull-through cache of this upstream registry
	 * (distribution's proxy mode) instead; ferry's containers
	 * configuration is then not written. */
	const char *proxy_url;
	/* Hosts (host:port, plain HTTP) searched for short names after this
	 * registry, in order: the base-image caches. NULL-terminated or NULL. */
	const char *const *search_after;
	/* External mode. */
	const char *external_url;  /* "https://host[:port]" or "http://host[:port]" */
	const char *username;      /* NULL: anonymous */
	const char *password;
};

/* The short names every build can use in FROM (resolved to this registry). */
extern const char *const registry_aliases[];

/* Opens the registry. Managed: generates the configuration, starts
 * docker-registry and waits (up to 15 s) until GET /v2/ answers. External:
 * checks that /v2/ answers (200, or 401 when it wants credentials).
 * Returns 0 and *ret (free with registry_close), or -1 with e set (the
 * registry's own output or the HTTP error in the message). */
int registry_open(struct registry **ret, const struct registry_config *cfg, struct ferr *e);

/* Stops a managed registry (SIGTERM, then SIGKILL after 5 s) and frees r.
 * Accepts NULL. */
void registry_close(struct registry *r);

/* "127.0.0.1:5000" or the external host[:port]: the prefix of every image
 * reference. Owned by r. */
const char *registry_host(const struct registry *r);

/* 1 when the registry speaks plain HTTP (tools need --tls-verify=false). */
int registry_insecure(const struct registry *r);

/* The NULL-terminated KEY=VALUE vector for podman/buildah/skopeo (see
 * lib/containers.h). Owned by r. */
const char *const *registry_env(const struct registry *r);

/* The same for build tools (buildah, skopeo on local images): also ferry's
 * own image store for builds (containers_build_env). Owned by r. */
const char *const *registry_build_env(const struct registry *r);

/* The empty registries.conf.d directory buildah must be given with
 * --registries-conf-dir so that only ferry's registries.conf decides what a
 * short name means (see lib/containers.h). Owned by r. */
const char *registry_confdir(const struct registry *r);
/* The managed registry's storage root (DATA/registry/storage), or NULL
 * for an external registry. Owned by r. */
const char *registry_storage_dir(const struct registry *r);

/* The managed registry's pid, or 0 (external, or not running). */
pid_t registry_pid(struct registry *r);

/* Checks the managed registry process and restarts it if it has exited.
 * Call it periodically (e.g. every second) from the daemon's supervisor.
 * Restarts are at most one per second. Returns 1 if it restarted the
 * registry, 0 if nothing was needed (or external mode), -1 with e set if a
 * restart failed (call again later). */
int registry_supervise(struct registry *r, struct ferr *e);

/* 0 if the registry answers GET /v2/ (200, or 401 asking for
 * credentials) within 2 s; -1 with e set (what failed) otherwise. */
int registry_ping(struct registry *r, struct ferr *e);

/* Garbage-collects a managed registry: restart read-only, run
 * `docker-registry garbage-collect --delete-untagged`, restart read-write.
 * Blobs no longer referenced by a manifest and manifests no longer tagged
 * are deleted. The tool's output is appended to log (may be NULL).
 * External registries: nothing is done (their operator runs GC); returns 0.
 * Returns 0, or -1 with e set; the registry is running read-write again in
 * both cases unless the restart itself failed (then registry_supervise
 * retries). */
int registry_gc(struct registry *r, struct strbuf *log, struct ferr *e);

/* Looks up repo:ref (ref is a tag or "sha256:<hex>") with a HEAD request.
 * Returns 1 and, if ret_digest is not NULL, the manifest digest
 * ("sha256:" + 64 hex, NUL-terminated) in ret_digest; 0 if there is no such
 * manifest; -1 with e set on a transport or registry error. */
int registry_manifest_digest(struct registry *r, const char *repo, const char *ref,
			     char ret_digest[72], struct ferr *e);

/* Deletes the manifest repo@digest (HTTP DELETE). Tags pointing at it go
 * with it; its blobs are freed by the next registry_gc(). Deleting a
 * manifest that does not exist is not an error. Returns 0, or -1 with e set
 * (e.g. 405 when the registry has deletes disabled). */
int registry_delete_manifest(struct registry *r, const char *repo, const char *digest,
			     struct ferr *e);

/* "HOST/repo@digest": the pullable reference of an image. Caller frees. */
char *registry_ref(const struct registry *r, const char *repo, const char *digest);

/* 1 if name is a valid repository path ("project/component"): lower-case
 * components of [a-z0-9] separated by single '.', '_', '-' or "__", joined by
 * '/'. */
int registry_valid_repo(const char *name);

/* 1 if s is "sha256:" followed by 64 lower-case hex digits. */
int registry_valid_digest(const char *s);

#endif
