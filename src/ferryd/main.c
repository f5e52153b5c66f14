/* ferryd: the control plane. Wires the store, the job queue and the API,
 * and stops cleanly on SIGTERM/SIGINT (deployed services keep running). */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "api/api.h"
#include "api/ratelimit.h"
#include "api/session.h"
#include "core/events.h"
#include "core/notify.h"
#include "core/traffic.h"
#include "gateway/gateway.h"
#include "core/approval.h"
#include "core/auth.h"
#include "core/build.h"
#include "core/component.h"
#include "core/config.h"
#include "core/core.h"
#include "core/deployment.h"
#include "core/diskspace.h"
#include "core/diag.h"
#include "core/repo_policy.h"
#include "core/execution.h"
#include "core/housekeeping.h"
#include "core/parts.h"
#include "core/manifests.h"
#include "core/rollout.h"
#include "core/webhook.h"
#include "ferryd/restore.h"
#include "ferryd/supervisor.h"
#include "lib/log.h"
#include "pipeline/bpbase.h"
#include "pipeline/registry.h"
#include "pipeline/sandbox.h"
#include "pipeline/scan.h"
#include "pipeline/secrets.h"
#include "pipeline/vuln.h"
#include "sched/cron.h"
#include "sched/jobqueue.h"
#include "sched/scheduler.h"
#include "store/reserve.h"
#include "store/store.h"
#include "vault/vault.h"
#include "lib/banned.h"

#define FERRY_VERSION "0.1.0"

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
	const char *build_runtime;
	struct sandbox_config sandbox;
	int max_connections;
	int max_client_connections;
	int request_timeout;
	int idle_timeout;
	int build_concurrency;
	int build_timeout;
	long body_limit;
	int workers;
	int execution_retention_days;
	int missed_run_deadline;
	const char *base_registries[INFRA_MAX_BASE_REGISTRIES];
	size_t n_base_registries;
	long long min_free_mib;
	struct housekeeping_options hk;
};

static void usage(FILE *f)
{
	fputs("usage: ferryd [--data DIR] [--listen HOST:PORT] [--gateway-listen HOST:PORT]\n"
	      "              [--registry URL] [--runtime podman|kubernetes] [--vuln-db DIR]\n"
	      "              [--kubeconfig FILE] [--kube-context NAME] [--kubectl PATH]\n"
	      "              [--tls-cert FILE --tls-key FILE] [--public-url URL]\n"
	      "              [--master-key-file FILE | --master-key-command CMD]\n"
	      "              [--registry-username USER --registry-password-file FILE]\n"
	      "              [--base-registry URL]... (upstreams for FROM by short name, cached)\n"
	      "              [--buildpack-cache DIR] [--buildpack-mirror URL]\n"
	      "              [--build-concurrency N] [--build-timeout SECONDS]\n"
	      "              [--build-cpus N] [--build-memory SIZE] [--build-pids N]\n"
	      "              [--build-disk SIZE] [--build-network egress|none]\n"
	      "              [--build-runtime PATH] [--init-binary PATH]\n"
	      "              [--console-dir DIR | --no-console] [--session-ttl SECONDS]\n"
	      "              [--no-gateway-metrics] (no per-request log from the gateway)\n"
	      "              [--ingress-class NAME] [--ingress-namespace NAME]\n"
	      "              [--secret-rules FILE] [--scanner trivy|grype]\n"
	      "              [--execution-retention-days DAYS] [--missed-run-deadline SECONDS]\n"
	      "              [--allow-local-repos] [--webhook-rate N]\n"
	      "              [--max-connections N] [--max-client-connections N]\n"
	      "              [--request-timeout SECONDS] [--idle-timeout SECONDS]\n"
	      "              [--min-free-space MIB] [--keep-deployments N] [--keep-builds N]\n"
	      "              [--registry-gc CRON|off]\n"
	      "              [--log-retention-days DAYS] [--log-retention-size SIZE]\n"
	      "              [--housekeeping-interval SECONDS]\n"
	      "              [--body-limit BYTES] [--workers N] [--log-level debug|info|warn|error]\n"
	      "       ferryd rotate-master-key [--data DIR] [--master-key-file FILE]\n"
	      "              [--master-key-command CMD --new-master-key-file FILE]\n"
	      "       ferryd restore FILE --data DIR [--passphrase-file FILE] [--no-master-key]\n"
	      "       ferryd --version\n", f);
}

static int make_data_dir(const char *dir, struct ferr *e)
{
	struct stat st;

	if (mkdir(dir, 0700) < 0 && errno != EEXIST)
		return ferr_internal(e, "cannot create data directory %s: %s", dir, strerror(errno));
	if (stat(dir, &st) < 0 || !S_ISDIR(st.st_mode))
		return ferr_internal(e, "%s is not a directory", dir);
	return 0;
}

static int parse_args(int argc, char **argv, struct config *c)
{
	enum { O_DATA = 256, O_LISTEN, O_GW, O_REG, O_RT, O_VULN, O_CERT, O_KEY, O_PUB, O_BODY,
	       O_WORKERS, O_LOG, O_VERSION, O_HELP, O_MKF, O_MKC, O_NEWMK,
	       O_REGUSER, O_REGPASS, O_BUILDS, O_BTIMEOUT, O_INIT, O_RETENTION, O_DEADLINE,
	       O_SECRET_RULES, O_SCANNER, O_CONSOLE_DIR, O_NO_CONSOLE, O_SESSION_TTL, O_MINFREE,
	       O_INGRESS_CLASS, O_INGRESS_NS, O_BCPUS, O_BMEM, O_BPIDS, O_BDISK, O_BNET,
	       O_BRT, O_MAXCONN, O_MAXCLIENT, O_REQTIMEOUT, O_IDLETIMEOUT, O_ALLOWLOCAL, O_HOOKRATE,
	       O_BASEREG, O_KEEPDEP, O_KEEPBUILDS, O_REGGC, O_LOGDAYS, O_LOGSIZE, O_HKINT, O_NO_GWMETRICS,
	       O_KUBECONFIG, O_KUBECTX, O_KUBECTL, O_BPCACHE, O_BPMIRROR };
	static const struct option opts[] = {
		{ "data", required_argument, NULL, O_DATA },
		{ "listen", required_argument, NULL, O_LISTEN },
		{ "gateway-listen", required_argument, NULL, O_GW },
		{ "registry", required_argument, NULL, O_REG },
		{ "base-registry", required_argument, NULL, O_BASEREG },
		{ "buildpack-cache", required_argument, NULL, O_BPCACHE },
		{ "buildpack-mirror", required_argument, NULL, O_BPMIRROR },
		{ "runtime", required_argument, NULL, O_RT },
		{ "kubeconfig", required_argument, NULL, O_KUBECONFIG },
		{ "kube-context", required_argument, NULL, O_KUBECTX },
		{ "kubectl", required_argument, NULL, O_KUBECTL },
		{ "vuln-db", required_argument, NULL, O_VULN },
		{ "secret-rules", required_argument, NULL, O_SECRET_RULES },
		{ "scanner", required_argument, NULL, O_SCANNER },
		{ "tls-cert", required_argument, NULL, O_CERT },
		{ "tls-key", required_argument, NULL, O_KEY },
		{ "public-url", required_argument, NULL, O_PUB },
		{ "body-limit", required_argument, NULL, O_BODY },
		{ "workers", required_argument, NULL, O_WORKERS },
		{ "log-level", required_argument, NULL, O_LOG },
		{ "master-key-file", required_argument, NULL, O_MKF },
		{ "master-key-command", required_argument, NULL, O_MKC },
		{ "new-master-key-file", required_argument, NULL, O_NEWMK },
		{ "registry-username", required_argument, NULL, O_REGUSER },
		{ "registry-password-file", required_argument, NULL, O_REGPASS },
		{ "build-concurrency", required_argument, NULL, O_BUILDS },
		{ "build-timeout", required_argument, NULL, O_BTIMEOUT },
		{ "init-binary", required_argument, NULL, O_INIT },
		{ "ingress-class", required_argument, NULL, O_INGRESS_CLASS },
		{ "ingress-namespace", required_argument, NULL, O_INGRESS_NS },
		{ "build-cpus", required_argument, NULL, O_BCPUS },
		{ "build-memory", required_argument, NULL, O_BMEM },
		{ "build-pids", required_argument, NULL, O_BPIDS },
		{ "build-disk", required_argument, NULL, O_BDISK },
		{ "build-network", required_argument, NULL, O_BNET },
		{ "build-runtime", required_argument, NULL, O_BRT },
		{ "allow-local-repos", no_argument, NULL, O_ALLOWLOCAL },
		{ "webhook-rate", required_argument, NULL, O_HOOKRATE },
		{ "max-connections", required_argument, NULL, O_MAXCONN },
		{ "max-client-connections", required_argument, NULL, O_MAXCLIENT },
		{ "request-timeout", required_argument, NULL, O_REQTIMEOUT },
		{ "idle-timeout", required_argument, NULL, O_IDLETIMEOUT },
		{ "execution-retention-days", required_argument, NULL, O_RETENTION },
		{ "missed-run-deadline", required_argument, NULL, O_DEADLINE },
		{ "console-dir", required_argument, NULL, O_CONSOLE_DIR },
		{ "no-console", no_argument, NULL, O_NO_CONSOLE },
		{ "no-gateway-metrics", no_argument, NULL, O_NO_GWMETRICS },
		{ "session-ttl", required_argument, NULL, O_SESSION_TTL },
		{ "min-free-space", required_argument, NULL, O_MINFREE },
		{ "keep-deployments", required_argument, NULL, O_KEEPDEP },
		{ "keep-builds", required_argument, NULL, O_KEEPBUILDS },
		{ "registry-gc", required_argument, NULL, O_REGGC },
		{ "log-retention-days", required_argument, NULL, O_LOGDAYS },
		{ "log-retention-size", required_argument, NULL, O_LOGSIZE },
		{ "housekeeping-interval", required_argument, NULL, O_HKINT },
		{ "version", no_argument, NULL, O_VERSION },
		{ "help", no_argument, NULL, O_HELP },
		{ NULL, 0, NULL, 0 },
	};
	int o;

	while ((o = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		char *end;
		switch (o) {
		case O_DATA: c->data = optarg; break;
		case O_LISTEN: c->listen = optarg; break;
		case O_GW: c->gateway_listen = optarg; break;
		case O_REG: c->registry = optarg; break;
		case O_BPCACHE:
			if (optarg[0] != '/') {
				fprintf(stderr, "ferryd: --buildpack-cache takes an absolute directory\n");
				return -1;
			}
			bpbase_configure(optarg, bpbase_mirror());
			break;
		case O_BPMIRROR:
			if (strncmp(optarg, "http://", 7) && strncmp(optarg, "https://", 8)) {
				fprintf(stderr, "ferryd: --buildpack-mirror takes a Debian mirror URL (http://...)\n");
				return -1;
			}
			bpbase_configure(bpbase_cache_dir(), optarg);
			break;
		case O_BASEREG:
			if (c->n_base_registries == INFRA_MAX_BASE_REGISTRIES) {
				fprintf(stderr, "ferryd: at most %d --base-registry\n",
					INFRA_MAX_BASE_REGISTRIES);
				return -1;
			}
			c->base_registries[c->n_base_registries++] = optarg;
			break;
		case O_RT:
			if (strcmp(optarg, "podman") && strcmp(optarg, "kubernetes")) {
				fprintf(stderr, "ferryd: --runtime must be podman or kubernetes\n");
				return -1;
			}
			c->runtime = optarg;
			break;
		case O_KUBECONFIG: c->kubeconfig = optarg; break;
		case O_KUBECTX: c->kube_context = optarg; break;
		case O_KUBECTL: c->kubectl = optarg; break;
		case O_VULN: c->vuln_db = optarg; break;
		case O_SECRET_RULES: c->secret_rules = optarg; break;
		case O_SCANNER:
			if (strcmp(optarg, "trivy") && strcmp(optarg, "grype")) {
				fprintf(stderr, "ferryd: --scanner must be trivy or grype\n");
				return -1;
			}
			c->scanner = optarg;
			break;
		case O_CERT: c->tls_cert = optarg; break;
		case O_KEY: c->tls_key = optarg; break;
		case O_PUB: c->public_url = optarg; break;
		case O_MKF: c->master_key_file = optarg; break;
		case O_MKC: c->master_key_command = optarg; break;
		case O_NEWMK: c->new_master_key_file = optarg; break;
		case O_REGUSER: c->registry_username = optarg; break;
		case O_REGPASS: c->registry_password_file = optarg; break;
		case O_BUILDS:
			c->build_concurrency = (int)strtol(optarg, &end, 10);
			if (*end || c->build_concurrency < 1 || c->build_concurrency > 16) {
				fprintf(stderr, "ferryd: --build-concurrency must be from 1 to 16\n");
				return -1;
			}
			break;
		case O_INIT: c->init_binary = optarg; break;
		case O_CONSOLE_DIR: c->console_dir = optarg; break;
		case O_NO_CONSOLE: c->no_console = 1; break;
		case O_NO_GWMETRICS: c->no_gateway_metrics = 1; break;
		case O_SESSION_TTL:
			c->session_ttl = (int)strtol(optarg, &end, 10);
			if (*end || c->session_ttl < 60 || c->session_ttl > 30 * 86400) {
				fprintf(stderr, "ferryd: --session-ttl must be from 60 to 2592000 seconds\n");
				return -1;
			}
			break;
		case O_INGRESS_CLASS: c->ingress_class = optarg; break;
		case O_INGRESS_NS: c->ingress_namespace = optarg; break;
		case O_BRT: c->build_runtime = optarg; break;
		case O_ALLOWLOCAL: repo_policy_allow_local(1); break;
		case O_HOOKRATE: {
			long v = strtol(optarg, &end, 10);
			if (*end || v < 1 || v > 100000) {
				fprintf(stderr, "ferryd: --webhook-rate must be from 1 to 100000 deliveries "
						"a minute\n");
				return -1;
			}
			ratelimit_configure((unsigned)v, (unsigned)(v > 1 ? v / 2 : 1));
			break;
		}
		case O_MAXCONN:
		case O_MAXCLIENT:
		case O_REQTIMEOUT:
		case O_IDLETIMEOUT: {
			static const struct { int o; const char *name; long min, max; } r[] = {
				{ O_MAXCONN, "--max-connections", 16, 100000 },
				{ O_MAXCLIENT, "--max-client-connections", 1, 100000 },
				{ O_REQTIMEOUT, "--request-timeout", 1, 3600 },
				{ O_IDLETIMEOUT, "--idle-timeout", 1, 86400 },
			};
			long v = strtol(optarg, &end, 10);
			for (size_t i = 0; i < sizeof(r) / sizeof(r[0]); i++) {
				if (r[i].o != o)
					continue;
				if (*end || v < r[i].min || v > r[i].max) {
					fprintf(stderr, "ferryd: %s must be from %ld to %ld\n", r[i].name,
						r[i].min, r[i].max);
					return -1;
				}
			}
			if (o == O_MAXCONN) c->max_connections = (int)v;
			else if (o == O_MAXCLIENT) c->max_client_connections = (int)v;
			else if (o == O_REQTIMEOUT) c->request_timeout = (int)v;
			else c->idle_timeout = (int)v;
			break;
		}
		case O_BCPUS:
			c->sandbox.cpus = strtod(optarg, &end);
			if (*end || !(c->sandbox.cpus >= 0.01 && c->sandbox.cpus <= 1024)) {
				fprintf(stderr, "ferryd: --build-cpus must be a number of CPUs from 0.01 to 1024\n");
				return -1;
			}
			break;
		case O_BMEM:
			if (sandbox_parse_size(optarg, &c->sandbox.memory) < 0 ||
			    c->sandbox.memory < (64LL << 20)) {
				fprintf(stderr, "ferryd: --build-memory must be a size of at least 64M "
						"(e.g. 512M, 4G)\n");
				return -1;
			}
			break;
		case O_BDISK:
			if (sandbox_parse_size(optarg, &c->sandbox.disk) < 0 ||
			    c->sandbox.disk < (1LL << 20)) {
				fprintf(stderr, "ferryd: --build-disk must be a size of at least 1M "
						"(e.g. 512M, 20G)\n");
				return -1;
			}
			break;
		case O_BPIDS:
			c->sandbox.pids = strtol(optarg, &end, 10);
			if (*end || c->sandbox.pids < 16 || c->sandbox.pids > 1000000) {
				fprintf(stderr, "ferryd: --build-pids must be from 16 to 1000000\n");
				return -1;
			}
			break;
		case O_BNET:
			if (!strcmp(optarg, "none"))
				c->sandbox.no_egress = 1;
			else if (!strcmp(optarg, "egress"))
				c->sandbox.no_egress = 0;
			else {
				fprintf(stderr, "ferryd: --build-network must be egress or none\n");
				return -1;
			}
			break;
		case O_RETENTION:
			c->execution_retention_days = (int)strtol(optarg, &end, 10);
			if (*end || c->execution_retention_days < 1 || c->execution_retention_days > 36500) {
				fprintf(stderr, "ferryd: --execution-retention-days must be from 1 to 36500\n");
				return -1;
			}
			break;
		case O_DEADLINE:
			c->missed_run_deadline = (int)strtol(optarg, &end, 10);
			if (*end || c->missed_run_deadline < 1 || c->missed_run_deadline > 31 * 86400) {
				fprintf(stderr, "ferryd: --missed-run-deadline must be from 1 to 2678400 seconds\n");
				return -1;
			}
			break;
		case O_MINFREE:
			c->min_free_mib = strtoll(optarg, &end, 10);
			if (*end || c->min_free_mib < 0 || c->min_free_mib > (1LL << 40)) {
				fprintf(stderr, "ferryd: --min-free-space must be a number of MiB (0: no floor)\n");
				return -1;
			}
			break;
		case O_KEEPDEP:
			c->hk.keep_deployments = (int)strtol(optarg, &end, 10);
			if (*end || c->hk.keep_deployments < 1 || c->hk.keep_deployments > 1000) {
				fprintf(stderr, "ferryd: --keep-deployments must be from 1 to 1000\n");
				return -1;
			}
			break;
		case O_KEEPBUILDS:
			c->hk.keep_builds = (int)strtol(optarg, &end, 10);
			if (*end || c->hk.keep_builds < 1 || c->hk.keep_builds > 1000) {
				fprintf(stderr, "ferryd: --keep-builds must be from 1 to 1000\n");
				return -1;
			}
			break;
		case O_REGGC: {
			struct cron cr;
			struct ferr ce = FERR_INIT;
			c->hk.registry_gc = optarg;
			if (strcmp(optarg, "off") && cron_parse(&cr, optarg, &ce) < 0) {
				fprintf(stderr, "ferryd: --registry-gc \"%s\": %s (a cron schedule in UTC, or off)\n",
					optarg, ce.msg);
				return -1;
			}
			break;
		}
		case O_LOGDAYS:
			c->hk.logs.max_age_days = (int)strtol(optarg, &end, 10);
			if (*end || c->hk.logs.max_age_days < 1 || c->hk.logs.max_age_days > 36500) {
				fprintf(stderr, "ferryd: --log-retention-days must be from 1 to 36500\n");
				return -1;
			}
			break;
		case O_LOGSIZE:
			if (sandbox_parse_size(optarg, &c->hk.logs.max_bytes) < 0 || c->hk.logs.max_bytes < 1) {
				fprintf(stderr, "ferryd: --log-retention-size must be a size such as 256M, 4G or 64K\n");
				return -1;
			}
			break;
		case O_HKINT:
			c->hk.interval_s = (int)strtol(optarg, &end, 10);
			if (*end || c->hk.interval_s < 5 || c->hk.interval_s > 86400) {
				fprintf(stderr, "ferryd: --housekeeping-interval must be from 5 to 86400 seconds\n");
				return -1;
			}
			break;
		case O_BTIMEOUT:
			c->build_timeout = (int)strtol(optarg, &end, 10);
			if (*end || c->build_timeout < 10 || c->build_timeout > 86400) {
				fprintf(stderr, "ferryd: --build-timeout must be from 10 to 86400 seconds\n");
				return -1;
			}
			break;
		case O_BODY:
			c->body_limit = strtol(optarg, &end, 10);
			if (*end || c->body_limit < 1024 || c->body_limit > (64L << 20)) {
				fprintf(stderr, "ferryd: --body-limit must be from 1024 to 67108864 bytes\n");
				return -1;
			}
			break;
		case O_WORKERS:
			c->workers = (int)strtol(optarg, &end, 10);
			if (*end || c->workers < 1 || c->workers > 32) {
				fprintf(stderr, "ferryd: --workers must be from 1 to 32\n");
				return -1;
			}
			break;
		case O_LOG:
			if (!strcmp(optarg, "debug")) log_set_level(LOG_DEBUG);
			else if (!strcmp(optarg, "info")) log_set_level(LOG_INFO);
			else if (!strcmp(optarg, "warn")) log_set_level(LOG_WARN);
			else if (!strcmp(optarg, "error")) log_set_level(LOG_ERROR);
			else {
				fprintf(stderr, "ferryd: --log-level must be debug, info, warn or error\n");
				return -1;
			}
			break;
		case O_VERSION:
			printf("ferryd %s\n", FERRY_VERSION);
			exit(0);
		case O_HELP:
			usage(stdout);
			exit(0);
		default:
			usage(stderr);
			return -1;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "ferryd: unexpected argument \"%s\"\n", argv[optind]);
		usage(stderr);
		return -1;
	}
	if ((c->registry_username || c->registry_password_file) && !c->registry) {
		fprintf(stderr, "ferryd: --registry-username and --registry-password-file go with --registry URL\n");
		return -1;
	}
	if (strcmp(c->runtime, "kubernetes") && (c->kubeconfig || c->kube_context || c->kubectl)) {
		fprintf(stderr, "ferryd: --kubeconfig, --kube-context and --kubectl go with --runtime kubernetes\n");
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

/* The external registry's password: the file's first line. */
static int read_password_file(const char *path, char *out, size_t size, struct ferr *e)
{
	FILE *f = fopen(path, "re");
	size_t n;

	if (!f)
		return ferr_invalid(e, "cannot read --registry-password-file %s: %s", path, strerror(errno));
	n = fread(out, 1, size - 1, f);
	fclose(f);
	out[n] = '\0';
	out[strcspn(out, "\r\n")] = '\0';
	return 0;
}

/* A helper binary of ferry's (ferry-init, ferry-build-runtime), when no
 * flag names it: next to ferryd when installed (same bindir), or at
 * src/<area>/<name> in the build tree. */
static void default_helper(const char *name, const char *area, char *out, size_t size)
{
	char self[PATH_MAX - 32];
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	char *slash;

	snprintf(out, size, "%s", name);
	if (n <= 0)
		return;
	self[n] = '\0';
	slash = strrchr(self, '/');
	if (!slash)
		return;
	*slash = '\0';
	if (snprintf(out, size, "%.*s/%s", (int)(size - 64), self, name) > 0 && access(out, X_OK) == 0)
		return;
	snprintf(out, size, "%.*s/../%s/%s", (int)(size - 64), self, area, name);
}

/* 1 if name is an executable in PATH. */
static int in_path(const char *name)
{
	const char *path = getenv("PATH");
	char buf[PATH_MAX];

	for (const char *p = path ? path : "/usr/bin:/bin"; *p;) {
		size_t n = strcspn(p, ":");
		if (n && snprintf(buf, sizeof(buf), "%.*s/%s", (int)n, p, name) < (int)sizeof(buf) &&
		    access(buf, X_OK) == 0)
			return 1;
		p += n;
		if (*p == ':')
			p++;
	}
	return 0;
}

/* The secret detection rules: --secret-rules, else the installed data file
 * (DATADIR/ferry), else the source tree's data/ (running from a build
 * directory). */
static const char *default_secret_rules(void)
{
	static const char *const candidates[] = { FERRY_DATADIR "/secret-rules.json",
						   FERRY_SOURCE_DATA "/secret-rules.json", NULL };
	for (const char *const *p = candidates; *p; p++)
		if (access(*p, R_OK) == 0)
			return *p;
	return NULL;
}

/* The console's files, when --console-dir is not given: installed
 * (DATADIR/ferry/console), else the source tree's web/dist (built by
 * `make console`, for a build directory). */
static const char *default_console_dir(void)
{
	static const char *const candidates[] = { FERRY_DATADIR "/console", FERRY_SOURCE_WEB "/dist", NULL };
	char index[PATH_MAX];

	for (const char *const *p = candidates; *p; p++) {
		snprintf(index, sizeof(index), "%s/index.html", *p);
		if (access(index, R_OK) == 0)
			return *p;
	}
	log_warnx("event=console_missing looked_in=%s,%s hint=\"run make console, or give --console-dir\"",
		 FERRY_DATADIR "/console", FERRY_SOURCE_WEB "/dist");
	return FERRY_SOURCE_WEB "/dist";
}

/* Opens what the scan step needs, or says what is wrong. */
static int scan_open(const struct config *c, struct scan_config *sc, struct secret_rules **rules,
		     struct vulndb **db, char *dir, size_t dirsize, struct ferr *e)
{
	const char *rules_path = c->secret_rules ? c->secret_rules : default_secret_rules();

	if (!rules_path)
		return ferr_invalid(e, "no secret rules file: looked for %s and %s; give --secret-rules FILE",
				    FERRY_DATADIR "/secret-rules.json", FERRY_SOURCE_DATA "/secret-rules.json");
	if (secret_rules_load(rules, rules_path, e) < 0)
		return -1;
	if (c->vuln_db)
		snprintf(dir, dirsize, "%s", c->vuln_db);
	else
		snprintf(dir, dirsize, "%s/vulndb", c->data);
	if (vulndb_open(db, dir, e) < 0)
		return ferr_prefix(e, "vulnerability database %s", dir);
	if (c->scanner && !in_path(c->scanner))
		return ferr_invalid(e, "--scanner %s: %s is not installed (not in PATH); install it or "
				    "leave --scanner out: the built-in scanner works alone", c->scanner,
				    c->scanner);
	sc->rules = *rules;
	sc->vulndb = *db;
	sc->vulndb_dir = dir;
	sc->external = c->scanner;
	log_info("event=scan_ready secret_rules=%s rules=%zu vulndb=%s advisories=%zu scanner=%s",
		 rules_path, secret_rules_count(*rules), dir, vulndb_count(*db),
		 c->scanner ? c->scanner : "built-in");
	return 0;
}

/* What shapes the Kubernetes objects (ferry manifests, the driver). */
static void set_manifests_options(const struct config *c, const char *registry_password)
{
	char host[256] = "";
	struct manifests_options mo = {
		.ingress_class = c->ingress_class,
		.ingress_namespace = c->ingress_namespace,
		.missed_run_deadline_s = c->missed_run_deadline,
		.registry_username = c->registry_username,
		.registry_password = registry_password,
	};

	if (c->registry) {
		const char *h = strstr(c->registry, "://");
		h = h ? h + 3 : c->registry;
		snprintf(host, sizeof(host), "%.*s", (int)strcspn(h, "/"), h);
		mo.registry_host = host;
	}
	manifests_set_options(&mo);
}

static void key_source(const struct config *c, struct vault_key_source *src)
{
	src->data_dir = c->data;
	src->path = c->master_key_file;
	src->command = c->master_key_command;
	src->kind = c->master_key_file ? VAULT_KEY_FILE :
		    c->master_key_command ? VAULT_KEY_COMMAND : VAULT_KEY_DEFAULT;
}

/* ferryd rotate-master-key: re-wraps every data key with a new master key.
 * Safe while a daemon runs on the same data dir. */
static int rotate_master_key(const struct config *c)
{
	struct vault_key_source src, dst = { VAULT_KEY_FILE, c->data, c->new_master_key_file, NULL };
	char path[PATH_MAX], id[VAULT_KEY_ID_LEN + 1];
	struct ferr e = FERR_INIT;

	key_source(c, &src);
	snprintf(path, sizeof(path), "%s/ferry.db", c->data);
	if (access(path, F_OK) < 0) {
		fprintf(stderr, "ferryd: %s does not exist: is --data right?\n", path);
		return 1;
	}
	if (store_open(path, &e) < 0 ||
	    vault_rotate_master(&src, c->new_master_key_file ? &dst : NULL, id, &e) < 0) {
		fprintf(stderr, "ferryd: rotate-master-key: %s\n", e.msg);
		store_close();
		return 1;
	}
	store_close();
	printf("master key rotated; new key id %s\n", id);
	return 0;
}

/* The rollout engine's podman environment: the build infrastructure's,
 * once it is up (rollout_config.containers_env_wait). */
static const char *const *build_containers_env(struct ferr *e)
{
	if (infra_wait(0, e) < 0)
		return NULL;
	return registry_env(core.registry);
}

/* ------------------------------------------------------------------ */
/* The subsystems, in the order they start                             */

/* What the subsystems share while ferryd runs. */
static struct ferryd {
	struct config c;
	char url[300];                 /* the API's own URL */
	char registry_password[1024];  /* --registry-password-file, wiped once copied */
	/* The scan step's scanners: built-in, loaded once, live until exit. */
	struct scan_config scan;
	struct secret_rules *secret_rules;
	struct vulndb *vulndb;
	char vulndb_path[PATH_MAX];
	char build_runtime[PATH_MAX], sandbox_state[PATH_MAX], init_binary[PATH_MAX];
} d;

static int start_store(struct ferr *e)
{
	char path[PATH_MAX];

	if (make_data_dir(d.c.data, e) < 0)
		return -1;
	snprintf(path, sizeof(path), "%s/ferry.db", d.c.data);
	return store_open(path, e);
}

static int start_vault(struct ferr *e)
{
	struct vault_key_source src;

	key_source(&d.c, &src);
	return vault_open(&core.vault, &src, e);
}

static void stop_vault(void)
{
	vault_free(core.vault);
	core.vault = NULL;
}

/* The domain modules' settings, the admin token and the subscriptions:
 * nothing runs yet. */
static int start_core(struct ferr *e)
{
	char path[PATH_MAX];
	int rc;

	core.data_dir = d.c.data;
	store_reserve_init(d.c.data);
	diskspace_set_min_free((int64_t)d.c.min_free_mib << 20);
	snprintf(path, sizeof(path), "%s/admin.token", d.c.data);
	rc = auth_bootstrap(path, e);
	if (rc < 0)
		return -1;
	if (rc == 1)
		log_info("event=admin_token_created path=%s", path);
	snprintf(d.url, sizeof(d.url), "%s%s", d.c.tls_cert ? "https://" : "http://", d.c.listen);
	component_set_public_url(d.c.public_url ? d.c.public_url : d.url);
	diag_register();
	/* A configuration change redeploys where the component is active; a
	 * component being deleted is undeployed first (config and component
	 * publish, never call deployment). */
	domain_subscribe(deployment_on_change);
	approval_install();
	/* The gateway's per-request samples feed the deployments' metrics. */
	if (!d.c.no_gateway_metrics)
		gateway_set_traffic_sink(traffic_record);
	/* Notifications: events queue deliveries, sender threads send them. */
	event_subscribe(notify_on_event);
	/* A build that succeeded auto-deploys (build.c publishes, never calls):
	 * after notifications, so "build.succeeded" is queued first as before. */
	event_subscribe(deployment_on_event);
	if (d.c.registry_password_file &&
	    read_password_file(d.c.registry_password_file, d.registry_password,
			       sizeof(d.registry_password), e) < 0)
		return -1;
	set_manifests_options(&d.c, d.c.registry_password_file ? d.registry_password : NULL);
	return 0;
}

/* The registry and the base image, in a thread of their own. Stopped after
 * the job queue: a build still running pushes to the registry. */
static int start_supervisor(struct ferr *e)
{
	struct supervisor_options so = {
		.registry_url = d.c.registry,
		.registry_username = d.c.registry_username,
		.registry_password = d.c.registry_password_file ? d.registry_password : NULL,
		.base_registries = d.c.base_registries,
		.n_base_registries = d.c.n_base_registries,
	};
	int rc = supervisor_start(&so, e);

	explicit_bzero(d.registry_password, sizeof(d.registry_password));
	return rc;
}

static int start_scan(struct ferr *e)
{
	return scan_open(&d.c, &d.scan, &d.secret_rules, &d.vulndb, d.vulndb_path,
			 sizeof(d.vulndb_path), e);
}

static void stop_scan(void)
{
	vulndb_free(d.vulndb);
	secret_rules_free(d.secret_rules);
	d.vulndb = NULL;
	d.secret_rules = NULL;
}

/* The build sandbox, and the "build" job kind (before the job queue). */
static int start_builds(struct ferr *e)
{
	struct build_options bo = {
		.concurrency = d.c.build_concurrency,
		.timeout_s = d.c.build_timeout,
		.scan = &d.scan,
	};

	if (d.c.build_runtime)
		snprintf(d.build_runtime, sizeof(d.build_runtime), "%s", d.c.build_runtime);
	else
		default_helper("ferry-build-runtime", "buildrt", d.build_runtime, sizeof(d.build_runtime));
	snprintf(d.sandbox_state, sizeof(d.sandbox_state), "%s/sandbox", d.c.data);
	d.c.sandbox.runtime = d.build_runtime;
	d.c.sandbox.state_dir = d.sandbox_state;
	if (sandbox_setup(&d.c.sandbox, e) < 0)
		return -1;
	build_register(&bo);
	return 0;
}

static int start_rollout(struct ferr *e)
{
	struct rollout_config rc = {
		.data_dir = d.c.data,
		.gateway_listen = d.c.gateway_listen,
		.containers_env = NULL, /* the build infrastructure's */
		.containers_env_wait = build_containers_env,
		.init_binary = d.c.init_binary,
		.runtime = d.c.runtime,
		.kubectl = d.c.kubectl,
		.kubeconfig = d.c.kubeconfig,
		.kube_context = d.c.kube_context,
	};

	if (!d.c.init_binary) {
		default_helper("ferry-init", "init", d.init_binary, sizeof(d.init_binary));
		rc.init_binary = d.init_binary;
	}
	return rollout_start(&rc, e);
}

/* HAProxy and the replicas keep running (see docs/rollout.md). */
static void stop_rollout(void)
{
	rollout_stop();
}

/* The job queue, then the builds a stop left behind are failed. */
static int start_jobs(struct ferr *e)
{
	if (jobq_start(d.c.workers, e) < 0)
		return -1;
	build_recover();
	return 0;
}

/* Builds and rollouts the queue stops from now on were interrupted, not
 * cancelled. */
static void stop_jobs(void)
{
	build_begin_shutdown();
	rollout_begin_shutdown();
	jobq_stop();
}

/* Tasks: executions (re-attached after a restart) and their schedules. */
static int start_tasks(struct ferr *e)
{
	struct execution_options eo = { .retention_days = d.c.execution_retention_days };
	struct scheduler_config sc = { .missed_deadline_s = d.c.missed_run_deadline,
				       .fire = execution_fire };
	/* on Kubernetes a scheduled task's CronJob starts its runs */
	int schedules = strcmp(d.c.runtime, "kubernetes") != 0;

	if (!schedules)
		log_info("event=scheduler_off reason=\"on Kubernetes the CronJobs run the scheduled tasks\"");
	if (execution_start(&eo, e) < 0)
		return -1;
	if (schedules && scheduler_start(&sc, e) < 0) {
		execution_stop();
		return -1;
	}
	return 0;
}

/* Running tasks keep running: the next ferryd re-attaches to them. */
static void stop_tasks(void)
{
	scheduler_stop();
	execution_stop();
}

static int start_housekeeping(struct ferr *e)
{
	return housekeeping_start(&d.c.hk, e);
}

static int start_api(struct ferr *e)
{
	struct api_options ao = {
		.listen = d.c.listen,
		.body_limit = (size_t)d.c.body_limit,
		.max_connections = d.c.max_connections,
		.per_ip_connections = (unsigned)d.c.max_client_connections,
		.request_timeout_s = (unsigned)d.c.request_timeout,
		.idle_timeout_s = (unsigned)d.c.idle_timeout,
		.tls_cert = d.c.tls_cert,
		.tls_key = d.c.tls_key,
		.console_dir = d.c.no_console ? NULL : d.c.console_dir ? d.c.console_dir :
			       default_console_dir(),
	};

	api_session_set_ttl(d.c.session_ttl);
	return api_start(&ao, e);
}

/* Promotes waiting for a rollout give up first, so the API can stop. */
static void stop_api(void)
{
	deployment_stop_waiting();
	api_stop();
}

/* In the manner of OpenBSD daemons' process tables: started in this
 * order; on a failure those already started stop in reverse, and so do
 * all of them on SIGTERM or SIGINT. A start sets e and undoes its own
 * partial work; stop may be NULL (nothing to undo). */
static const struct subsystem {
	const char *name;
	int (*start)(struct ferr *e);
	void (*stop)(void);
} subsystems[] = {
	{ "store",         start_store,         store_close },
	{ "vault",         start_vault,         stop_vault },
	{ "core",          start_core,          NULL },
	{ "traffic",       traffic_start,       traffic_stop },
	{ "notify",        notify_start,        notify_stop },
	{ "scan",          start_scan,          stop_scan },
	{ "builds",        start_builds,        NULL },
	{ "supervisor",    start_supervisor,    supervisor_stop },
	{ "rollout",       start_rollout,       stop_rollout },
	{ "jobs",          start_jobs,          stop_jobs },
	{ "tasks",         start_tasks,         stop_tasks },
	{ "parts",         parts_watch_start,   parts_watch_stop },
	{ "housekeeping",  start_housekeeping,  housekeeping_stop },
	{ "webhooks",      webhook_poller_start, webhook_poller_stop },
	{ "api",           start_api,           stop_api },
};
#define N_SUBSYSTEMS (sizeof(subsystems) / sizeof(subsystems[0]))

static void stop_subsystems(size_t started)
{
	while (started-- > 0)
		if (subsystems[started].stop) {
			log_debug("event=subsystem_stop name=%s", subsystems[started].name);
			subsystems[started].stop();
		}
}

/* Starts every subsystem; returns how many started (N_SUBSYSTEMS: all). */
static size_t start_subsystems(void)
{
	for (size_t i = 0; i < N_SUBSYSTEMS; i++) {
		struct ferr e = FERR_INIT;

		log_debug("event=subsystem_start name=%s", subsystems[i].name);
		if (subsystems[i].start(&e) < 0) {
			log_error("event=start_failed subsystem=%s err=\"%s\"", subsystems[i].name, e.msg);
			return i;
		}
	}
	return N_SUBSYSTEMS;
}

int main(int argc, char **argv)
{
	int rotate = argc > 1 && !strcmp(argv[1], "rotate-master-key");
	sigset_t sigs;
	size_t started;
	int sig;

	d.c = (struct config){
		.data = "./ferry-data",
		.listen = "127.0.0.1:7700",
		.gateway_listen = "127.0.0.1:8080",
		.runtime = "podman",
		.body_limit = 1L << 20,
		.workers = 4,
		.execution_retention_days = 90,
		.missed_run_deadline = SCHEDULER_DEADLINE_DEFAULT,
		.min_free_mib = DISKSPACE_MIN_FREE_DEFAULT >> 20,
	};
	if (argc > 1 && !strcmp(argv[1], "restore"))
		return ferryd_restore(argc - 1, argv + 1);
	if (rotate) {
		argv++;
		argc--;
	}
	if (parse_args(argc, argv, &d.c) < 0)
		return 2;
	if (sodium_init() < 0) {
		log_error("event=start_failed err=\"libsodium failed to initialise\"");
		return 1;
	}
	if (rotate)
		return rotate_master_key(&d.c);
	/* Signals are taken by sigwait in this thread only; threads started
	 * below inherit the mask. */
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGTERM);
	sigaddset(&sigs, SIGINT);
	pthread_sigmask(SIG_BLOCK, &sigs, NULL);
	signal(SIGPIPE, SIG_IGN);
	umask(077);

	started = start_subsystems();
	if (started < N_SUBSYSTEMS) {
		stop_subsystems(started);
		return 1;
	}
	log_info("event=ready version=%s listen=%s data=%s console=%s", FERRY_VERSION, d.url, d.c.data,
		 d.c.no_console ? "off" : d.url);

	while (sigwait(&sigs, &sig) != 0)
		;
	log_info("event=stopping signal=%s", sig == SIGTERM ? "TERM" : "INT");
	stop_subsystems(N_SUBSYSTEMS);
	log_info("event=stopped");
	return 0;
}
