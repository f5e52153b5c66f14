/* ferryd's command line; see options.h. */
#include "ferryd/options.h"

#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "api/ratelimit.h"
#include "core/repo_policy.h"
#include "lib/log.h"
#include "pipeline/bpbase.h"
#include "sched/cron.h"
#include "sched/jobqueue.h"
#include "lib/banned.h"

void options_usage(FILE *f)
{
	fputs("usage: ferryd [--data DIR] [--listen HOST:PORT] [--gateway-listen HOST:PORT]\n"
	      "              [--registry URL] [--runtime podman|kubernetes] [--vuln-db DIR]\n"
	      "              [--kubeconfig FILE] [--kube-context NAME] [--kubectl PATH]\n"
	      "              [--tls-cert FILE --tls-key FILE] [--public-url URL]\n"
	      "              [--master-key-file FILE | --master-key-command CMD]\n"
	      "              [--registry-username USER --registry-password-file FILE]\n"
	      "              [--base-registry URL]... (upstreams for FROM by short name, cached)\n"
	      "              [--buildpack-cache DIR] [--buildpack-mirror URL]\n"
	      "              [--build-concurrency N] [--build-timeout SECONDS] [--registry-wait SECONDS]\n"
	      "              [--build-cpus N] [--build-memory SIZE] [--build-pids N]\n"
	      "              [--build-disk SIZE] [--build-network egress|none]\n"
	      "              [--build-runtime PATH] [--init-binary PATH]\n"
	      "              [--console-dir DIR | --no-console] [--session-ttl SECONDS]\n"
	      "              [--no-gateway-metrics] (no per-request log from the gateway)\n"
	      "              [--ingress-class NAME] [--ingress-namespace NAME] [--gateway NS/NAME]\n"
	      "              [--ingress-by-path nginx|prefix|none] [--ingress-by-path-annotation K=V]...\n"
	      "              [--secret-rules FILE] [--scanner trivy|grype]\n"
	      "              [--execution-retention-days DAYS] [--missed-run-deadline SECONDS]\n"
	      "              [--allow-local-repos] [--webhook-rate N]\n"
	      "              [--max-connections N] [--max-client-connections N]\n"
	      "              [--request-timeout SECONDS] [--idle-timeout SECONDS]\n"
	      "              [--min-free-space MIB] [--keep-deployments N] [--keep-builds N]\n"
	      "              [--registry-gc CRON|off]\n"
	      "              [--log-retention-days DAYS] [--log-retention-size SIZE]\n"
	      "              [--history-keep N] [--history-days DAYS] [--audit-keep N]\n"
	      "              [--housekeeping-interval SECONDS]\n"
	      "              [--max-queued-jobs N] (per project and kind; default 50)\n"
	      "              [--body-limit BYTES] [--workers N] [--log-level debug|info|warn|error]\n"
	      "       ferryd rotate-master-key [--data DIR] [--master-key-file FILE]\n"
	      "              [--master-key-command CMD --new-master-key-file FILE]\n"
	      "       ferryd restore FILE --data DIR [--passphrase-file FILE] [--no-master-key]\n"
	      "       ferryd --version\n", f);
}

/* The options that are more than a value in a range: each checks optarg
 * (arg) and says what is wrong on stderr. Return 0 or -1. */
static int opt_buildpack_cache(struct config *c, const char *arg)
{
	(void)c;
	if (arg[0] != '/') {
		fprintf(stderr, "ferryd: --buildpack-cache takes an absolute directory\n");
		return -1;
	}
	bpbase_configure(arg, bpbase_mirror());
	return 0;
}

static int opt_buildpack_mirror(struct config *c, const char *arg)
{
	(void)c;
	if (strncmp(arg, "http://", 7) && strncmp(arg, "https://", 8)) {
		fprintf(stderr, "ferryd: --buildpack-mirror takes a Debian mirror URL (http://...)\n");
		return -1;
	}
	bpbase_configure(bpbase_cache_dir(), arg);
	return 0;
}

static int opt_base_registry(struct config *c, const char *arg)
{
	if (c->n_base_registries == INFRA_MAX_BASE_REGISTRIES) {
		fprintf(stderr, "ferryd: at most %d --base-registry\n", INFRA_MAX_BASE_REGISTRIES);
		return -1;
	}
	c->base_registries[c->n_base_registries++] = arg;
	return 0;
}

static int opt_runtime(struct config *c, const char *arg)
{
	if (strcmp(arg, "podman") && strcmp(arg, "kubernetes")) {
		fprintf(stderr, "ferryd: --runtime must be podman or kubernetes\n");
		return -1;
	}
	c->runtime = arg;
	return 0;
}

static int opt_ingress_by_path(struct config *c, const char *arg)
{
	if (strcmp(arg, "nginx") && strcmp(arg, "prefix") && strcmp(arg, "none")) {
		fprintf(stderr, "ferryd: --ingress-by-path must be nginx (ingress-nginx's rewrite annotations), "
			"prefix (Prefix paths, the controller strips the prefix) or none\n");
		return -1;
	}
	c->ingress_by_path = arg;
	return 0;
}

/* An annotation key is [prefix/]name: a DNS subdomain prefix, a name of
 * [A-Za-z0-9._-] (the API server checks the details). */
static int opt_by_path_annotation(struct config *c, const char *arg)
{
	size_t k = strcspn(arg, "=");

	if (!arg[k] || k == 0 || k > 316 ||
	    strspn(arg, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._/") < k) {
		fprintf(stderr, "ferryd: --ingress-by-path-annotation \"%s\": give KEY=VALUE, e.g. "
			"traefik.ingress.kubernetes.io/router.middlewares=NS-NAME@kubernetescrd\n", arg);
		return -1;
	}
	if (c->n_by_path_annotations == sizeof(c->by_path_annotations) / sizeof(c->by_path_annotations[0])) {
		fprintf(stderr, "ferryd: at most %zu --ingress-by-path-annotation\n",
			sizeof(c->by_path_annotations) / sizeof(c->by_path_annotations[0]));
		return -1;
	}
	c->by_path_annotations[c->n_by_path_annotations++] = arg;
	return 0;
}

static int opt_scanner(struct config *c, const char *arg)
{
	if (strcmp(arg, "trivy") && strcmp(arg, "grype")) {
		fprintf(stderr, "ferryd: --scanner must be trivy or grype\n");
		return -1;
	}
	c->scanner = arg;
	return 0;
}

static int opt_allow_local(struct config *c, const char *arg)
{
	(void)c;
	(void)arg;
	repo_policy_allow_local(1);
	return 0;
}

static int opt_webhook_rate(struct config *c, const char *arg)
{
	char *end;
	long v = strtol(arg, &end, 10);

	(void)c;
	if (*end || v < 1 || v > 100000) {
		fprintf(stderr, "ferryd: --webhook-rate must be from 1 to 100000 deliveries a minute\n");
		return -1;
	}
	ratelimit_configure((unsigned)v, (unsigned)(v > 1 ? v / 2 : 1));
	return 0;
}

static int opt_build_cpus(struct config *c, const char *arg)
{
	char *end;

	c->sandbox.cpus = strtod(arg, &end);
	if (*end || !(c->sandbox.cpus >= 0.01 && c->sandbox.cpus <= 1024)) {
		fprintf(stderr, "ferryd: --build-cpus must be a number of CPUs from 0.01 to 1024\n");
		return -1;
	}
	return 0;
}

static int opt_build_memory(struct config *c, const char *arg)
{
	if (sandbox_parse_size(arg, &c->sandbox.memory) < 0 || c->sandbox.memory < (64LL << 20)) {
		fprintf(stderr, "ferryd: --build-memory must be a size of at least 64M (e.g. 512M, 4G)\n");
		return -1;
	}
	return 0;
}

static int opt_build_disk(struct config *c, const char *arg)
{
	if (sandbox_parse_size(arg, &c->sandbox.disk) < 0 || c->sandbox.disk < (1LL << 20)) {
		fprintf(stderr, "ferryd: --build-disk must be a size of at least 1M (e.g. 512M, 20G)\n");
		return -1;
	}
	return 0;
}

static int opt_build_network(struct config *c, const char *arg)
{
	if (!strcmp(arg, "none"))
		c->sandbox.no_egress = 1;
	else if (!strcmp(arg, "egress"))
		c->sandbox.no_egress = 0;
	else {
		fprintf(stderr, "ferryd: --build-network must be egress or none\n");
		return -1;
	}
	return 0;
}

static int opt_registry_gc(struct config *c, const char *arg)
{
	struct cron cr;
	struct ferr ce = FERR_INIT;

	c->hk.registry_gc = arg;
	if (strcmp(arg, "off") && cron_parse(&cr, arg, &ce) < 0) {
		fprintf(stderr, "ferryd: --registry-gc \"%s\": %s (a cron schedule in UTC, or off)\n", arg,
			ce.msg);
		return -1;
	}
	return 0;
}

static int opt_log_size(struct config *c, const char *arg)
{
	if (sandbox_parse_size(arg, &c->hk.logs.max_bytes) < 0 || c->hk.logs.max_bytes < 1) {
		fprintf(stderr, "ferryd: --log-retention-size must be a size such as 256M, 4G or 64K\n");
		return -1;
	}
	return 0;
}

static int opt_log_level(struct config *c, const char *arg)
{
	static const struct { const char *name; int level; } levels[] = {
		{ "debug", LOG_DEBUG }, { "info", LOG_INFO }, { "warn", LOG_WARN }, { "error", LOG_ERROR },
	};

	(void)c;
	for (size_t i = 0; i < sizeof(levels) / sizeof(levels[0]); i++)
		if (!strcmp(arg, levels[i].name)) {
			log_set_level(levels[i].level);
			return 0;
		}
	fprintf(stderr, "ferryd: --log-level must be debug, info, warn or error\n");
	return -1;
}

static int opt_version(struct config *c, const char *arg)
{
	(void)c;
	(void)arg;
	printf("ferryd %s\n", FERRY_VERSION);
	exit(0);
}

static int opt_help(struct config *c, const char *arg)
{
	(void)c;
	(void)arg;
	options_usage(stdout);
	exit(0);
}

enum opt_kind {
	OPT_STRING,      /* the argument, kept (argv lives as long as ferryd) */
	OPT_FLAG,        /* no argument: the int becomes 1 */
	OPT_INT,         /* a decimal number in [min, max], into an int, long or long long */
	OPT_LONG,
	OPT_LLONG,
	OPT_CALL,        /* call(c, argument) */
	OPT_CALL_NOARG,  /* call(c, NULL), no argument */
};

static const struct opt {
	const char *name;
	enum opt_kind kind;
	size_t offset;             /* in struct config, for the value kinds */
	long long min, max;        /* OPT_INT, OPT_LONG, OPT_LLONG */
	const char *range_msg;     /* what a value out of range or not a number gets */
	int (*call)(struct config *c, const char *arg);
} opts[] = {
	{ "data", OPT_STRING, offsetof(struct config, data), 0, 0, NULL, NULL },
	{ "listen", OPT_STRING, offsetof(struct config, listen), 0, 0, NULL, NULL },
	{ "gateway-listen", OPT_STRING, offsetof(struct config, gateway_listen), 0, 0, NULL, NULL },
	{ "registry", OPT_STRING, offsetof(struct config, registry), 0, 0, NULL, NULL },
	{ "kubeconfig", OPT_STRING, offsetof(struct config, kubeconfig), 0, 0, NULL, NULL },
	{ "kube-context", OPT_STRING, offsetof(struct config, kube_context), 0, 0, NULL, NULL },
	{ "kubectl", OPT_STRING, offsetof(struct config, kubectl), 0, 0, NULL, NULL },
	{ "vuln-db", OPT_STRING, offsetof(struct config, vuln_db), 0, 0, NULL, NULL },
	{ "secret-rules", OPT_STRING, offsetof(struct config, secret_rules), 0, 0, NULL, NULL },
	{ "tls-cert", OPT_STRING, offsetof(struct config, tls_cert), 0, 0, NULL, NULL },
	{ "tls-key", OPT_STRING, offsetof(struct config, tls_key), 0, 0, NULL, NULL },
	{ "public-url", OPT_STRING, offsetof(struct config, public_url), 0, 0, NULL, NULL },
	{ "master-key-file", OPT_STRING, offsetof(struct config, master_key_file), 0, 0, NULL, NULL },
	{ "master-key-command", OPT_STRING, offsetof(struct config, master_key_command), 0, 0, NULL, NULL },
	{ "new-master-key-file", OPT_STRING, offsetof(struct config, new_master_key_file), 0, 0, NULL, NULL },
	{ "registry-username", OPT_STRING, offsetof(struct config, registry_username), 0, 0, NULL, NULL },
	{ "registry-password-file", OPT_STRING, offsetof(struct config, registry_password_file), 0, 0, NULL, NULL },
	{ "init-binary", OPT_STRING, offsetof(struct config, init_binary), 0, 0, NULL, NULL },
	{ "ingress-class", OPT_STRING, offsetof(struct config, ingress_class), 0, 0, NULL, NULL },
	{ "ingress-namespace", OPT_STRING, offsetof(struct config, ingress_namespace), 0, 0, NULL, NULL },
	{ "gateway", OPT_STRING, offsetof(struct config, gateway), 0, 0, NULL, NULL },
	{ "build-runtime", OPT_STRING, offsetof(struct config, build_runtime), 0, 0, NULL, NULL },
	{ "console-dir", OPT_STRING, offsetof(struct config, console_dir), 0, 0, NULL, NULL },
	{ "no-console", OPT_FLAG, offsetof(struct config, no_console), 0, 0, NULL, NULL },
	{ "no-gateway-metrics", OPT_FLAG, offsetof(struct config, no_gateway_metrics), 0, 0, NULL, NULL },
	{ "build-concurrency", OPT_INT, offsetof(struct config, build_concurrency), 1, 16, "--build-concurrency must be from 1 to 16", NULL },
	{ "build-timeout", OPT_INT, offsetof(struct config, build_timeout), 10, 86400, "--build-timeout must be from 10 to 86400 seconds", NULL },
	{ "registry-wait", OPT_INT, offsetof(struct config, registry_wait), 1, 3600, "--registry-wait must be from 1 to 3600 seconds", NULL },
	{ "session-ttl", OPT_INT, offsetof(struct config, session_ttl), 60, 2592000, "--session-ttl must be from 60 to 2592000 seconds", NULL },
	{ "max-connections", OPT_INT, offsetof(struct config, max_connections), 16, 100000, "--max-connections must be from 16 to 100000", NULL },
	{ "max-client-connections", OPT_INT, offsetof(struct config, max_client_connections), 1, 100000, "--max-client-connections must be from 1 to 100000", NULL },
	{ "request-timeout", OPT_INT, offsetof(struct config, request_timeout), 1, 3600, "--request-timeout must be from 1 to 3600", NULL },
	{ "idle-timeout", OPT_INT, offsetof(struct config, idle_timeout), 1, 86400, "--idle-timeout must be from 1 to 86400", NULL },
	{ "build-pids", OPT_LONG, offsetof(struct config, sandbox.pids), 16, 1000000, "--build-pids must be from 16 to 1000000", NULL },
	{ "execution-retention-days", OPT_INT, offsetof(struct config, execution_retention_days), 1, 36500, "--execution-retention-days must be from 1 to 36500", NULL },
	{ "missed-run-deadline", OPT_INT, offsetof(struct config, missed_run_deadline), 1, 2678400, "--missed-run-deadline must be from 1 to 2678400 seconds", NULL },
	{ "min-free-space", OPT_LLONG, offsetof(struct config, min_free_mib), 0, (1LL << 40), "--min-free-space must be a number of MiB (0: no floor)", NULL },
	{ "keep-deployments", OPT_INT, offsetof(struct config, hk.keep_deployments), 1, 1000, "--keep-deployments must be from 1 to 1000", NULL },
	{ "keep-builds", OPT_INT, offsetof(struct config, hk.keep_builds), 1, 1000, "--keep-builds must be from 1 to 1000", NULL },
	{ "history-keep", OPT_INT, offsetof(struct config, hk.history.keep), 1, 1000000, "--history-keep must be from 1 to 1000000", NULL },
	{ "history-days", OPT_INT, offsetof(struct config, hk.history.max_age_days), 1, 36500, "--history-days must be from 1 to 36500", NULL },
	{ "audit-keep", OPT_INT, offsetof(struct config, hk.history.audit_keep), 10, 100000000, "--audit-keep must be from 10 to 100000000", NULL },
	{ "log-retention-days", OPT_INT, offsetof(struct config, hk.logs.max_age_days), 1, 36500, "--log-retention-days must be from 1 to 36500", NULL },
	{ "housekeeping-interval", OPT_INT, offsetof(struct config, hk.interval_s), 5, 86400, "--housekeeping-interval must be from 5 to 86400 seconds", NULL },
	{ "body-limit", OPT_LONG, offsetof(struct config, body_limit), 1024, (64LL << 20), "--body-limit must be from 1024 to 67108864 bytes", NULL },
	{ "workers", OPT_INT, offsetof(struct config, workers), 1, 32, "--workers must be from 1 to 32", NULL },
	{ "max-queued-jobs", OPT_INT, offsetof(struct config, max_queued_jobs), 1, JOBQ_MAX_QUEUED_LIMIT, "--max-queued-jobs must be from 1 to 100000 (queued jobs per project and kind)", NULL },
	{ "buildpack-cache", OPT_CALL, 0, 0, 0, NULL, opt_buildpack_cache },
	{ "buildpack-mirror", OPT_CALL, 0, 0, 0, NULL, opt_buildpack_mirror },
	{ "base-registry", OPT_CALL, 0, 0, 0, NULL, opt_base_registry },
	{ "runtime", OPT_CALL, 0, 0, 0, NULL, opt_runtime },
	{ "scanner", OPT_CALL, 0, 0, 0, NULL, opt_scanner },
	{ "ingress-by-path", OPT_CALL, 0, 0, 0, NULL, opt_ingress_by_path },
	{ "ingress-by-path-annotation", OPT_CALL, 0, 0, 0, NULL, opt_by_path_annotation },
	{ "allow-local-repos", OPT_CALL_NOARG, 0, 0, 0, NULL, opt_allow_local },
	{ "webhook-rate", OPT_CALL, 0, 0, 0, NULL, opt_webhook_rate },
	{ "build-cpus", OPT_CALL, 0, 0, 0, NULL, opt_build_cpus },
	{ "build-memory", OPT_CALL, 0, 0, 0, NULL, opt_build_memory },
	{ "build-disk", OPT_CALL, 0, 0, 0, NULL, opt_build_disk },
	{ "build-network", OPT_CALL, 0, 0, 0, NULL, opt_build_network },
	{ "registry-gc", OPT_CALL, 0, 0, 0, NULL, opt_registry_gc },
	{ "log-retention-size", OPT_CALL, 0, 0, 0, NULL, opt_log_size },
	{ "log-level", OPT_CALL, 0, 0, 0, NULL, opt_log_level },
	{ "version", OPT_CALL_NOARG, 0, 0, 0, NULL, opt_version },
	{ "help", OPT_CALL_NOARG, 0, 0, 0, NULL, opt_help },
};
#define N_OPTS (sizeof(opts) / sizeof(opts[0]))

static int set_number(const struct opt *o, struct config *c, const char *arg)
{
	char *end;
	long long v;

	errno = 0;
	v = strtoll(arg, &end, 10);
	if (*end || errno || v < o->min || v > o->max) {
		fprintf(stderr, "ferryd: %s\n", o->range_msg);
		return -1;
	}
	if (o->kind == OPT_INT)
		*(int *)((char *)c + o->offset) = (int)v;
	else if (o->kind == OPT_LONG)
		*(long *)((char *)c + o->offset) = (long)v;
	else
		*(long long *)((char *)c + o->offset) = v;
	return 0;
}

static int set_option(const struct opt *o, struct config *c, const char *arg)
{
	switch (o->kind) {
	case OPT_STRING:
		*(const char **)((char *)c + o->offset) = arg;
		return 0;
	case OPT_FLAG:
		*(int *)((char *)c + o->offset) = 1;
		return 0;
	case OPT_INT:
	case OPT_LONG:
	case OPT_LLONG:
		return set_number(o, c, arg);
	case OPT_CALL:
	case OPT_CALL_NOARG:
		return o->call(c, arg);
	}
	return -1;
}

/* Settings that only make sense together, or not at all together. */
static int check_combinations(const struct config *c)
{
	if ((c->registry_username || c->registry_password_file) && !c->registry) {
		fprintf(stderr, "ferryd: --registry-username and --registry-password-file go with --registry URL\n");
		return -1;
	}
	if (strcmp(c->runtime, "kubernetes") && (c->kubeconfig || c->kube_context || c->kubectl)) {
		fprintf(stderr, "ferryd: --kubeconfig, --kube-context and --kubectl go with --runtime kubernetes\n");
		return -1;
	}
	if (c->gateway) {
		const char *sl = strchr(c->gateway, '/');
		size_t n = strlen(c->gateway);
		if (!sl || sl == c->gateway || !sl[1] || strchr(sl + 1, '/') || n > 253 ||
		    strspn(c->gateway, "abcdefghijklmnopqrstuvwxyz0123456789-./") != n) {
			fprintf(stderr, "ferryd: --gateway \"%s\": say which Gateway the HTTPRoutes attach to "
				"as NAMESPACE/NAME (lowercase DNS names), e.g. --gateway gateway-system/public\n",
				c->gateway);
			return -1;
		}
	}
	if (c->gateway && ((c->ingress_by_path && strcmp(c->ingress_by_path, "none")) ||
			   c->n_by_path_annotations)) {
		fprintf(stderr, "ferryd: --ingress-by-path and --ingress-by-path-annotation shape Ingresses; "
			"with --gateway the by-path URL is the HTTPRoute <component>-by-path\n");
		return -1;
	}
	if (c->n_by_path_annotations && (!c->ingress_by_path || !strcmp(c->ingress_by_path, "none"))) {
		fprintf(stderr, "ferryd: --ingress-by-path-annotation goes with --ingress-by-path nginx or prefix\n");
		return -1;
	}
	if (!strcmp(c->runtime, "kubernetes") && !c->registry) {
		fprintf(stderr, "ferryd: --runtime kubernetes needs --registry URL, a registry the cluster's "
				"nodes can pull from: the registry ferryd runs itself listens on this host's "
				"loopback only (127.0.0.1), which no node of a cluster can reach\n");
		return -1;
	}
	if (c->kubeconfig && access(c->kubeconfig, R_OK) < 0) {
		fprintf(stderr, "ferryd: --kubeconfig %s: %s\n", c->kubeconfig, strerror(errno));
		return -1;
	}
	if (c->console_dir && c->no_console) {
		fprintf(stderr, "ferryd: give --console-dir DIR or --no-console, not both\n");
		return -1;
	}
	if (c->master_key_file && c->master_key_command) {
		fprintf(stderr, "ferryd: give --master-key-file or --master-key-command, not both\n");
		return -1;
	}
	return 0;
}

int options_parse(int argc, char **argv, struct config *c)
{
	struct option longopts[N_OPTS + 1];
	int o;

	for (size_t i = 0; i < N_OPTS; i++)
		longopts[i] = (struct option){ opts[i].name,
			opts[i].kind == OPT_FLAG || opts[i].kind == OPT_CALL_NOARG ? no_argument :
			required_argument, NULL, 256 + (int)i };
	longopts[N_OPTS] = (struct option){ NULL, 0, NULL, 0 };
	while ((o = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		if (o < 256 || o >= 256 + (int)N_OPTS) {
			options_usage(stderr);
			return -1;
		}
		if (set_option(&opts[o - 256], c, optarg) < 0)
			return -1;
	}
	if (optind < argc) {
		fprintf(stderr, "ferryd: unexpected argument \"%s\"\n", argv[optind]);
		options_usage(stderr);
		return -1;
	}
	return check_combinations(c);
}
