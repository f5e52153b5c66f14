/* image: build a component's image with buildah and push it to the registry.
 *
 * A build is repeatable: the same context built again, even with no cache,
 * gives the same image digest. What makes it so:
 *   - `--timestamp T` (T = the commit time) stamps the image's created time,
 *     its history and the mtime of every file in the new layer;
 *   - `--layers=false`: everything after FROM is one layer, so no cache
 *     state can change the layer list;
 *   - the base image is resolved through the registry (ferry/busybox is
 *     itself built repeatably, see baseimage.h);
 *   - nothing of the host (build id, build host name) is put into labels.
 * A Dockerfile whose RUN steps write changing content (dates, random data,
 * downloads) is of course not repeatable; ferry cannot fix that.
 *
 * Every RUN step runs in the build's sandbox (sandbox.h): its own user,
 * PID, mount, IPC, UTS and network namespaces, the build's limits.
 * buildah's output is handed to a callback line by line as it happens (the
 * step's log). A build can be cancelled from another thread and has a
 * timeout; both kill buildah's whole process group (SIGTERM, then SIGKILL).
 *
 * The `image` and `push` pipeline steps are separate functions so that a
 * `scan` step can sit between them: image_build() leaves the image in local
 * storage under a private name, image_push() pushes it as
 * REPOSITORY:TAG and returns the registry digest, image_remove_local()
 * drops the private name.
 */
#ifndef FERRY_PIPELINE_IMAGE_H
#define FERRY_PIPELINE_IMAGE_H

#include <stdatomic.h>
#include <stddef.h>

#include "lib/error.h"
#include "lib/strbuf.h"
#include "pipeline/registry.h"
#include "pipeline/sandbox.h"

/* Receives one line of tool output (without the newline; lines longer than
 * IMAGE_LOG_LINE_MAX are cut there). line is only valid during the call. */
typedef void (*image_log_fn)(void *ctx, const char *line, size_t len);

#define IMAGE_LOG_LINE_MAX 8192

/* How a tool run is watched: shared by build and push. */
struct image_watch {
	image_log_fn log;            /* may be NULL */
	void *log_ctx;
	const atomic_int *cancel;    /* may be NULL; nonzero: stop now */
	long long deadline_ms;       /* CLOCK_MONOTONIC ms; 0: none. See image_deadline. */
	/* May be NULL. Asked about once a second while a tool runs, with
	 * log_ctx and the ms since the tool last wrote output: returning -1
	 * (e set) stops the tool, and that error is the run's (a watchdog:
	 * a tool stuck on a full disk). */
	int (*stalled)(void *ctx, long long quiet_ms, struct ferr *e);
};

struct image_build {
	const char *context_dir;     /* the build context; required */
	const char *dockerfile;      /* path relative to context_dir; NULL: "Dockerfile" */
	const char *dockerfile_text; /* instead of a file: this Dockerfile (built-in
					buildpacks); written to a temporary file */
	const char *repo;            /* "project/component": names the local image */
	const char *revision;        /* commit sha: label org.opencontainers.image.revision;
					may be NULL */
	long long timestamp;         /* seconds since the epoch (the commit time) */
	int no_cache;                /* 1: --no-cache */
	const char *const *build_args; /* "KEY=VALUE" entries for --build-arg; may be NULL */
	struct sandbox *sandbox;     /* where RUN steps run (sandbox.h); required */
};

/* A built image in local storage. */
struct image_local {
	char *name;                  /* private local name, "localhost/ferry-build/...:..." */
	char id[72];                 /* "sha256:<hex>" image id */
};

#define IMAGE_LOCAL_INIT { NULL, "" }

/* An image in the registry. */
struct image_pushed {
	char digest[72];             /* "sha256:<hex>" manifest digest */
	char *ref;                   /* "HOST/repo@digest", pullable; owned */
};

#define IMAGE_PUSHED_INIT { "", NULL }

/* CLOCK_MONOTONIC time timeout_ms from now, for image_watch.deadline_ms
 * (0 for timeout_ms <= 0). */
long long image_deadline(int timeout_ms);

/* Runs `buildah bud` for b, with r's containers environment (so FROM
 * ferry/busybox resolves to r). Output goes to w->log as it comes.
 * Returns 0 and fills *out (release with image_local_release, and drop the
 * local image with image_remove_local), or -1 with e set: code "canceled"
 * (409) when w->cancel was set, "timeout" (504) past the deadline,
 * "build_failed" (422) when buildah failed, with buildah's last error line in
 * the message, "invalid" (400) for bad arguments. */
int image_build(struct registry *r, const struct image_build *b, const struct image_watch *w,
		struct image_local *out, struct ferr *e);

/* Pushes img to r as repo:tag and returns its registry digest and pullable
 * reference in *out (release with image_pushed_release). Errors as for
 * image_build ("push_failed", 502, when buildah push failed). */
int image_push(struct registry *r, const struct image_local *img, const char *repo,
	       const char *tag, const struct image_watch *w, struct image_pushed *out,
	       struct ferr *e);

/* Removes img's private local name (and the image, unless something else
 * still names it). Returns 0, or -1 with e set; a missing image is not an
 * error. */
int image_remove_local(struct registry *r, const struct image_local *img, struct ferr *e);

/* Removes every working container in ferry's build image store (buildah
 * containers; the store is ferry's alone: DATA/containers/storage), by id.
 * Only call it while no build or base-image step runs: they own their
 * working containers. Sets *ret_removed. Returns 0, or -1 with e set (some
 * may have been removed). */
int image_remove_working_containers(struct registry *r, size_t *ret_removed, struct ferr *e);

/* After a rebuild of a commit pushed new_digest: deletes the previously
 * recorded old_digest of repo from the registry when it differs (only the
 * newest image per commit is kept; the next registry_gc frees its blobs).
 * old_digest may be NULL or "" (nothing recorded). Returns 1 if it deleted,
 * 0 if nothing was to do, -1 with e set. */
int image_replace(struct registry *r, const char *repo, const char *old_digest,
		  const char *new_digest, struct ferr *e);

/* The Dockerfile of the built-in `static` buildpack: the files of site_dir
 * (relative to the build context, "." for all of it) served by busybox httpd
 * on port as user nobody (65534), FROM ferry/busybox. Appends to out.
 * Returns 0, or -1 with e set (site_dir absolute, with "..", or with control
 * characters; port out of 1024..65535). */
int image_static_dockerfile(const char *site_dir, int port, struct strbuf *out, struct ferr *e);

/* The base image of a Dockerfile's final stage as the text writes it: the
 * image of the last FROM instruction ("ferry/busybox", "builder", "${BASE}";
 * options such as --platform skipped, "AS name" dropped). Replaces the
 * contents of out. Returns 0, or -1 if the text has no FROM. */
int image_dockerfile_base(const char *dockerfile, struct strbuf *out);

/* The port the static buildpack serves on unless told otherwise. */
#define IMAGE_STATIC_PORT 8080

/* Runs a container tool (buildah, skopeo...) with r's build environment
 * (registry_build_env: ferry's image store for builds), handing
 * its output to w->log line by line; also keeps the last lines in tail (may
 * be NULL) for error messages, and all of stdout in out (may be NULL; capped
 * at 1 MiB). Returns the exit status (>= 0), or -1 with e set when it could
 * not run, was cancelled or timed out. */
int image_tool_run(struct registry *r, const char *const *argv, const struct image_watch *w,
		   struct strbuf *out, struct strbuf *tail, struct ferr *e);

/* image_tool_run for a tool that must succeed: 0, or -1 with e set, its
 * message naming the tool and its last output line. */
int image_tool_ok(struct registry *r, const char *const *argv, const struct image_watch *w,
		  struct strbuf *out, struct ferr *e);

/* Appends to out the line of a tool's last output (tail) most likely to say
 * what went wrong: one that says the disk is full, else the last one naming
 * an error (with the items of a list it announces), else the last line, else
 * "no output". */
void image_error_line(const char *tail, struct strbuf *out);

/* A line of ferry's own (printf-style) to w->log; w may be NULL. */
void image_say(const struct image_watch *w, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

void image_local_release(struct image_local *img);
void image_pushed_release(struct image_pushed *p);

#endif
