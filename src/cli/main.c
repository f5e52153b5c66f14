/* ferry: the command-line client. The whole command surface is the table
 * below; each command lives in a cmd_*.c file. */
#include <curl/curl.h>
#include <jansson.h>
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/commands.h"
#include "lib/banned.h"

#define FERRY_VERSION "0.1.0"

static const struct command {
	const char *words;   /* "project create" */
	cmd_fn fn;
	const char *usage;
} commands[] = {
	{ "project create",   cmd_project_create,   "project create P [--environments a,b,c]" },
	{ "project list",     cmd_project_list,     "project list" },
	{ "project show",     cmd_project_show,     "project show P" },
	{ "env list",         cmd_env_list,         "env list P" },
	{ "env add",          cmd_env_add,          "env add P NAME --after ENV" },
	{ "env update",       cmd_env_update,       "env update P ENV --require-approval [--approvers ROLE|TOKEN-NAME,...]\n"
	  "    [--approvals N] [--approval-ttl 24h] | --no-require-approval" },
	{ "component create", cmd_component_create, "component create P/C --repo URL [--branch B] [--path DIR]\n"
	  "                     [--type service|web-app|scheduled-task|manual-task]\n"
	  "                     [--dockerfile PATH] [--buildpack static|node|python|go|java]\n"
	  "                     [--auto-build] [--auto-deploy]\n"
	  "                     [--schedule CRON] [--timezone ZONE] [--poll-interval SECONDS]\n"
	  "                     [--timeout SECONDS] [--concurrency forbid|allow|replace]\n"
	  "                     [--scan-fail-on critical|high|medium|low|never]" },
	{ "component list",   cmd_component_list,   "component list P" },
	{ "component show",   cmd_component_show,   "component show P/C" },
	{ "component delete", cmd_component_delete, "component delete P/C" },
	{ "component update", cmd_component_update, "component update P/C [--repo URL] [--branch B] [--path DIR]\n"
	  "                     [--dockerfile PATH | --buildpack static|node|python|go|java]\n"
	  "                     [--auto-build | --no-auto-build]\n"
	  "                     [--auto-deploy | --no-auto-deploy] [--schedule CRON] [--timezone ZONE]\n"
	  "                     [--poll-interval SECONDS] [--timeout SECONDS]\n"
	  "                     [--concurrency forbid|allow|replace]\n"
	  "                     [--scan-fail-on critical|high|medium|low|never]\n"
	  "       ferry component update P/C [--canary-steps 10,50] [--canary-pause 30s] [--watch 60s]\n"
	  "                     [--max-5xx-ratio 0.05] [--max-p95 500ms] [--max-readiness-failures N]\n"
	  "                     [--min-requests N] | --no-rollout-policy   (the rollout policy)" },
	{ "component credentials", cmd_component_credentials,
	  "component credentials P/C [--https-token-file FILE [--username U] |\n"
	  "                     --ssh-key-file FILE [--ssh-passphrase-file FILE] [--ssh-host-fingerprint SHA256:..] |\n"
	  "                     --remove]" },
	{ "component deliveries", cmd_component_deliveries, "component deliveries P/C [--limit N]" },
	{ "commits",          cmd_commits,          "commits P/C [--limit N]" },
	{ "build show",       cmd_build_show,       "build show ID" },
	{ "build cancel",     cmd_build_cancel,     "build cancel ID [--wait]" },
	{ "build",            cmd_build,            "build P/C [--commit SHA] [--wait]" },
	{ "builds",           cmd_builds,           "builds P/C [--limit N]" },
	{ "logs build",       cmd_logs_build,       "logs build ID [--follow]" },
	{ "scan",             cmd_scan,             "scan ID (every finding of a build's scan)" },
	{ "logs runtime",     cmd_logs_runtime,     "logs runtime P/C --env ENV [--follow]" },
	{ "deploy",           cmd_deploy,           "deploy P/C [--build ID] [--wait]" },
	{ "promote",          cmd_promote,          "promote P/C --to ENV [--from ENV [--skip-reason TEXT]] [--wait | --no-wait]" },
	{ "rollback",         cmd_rollback,         "rollback P/C --env ENV [--to DEPLOYMENT_ID] [--wait]" },
	{ "undeploy",         cmd_undeploy,         "undeploy P/C --env ENV" },
	{ "deployments",      cmd_deployments,      "deployments P/C [--env ENV]" },
	{ "deployment show",  cmd_deployment_show,  "deployment show ID" },
	{ "logs deployment",  cmd_logs_deployment,  "logs deployment ID [--follow]" },
	{ "metrics",          cmd_metrics,          "metrics P/C --env ENV [--since 1h|30m|2d|TIME] (gateway numbers per deployment)" },
	{ "status",           cmd_status,           "status P/C" },
	{ "manifests",        cmd_manifests,        "manifests P/C --env ENV (the Kubernetes objects, as YAML)" },
	{ "descriptor check", cmd_descriptor_check, "descriptor check [DIR] [--project P] [--component C]\n"
	  "                     (validates the build context's descriptor locally, no server)" },
	{ "run",              cmd_run,              "run P/C --env ENV [--wait] [-- ARGS...]" },
	{ "executions",       cmd_executions,       "executions P/C [--env ENV] [--running] [--limit N] [--before ID]" },
	{ "execution show",   cmd_execution_show,   "execution show ID" },
	{ "execution cancel", cmd_execution_cancel, "execution cancel ID [--wait]" },
	{ "logs execution",   cmd_logs_execution,   "logs execution ID [--follow]" },
	{ "config set",       cmd_config_set,       "config set P/C KEY=VALUE... [--env ENV] [--secret] [--file-mount PATH]\n"
	  "                     (VALUE: text, @FILE for a file's bytes, - for standard input)" },
	{ "config list",      cmd_config_list,      "config list P/C [--env ENV] [--history]" },
	{ "config unset",     cmd_config_unset,     "config unset P/C KEY [--env ENV]" },
	{ "connection create", cmd_connection_create, "connection create P NAME --env ENV KEY=VALUE... [--secret KEY]...\n"
	  "                     (a connection to an outside resource; descriptors use it by name)" },
	{ "connection list",  cmd_connection_list,  "connection list P [--env ENV]" },
	{ "connection delete", cmd_connection_delete, "connection delete P NAME [--env ENV]" },
	{ "config-group set", cmd_config_group_set, "config-group set P NAME --env ENV KEY=VALUE... [--secret KEY]..." },
	{ "config-group list", cmd_config_group_list, "config-group list P [--env ENV]" },
	{ "config-group delete", cmd_config_group_delete, "config-group delete P NAME [--env ENV]" },
	{ "token create",     cmd_token_create,     "token create --role admin|developer|viewer [--project P] [--name NAME]" },
	{ "token list",       cmd_token_list,       "token list" },
	{ "token revoke",     cmd_token_revoke,     "token revoke ID" },
	{ "login",            cmd_login,            "login --server URL --token-file FILE [--ca-file FILE]" },
	{ "whoami",           cmd_whoami,           "whoami" },
	{ "approvals",        cmd_approvals,        "approvals [P] [--all] (pending approval requests; --all: decided ones too)" },
	{ "approval show",    cmd_approval_show,    "approval show ID" },
	{ "approve",          cmd_approve,          "approve ID [--comment TEXT]" },
	{ "reject",           cmd_reject,           "reject ID --reason TEXT" },
	{ "notifications create", cmd_notify_create, "notifications create P NAME --url URL --events E,...|all\n"
	  "                     [--format json|slack] [--secret-file FILE]\n"
	  "                     (events: build.succeeded build.failed deployment.active deployment.failed\n"
	  "                     deployment.rolled-back approval.requested approval.decided execution.failed)" },
	{ "notifications list", cmd_notify_list,    "notifications list P" },
	{ "notifications delete", cmd_notify_delete, "notifications delete P NAME" },
	{ "notifications test", cmd_notify_test,    "notifications test P NAME (queues a \"ping\" delivery)" },
	{ "notifications deliveries", cmd_notify_deliveries, "notifications deliveries P [--hook NAME] [--limit N]" },
	{ "audit",            cmd_audit,            "audit [--project P] [--limit N]" },
	{ "admin backup",     cmd_admin_backup,     "admin backup FILE [--include-registry] [--passphrase-file F] (admin)" },
	{ "admin df",         cmd_admin_df,         "admin df (admin): what uses the disk, what would be freed" },
	{ "admin prune",      cmd_admin_prune,      "admin prune [--registry-gc] (admin): free it now" },
	{ NULL, NULL, NULL },
};

static void usage(FILE *f)
{
	fprintf(f, "usage: ferry COMMAND [ARGS] [--json] [--server URL] [--token T] [--ca-file FILE]\n\n");
	for (const struct command *c = commands; c->words; c++)
		fprintf(f, "  ferry %s\n", c->usage);
	fprintf(f, "\nServer and token: --server/--token, else FERRY_SERVER/FERRY_TOKEN, else `ferry login`.\n");
}

/* Number of argv words matching the command's words, or 0. */
static int matches(const struct command *c, int argc, char **argv)
{
	const char *w = c->words;
	int i = 0;

	while (*w) {
		size_t len = strcspn(w, " ");
		if (i >= argc || strlen(argv[i]) != len || strncmp(argv[i], w, len))
			return 0;
		i++;
		w += len;
		if (*w == ' ')
			w++;
	}
	return i;
}

static int report(const struct ferr *e)
{
	if (cli.json) {
		json_t *j = json_pack("{s:s, s:s, s:i}", "error", e->msg, "code", e->code, "status", e->status);
		char *s = json_dumps(j, JSON_COMPACT);
		fprintf(stderr, "%s\n", s);
		free(s);
		json_decref(j);
	} else {
		fprintf(stderr, "ferry: %s\n", e->msg);
	}
	return e->status == 400 && !strcmp(e->code, "usage") ? 2 : 1;
}

int main(int argc, char **argv)
{
	struct ferr e = FERR_INIT;
	int rc = 2;

	/* Known early so that even usage errors come out as JSON; words after
	 * "--" belong to the task being run, not to ferry. */
	for (int i = 1; i < argc && strcmp(argv[i], "--"); i++)
		if (!strcmp(argv[i], "--json"))
			cli.json = 1;
	if (argc < 2 || !strcmp(argv[1], "help") || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
		usage(argc < 2 ? stderr : stdout);
		return argc < 2 ? 2 : 0;
	}
	if (!strcmp(argv[1], "--version") || !strcmp(argv[1], "version")) {
		printf("ferry %s\n", FERRY_VERSION);
		return 0;
	}
	/* Global options may also come before the command. */
	while (argc > 2 && !strncmp(argv[1], "--", 2)) {
		const char *o = argv[1] + 2;
		const char **dst = !strcmp(o, "server") ? &cli.server : !strcmp(o, "token") ? &cli.token :
				   !strcmp(o, "ca-file") ? &cli.ca_file : NULL;
		if (!strcmp(o, "json")) {
			argv++;
			argc--;
			continue;
		}
		if (!dst)
			break;
		*dst = argv[2];
		argv += 2;
		argc -= 2;
	}
	curl_global_init(CURL_GLOBAL_DEFAULT);
	for (const struct command *c = commands; c->words; c++) {
		int n = matches(c, argc - 1, argv + 1);
		if (!n)
			continue;
		rc = c->fn(argc - 1 - n, argv + 1 + n, &e) < 0 ? report(&e) : 0;
		if (rc == 2)
			fprintf(stderr, "usage: ferry %s\n", c->usage);
		curl_global_cleanup();
		return rc;
	}
	ferr_set(&e, 400, "usage", "unknown command \"%s%s%s\" (ferry help lists them)", argv[1],
		 argc > 2 && argv[2][0] != '-' ? " " : "", argc > 2 && argv[2][0] != '-' ? argv[2] : "");
	report(&e);
	curl_global_cleanup();
	return 2;
}
