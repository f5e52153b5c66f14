/* deployment: the operations on deployments of a component in an
 * environment: deploy, promote, rollback, undeploy, the configuration
 * change's redeploy and the auto-deploy create them (and queue their
 * rollout, core/rollout.h); list, show, events and status answer the API.
 *
 * The record itself (its row, status machine and rollout log), which the
 * rollout engine moves, is core/deployment_record.h, included here.
 */
#ifndef FERRY_DEPLOYMENT_H
#define FERRY_DEPLOYMENT_H

#include <jansson.h>
#include <stdint.h>

#include "core/auth.h"
#include "core/deployment_record.h"
#include "core/events.h"
#include "lib/error.h"

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
