/* deployment: immutable deployments of a component in an environment.
 *
 * A deployment is image digest + configuration snapshot (an independent
 * snapshot joined with the environment's own values) + environment. After
 * its insert only its status moves:
 *
 *   pending → rolling-out → active → superseded | undeployed
 *                         ↘ failed
 *
 * The rollout engine (core/rollout.h) moves it; this module creates
 * deployments (deploy, promote, rollback, configuration change,
 * auto-deploy), answers the API and records the rollout log.
 */
#ifndef FERRY_DEPLOYMENT_H
#define FERRY_DEPLOYMENT_H

#include <jansson.h>
#include <stdint.h>

#include "core/auth.h"
#include "core/events.h"
#include "lib/error.h"

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

/* Status moves, each in one transaction, through deployment_transition:
 *  deployment_mark_rolling_out: pending → rolling-out (started_at set).
 *  deployment_mark_active: pending | rolling-out → active; the
 *    environment's previous active deployment of the component becomes
 *    superseded.
 *  deployment_mark_failed: pending | rolling-out → failed with error; the
 *    previous active one stays active.
 *  deployment_mark_undeployed: the active one of component+environment →
 *    undeployed, a pending or rolling-out one → failed (used by undeploy).
 * Return 0 or -1 with e set (409 when the status moved on meanwhile). */
int deployment_mark_rolling_out(int64_t id, struct ferr *e);
int deployment_mark_active(int64_t id, struct ferr *e);
int deployment_mark_failed(int64_t id, const char *error, struct ferr *e);
int deployment_mark_undeployed(int64_t component_id, int64_t environment_id, struct ferr *e);
/*  deployment_mark_rolled_back: → rolled-back, with reason as its error and
 *  numbers (what broke the rollout policy's thresholds) as its "rollback";
 *  the previous active one stays active (it kept running). */
int deployment_mark_rolled_back(int64_t id, const char *reason, json_t *numbers, struct ferr *e);

/* Appends a line to deployment id's rollout log (ferry logs deployment). */
void deployment_event(int64_t id, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* The URL of a component's endpoint through the gateway:
 * http://<component>.<project>.<environment>.localhost:<port><basePath>. */
void deployment_url(const char *project, const char *environment, const char *component,
		    const char *base_path, char *out, size_t size);

/* Set once at start from --gateway-listen: the port URLs carry. */
void deployment_set_gateway_port(int port);

/* --- the API's operations (access checks inside) --- */

/* ferry deploy P/C [--build ID]: newest successful build by default. */
int deployment_deploy(const struct principal *who, const char *project, const char *component,
		      int64_t build_id, json_t **ret, struct ferr *e);
/* ferry promote P/C --to ENV [--from ENV] [--skip-reason TEXT] [--no-wait]
 * (core/promotion.c). from NULL: the environment before to. A from other
 * than that one needs an admin and a skip_reason. While the source
 * environment rolls out, waits for it (no_wait: 409 naming the deployment
 * in flight) and promotes its result; a failed result promotes nothing.
 * *ret is the new deployment with "source" {id, environment, seq, commit,
 * digest}. */
struct promote_opts {
	const char *to;
	const char *from;
	const char *skip_reason;
	int no_wait;
};
int deployment_promote(const struct principal *who, const char *project, const char *component,
		       const struct promote_opts *o, json_t **ret, struct ferr *e);
/* Makes promotes that wait for a rollout give up (503) so that the API
 * can stop; call before api_stop. */
void deployment_stop_waiting(void);
/* ferry rollback P/C --env ENV [--to ID]: default the active one before the current. */
int deployment_rollback(const struct principal *who, const char *project, const char *component,
			const char *env, int64_t to, json_t **ret, struct ferr *e);
/* ferry undeploy P/C --env ENV. */
int deployment_undeploy(const struct principal *who, const char *project, const char *component,
			const char *env, json_t **ret, struct ferr *e);
/* Undeploys component_id from every environment where it is deployed or
 * on its way (no access check: component_delete did it). */
int deployment_undeploy_all(int64_t component_id, const char *who, struct ferr *e);
int deployment_list(const struct principal *who, const char *project, const char *component,
		    const char *env, json_t **ret, struct ferr *e);
int deployment_show(const struct principal *who, int64_t id, json_t **ret, struct ferr *e);
int deployment_events(const struct principal *who, int64_t id, int64_t after, json_t **ret,
		      struct ferr *e);
/* ferry status P/C: per environment in promotion order. */
int deployment_status(const struct principal *who, const char *project, const char *component,
		      json_t **ret, struct ferr *e);

/* Hooks other modules call (no access checks: their callers did them). */
/* After a successful build: deploys it to the first environment when the
 * component has auto-deploy on. */
void deployment_after_build(int64_t build_id);
/* The domain-event subscriber ferryd registers (core/events.h): a build
 * succeeded → deployment_after_build, on the build's worker thread. */
void deployment_on_event(enum event_type type, int64_t id);
/* The domain-event subscriber ferryd registers for changes (core/events.h):
 * configuration.changed → deployment_after_config_change (its answer the
 * event's), component.deleting → deployment_undeploy_all (a failure stops
 * the delete). */
int deployment_on_change(struct domain_event *ev, struct ferr *e);
/* After a configuration change (through deployment_on_change): a
 * new deployment where the change applies and the component is active
 * (env_id 0: component-wide → the first environment only, from where
 * promotion carries it; else that environment). */
/* Returns what it did, for the change's answer (config_changed_fn): the
 * deployment it created, or why none; a redeploy that failed is also in
 * the audit log (action config.redeploy, actor who). New reference. */
json_t *deployment_after_config_change(int64_t component_id, int64_t env_id, const char *who);

#endif
