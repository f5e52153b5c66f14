/* ferryd's supervisor of the parts around it: the image registry (managed
 * or external), the base registries' pull-through caches and the
 * ferry/busybox base image, brought up in a thread of its own and the
 * managed registries restarted when they exit; and HAProxy, the gateway,
 * watched by a second thread and started again when it dies; see
 * supervisor.h. */
#include "ferryd/supervisor.h"

#include <dirent.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/core.h"
#include "core/infra.h"
#include "core/parts.h"
#include "gateway/haproxy.h"
#include "lib/pidfile.h"
#include "lib/log.h"
#include "lib/strbuf.h"
#include "pipeline/baseimage.h"
#include "pipeline/image.h"
#include "pipeline/registry.h"
#include "lib/banned.h"

/* How often the gateway is checked. */
#define GATEWAY_WATCH_MS 1000

static struct {
	pthread_t thread;
	pthread_t gw_thread;
	int started, gw_started;
	struct supervisor_options opts;
	char *password;
	/* Pull-through caches of --base-registry, in order (opened once). */
	struct registry *caches[INFRA_MAX_BASE_REGISTRIES];
	char *cache_hosts[INFRA_MAX_BASE_REGISTRIES + 1];
	size_t n_caches;
	/* The gateway, once supervisor_gateway_open made it: set once, under
	 * gw_lock, read by the gateway thread. */
	pthread_mutex_t gw_lock;
	struct gateway *gw;
} sup = { .gw_lock = PTHREAD_MUTEX_INITIALIZER };

/* Opens the pull-through cache of each --base-registry URL that is not
 * open yet: a managed docker-registry in proxy mode under
 * DATA/basecache/<n>/. Returns 0 when all are open, else -1 with e set. */
static int open_base_caches(struct ferr *e)
{
	while (sup.n_caches < sup.opts.n_base_registries) {
		size_t i = sup.n_caches;
		char sub[32];
		struct registry_config rc = {
			.data_dir = core.data_dir, .subdir = sub,
			.binary = sup.opts.registry_binary,
			.proxy_url = sup.opts.base_registries[i],
		};
		struct strbuf dir = STRBUF_INIT;

		strbuf_addf(&dir, "%s/basecache", core.data_dir);
		mkdir(dir.buf, 0700);
		strbuf_release(&dir);
		snprintf(sub, sizeof(sub), "basecache/%zu", i);
		if (registry_open(&sup.caches[i], &rc, e) < 0)
			return ferr_prefix(e, "base registry %s", sup.opts.base_registries[i]);
		sup.cache_hosts[i] = strdup(registry_host(sup.caches[i]));
		if (!sup.cache_hosts[i])
			abort();
		log_info("event=base_cache_ready upstream=%s host=%s", sup.opts.base_registries[i],
			 sup.cache_hosts[i]);
		sup.n_caches++;
		infra_set_caches(sup.caches, sup.opts.base_registries, sup.n_caches);
	}
	return 0;
}

static void registry_pidfile_write(pid_t pid)
{
	struct strbuf path = STRBUF_INIT;

	/* the managed registry's pid, for operators */
	pidfile_path(&path, core.data_dir, PIDFILE_REGISTRY);
	if (pidfile_write(path.buf, pid) < 0)
		log_warn("event=registry_pidfile_failed path=%s", path.buf);
	strbuf_release(&path);
}

/* 1 if pid runs "BINARY serve CONFIG" for this data dir's registry
 * configuration (as given, or made absolute). */
static int is_our_registry(pid_t pid, const char *config, const char *config_abs)
{
	const char *const as_given[] = { "serve", config }, *const absolute[] = { "serve", config_abs };

	return pid_command_is(pid, NULL, as_given, 2) ||
	       (config_abs && pid_command_is(pid, NULL, absolute, 2));
}

/* Stops registries left running by a ferryd of this data dir that was
 * killed (SIGKILL, OOM). The registry gets a parent-death signal, so this
 * is the fallback for one started by an older ferryd or one that ignored
 * it: found by its exact command line, which names this data dir's
 * registry configuration. Left alone, one would hold the port
 * and keep serving with the dead process's settings (e.g. not read-only
 * during GC). */
static void registry_stop_stale(void)
{
	struct strbuf config = STRBUF_INIT;
	char *config_abs = NULL;
	struct dirent *de;
	DIR *proc;

	strbuf_addf(&config, "%s/registry/config.yml", core.data_dir);
	config_abs = realpath(config.buf, NULL);
	proc = opendir("/proc");
	if (!proc)
		goto out;
	while ((de = readdir(proc))) {
		int pid;

		if (strspn(de->d_name, "0123456789") != strlen(de->d_name))
			continue;
		pid = atoi(de->d_name);
		if (pid <= 1 || pid == getpid() || !is_our_registry(pid, config.buf, config_abs))
			continue;
		log_warnx("event=registry_stale pid=%d action=stop", pid);
		kill(pid, SIGTERM);
		for (int i = 0; i < 50 && kill(pid, 0) == 0; i++)
			usleep(100 * 1000);
		if (kill(pid, 0) == 0)
			kill(pid, SIGKILL);
		/* Not our child (init reaps it): wait until it is gone. */
		for (int i = 0; i < 50 && kill(pid, 0) == 0; i++)
			usleep(100 * 1000);
	}
	closedir(proc);
out:
	free(config_abs);
	strbuf_release(&config);
}

static void baseimage_line(void *ctx, const char *line, size_t len)
{
	(void)ctx;
	log_debug("event=baseimage_output line=\"%.*s\"", (int)(len > 300 ? 300 : len), line);
}

static void *supervisor_main(void *arg)
{
	struct registry *reg = NULL;
	int base_ok = 0, retry_ms = 0;
	pid_t last_pid = 0;

	(void)arg;
	if (!sup.opts.registry_url)
		registry_stop_stale();
	for (;;) {
		struct ferr e = FERR_INIT;

		if (infra_sleep(retry_ms))
			break;
		retry_ms = 1000;
		if (open_base_caches(&e) < 0) {
			log_error("event=base_cache_failed err=\"%s\"", e.msg);
			infra_failed(&e);
			retry_ms = 5000;
			continue;
		}
		for (size_t i = 0; i < sup.n_caches; i++)
			if (registry_supervise(sup.caches[i], &e) < 0) {
				log_error("event=base_cache_restart_failed err=\"%s\"", e.msg);
				ferr_clear(&e);
			}
		if (!reg) {
			struct registry_config rc = {
				.data_dir = core.data_dir,
				.search_after = (const char *const *)sup.cache_hosts,
				.binary = sup.opts.registry_binary,
				.external_url = sup.opts.registry_url,
				.username = sup.opts.registry_username,
				.password = sup.password,
			};
			if (registry_open(&reg, &rc, &e) < 0) {
				log_error("event=registry_failed err=\"%s\"", e.msg);
				infra_failed(&e);
				retry_ms = 5000;
				continue;
			}
			log_info("event=registry_ready host=%s pid=%d", registry_host(reg), (int)registry_pid(reg));
			last_pid = registry_pid(reg);
			if (last_pid > 0)
				registry_pidfile_write(last_pid);
			infra_set_registry(reg);
		}
		if (!base_ok) {
			struct baseimage_opts bo = { .busybox = sup.opts.busybox, .force = 0 };
			struct image_watch w = { .log = baseimage_line };
			struct strbuf dir = STRBUF_INIT;
			char digest[72];
			int rc;

			strbuf_addf(&dir, "%s/baseimage", core.data_dir);
			bo.state_dir = dir.buf;
			rc = baseimage_ensure_busybox(reg, &bo, &w, digest, &e);
			strbuf_release(&dir);
			if (rc < 0) {
				log_error("event=baseimage_failed err=\"%s\"", e.msg);
				ferr_prefix(&e, "the ferry/busybox base image could not be made");
				infra_failed(&e);
				retry_ms = 30000;
				continue;
			}
			log_info("event=baseimage_ready image=%s digest=%s built=%d",
				 BASEIMAGE_BUSYBOX_REPO, digest, rc);
			base_ok = 1;
			infra_ready();
		}
		switch (registry_supervise(reg, &e)) {
		case -1:
			log_error("event=registry_restart_failed err=\"%s\"", e.msg);
			parts_seen("registry", "down", 0, e.msg);
			break;
		case 1:
			parts_restarted("registry", (int)registry_pid(reg), "it had exited");
			break;
		default:
			parts_seen("registry", registry_pid(reg) > 0 ? "up" : "external",
				   (int)registry_pid(reg), NULL);
			break;
		}
		if (registry_pid(reg) != last_pid) {
			last_pid = registry_pid(reg);
			if (last_pid > 0)
				registry_pidfile_write(last_pid);
		}
	}
	return NULL;
}

/* ------------------------------------------------------------------ */
/* HAProxy                                                              */

struct gateway *supervisor_gateway_open(struct ferr *e)
{
	struct haproxy_config hc = { .data_dir = core.data_dir, .listen = sup.opts.gateway_listen };
	struct gateway *gw;

	pthread_mutex_lock(&sup.gw_lock);
	gw = sup.gw;
	pthread_mutex_unlock(&sup.gw_lock);
	if (gw)
		return gw;
	if (haproxy_gateway_start(&gw, &hc, e) < 0)
		return NULL;
	pthread_mutex_lock(&sup.gw_lock);
	sup.gw = gw;
	pthread_mutex_unlock(&sup.gw_lock);
	return gw;
}

int supervisor_gateway_left_running(void)
{
	struct strbuf path = STRBUF_INIT;
	int there;

	pidfile_path(&path, core.data_dir, PIDFILE_GATEWAY);
	there = access(path.buf, F_OK) == 0;
	strbuf_release(&path);
	return there;
}

/* One check of the gateway: started again if it died, and then its
 * routes converged by the rollout engine; recorded either way. */
static void gateway_watch(struct gateway *gw)
{
	struct ferr e = FERR_INIT;
	int r = gateway_supervise(gw, &e);

	if (r == 1) {
		size_t nr = 0, ns = 0;
		char msg[160];

		ferr_clear(&e);
		if (sup.opts.gateway_restored && sup.opts.gateway_restored(&nr, &ns, &e) < 0) {
			log_warnx("event=gateway_restore_failed err=\"%s\"", e.msg);
			snprintf(msg, sizeof(msg), "HAProxy had exited; restoring its routes "
				 "from the store failed: %.80s", e.msg);
		} else {
			log_info("event=gateway_restored routes=%zu servers=%zu", nr, ns);
			snprintf(msg, sizeof(msg), "HAProxy had exited; %zu routes and %zu "
				 "servers restored from the store", nr, ns);
		}
		parts_restarted("gateway", 0, msg);
	} else if (r < 0) {
		log_warnx("event=gateway_down err=\"%s\"", e.msg);
		parts_seen("gateway", "down", 0, e.msg);
	} else {
		parts_seen("gateway", "up", 0, NULL);
	}
}

/* The gateway's thread: a check a second once the gateway is open. Apart
 * from the registry's, so that neither waits for the other (a base image
 * being built, a restore waiting for the reconciler's pass). */
static void *gateway_main(void *arg)
{
	(void)arg;
	while (!infra_sleep(GATEWAY_WATCH_MS)) {
		struct gateway *gw;

		pthread_mutex_lock(&sup.gw_lock);
		gw = sup.gw;
		pthread_mutex_unlock(&sup.gw_lock);
		if (gw)
			gateway_watch(gw);
	}
	return NULL;
}

/* ------------------------------------------------------------------ */

int supervisor_start(const struct supervisor_options *opts, struct ferr *e)
{
	sup.opts = *opts;
	if (opts->registry_password) {
		sup.password = strdup(opts->registry_password);
		if (!sup.password)
			abort();
	}
	sup.opts.registry_password = NULL;
	infra_reset();
	if (pthread_create(&sup.thread, NULL, supervisor_main, NULL))
		return ferr_internal(e, "cannot start the build infrastructure thread");
	sup.started = 1;
	if (pthread_create(&sup.gw_thread, NULL, gateway_main, NULL)) {
		supervisor_stop();
		return ferr_internal(e, "cannot start the gateway's supervisor thread");
	}
	sup.gw_started = 1;
	return 0;
}

void supervisor_stop(void)
{
	struct registry *reg = core.registry;

	if (!sup.started)
		return;
	infra_stopping();
	pthread_join(sup.thread, NULL);
	if (sup.gw_started)
		pthread_join(sup.gw_thread, NULL);
	sup.started = sup.gw_started = 0;
	/* HAProxy keeps running: the next ferryd adopts it */
	gateway_free(sup.gw);
	sup.gw = NULL;
	infra_set_registry(NULL);
	infra_set_caches(NULL, NULL, 0);
	registry_close(reg);
	for (size_t i = 0; i < sup.n_caches; i++) {
		registry_close(sup.caches[i]);
		free(sup.cache_hosts[i]);
		sup.caches[i] = NULL;
		sup.cache_hosts[i] = NULL;
	}
	sup.n_caches = 0;
	if (sup.password) {
		explicit_bzero(sup.password, strlen(sup.password));
		free(sup.password);
		sup.password = NULL;
	}
}
