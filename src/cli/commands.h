/* The ferry subcommands, one group per file; the table is in main.c. Each
 * gets the words after its own name and returns 0 or -1 with e set. */
#ifndef FERRY_CLI_COMMANDS_H
#define FERRY_CLI_COMMANDS_H

#include <jansson.h>

#include "lib/error.h"

typedef int (*cmd_fn)(int argc, char **argv, struct ferr *e);

int cmd_project_create(int argc, char **argv, struct ferr *e);
int cmd_project_list(int argc, char **argv, struct ferr *e);
int cmd_project_show(int argc, char **argv, struct ferr *e);
int cmd_env_list(int argc, char **argv, struct ferr *e);
int cmd_env_add(int argc, char **argv, struct ferr *e);

int cmd_component_create(int argc, char **argv, struct ferr *e);
int cmd_component_list(int argc, char **argv, struct ferr *e);
int cmd_component_show(int argc, char **argv, struct ferr *e);
int cmd_component_delete(int argc, char **argv, struct ferr *e);
int cmd_component_update(int argc, char **argv, struct ferr *e);

int cmd_token_create(int argc, char **argv, struct ferr *e);
int cmd_token_list(int argc, char **argv, struct ferr *e);
int cmd_token_revoke(int argc, char **argv, struct ferr *e);
int cmd_login(int argc, char **argv, struct ferr *e);
int cmd_whoami(int argc, char **argv, struct ferr *e);

int cmd_audit(int argc, char **argv, struct ferr *e);

int cmd_commits(int argc, char **argv, struct ferr *e);
int cmd_build(int argc, char **argv, struct ferr *e);
int cmd_builds(int argc, char **argv, struct ferr *e);
int cmd_build_show(int argc, char **argv, struct ferr *e);
int cmd_build_cancel(int argc, char **argv, struct ferr *e);
int cmd_logs_build(int argc, char **argv, struct ferr *e);
int cmd_scan(int argc, char **argv, struct ferr *e);
/* Prints the "scan" summary of a build for people (nothing if null). */
void print_scan_summary(json_t *scan);
int cmd_logs_runtime(int argc, char **argv, struct ferr *e);
int cmd_component_deliveries(int argc, char **argv, struct ferr *e);

int cmd_config_set(int argc, char **argv, struct ferr *e);
int cmd_config_list(int argc, char **argv, struct ferr *e);
int cmd_config_unset(int argc, char **argv, struct ferr *e);
int cmd_connection_create(int argc, char **argv, struct ferr *e);
int cmd_connection_list(int argc, char **argv, struct ferr *e);
int cmd_connection_delete(int argc, char **argv, struct ferr *e);
int cmd_config_group_set(int argc, char **argv, struct ferr *e);
int cmd_config_group_list(int argc, char **argv, struct ferr *e);
int cmd_config_group_delete(int argc, char **argv, struct ferr *e);

int cmd_component_credentials(int argc, char **argv, struct ferr *e);
int cmd_deploy(int argc, char **argv, struct ferr *e);
int cmd_promote(int argc, char **argv, struct ferr *e);
int cmd_rollback(int argc, char **argv, struct ferr *e);
int cmd_undeploy(int argc, char **argv, struct ferr *e);
int cmd_deployments(int argc, char **argv, struct ferr *e);
int cmd_deployment_show(int argc, char **argv, struct ferr *e);
int cmd_logs_deployment(int argc, char **argv, struct ferr *e);
int cmd_status(int argc, char **argv, struct ferr *e);
int cmd_manifests(int argc, char **argv, struct ferr *e);
int cmd_descriptor_check(int argc, char **argv, struct ferr *e);

int cmd_run(int argc, char **argv, struct ferr *e);
int cmd_executions(int argc, char **argv, struct ferr *e);
int cmd_execution_show(int argc, char **argv, struct ferr *e);
int cmd_execution_cancel(int argc, char **argv, struct ferr *e);
int cmd_logs_execution(int argc, char **argv, struct ferr *e);

/* The rollout-policy options of component update: *ret is the policy's
 * body (NULL when none is given), *ret_remove set by --no-rollout-policy. */
struct opt;
int cli_rollout_policy_body(struct opt *opts, json_t **ret, int *ret_remove, struct ferr *e);

int cmd_metrics(int argc, char **argv, struct ferr *e);

int cmd_notify_create(int argc, char **argv, struct ferr *e);
int cmd_notify_list(int argc, char **argv, struct ferr *e);
int cmd_notify_delete(int argc, char **argv, struct ferr *e);
int cmd_notify_test(int argc, char **argv, struct ferr *e);
int cmd_notify_deliveries(int argc, char **argv, struct ferr *e);

int cmd_env_update(int argc, char **argv, struct ferr *e);
int cmd_approvals(int argc, char **argv, struct ferr *e);
int cmd_approval_show(int argc, char **argv, struct ferr *e);
int cmd_approve(int argc, char **argv, struct ferr *e);
int cmd_reject(int argc, char **argv, struct ferr *e);
/* When ret is the answer of a change an environment holds for approval
 * ({"approval_request": …}): says so for people and returns 1; else 0. */
int cli_say_held(json_t *ret);
/* Waits until approval request id is decided; 0 with the deployment it
 * made (0 for a configuration change) when approved, else -1 with e
 * naming how it ended. */
int cli_wait_approval(long long id, long long *ret_deployment, struct ferr *e);

/* Prints "key: value" lines of an object for people. */
void print_fields(json_t *obj, const char *const *keys);

/* cmd_admin.c */
int cmd_admin_backup(int argc, char **argv, struct ferr *e);
int cmd_admin_df(int argc, char **argv, struct ferr *e);
int cmd_admin_prune(int argc, char **argv, struct ferr *e);

#endif
