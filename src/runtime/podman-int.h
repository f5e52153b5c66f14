/* Internals of the podman driver, shared with its unit tests only. */
#ifndef FERRY_RUNTIME_PODMAN_INT_H
#define FERRY_RUNTIME_PODMAN_INT_H

#include <pthread.h>
#include <sys/types.h>

#include "podman.h"

struct podman {
	struct runtime rt;        /* first: runtime_* casts back */
	char *run_dir;
	char *instance;
	char *prefix;
	char *init_path;
	char *program;
	char **env;               /* NULL-terminated copy of cfg->env */
	int restart_max;
	/* uid:gid of images referenced by digest (immutable), so a start does
	 * not mount the image each time to read its /etc/passwd */
	pthread_mutex_t lock;
	struct pm_owner {
		char *image;
		uid_t uid;
		gid_t gid;
	} owners[32];
	size_t next_owner;
	/* What a rollout would otherwise ask podman again each time (each
	 * call costs 50-200 ms): the `image inspect` answers of images
	 * referenced by digest, and the networks found as ferry needs them.
	 * Forgotten when ferry removes an image or a network, and when a
	 * start fails (then everything is asked again). Under lock. */
	struct pm_memo {
		char *key;
		char *value;
	} images[16], nets[32];
	size_t next_image, next_net;
	/* The last `podman ps` answer, reused for PS_FRESH_MS by the lists
	 * that follow each other (a promotion's health check, then its
	 * rollout; the reconciler's pass): dropped by every start, stop,
	 * restart and wait of this driver, so what ferry itself changed is
	 * always seen; a change behind ferry's back at most PS_FRESH_MS
	 * late. ps_gen counts those drops, so a list that ran across one is
	 * not kept. Under lock. */
	char *ps_json;
	long long ps_at;
	unsigned long ps_gen;
};
#define PS_FRESH_MS 500

/* A growable NULL-terminated argument vector; owns its strings. */
struct pm_argv {
	char **v;
	size_t n, alloc;
};

#define PM_ARGV_INIT { NULL, 0, 0 }

/* Appends a copy of s (allocation failure aborts, as strbuf's does). */
void pm_argv_push(struct pm_argv *a, const char *s);
void pm_argv_pushf(struct pm_argv *a, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* Frees the strings and the vector; a is left as PM_ARGV_INIT. */
void pm_argv_release(struct pm_argv *a);

/* What ferry needs of an image's config. */
struct pm_image {
	struct pm_argv entrypoint;
	struct pm_argv cmd;
	char *user;               /* "" when unset */
	char *layers;             /* overlay: its layers' directories, top
				     first, ':' between (runtime/layerfile.h);
				     NULL with another storage driver */
};

#define PM_IMAGE_INIT { PM_ARGV_INIT, PM_ARGV_INIT, NULL, NULL }

void pm_image_release(struct pm_image *im);

/* Parses the output of `podman image inspect --format json REF`. */
int pm_parse_image(const char *json, struct pm_image *ret, struct ferr *e);

/* Parses `podman ps -a --format json`, keeping the containers labelled
 * ferry.instance=instance that match f (NULL: all), sorted by name. */
int pm_parse_ps(const char *json, const char *instance, const struct runtime_filter *f,
		struct runtime_replica_list *ret, struct ferr *e);

/* Parses `podman container inspect --format json ID` into ret. Fails with
 * 404 if the container is not labelled ferry.instance=instance. */
int pm_parse_inspect(const char *json, const char *instance,
		     struct runtime_replica *ret, struct ferr *e);

/* Parses `podman network inspect --format json NAME`: whether the network
 * has DNS and the isolate option. Returns 0, or -1 with e set. */
int pm_parse_network(const char *json, int *ret_dns, int *ret_isolated,
		     struct ferr *e);

/* Parses `podman images --format json` into ret (empty; the caller
 * releases it): the images with at least one RepoDigest. */
int pm_parse_images(const char *json, struct runtime_image_list *ret, struct ferr *e);

/* Resolves an image's USER ("", "root", "1000", "1000:50", "app",
 * "app:staff") to uid and gid, with the image's /etc/passwd and /etc/group
 * contents for names (either may be NULL). Returns 0, or -1 with e set if
 * a name is not found. */
int pm_resolve_user(const char *user, const char *passwd, const char *group,
		    uid_t *ret_uid, gid_t *ret_gid, struct ferr *e);

/* "0.250" for 250 millicores into buf. */
void pm_format_cpus(char *buf, size_t size, int millicores);

/* Network and replica names. */
void pm_network_name(struct strbuf *out, const struct podman *p,
		     const char *project, const char *environment);
void pm_replica_name(struct strbuf *out, const struct podman *p,
		     const struct runtime_spec *spec);

/* Checks spec (names, image, ports, paths, limits). */
int pm_check_spec(const struct runtime_spec *spec, struct ferr *e);

/* Builds the `podman run` argument vector (argv[0] is the program) for
 * spec with image config im, container name and network net. Holds no
 * configuration value: only paths to the config directory. */
void pm_run_argv(struct pm_argv *a, const struct podman *p,
		 const struct runtime_spec *spec, const struct pm_image *im,
		 const char *name, const char *net);

#endif
