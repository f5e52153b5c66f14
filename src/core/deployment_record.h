/* deployment_record: one deployment as stored, and its status.
 *
 * A deployment is image digest + configuration snapshot (an independent
 * snapshot joined with the environment's own values) + environment. After
 * its insert only its status moves:
 *
 *   pending → rolling-out → active → superseded | undeployed
 *                         ↘ failed | rolled-back
 *
 * The rollout engine (core/rollout.h) moves it through the functions here;
 * the operations that create deployments are core/deployment.h, above
 * both. This module knows nothing of the rollout, the configuration or the
 * components' settings.
 */
#ifndef FERRY_DEPLOYMENT_RECORD_H
#define FERRY_DEPLOYMENT_RECORD_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/error.h"
#include "store/eventlog.h"

/* What the rollout engine needs of a deployment, read in one go. */
struct deployment_info {
	int64_t id;
	int64_t component_id;
	int64_t project_id;
	int64_t environment_id;
	int seq;
	char project[64];
	char environment[64];
	char component[64];
	char component_type[32];  /* service, web-app, scheduled-task, manual-task */
	char status[16];
	char image[512];          /* pullable, "HOST/p/c@sha256:…" */
	char digest[80];
	json_t *descriptor;       /* owned: the build's descriptor_to_json */
	int64_t snapshot_id;      /* the joined snapshot it runs with */
};

/* Reads deployment id. Returns 0 (release with deployment_info_release) or
 * -1 with e set (404). */
int deployment_info_load(int64_t id, struct deployment_info *ret, struct ferr *e);
void deployment_info_release(struct deployment_info *d);

/* A deployment's status: the column deployments.status, typed. */
enum deployment_status {
	DEPLOYMENT_PENDING,
	DEPLOYMENT_ROLLING_OUT,
	DEPLOYMENT_ACTIVE,
	DEPLOYMENT_FAILED,
	DEPLOYMENT_SUPERSEDED,
	DEPLOYMENT_UNDEPLOYED,
	DEPLOYMENT_ROLLED_BACK,       /* a rollout policy took it back */
	DEPLOYMENT__STATUS_COUNT
};

/* "pending", "rolling-out", ...; NULL out of range. */
const char *deployment_status_name(enum deployment_status s);
/* The status named name, or -1. */
int deployment_status_parse(const char *name);
/* Whether a deployment in status from may move to status to:
 *   pending → rolling-out | active | failed
 *   rolling-out → active | failed
 *   active → superseded | undeployed
 * (a pending or rolling-out one that is undeployed becomes failed). */
int deployment_transition_allowed(enum deployment_status from, enum deployment_status to);

/* The one transition of one deployment: a single UPDATE whose WHERE names
 * the previous states `to` may be reached from, which must change exactly
 * one row (so a check made earlier by the caller cannot be overtaken by
 * another writer, e.g. an undeploy landing while a rollout finishes).
 * Sets started_at on rolling-out, finished_at on active and failed, and
 * error when given. Returns 0, or -1 with e set: 404 no such deployment,
 * 409 its status does not allow the move (the message names it). Call
 * inside or outside a transaction. */
int deployment_transition(int64_t id, enum deployment_status to, const char *error,
			  struct ferr *e);

/* Status moves, each in one transaction, through deployment_transition
 * (one row) or the machine's multi-row form (store/transition.h
 * status_update_where, whose WHERE names the same allowed previous states):
 *  deployment_mark_rolling_out: pending → rolling-out (started_at set).
 *  deployment_mark_active: pending | rolling-out → active; the
 *    environment's previous active deployment of the component becomes
 *    superseded (active → superseded, the other rows stay).
 *  deployment_mark_undeployed: the active one of component+environment →
 *    undeployed, a pending or rolling-out one → failed with error
 *    "undeployed before its rollout finished"; finished_at set where it was
 *    not; ended ones stay as they are (used by undeploy; in the caller's
 *    transaction when one is open).
 *  deployment_mark_failed: pending | rolling-out → failed with error; the
 *    previous active one stays active.
 * Return 0 or -1 with e set (409 when the status moved on meanwhile). */
int deployment_mark_rolling_out(int64_t id, struct ferr *e);
int deployment_mark_active(int64_t id, struct ferr *e);
int deployment_mark_failed(int64_t id, const char *error, struct ferr *e);
int deployment_mark_undeployed(int64_t component_id, int64_t environment_id, struct ferr *e);
/*  deployment_mark_rolled_back: → rolled-back, with reason as its error and
 *  numbers (what broke the rollout policy's thresholds) as its "rollback";
 *  the previous active one stays active (it kept running). */
int deployment_mark_rolled_back(int64_t id, const char *reason, json_t *numbers, struct ferr *e);

/* The rollout log's table (store/eventlog.h), read by deployment_events. */
extern const struct eventlog deployment_log;

/* Appends a line to deployment id's rollout log (ferry logs deployment). */
void deployment_event(int64_t id, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* The URL of a component's endpoint through the gateway:
 * http://<component>.<project>.<environment>.localhost:<port><basePath>. */
void deployment_url(const char *project, const char *environment, const char *component,
		    const char *base_path, char *out, size_t size);

/* Set once at start from --gateway-listen: the port URLs carry. */
void deployment_set_gateway_port(int port);

/* The active deployment of a component in an environment (0 if none), with
 * its build and environment-independent snapshot when asked. */
int64_t deployment_active_in(int64_t component_id, int64_t env_id, int64_t *ret_build,
			     int64_t *ret_indep);

/* 1 when deployment id's status is status ("active", ...), else 0 (also
 * when it does not exist). */
int deployment_status_is(int64_t id, const char *status);

/* The columns deployment_info_load reads (and the API's view of a
 * deployment), in this order, FROM deployments d and its project p,
 * environment e and component c. */
#define DEPLOYMENT_COLUMNS \
	"d.id, p.name, e.name, c.name, c.type, d.seq, d.build_id, d.commit_sha, d.digest, d.image," \
	" d.status, d.cause, d.promoted_from, d.config_version, d.created_by, d.created_at," \
	" d.started_at, d.finished_at, d.error, d.descriptor, d.component_id, d.project_id," \
	" d.environment_id, d.snapshot_id, d.independent_snapshot_id, d.skip_reason, d.rollback"
#define DEPLOYMENT_FROM \
	" FROM deployments d JOIN projects p ON p.id = d.project_id" \
	" JOIN environments e ON e.id = d.environment_id JOIN components c ON c.id = d.component_id"

#endif
