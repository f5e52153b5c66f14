/* The whole API surface, one line per route. */
#include "api/handlers.h"

#define P "/api/v1"

const struct api_route api_routes[] = {
	/* method   pattern                              handler              audit action */
	{ "GET",    "/healthz",                          h_healthz,           NULL, 1 },
	{ "GET",    P "/openapi.json",                   h_openapi,           NULL, 0 },
	{ "GET",    "/metrics",                          h_metrics,           NULL, 0 },
	{ "GET",    P "/whoami",                         h_whoami,            NULL, 0 },
	{ "POST",   P "/session",                        h_session_create,    NULL, 1 },
	{ "GET",    P "/session",                        h_session_show,      NULL, 0 },
	{ "DELETE", P "/session",                        h_session_delete,    "session.delete", 0 },

	{ "GET",    P "/projects",                       h_project_list,      NULL, 0 },
	{ "POST",   P "/projects",                       h_project_create,    "project.create", 0 },
	{ "GET",    P "/projects/{}",                    h_project_show,      NULL, 0 },
	{ "GET",    P "/projects/{}/environments",       h_env_list,          NULL, 0 },
	{ "POST",   P "/projects/{}/environments",       h_env_add,           "environment.add", 0 },
	{ "PATCH",  P "/projects/{}/environments/{}",    h_env_update,        "environment.update", 0 },

	{ "GET",    P "/projects/{}/connections",        h_connection_list,   NULL, 0 },
	{ "POST",   P "/projects/{}/connections",        h_connection_set,    "connection.set", 0 },
	{ "DELETE", P "/projects/{}/connections/{}",     h_connection_delete, "connection.delete", 0 },
	{ "GET",    P "/projects/{}/config-groups",      h_config_group_list, NULL, 0 },
	{ "POST",   P "/projects/{}/config-groups",      h_config_group_set,  "config_group.set", 0 },
	{ "DELETE", P "/projects/{}/config-groups/{}",   h_config_group_delete, "config_group.delete", 0 },

	{ "GET",    P "/projects/{}/notifications",      h_notify_list,       NULL, 0 },
	{ "POST",   P "/projects/{}/notifications",      h_notify_create,     "notification.create", 0 },
	{ "DELETE", P "/projects/{}/notifications/{}",   h_notify_delete,     "notification.delete", 0 },
	{ "POST",   P "/projects/{}/notifications/{}/test", h_notify_test,    "notification.test", 0 },
	{ "GET",    P "/projects/{}/notification-deliveries", h_notify_deliveries, NULL, 0 },

	{ "GET",    P "/projects/{}/components",         h_component_list,    NULL, 0 },
	{ "POST",   P "/projects/{}/components",         h_component_create,  "component.create", 0 },
	{ "GET",    P "/projects/{}/components/{}",      h_component_show,    NULL, 0 },
	{ "DELETE", P "/projects/{}/components/{}",      h_component_delete,  "component.delete", 0 },
	{ "PATCH",  P "/projects/{}/components/{}",      h_component_update,  "component.update", 0 },

	{ "GET",    P "/projects/{}/components/{}/rollout-policy", h_rollout_policy_show, NULL, 0 },
	{ "PUT",    P "/projects/{}/components/{}/rollout-policy", h_rollout_policy_set, "rollout_policy.set", 0 },
	{ "DELETE", P "/projects/{}/components/{}/rollout-policy", h_rollout_policy_unset, "rollout_policy.unset", 0 },

	{ "GET",    P "/projects/{}/components/{}/configs",    h_config_list,  NULL, 0 },
	{ "POST",   P "/projects/{}/components/{}/configs",    h_config_set,   "config.set", 0 },
	{ "DELETE", P "/projects/{}/components/{}/configs/{}", h_config_unset, "config.unset", 0 },

	{ "GET",    P "/projects/{}/components/{}/git-credentials", h_gitcreds_show,  NULL, 0 },
	{ "PUT",    P "/projects/{}/components/{}/git-credentials", h_gitcreds_set,   "git_credentials.set", 0 },
	{ "DELETE", P "/projects/{}/components/{}/git-credentials", h_gitcreds_unset, "git_credentials.unset", 0 },
	{ "GET",    P "/projects/{}/components/{}/commits",    h_commits,      NULL, 0 },
	{ "GET",    P "/projects/{}/components/{}/builds",     h_build_list,   NULL, 0 },
	{ "POST",   P "/projects/{}/components/{}/builds",     h_build_create, "build.create", 0 },
	{ "GET",    P "/projects/{}/components/{}/deliveries", h_deliveries,   NULL, 0 },
	{ "GET",    P "/builds/{}",                      h_build_show,        NULL, 0 },
	{ "POST",   P "/builds/{}/cancel",               h_build_cancel,      "build.cancel", 0 },
	{ "GET",    P "/builds/{}/log",                  h_build_log,         NULL, 0 },
	{ "GET",    P "/builds/{}/scan",                 h_build_scan,        NULL, 0 },
	{ "GET",    P "/projects/{}/components/{}/environments/{}/logs", h_runtime_logs, NULL, 0 },

	{ "POST",   P "/projects/{}/components/{}/deploy",      h_deploy,          "deployment.deploy", 0 },
	{ "POST",   P "/projects/{}/components/{}/promote",     h_promote,         "deployment.promote", 0 },
	{ "POST",   P "/projects/{}/components/{}/rollback",    h_rollback,        "deployment.rollback", 0 },
	{ "POST",   P "/projects/{}/components/{}/undeploy",    h_undeploy,        "deployment.undeploy", 0 },
	{ "GET",    P "/projects/{}/components/{}/deployments", h_deployment_list, NULL, 0 },
	{ "GET",    P "/projects/{}/components/{}/status",      h_status,          NULL, 0 },
	{ "GET",    P "/projects/{}/components/{}/metrics",     h_component_metrics, NULL, 0 },
	{ "GET",    P "/projects/{}/components/{}/manifests",   h_manifests,       NULL, 0 },
	{ "GET",    P "/deployments/{}",                 h_deployment_show,   NULL, 0 },
	{ "GET",    P "/deployments/{}/log",             h_deployment_log,    NULL, 0 },
	{ "GET",    P "/approvals",                      h_approval_list,     NULL, 0 },
	{ "GET",    P "/approvals/{}",                   h_approval_show,     NULL, 0 },
	{ "POST",   P "/approvals/{}/approve",           h_approval_approve,  "approval.approve", 0 },
	{ "POST",   P "/approvals/{}/reject",            h_approval_reject,   "approval.reject", 0 },
	{ "POST",   P "/hooks/{}",                       h_hook,              NULL, 1 },

	{ "POST",   P "/projects/{}/components/{}/executions",  h_execution_run,   "execution.run", 0 },
	{ "GET",    P "/projects/{}/components/{}/executions",  h_execution_list,  NULL, 0 },
	{ "GET",    P "/projects/{}/components/{}/executions/count", h_execution_count, NULL, 0 },
	{ "GET",    P "/executions/{}",                  h_execution_show,    NULL, 0 },
	{ "POST",   P "/executions/{}/cancel",           h_execution_cancel,  "execution.cancel", 0 },
	{ "GET",    P "/executions/{}/log",              h_execution_log,     NULL, 0 },

	{ "GET",    P "/tokens",                         h_token_list,        NULL, 0 },
	{ "POST",   P "/tokens",                         h_token_create,      "token.create", 0 },
	{ "DELETE", P "/tokens/{}",                      h_token_revoke,      "token.revoke", 0 },

	{ "POST",   P "/admin/backup",                   h_admin_backup,      "admin.backup", 0 },
	{ "GET",    P "/admin/df",                       h_admin_df,          NULL, 0 },
	{ "POST",   P "/admin/prune",                    h_admin_prune,       "admin.prune", 0 },

	{ "GET",    P "/audit",                          h_audit_list,        NULL, 0 },

	{ "POST",   P "/jobs",                           h_job_create,        "job.create", 0 },
	{ "GET",    P "/jobs/{}",                        h_job_show,          NULL, 0 },
	{ "POST",   P "/jobs/{}/cancel",                 h_job_cancel,        "job.cancel", 0 },
	{ "GET",    P "/jobs/{}/log",                    h_job_log,           NULL, 0 },
	{ NULL, NULL, NULL, NULL, 0 },
};
