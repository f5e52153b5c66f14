/* ferryd: the control plane. Wires the store, the job queue and the API,
 * and stops cleanly on SIGTERM/SIGINT (deployed services keep running). */
#include <errno.h>
#include <limits.h>
#include <malloc.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "api/api.h"
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
#include "core/execution.h"
#include "core/housekeeping.h"
#include "core/parts.h"
#include "core/manifests.h"
#include "core/rollout.h"
#include "core/webhook.h"
#include "ferryd/options.h"
#include "ferryd/restore.h"
#include "ferryd/supervisor.h"
#include "lib/log.h"
#include "pipeline/registry.h"
#include "pipeline/sandbox.h"
#include "pipeline/scan.h"
#include "pipeline/secrets.h"
#include "pipeline/vuln.h"
#include "runtime/kube_incluster.h"
#include "runtime/kubernetes.h"
#include "runtime/podman.h"
#include "sched/jobqueue.h"
#include "sched/scheduler.h"
#include "store/reserve.h"
#include "store/store.h"
#include "vault/vault.h"
#include "lib/banned.h"




static int make_data_dir(const char *dir, struct ferr *e)
{
	struct stat st;

	if (mkdir(dir, 0700) < 0 && errno != EEXIST)
		return ferr_internal(e, "cannot create data directory %s: %s", dir, strerror(errno));
	if (stat(dir, &st) < 0 || !S_ISDIR(st.st_mode))
		return ferr_internal(e, "%s is not a directory", dir);
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
		.gateway = c->gateway,
		.ingress_by_path = !c->ingress_by_path || !strcmp(c->ingress_by_path, "none") ? KUBE_BY_PATH_NONE :
				   !strcmp(c->ingress_by_path, "nginx") ? KUBE_BY_PATH_NGINX : KUBE_BY_PATH_PREFIX,
		.by_path_annotations = c->by_path_annotations,
		.n_by_path_annotations = c->n_by_path_annotations,
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
	/* The Kubernetes driver's settings; kube_incluster: the in-cluster
	 * kubeconfig's path (ferryd as a pod). */
	struct kubernetes_config kube;
	char kube_incluster[PATH_MAX];
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
		.gateway_listen = d.c.gateway_listen,
		.gateway_restored = rollout_gateway_restored,
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
		.registry_wait_s = d.c.registry_wait,
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

/* The podman driver, with the build infrastructure's containers
 * configuration once it is up (rollout_config.runtime_open). */
static int open_podman(const char *instance, struct runtime **ret, struct ferr *e)
{
	struct podman_config pc = {
		.data_dir = d.c.data,
		.instance = instance,
		.init_path = d.c.init_binary,
	};

	if (infra_wait(0, e) < 0)
		return -1;
	pc.env = registry_env(core.registry);
	if (!pc.env)
		return -1;
	return podman_runtime_new(ret, &pc, e);
}

/* The Kubernetes driver, once the cluster answers. */
static int open_kubernetes(const char *instance, struct runtime **ret, struct ferr *e)
{
	d.kube.instance = instance;
	return kubernetes_runtime_new(ret, &d.kube, e);
}

/* ferryd chooses the drivers: podman and HAProxy (made by the supervisor,
 * which keeps it running), or Kubernetes. */
static int start_rollout(struct ferr *e)
{
	int kube = !strcmp(d.c.runtime, "kubernetes");
	struct rollout_config rc = {
		.data_dir = d.c.data,
		.gateway_listen = d.c.gateway_listen,
		.runtime_open = kube ? open_kubernetes : open_podman,
		.gateway_open = supervisor_gateway_open,
		.gateway_left_running = supervisor_gateway_left_running,
		.runtime = d.c.runtime,
		.kube_context = d.c.kube_context,
	};

	if (kube) {
		d.kube = (struct kubernetes_config){ .kubectl = d.c.kubectl, .kubeconfig = d.c.kubeconfig,
						     .context = d.c.kube_context };
		if (!d.c.kubeconfig && !getenv("KUBECONFIG")) {
			/* ferryd as a pod: its service account's credentials */
			int found;
			snprintf(d.kube_incluster, sizeof(d.kube_incluster), "%s/kube-in-cluster.kubeconfig",
				 d.c.data);
			found = kube_incluster_kubeconfig(d.kube_incluster, e);
			if (found < 0)
				return -1;
			if (found == 1)
				d.kube.kubeconfig = d.kube_incluster;
		}
		rc.kubeconfig = d.kube.kubeconfig;
		return rollout_start(&rc, e);
	}
	if (!d.c.init_binary) {
		default_helper("ferry-init", "init", d.init_binary, sizeof(d.init_binary));
		d.c.init_binary = d.init_binary;
	}
	if (access(d.c.init_binary, X_OK) < 0)
		return ferr_invalid(e, "ferry-init at %s is not executable (%s): build it or pass --init-binary",
				    d.c.init_binary, strerror(errno));
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
	jobq_set_max_queued(d.c.max_queued_jobs);
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
	d.c.hk.history.execution_days = d.c.execution_retention_days;
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

	/* The API runs a thread per connection, and glibc gives threads up to
	 * 8 arenas per core: each keeps the pages its threads freed, so the RSS
	 * crept up while the heap in use stayed flat (docs/disk.md, Soak). Two
	 * arenas are plenty for a control plane; MALLOC_ARENA_MAX or
	 * GLIBC_TUNABLES still decide when set. */
	if (!getenv("MALLOC_ARENA_MAX") && !getenv("GLIBC_TUNABLES"))
		mallopt(M_ARENA_MAX, 2);

	d.c = (struct config){
		.data = "./ferry-data",
		.listen = "127.0.0.1:7700",
		.gateway_listen = "127.0.0.1:8080",
		.runtime = "podman",
		.body_limit = 1L << 20,
		.workers = 4,
		.max_queued_jobs = JOBQ_MAX_QUEUED_DEFAULT,
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
	if (options_parse(argc, argv, &d.c) < 0)
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
