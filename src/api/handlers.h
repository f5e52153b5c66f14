/* The API's handlers, one group per resource file. */
#ifndef FERRY_API_HANDLERS_H
#define FERRY_API_HANDLERS_H

#include "api/api.h"

/* admin.c */
int h_admin_backup(struct api_req *r, json_t **ret, struct ferr *e);
int h_admin_df(struct api_req *r, json_t **ret, struct ferr *e);
int h_admin_prune(struct api_req *r, json_t **ret, struct ferr *e);
/* openapi.c */
int h_openapi(struct api_req *r, json_t **ret, struct ferr *e);
/* health.c */
int h_healthz(struct api_req *r, json_t **ret, struct ferr *e);
/* projects.c */
int h_project_list(struct api_req *r, json_t **ret, struct ferr *e);
int h_project_create(struct api_req *r, json_t **ret, struct ferr *e);
int h_project_show(struct api_req *r, json_t **ret, struct ferr *e);
int h_env_list(struct api_req *r, json_t **ret, struct ferr *e);
int h_env_add(struct api_req *r, json_t **ret, struct ferr *e);
/* components.c */
int h_component_list(struct api_req *r, json_t **ret, struct ferr *e);
int h_component_create(struct api_req *r, json_t **ret, struct ferr *e);
int h_component_show(struct api_req *r, json_t **ret, struct ferr *e);
int h_component_delete(struct api_req *r, json_t **ret, struct ferr *e);
int h_component_update(struct api_req *r, json_t **ret, struct ferr *e);
/* configs.c */
int h_config_list(struct api_req *r, json_t **ret, struct ferr *e);
int h_config_set(struct api_req *r, json_t **ret, struct ferr *e);
int h_config_unset(struct api_req *r, json_t **ret, struct ferr *e);
/* named.c: a project's connections and configuration groups */
int h_connection_list(struct api_req *r, json_t **ret, struct ferr *e);
int h_connection_set(struct api_req *r, json_t **ret, struct ferr *e);
int h_connection_delete(struct api_req *r, json_t **ret, struct ferr *e);
int h_config_group_list(struct api_req *r, json_t **ret, struct ferr *e);
int h_config_group_set(struct api_req *r, json_t **ret, struct ferr *e);
int h_config_group_delete(struct api_req *r, json_t **ret, struct ferr *e);
/* tokens.c */
int h_token_list(struct api_req *r, json_t **ret, struct ferr *e);
int h_token_create(struct api_req *r, json_t **ret, struct ferr *e);
int h_token_revoke(struct api_req *r, json_t **ret, struct ferr *e);
int h_whoami(struct api_req *r, json_t **ret, struct ferr *e);
/* audit.c */
int h_audit_list(struct api_req *r, json_t **ret, struct ferr *e);
/* jobs.c */
int h_job_create(struct api_req *r, json_t **ret, struct ferr *e);
int h_job_show(struct api_req *r, json_t **ret, struct ferr *e);
int h_job_cancel(struct api_req *r, json_t **ret, struct ferr *e);
int h_job_log(struct api_req *r, json_t **ret, struct ferr *e);
/* builds.c */
int h_commits(struct api_req *r, json_t **ret, struct ferr *e);
int h_build_create(struct api_req *r, json_t **ret, struct ferr *e);
int h_build_list(struct api_req *r, json_t **ret, struct ferr *e);
int h_build_show(struct api_req *r, json_t **ret, struct ferr *e);
int h_build_cancel(struct api_req *r, json_t **ret, struct ferr *e);
int h_build_log(struct api_req *r, json_t **ret, struct ferr *e);
int h_deliveries(struct api_req *r, json_t **ret, struct ferr *e);
/* scans.c */
int h_build_scan(struct api_req *r, json_t **ret, struct ferr *e);
/* deployments.c */
int h_deploy(struct api_req *r, json_t **ret, struct ferr *e);
int h_promote(struct api_req *r, json_t **ret, struct ferr *e);
int h_rollback(struct api_req *r, json_t **ret, struct ferr *e);
int h_undeploy(struct api_req *r, json_t **ret, struct ferr *e);
int h_deployment_list(struct api_req *r, json_t **ret, struct ferr *e);
int h_status(struct api_req *r, json_t **ret, struct ferr *e);
int h_deployment_show(struct api_req *r, json_t **ret, struct ferr *e);
int h_manifests(struct api_req *r, json_t **ret, struct ferr *e);
int h_deployment_log(struct api_req *r, json_t **ret, struct ferr *e);
/* runtime_logs.c */
int h_runtime_logs(struct api_req *r, json_t **ret, struct ferr *e);
/* executions.c */
int h_execution_run(struct api_req *r, json_t **ret, struct ferr *e);
int h_execution_list(struct api_req *r, json_t **ret, struct ferr *e);
int h_execution_count(struct api_req *r, json_t **ret, struct ferr *e);
int h_execution_show(struct api_req *r, json_t **ret, struct ferr *e);
int h_execution_cancel(struct api_req *r, json_t **ret, struct ferr *e);
int h_execution_log(struct api_req *r, json_t **ret, struct ferr *e);
/* hooks.c */
int h_hook(struct api_req *r, json_t **ret, struct ferr *e);

/* session.c */
int h_session_create(struct api_req *r, json_t **ret, struct ferr *e);
int h_session_show(struct api_req *r, json_t **ret, struct ferr *e);
int h_session_delete(struct api_req *r, json_t **ret, struct ferr *e);

/* approvals.c */
/* When a change was held for approval (ret has "approval_request"):
 * answers 202 and names the request in the audit entry. */
void api_note_held(struct api_req *r, json_t *ret);

int h_env_update(struct api_req *r, json_t **ret, struct ferr *e);
int h_approval_list(struct api_req *r, json_t **ret, struct ferr *e);
int h_approval_show(struct api_req *r, json_t **ret, struct ferr *e);
int h_approval_approve(struct api_req *r, json_t **ret, struct ferr *e);
int h_approval_reject(struct api_req *r, json_t **ret, struct ferr *e);

/* health.c: {"state": "up"|"down"|"external"|"starting"|"not started", ...} */
json_t *health_registry_part(void);
json_t *health_gateway_part(void);

/* rollout_policy.c */
int h_rollout_policy_show(struct api_req *r, json_t **ret, struct ferr *e);
int h_rollout_policy_set(struct api_req *r, json_t **ret, struct ferr *e);
int h_rollout_policy_unset(struct api_req *r, json_t **ret, struct ferr *e);

/* metrics.c */
int h_metrics(struct api_req *r, json_t **ret, struct ferr *e);
int h_component_metrics(struct api_req *r, json_t **ret, struct ferr *e);

/* notifications.c */
int h_notify_list(struct api_req *r, json_t **ret, struct ferr *e);
int h_notify_create(struct api_req *r, json_t **ret, struct ferr *e);
int h_notify_delete(struct api_req *r, json_t **ret, struct ferr *e);
int h_notify_test(struct api_req *r, json_t **ret, struct ferr *e);
int h_notify_deliveries(struct api_req *r, json_t **ret, struct ferr *e);

/* gitcreds.c */
int h_gitcreds_show(struct api_req *r, json_t **ret, struct ferr *e);
int h_gitcreds_set(struct api_req *r, json_t **ret, struct ferr *e);
int h_gitcreds_unset(struct api_req *r, json_t **ret, struct ferr *e);

#endif
