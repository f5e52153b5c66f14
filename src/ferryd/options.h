/* options: ferryd's command line, as one table of options (name, where
 * the value goes, its range and the message that names the problem). */
#ifndef FERRY_FERRYD_OPTIONS_H
#define FERRY_FERRYD_OPTIONS_H

#include <stddef.h>
#include <stdio.h>

#include "core/housekeeping.h"
#include "core/infra.h"
#include "pipeline/sandbox.h"

#define FERRY_VERSION "0.1.0"

/* Every setting ferryd takes from its command line; NULL or 0: the default. */
struct config {
	const char *data;
	const char *listen;
	const char *gateway_listen;
	const char *registry;
	const char *runtime;
	const char *kubeconfig;
	const char *kube_context;
	const char *kubectl;
	const char *vuln_db;
	const char *secret_rules;
	const char *scanner;
	const char *tls_cert;
	const char *tls_key;
	const char *public_url;
	const char *master_key_file;
	const char *master_key_command;
	const char *new_master_key_file; /* rotate-master-key only */
	const char *registry_username;
	const char *registry_password_file;
	const char *init_binary;
	const char *console_dir;
	int no_console;
	int no_gateway_metrics;
	int session_ttl;
	const char *ingress_class;
	const char *ingress_namespace;
	const char *gateway;           /* --gateway NAMESPACE/NAME: HTTPRoutes instead of Ingresses */
	const char *ingress_by_path;   /* --ingress-by-path nginx|prefix|none (NULL: none) */
	const char *by_path_annotations[8];   /* --ingress-by-path-annotation KEY=VALUE */
	size_t n_by_path_annotations;
	const char *build_runtime;
	struct sandbox_config sandbox;
	int max_connections;
	int max_client_connections;
	int request_timeout;
	int idle_timeout;
	int build_concurrency;
	int build_timeout;
	int registry_wait;             /* seconds a build waits for the registry */
	long body_limit;
	int workers;
	int max_queued_jobs;           /* per project and kind (sched/jobqueue.h) */
	int execution_retention_days;
	int missed_run_deadline;
	const char *base_registries[INFRA_MAX_BASE_REGISTRIES];
	size_t n_base_registries;
	long long min_free_mib;
	struct housekeeping_options hk;
};

/* ferryd's usage text. */
void options_usage(FILE *f);

/* Parses argv into c (which holds the defaults). Some options take effect
 * at once (--log-level, --allow-local-repos, --webhook-rate,
 * --buildpack-cache, --buildpack-mirror); --version and --help print and
 * exit 0. Returns 0, or -1 after a message on stderr naming the problem. */
int options_parse(int argc, char **argv, struct config *c);

#endif
