/* build: one commit of one component turned into one image in the registry.
 *
 * A build is a row in the store (status, steps, step logs, digest,
 * descriptor, endpoints) run by a job of kind "build" on the durable job
 * queue. The steps, in order:
 *
 *   checkout    fetch the component's mirror, resolve the commit, export its
 *               tree (the component's path) into DATA/work/build-<id>/
 *   descriptor  read .ferry/component.yaml (or Choreo's files) from it
 *   image       buildah bud of the Dockerfile, or the static buildpack,
 *               stamped with the commit time (repeatable digests)
 *   scan        Dockerfile rules, secrets in the checkout and the image,
 *               vulnerabilities, the component's policy (pipeline/scan.h);
 *               a failing scan fails the build before anything is pushed
 *   push        push as PROJECT/COMPONENT:<sha>, record the digest; a rebuild
 *               of a commit that gives another digest deletes the old one
 *   endpoints   the descriptor's endpoints with each schemaFilePath's parsed
 *               OpenAPI/AsyncAPI document, stored with the build
 *
 * The build infrastructure (the registry and the ferry/busybox base image)
 * is brought up and supervised by ferryd's supervisor (src/ferryd/
 * supervisor.h) in a background thread, so the API answers at once; builds
 * wait for it (core/infra.h).
 *
 * The tools of a build are watched (core/build_watchdog.h): one stuck on a
 * full disk or on a registry that stopped answering is stopped, and the
 * build fails naming it. The image step and the push wait first, bounded,
 * for a registry that does not answer (core/registry_wait.h).
 *
 * This header is implemented by build.c (the job, its steps, queueing),
 * build_status.c (the status machine) and build_query.c (what is read of
 * builds: list, show, scan report, status, log; the cancel's checks).
 *
 * Builds are not re-run after a crash: a build that was running when ferryd
 * stopped is failed with that reason at the next start (build_recover).
 */
#ifndef FERRY_BUILD_H
#define FERRY_BUILD_H

#include <jansson.h>
#include <stdint.h>

#include "core/auth.h"
#include "lib/error.h"
#include "store/transition.h"
#include "lib/strbuf.h"

struct scan_config;

#define BUILD_DEFAULT_TIMEOUT_S (30 * 60)
/* How long a build waits for a registry that does not answer: before the
 * image step (FROM) and before a push, and while a tool waits on it
 * (docs/ferryd.md); ferryd --registry-wait. */
#define BUILD_DEFAULT_REGISTRY_WAIT_S 120
#define BUILD_DEFAULT_CONCURRENCY 1
/* Stored log text per step is capped; the rest is counted and dropped. */
#define BUILD_STEP_LOG_MAX (4u << 20)

struct build_options {
	int concurrency;                 /* builds at once; 0: default */
	int timeout_s;                   /* per build; 0: default */
	int registry_wait_s;             /* BUILD_DEFAULT_REGISTRY_WAIT_S when 0 */
	/* The scan step's scanners (copied; what it points to must live as
	 * long as ferryd). NULL: Dockerfile rules only. */
	const struct scan_config *scan;
};

/* Registers the "build" job kind with opts' concurrency and timeout. Call
 * before jobq_start. */
void build_register(const struct build_options *opts);

/* Reconciles builds with their jobs after jobq_start(): a build whose job
 * ended without the build finishing (ferryd stopped or crashed while it ran)
 * is failed with the job's reason; its workspace is removed. */
void build_recover(void);

/* Marks the daemon as stopping, so builds the job queue stops are recorded
 * as interrupted rather than cancelled. Call before jobq_stop. */
void build_begin_shutdown(void);

/* Garbage-collects the managed registry (registry_gc: read-only while it
 * runs) with pushes held back meanwhile. Returns 0, or -1 with e set (503
 * before the registry runs). */
int build_registry_gc(struct strbuf *log, struct ferr *e);

/* Runs fn(arg, e) while no build pushes an image or records a pushed one
 * (what deletes manifests must not race a push of the same digest).
 * Returns what fn returns. */
int build_registry_exclusive(int (*fn)(void *arg, struct ferr *e), void *arg, struct ferr *e);

/* Queues a build of component (project, name) as who sees it. commit: a
 * sha (full or abbreviated), branch or tag; NULL builds the branch head.
 * *ret is the new build (status "queued"). Developers and admins. */
int build_create(const struct principal *who, const char *project, const char *component,
		 const char *commit, json_t **ret, struct ferr *e);

/* Queues a build for a delivery or the poller (no principal): trigger is
 * "webhook" or "poll", triggered_by says who/what (e.g. "github delivery
 * 72d3162e"). Returns the build id (> 0) or -1 with e set. */
int64_t build_queue(int64_t component_id, const char *commit, const char *trigger,
		    const char *triggered_by, struct ferr *e);

/* Builds of a component, newest first, at most limit (1..500). */
int build_list(const struct principal *who, const char *project, const char *component,
	       int limit, json_t **ret, struct ferr *e);

/* One build with its steps, descriptor and endpoints (schema documents
 * included). 404 if unknown or outside who's project scope. */
int build_show(const struct principal *who, int64_t id, json_t **ret, struct ferr *e);

/* The scan report of a build (pipeline/scan.h) with "build": id. 404 if
 * the build is unknown to who, or its scan step has not run. */
int build_scan_report(const struct principal *who, int64_t id, json_t **ret, struct ferr *e);

/* Cancels a queued build at once, or asks a running one to stop (buildah's
 * process group is killed). 409 if it already ended. */
int build_cancel(const struct principal *who, int64_t id, struct ferr *e);

/* Log lines of a build after after_id, at most limit (0: all): an array of
 * {id, ts, step, text}. Visibility as build_show. */
int build_log_read(const struct principal *who, int64_t id, int64_t after_id, int limit,
		   json_t **ret, struct ferr *e);

/* The build's status into status (16 bytes) and, when final, its error
 * (may be NULL) as a new JSON value in *ret_error (JSON null if none). */
int build_status(int64_t id, char status[16], json_t **ret_error, struct ferr *e);

/* 1 for succeeded, failed, cancelled. */
int build_status_final(const char *status);

/* A build's status: the column builds.status, typed (core/build_status.c). */
enum build_status {
	BUILD_QUEUED,
	BUILD_RUNNING,
	BUILD_SUCCEEDED,
	BUILD_FAILED,
	BUILD_CANCELLED,
	BUILD__STATUS_COUNT
};

/* Its names and allowed moves (store/transition.h):
 *   queued → running | failed | cancelled
 *   running → succeeded | failed | cancelled */
extern const struct status_machine build_statuses;

/* The one transition of one build: a single UPDATE whose WHERE names the
 * previous states `to` may be reached from, which must change exactly one
 * row. Sets started_at on running, finished_at on a final status, error
 * when given; a final status is recorded even on a full disk. Returns 0, or
 * -1 with e set: 404 no such build, 409 its status does not allow the move
 * (the message names it). Steps and events are the caller's. */
int build_transition(int64_t id, enum build_status to, const char *error, struct ferr *e);

/* What build_cancel does once access is checked: cancels the build's job
 * (a queued one never runs, a running one's run stops and ends the build
 * cancelled), then moves a build still queued to cancelled with its
 * pending steps, in one transaction. Returns 0, or -1 with e set: 409 when
 * the build already ended (also when it ended after the caller looked),
 * 404 no such build. */
int build_cancel_request(int64_t id, struct ferr *e);


#endif
