/* runtime: the container runtime driver interface.
 *
 * Core asks a driver to run replicas of a deployment; it never sees podman
 * (or Kubernetes). Everything a driver creates is keyed by the ids ferry
 * gives (project, environment, component, deployment id, replica index) and
 * carries them as labels (ferry.project, ferry.environment, ferry.component,
 * ferry.deployment, ferry.replica, plus ferry.instance naming the ferryd that
 * owns it), so that a restarted ferryd re-finds its replicas with
 * runtime_list() and adopts them instead of starting them twice.
 *
 * Isolation: each project+environment gets one network; replicas on it reach
 * each other by component name; nothing on one environment's network can
 * open a connection to another's.
 *
 * Configuration never travels on a container's command line or in its
 * runtime config: the driver writes it to a directory on a tmpfs, bind-
 * mounted read-only at /.ferry/config, and ferry-init (bind-mounted at
 * /.ferry/init, the entrypoint of every container) exports it before it
 * execs the image's own entrypoint. See docs/runtime.md and
 * docs/ferry-init.md.
 *
 * All functions are safe to call from several threads on one driver
 * instance (each call runs its own podman processes). They return 0 (or a
 * documented non-negative value) on success, -1 with e filled on failure.
 */
#ifndef FERRY_RUNTIME_H
#define FERRY_RUNTIME_H

#include <stddef.h>

#include "lib/error.h"
#include "lib/strbuf.h"

#define RUNTIME_MAX_PORTS 8
#define RUNTIME_NAME_MAX 63       /* project, environment, component */
#define RUNTIME_ENV_MAX (4u << 20) /* total size of a replica's env file */

/* A file-mount configuration: data is written to the replica's tmpfs config
 * directory and bind-mounted read-only at path (absolute) in the container. */
struct runtime_file {
	const char *path;
	const void *data;
	size_t len;
};

/* What to start. Strings are borrowed for the duration of the call. */
struct runtime_spec {
	const char *project;      /* DNS labels: [a-z0-9-], 1-63, no '-' at ends */
	const char *environment;
	const char *component;    /* also the replica's DNS alias on the network */
	long long deployment;     /* > 0 */
	int replica;              /* >= 0 */
	const char *image;        /* pullable reference, by digest */
	int cpu_millicores;       /* 0: no limit */
	long long memory_bytes;   /* 0: no limit; else >= 6 MiB (podman's floor) */
	int ports[RUNTIME_MAX_PORTS]; /* container TCP ports to publish on
					 127.0.0.1 (random host port) */
	int nports;
	const char *const *env;   /* NULL-terminated "KEY=VALUE"; may be NULL */
	const struct runtime_file *files;
	size_t nfiles;
	/* Replace the image's CMD (kept: its ENTRYPOINT). NULL-terminated; NULL
	 * keeps the image's CMD. For tasks. */
	const char *const *args;
	int task;                 /* 1: run to completion, never restarted */
	/* The Linux capabilities the container keeps, by name without "CAP_"
	 * ("NET_BIND_SERVICE"), NULL-terminated; NULL: none. Every other
	 * capability is dropped. Replicas also always run with
	 * no-new-privileges and the runtime's default seccomp profile. */
	const char *const *capabilities;
	int read_only_root;       /* 1: the root file system is read-only */
};

enum runtime_state {
	RUNTIME_UNKNOWN = 0,
	RUNTIME_CREATED,
	RUNTIME_RUNNING,
	RUNTIME_PAUSED,
	RUNTIME_STOPPING,
	RUNTIME_EXITED,
};

struct runtime_port {
	int container_port;
	int host_port;            /* on 127.0.0.1 */
};

/* A replica as the runtime reports it. */
struct runtime_replica {
	char id[65];              /* runtime id (podman: full container id) */
	char name[256];
	char project[RUNTIME_NAME_MAX + 1];
	char environment[RUNTIME_NAME_MAX + 1];
	char component[RUNTIME_NAME_MAX + 1];
	long long deployment;
	int replica;
	int task;
	enum runtime_state state;
	int exit_code;            /* meaningful when state is RUNTIME_EXITED */
	int restarts;             /* restarts by the runtime's crash policy, or
				     -1 when the driver cannot tell from list */
	struct runtime_port ports[RUNTIME_MAX_PORTS];
	int nports;
};

struct runtime_replica_list {
	struct runtime_replica *items;
	size_t n;
};

#define RUNTIME_REPLICA_LIST_INIT { NULL, 0 }

/* Which replicas runtime_list() returns: NULL fields and deployment 0 match
 * anything. Only replicas of this driver's instance are ever returned. */
struct runtime_filter {
	const char *project;
	const char *environment;
	const char *component;
	long long deployment;
};

/* Called with one line of a replica's output (without the newline; lines
 * longer than 16 KiB are split). line is NULL for a periodic tick (about
 * once a second while a followed replica is silent). Return non-zero to
 * stop. */
typedef int (*runtime_log_fn)(const char *line, size_t len, void *arg);

/* An image in the runtime's local store (not the registry). */
struct runtime_image {
	char *id;                 /* the store's image id */
	char **refs;              /* its HOST/repo@sha256:... references */
	size_t n_refs;
	long long size;           /* bytes */
	int containers;           /* containers using it */
};

struct runtime_image_list {
	struct runtime_image *items;
	size_t n;
};

/* A helper process the runtime's networks depend on (podman with CNI: the
 * dnsname plugin's dnsmasq of each network, which gives replicas their
 * neighbours' names). */
enum runtime_helper_state {
	RUNTIME_HELPER_UP,
	RUNTIME_HELPER_IDLE,       /* not running, and nothing needs it now */
	RUNTIME_HELPER_RESTARTED,  /* it had died: started again */
	RUNTIME_HELPER_DOWN,       /* dead, and could not be started */
};

struct runtime_helper {
	char name[160];            /* e.g. "dns fy1234abcd-shop-production" */
	enum runtime_helper_state state;
	int pid;                   /* 0 if none */
};

struct runtime;

/* The driver's operations; see the runtime_* wrappers below for the
 * contracts. A driver embeds struct runtime as its first member. */
struct runtime_ops {
	const char *name;
	int (*ensure_network)(struct runtime *rt, const char *project,
			      const char *environment, struct ferr *e);
	int (*remove_network)(struct runtime *rt, const char *project,
			      const char *environment, struct ferr *e);
	int (*start_replica)(struct runtime *rt, const struct runtime_spec *spec,
			     struct runtime_replica *ret, struct ferr *e);
	int (*restart_replica)(struct runtime *rt, const char *id, int grace_s,
			       struct ferr *e);
	int (*stop_replica)(struct runtime *rt, const char *id, int grace_s,
			    struct ferr *e);
	int (*inspect)(struct runtime *rt, const char *id,
		       struct runtime_replica *ret, struct ferr *e);
	int (*list)(struct runtime *rt, const struct runtime_filter *f,
		    struct runtime_replica_list *ret, struct ferr *e);
	int (*logs)(struct runtime *rt, const char *id, int follow,
		    runtime_log_fn fn, void *arg, struct ferr *e);
	int (*exec_probe)(struct runtime *rt, const char *id,
			  const char *const *argv, int timeout_ms,
			  struct strbuf *out, struct ferr *e);
	int (*wait)(struct runtime *rt, const char *id, int timeout_ms,
		    struct ferr *e);
	/* Optional (NULL: the driver keeps no local images). */
	int (*images)(struct runtime *rt, struct runtime_image_list *ret, struct ferr *e);
	int (*remove_image)(struct runtime *rt, const char *id, struct ferr *e);
	/* Optional (NULL: no helpers). */
	int (*check_helpers)(struct runtime *rt, int repair, struct runtime_helper *ret,
			     size_t max, struct ferr *e);
	void (*free)(struct runtime *rt);
};

struct runtime {
	const struct runtime_ops *ops;
};

/* The network of project+environment exists afterwards, isolated from every
 * other network, with DNS for the replicas on it. Idempotent. */
int runtime_ensure_network(struct runtime *rt, const char *project,
			   const char *environment, struct ferr *e);

/* Removes the network of project+environment. Succeeds if it does not
 * exist; fails (409) while replicas are still attached to it. */
int runtime_remove_network(struct runtime *rt, const char *project,
			   const char *environment, struct ferr *e);

/* Starts one replica of spec (its network must exist: ensure_network).
 * The image is pulled if it is not present. Fills ret (the caller's) with
 * the new replica, including the host port of every published port.
 * Fails with 409 if a replica with the same project/environment/component/
 * deployment/replica already exists: stop it first. Nothing is left behind
 * on failure. */
int runtime_start_replica(struct runtime *rt, const struct runtime_spec *spec,
			  struct runtime_replica *ret, struct ferr *e);

/* Stops (signal, then kill after grace_s seconds) and starts again the
 * replica id with the same configuration; for liveness failures and for
 * the caller's own crash backoff. */
int runtime_restart_replica(struct runtime *rt, const char *id, int grace_s,
			    struct ferr *e);

/* Sends the replica id (an id or name from start/list) its stop signal
 * (SIGTERM), kills it after grace_s seconds, removes it, wipes and removes
 * its configuration directory. Succeeds if it does not exist (idempotent). */
int runtime_stop_replica(struct runtime *rt, const char *id, int grace_s,
			 struct ferr *e);

/* Fills ret with the current state of replica id. 404 if there is no such
 * replica of this instance. ret->restarts is exact here. */
int runtime_inspect(struct runtime *rt, const char *id,
		    struct runtime_replica *ret, struct ferr *e);

/* Fills ret (caller's, empty) with the replicas of this instance that match
 * f (NULL: all), running or not, ordered by name. Release with
 * runtime_replica_list_release. */
int runtime_list(struct runtime *rt, const struct runtime_filter *f,
		 struct runtime_replica_list *ret, struct ferr *e);

/* Calls fn with each line the replica id wrote (stdout and stderr). With
 * follow, keeps calling fn until the replica exits or fn returns non-zero.
 * Returns 0 (also when fn stopped it), or -1 with e set. */
int runtime_logs(struct runtime *rt, const char *id, int follow,
		 runtime_log_fn fn, void *arg, struct ferr *e);

/* Runs argv inside the running replica id, for at most timeout_ms (> 0).
 * Collects at most 64 KiB of its output into out (may be NULL). Returns its
 * exit code (>= 0; 126/127: could not run), or -1 with e set (no such
 * replica, not running, timed out: e->code "timeout"). */
int runtime_exec_probe(struct runtime *rt, const char *id,
		       const char *const *argv, int timeout_ms,
		       struct strbuf *out, struct ferr *e);

/* Waits until replica id exits (timeout_ms 0: no limit) and returns its exit
 * code (>= 0; 128+n if killed by signal n), or -1 with e set (timeout: e->code
 * "timeout"). The replica is not removed: call runtime_stop_replica. */
int runtime_wait(struct runtime *rt, const char *id, int timeout_ms,
		 struct ferr *e);

/* Fills ret (caller's, empty) with the images in the runtime's local
 * store that were pulled by digest (those deployments use). A driver
 * without a local store returns 0 and an empty list. Release with
 * runtime_image_list_release. */
int runtime_images(struct runtime *rt, struct runtime_image_list *ret, struct ferr *e);

/* Removes the image id from the local store (never forced). Returns 0 when
 * it is gone (or was), 1 when a container still uses it (it stays), -1
 * with e set on another failure. */
int runtime_remove_image(struct runtime *rt, const char *id, struct ferr *e);

void runtime_image_list_release(struct runtime_image_list *l);

/* Checks the helpers of this instance's networks into ret (at most max);
 * with repair, starts again one that died while something needs it.
 * Returns how many were filled (0 for a driver without helpers), or -1
 * with e set. */
int runtime_check_helpers(struct runtime *rt, int repair, struct runtime_helper *ret, size_t max,
			  struct ferr *e);

/* Frees the driver instance (accepts NULL). Replicas keep running. */
void runtime_free(struct runtime *rt);

/* Frees the items of l (filled by runtime_list); l is left empty and may be
 * filled again. */
void runtime_replica_list_release(struct runtime_replica_list *l);

/* The host port (on 127.0.0.1) published for container_port, or -1. */
int runtime_replica_host_port(const struct runtime_replica *r, int container_port);

/* "running", "exited", ... (static strings). */
const char *runtime_state_name(enum runtime_state s);

/* 0 if s is a DNS label (1-63 of [a-z0-9-], no '-' first or last); else
 * -1 with e naming what ("project"). */
int runtime_check_name(const char *what, const char *s, struct ferr *e);

#endif
