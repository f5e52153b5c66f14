/* rollout: the engine that converges the runtime and the gateway to the
 * store's deployments. See core/rollout.h for the contract and
 * docs/rollout.md for the behaviour in full.
 *
 * Pieces, in this file's order:
 *   engine     the runtime driver and the gateway, both brought up lazily
 *              by the reconciler thread (podman needs ferry's containers
 *              configuration, written once the build infrastructure is up;
 *              HAProxy is started only once something is deployed)
 *   plans      what a deployment needs of the runtime and the gateway,
 *              computed from its descriptor (immutable, so cached)
 *   gateway    the routes and servers this engine set, remembered so that
 *              retiring a replica or an owner knows what to remove
 *   probes     readiness and liveness (HTTP, TCP, exec)
 *   jobs       "rollout" and "undeploy"
 *   reconciler adoption after a restart, crash and liveness restarts with
 *              backoff, orphans, stuck rollouts
 *   health     rollout_health for ferry status and promotion
 *
 * Locking: eng.lock guards the engine's tables. It is never held across a
 * podman or HAProxy call. Work on one component in one environment (its
 * "owner", "project/environment/component") is serialised by the busy set:
 * a job holds its owner for its whole run, and the reconciler leaves busy
 * owners and owners with a pending or rolling-out deployment alone.
 */
#include "core/rollout.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "core/build.h"
#include "core/core.h"
#include "core/deployment.h"
#include "core/probe.h"
#include "core/rollout_int.h"
#include "core/rollout_kube.h"
#include "core/parts.h"
#include "core/snapshot.h"
#include "gateway/gateway.h"
#include "lib/log.h"
#include "lib/strbuf.h"
#include "pipeline/descriptor.h"
#include "pipeline/registry.h"
#include "runtime/podman.h"
#include "runtime/runtime.h"
#include "sched/jobqueue.h"
#include "store/store.h"
#include "lib/banned.h"

#define GRACE_S 10               /* SIGTERM → SIGKILL when stopping replicas */
#define DRAIN_MS 30000           /* longest wait for in-flight requests */
#define RECONCILE_MS 1500        /* reconciler period */
#define READY_MIN_MS 10000       /* readiness budget bounds */
#define READY_MAX_MS 600000
#define READY_DEFAULT_MS 30000   /* no probe declared */
#define PROBE_STEP_MS 50         /* probe interval while a rollout waits */
#define BACKOFF_MAX_S 60
#define ENGINE_WAIT_MS (5 * 60 * 1000)
#define MAX_ROUTES 16
#define OWNER_MAX 200

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void *xrealloc(void *p, size_t n)
{
	p = realloc(p, n ? n : 1);
	if (!p)
		abort();
	return p;
}

/* Grows *arr (elements of size elem, *cap slots) to hold n + 1. */
static void grow(void **arr, size_t n, size_t *cap, size_t elem)
{
	if (n + 1 <= *cap)
		return;
	*cap = *cap ? *cap * 2 : 8;
	*arr = xrealloc(*arr, *cap * elem);
}

/* ------------------------------------------------------------------ */
/* Engine state                                                         */

struct gw_route {
	char key[GATEWAY_KEY_MAX + 1];
	char owner[OWNER_MAX];
};

struct gw_srv {
	char key[GATEWAY_KEY_MAX + 1];
	char id[40];
	char owner[OWNER_MAX];
	long long dep;
	int replica;
};

/* What the engine knows of a replica beyond what the runtime reports. */
struct rep_state {
	char id[65];             /* runtime id */
	long long dep;
	int replica;
	int ready;               /* passed readiness since it (re)started */
	int live_fails;          /* consecutive liveness failures */
	long long next_live_ms;  /* next liveness probe */
	int restarts;            /* restarts by the engine */
	int seen;                /* mark for pruning */
};

/* Restart backoff per deployment replica slot. */
struct backoff {
	long long dep;
	int replica;
	int fails;
	long long next_ms;
	long long since_ms;      /* last (re)start */
};

struct plan;

static struct {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	pthread_t thread;
	int started;             /* rollout_start succeeded */
	int stop;                /* reconciler must end */
	int shutdown;            /* the daemon is stopping */
	int kick;
	int ready;               /* runtime up and the first pass done */
	char why[512];           /* why not ready */

	char *data_dir;
	char *listen;
	char *init_binary;
	char **env;              /* copy of rollout_config.containers_env */
	char instance[40];

	struct runtime *rt;      /* set once, then constant */
	struct gateway *gw;      /* set once, then constant */
	/* Networks are shared by every component of a project+environment:
	 * starting a replica (ensure network, then start) holds it for
	 * reading, removing a network for writing, so an undeploy never
	 * removes the network between another start's two steps. */
	pthread_rwlock_t net_lock;

	char (*busy)[OWNER_MAX];
	size_t nbusy, abusy;
	struct gw_route *routes;
	size_t nroutes, aroutes;
	struct gw_srv *srvs;
	size_t nsrvs, asrvs;
	struct rep_state *reps;
	size_t nreps, areps;
	struct backoff *backs;
	size_t nbacks, abacks;
	struct plan **plans;     /* cache, by deployment id */
	size_t nplans, aplans;
} eng = { .lock = PTHREAD_MUTEX_INITIALIZER, .cond = PTHREAD_COND_INITIALIZER,
	    .net_lock = PTHREAD_RWLOCK_INITIALIZER };

static void owner_of(char out[OWNER_MAX], const char *p, const char *env, const char *c)
{
	snprintf(out, OWNER_MAX, "%s/%s/%s", p, env, c);
}

static void server_id(char out[40], long long dep, int replica)
{
	snprintf(out, 40, "d%lld-r%d", dep, replica);
}

static void kick(void)
{
	pthread_mutex_lock(&eng.lock);
	eng.kick = 1;
	pthread_cond_broadcast(&eng.cond);
	pthread_mutex_unlock(&eng.lock);
}

/* ------------------------------------------------------------------ */
/* Plans                                                                */

struct route_plan {
	char key[GATEWAY_KEY_MAX + 1];
	char host[GATEWAY_HOST_MAX + 1];
	char prefix[GATEWAY_PATH_MAX + 1];
	char base[GATEWAY_PATH_MAX + 1];
	int port;                /* container port */
};

struct plan {
	struct deployment_info d;
	struct descriptor *desc;
	char owner[OWNER_MAX];
	int task;
	int replicas;
	struct route_plan routes[MAX_ROUTES];
	size_t nroutes;
	int ports[RUNTIME_MAX_PORTS];
	int nports;
	struct descriptor_probe readiness;  /* effective (defaults filled) */
	int ready_budget_ms;
	int refs;
};

static void plan_unref(struct plan *p)
{
	int last;

	if (!p)
		return;
	pthread_mutex_lock(&eng.lock);
	last = --p->refs == 0;
	pthread_mutex_unlock(&eng.lock);
	if (!last)
		return;
	descriptor_free(p->desc);
	deployment_info_release(&p->d);
	free(p);
}

static int add_port(struct plan *p, int port, struct ferr *e)
{
	for (int i = 0; i < p->nports; i++)
		if (p->ports[i] == port)
			return 0;
	if (p->nports == RUNTIME_MAX_PORTS)
		return ferr_invalid(e, "the descriptor uses more than %d different ports", RUNTIME_MAX_PORTS);
	p->ports[p->nports++] = port;
	return 0;
}

/* A route key: "p.e.c.endpoint", or a hash of it when that is too long. */
static void route_key(char out[GATEWAY_KEY_MAX + 1], const struct deployment_info *d, const char *ep)
{
	char full[512];
	unsigned char h[8];

	snprintf(full, sizeof(full), "%s.%s.%s.%s", d->project, d->environment, d->component, ep);
	if (strlen(full) <= GATEWAY_KEY_MAX) {
		memcpy(out, full, strlen(full) + 1);
		return;
	}
	crypto_generichash(h, sizeof(h), (const unsigned char *)full, strlen(full), NULL, 0);
	snprintf(out, GATEWAY_KEY_MAX + 1, "h%02x%02x%02x%02x%02x%02x%02x%02x.%.60s", h[0], h[1],
		 h[2], h[3], h[4], h[5], h[6], h[7], ep);
}

static int plan_build(int64_t dep, struct plan **ret, struct ferr *e)
{
	struct plan *p = calloc(1, sizeof(*p));
	const struct descriptor *ds;

	if (!p)
		abort();
	if (deployment_info_load(dep, &p->d, e) < 0) {
		free(p);
		return -1;
	}
	if (descriptor_from_json(&p->desc, p->d.descriptor, e) < 0) {
		ferr_prefix(e, "deployment %lld", (long long)dep);
		goto fail;
	}
	ds = p->desc;
	p->refs = 1;
	owner_of(p->owner, p->d.project, p->d.environment, p->d.component);
	p->task = !strcmp(p->d.component_type, "scheduled-task") ||
		  !strcmp(p->d.component_type, "manual-task");
	p->replicas = ds->replicas > 0 ? ds->replicas : 1;
	for (size_t i = 0; i < ds->n_endpoints; i++) {
		const struct descriptor_endpoint *ep = &ds->endpoints[i];
		struct route_plan *rp;
		char base[GATEWAY_PATH_MAX + 1];

		if (add_port(p, ep->port, e) < 0)
			goto fail;
		if (!(ep->visibilities & (VISIBILITY_PUBLIC | VISIBILITY_ORGANIZATION)) ||
		    ep->type == ENDPOINT_TCP || ep->type == ENDPOINT_UDP)
			continue;
		if (p->nroutes == MAX_ROUTES) {
			ferr_invalid(e, "deployment %lld: more than %d public or organization endpoints",
				     (long long)dep, MAX_ROUTES);
			goto fail;
		}
		if (gateway_base_path_norm(base, sizeof(base),
					   !strcmp(p->d.component_type, "web-app") ? "/" : ep->base_path,
					   e) < 0)
			goto fail;
		rp = &p->routes[p->nroutes++];
		route_key(rp->key, &p->d, ep->name);
		snprintf(rp->host, sizeof(rp->host), "%s.%s.%s.localhost", p->d.component, p->d.project,
			 p->d.environment);
		snprintf(rp->prefix, sizeof(rp->prefix), "/%s/%s/%s", p->d.project, p->d.environment,
			 p->d.component);
		memcpy(rp->base, base, sizeof(base));
		rp->port = ep->port;
	}
	p->readiness = ds->readiness;
	if (p->readiness.kind == PROBE_NONE && ds->n_endpoints) {
		p->readiness.kind = PROBE_TCP;
		p->readiness.port = ds->endpoints[0].port;
		p->readiness.period_seconds = 1;
		p->readiness.timeout_seconds = 1;
		p->readiness.failure_threshold = 30;
		p->readiness.initial_delay_seconds = 0;
	}
	if ((p->readiness.kind == PROBE_HTTP || p->readiness.kind == PROBE_TCP) &&
	    add_port(p, p->readiness.port, e) < 0)
		goto fail;
	if ((ds->liveness.kind == PROBE_HTTP || ds->liveness.kind == PROBE_TCP) &&
	    add_port(p, ds->liveness.port, e) < 0)
		goto fail;
	if (ds->readiness.kind == PROBE_NONE) {
		p->ready_budget_ms = READY_DEFAULT_MS;
	} else {
		long long b = ((long long)ds->readiness.initial_delay_seconds +
			       (long long)ds->readiness.period_seconds * ds->readiness.failure_threshold) * 1000;
		p->ready_budget_ms = (int)(b < READY_MIN_MS ? READY_MIN_MS : b > READY_MAX_MS ? READY_MAX_MS : b);
	}
	*ret = p;
	return 0;
fail:
	descriptor_free(p->desc);
	deployment_info_release(&p->d);
	free(p);
	return -1;
}

/* The plan of deployment dep, from the cache or built. Release with
 * plan_unref. */
static int plan_get(int64_t dep, struct plan **ret, struct ferr *e)
{
	struct plan *p;

	pthread_mutex_lock(&eng.lock);
	for (size_t i = 0; i < eng.nplans; i++) {
		if (eng.plans[i]->d.id == dep) {
			*ret = eng.plans[i];
			eng.plans[i]->refs++;
			pthread_mutex_unlock(&eng.lock);
			return 0;
		}
	}
	pthread_mutex_unlock(&eng.lock);
	if (plan_build(dep, &p, e) < 0)
		return -1;
	pthread_mutex_lock(&eng.lock);
	grow((void **)&eng.plans, eng.nplans, &eng.aplans, sizeof(*eng.plans));
	eng.plans[eng.nplans++] = p;
	p->refs++;
	pthread_mutex_unlock(&eng.lock);
	*ret = p;
	return 0;
}

/* Drops cached plans whose deployment is not in keep (n ids). */
static void plans_prune(const long long *keep, size_t n)
{
	size_t i = 0;

	while (1) {
		struct plan *drop = NULL;

		pthread_mutex_lock(&eng.lock);
		for (; i < eng.nplans; i++) {
			size_t k;
			for (k = 0; k < n && keep[k] != eng.plans[i]->d.id; k++)
				;
			if (k == n) {
				drop = eng.plans[i];
				eng.plans[i] = eng.plans[--eng.nplans];
				break;
			}
		}
		pthread_mutex_unlock(&eng.lock);
		if (!drop)
			return;
		plan_unref(drop);
	}
}

/* ------------------------------------------------------------------ */
/* Engine: runtime and gateway                                          */

struct runtime *rollout_runtime(struct ferr *e)
{
	struct runtime *rt;

	if (rollout_kube_on())
		return rollout_kube_runtime(e);

	pthread_mutex_lock(&eng.lock);
	rt = eng.rt;
	if (!rt)
		ferr_set(e, 503, "starting", "the container runtime is not ready yet%s%s",
			 eng.why[0] ? ": " : "", eng.why);
	pthread_mutex_unlock(&eng.lock);
	return rt;
}

static void set_why(const char *msg)
{
	pthread_mutex_lock(&eng.lock);
	snprintf(eng.why, sizeof(eng.why), "%.500s", msg);
	pthread_mutex_unlock(&eng.lock);
}

/* This ferryd's runtime instance name, kept in DATA/runtime-instance so
 * that a restarted ferryd finds its replicas and two ferryds on one host
 * never touch each other's. */
int rollout_instance_load(const char *data_dir, char *out, size_t size, struct ferr *e)
{
	char path[4096], buf[64];
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "%s/runtime-instance", data_dir);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd >= 0) {
		n = read(fd, buf, sizeof(buf) - 1);
		close(fd);
		if (n > 0) {
			buf[n] = '\0';
			buf[strcspn(buf, "\r\n")] = '\0';
			if (runtime_check_name("runtime instance", buf, NULL) == 0 && strlen(buf) <= 32) {
				snprintf(out, size, "%s", buf);
				return 0;
			}
		}
		return ferr_internal(e, "%s does not hold a valid runtime instance name: remove it only if no replica of this ferryd runs", path);
	}
	if (errno != ENOENT)
		return ferr_internal(e, "cannot read %s: %s", path, strerror(errno));
	{
		unsigned char r[4];
		char tmp[4200];
		int len;

		randombytes_buf(r, sizeof(r));
		len = snprintf(out, size, "fy%02x%02x%02x%02x", r[0], r[1], r[2], r[3]);
		snprintf(tmp, sizeof(tmp), "%s.tmp", path);
		fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
		if (fd < 0 || write(fd, out, (size_t)len) != len || fsync(fd) < 0 ||
		    close(fd) < 0 || rename(tmp, path) < 0) {
			if (fd >= 0)
				close(fd);
			return ferr_internal(e, "cannot write %s: %s", path, strerror(errno));
		}
	}
	return 0;
}

static int load_instance(struct ferr *e)
{
	return rollout_instance_load(eng.data_dir, eng.instance, sizeof(eng.instance), e);
}

static int engine_runtime_up(struct ferr *e)
{
	struct podman_config pc = { 0 };
	struct runtime *rt;

	if (eng.rt)
		return 0;
	if (!eng.instance[0] && load_instance(e) < 0)
		return -1;
	if (eng.env) {
		pc.env = (const char *const *)eng.env;
	} else {
		if (build_infra_wait(0, e) < 0)
			return -1;
		pc.env = registry_env(core.registry);
	}
	pc.data_dir = eng.data_dir;
	pc.instance = eng.instance;
	pc.init_path = eng.init_binary;
	if (podman_runtime_new(&rt, &pc, e) < 0)
		return -1;
	pthread_mutex_lock(&eng.lock);
	eng.rt = rt;
	pthread_mutex_unlock(&eng.lock);
	log_info("event=runtime_ready instance=%s", eng.instance);
	return 0;
}

static pthread_mutex_t gw_start_lock = PTHREAD_MUTEX_INITIALIZER;

/* The gateway, started (or adopted) on first need. */
static struct gateway *engine_gateway(struct ferr *e)
{
	struct gateway_config gc = { 0 };
	struct gateway *gw;

	pthread_mutex_lock(&gw_start_lock);
	if (eng.gw) {
		pthread_mutex_unlock(&gw_start_lock);
		return eng.gw;
	}
	gc.data_dir = eng.data_dir;
	gc.listen = eng.listen;
	if (gateway_start(&gw, &gc, e) < 0) {
		pthread_mutex_unlock(&gw_start_lock);
		ferr_prefix(e, "gateway on %s", eng.listen);
		return NULL;
	}
	pthread_mutex_lock(&eng.lock);
	eng.gw = gw;
	pthread_mutex_unlock(&eng.lock);
	pthread_mutex_unlock(&gw_start_lock);
	log_info("event=gateway_ready listen=%s", eng.listen);
	return gw;
}

/* ------------------------------------------------------------------ */
/* Gateway bookkeeping                                                  */

static void table_route_add(const char *key, const char *owner)
{
	pthread_mutex_lock(&eng.lock);
	for (size_t i = 0; i < eng.nroutes; i++) {
		if (!strcmp(eng.routes[i].key, key)) {
			pthread_mutex_unlock(&eng.lock);
			return;
		}
	}
	grow((void **)&eng.routes, eng.nroutes, &eng.aroutes, sizeof(*eng.routes));
	snprintf(eng.routes[eng.nroutes].key, sizeof(eng.routes[0].key), "%s", key);
	snprintf(eng.routes[eng.nroutes].owner, OWNER_MAX, "%s", owner);
	eng.nroutes++;
	pthread_mutex_unlock(&eng.lock);
}

static int table_has_route(const char *key)
{
	int found = 0;

	pthread_mutex_lock(&eng.lock);
	for (size_t i = 0; i < eng.nroutes && !found; i++)
		found = !strcmp(eng.routes[i].key, key);
	pthread_mutex_unlock(&eng.lock);
	return found;
}

static void table_srv_add(const char *key, const char *owner, long long dep, int replica)
{
	char id[40];

	server_id(id, dep, replica);
	pthread_mutex_lock(&eng.lock);
	for (size_t i = 0; i < eng.nsrvs; i++) {
		if (!strcmp(eng.srvs[i].key, key) && !strcmp(eng.srvs[i].id, id)) {
			pthread_mutex_unlock(&eng.lock);
			return;
		}
	}
	grow((void **)&eng.srvs, eng.nsrvs, &eng.asrvs, sizeof(*eng.srvs));
	snprintf(eng.srvs[eng.nsrvs].key, sizeof(eng.srvs[0].key), "%s", key);
	memcpy(eng.srvs[eng.nsrvs].id, id, sizeof(id));
	snprintf(eng.srvs[eng.nsrvs].owner, OWNER_MAX, "%s", owner);
	eng.srvs[eng.nsrvs].dep = dep;
	eng.srvs[eng.nsrvs].replica = replica;
	eng.nsrvs++;
	pthread_mutex_unlock(&eng.lock);
}

static int table_has_srv(const char *key, long long dep, int replica)
{
	int found = 0;

	pthread_mutex_lock(&eng.lock);
	for (size_t i = 0; i < eng.nsrvs && !found; i++)
		found = eng.srvs[i].dep == dep && eng.srvs[i].replica == replica &&
			!strcmp(eng.srvs[i].key, key);
	pthread_mutex_unlock(&eng.lock);
	return found;
}

/* Sets the plan's routes. */
static int gw_routes_apply(const struct plan *p, struct ferr *e)
{
	struct gateway *gw;

	if (!p->nroutes)
		return 0;
	gw = engine_gateway(e);
	if (!gw)
		return -1;
	for (size_t i = 0; i < p->nroutes; i++) {
		const struct route_plan *rp = &p->routes[i];
		struct gateway_route r = { rp->key, rp->host, rp->prefix, rp->base };

		if (gateway_route_set(gw, &r, e) < 0)
			return -1;
		table_route_add(rp->key, p->owner);
	}
	return 0;
}

/* Puts replica r of plan p behind every route of p, ready. */
static int gw_server_up(const struct plan *p, const struct runtime_replica *r, struct ferr *e)
{
	char id[40], addr[32];

	if (!p->nroutes)
		return 0;
	if (!eng.gw && !engine_gateway(e))
		return -1;
	server_id(id, r->deployment, r->replica);
	for (size_t i = 0; i < p->nroutes; i++) {
		int hp = runtime_replica_host_port(r, p->routes[i].port);

		if (hp <= 0)
			return ferr_internal(e, "replica %d has no published port for %d", r->replica,
					     p->routes[i].port);
		snprintf(addr, sizeof(addr), "127.0.0.1:%d", hp);
		if (!table_has_route(p->routes[i].key)) {
			struct gateway_route gr = { p->routes[i].key, p->routes[i].host,
						    p->routes[i].prefix, p->routes[i].base };
			if (gateway_route_set(eng.gw, &gr, e) < 0)
				return -1;
			table_route_add(p->routes[i].key, p->owner);
		}
		if (gateway_server_add(eng.gw, p->routes[i].key, id, addr, e) < 0 &&
		    e->status == 409) {
			/* the same slot at another port (a restart moved it): replace */
			ferr_clear(e);
			if (gateway_server_remove(eng.gw, p->routes[i].key, id, e) < 0 ||
			    gateway_server_add(eng.gw, p->routes[i].key, id, addr, e) < 0)
				return -1;
		} else if (ferr_isset(e)) {
			return -1;
		}
		if (gateway_server_ready(eng.gw, p->routes[i].key, id, e) < 0)
			return -1;
		table_srv_add(p->routes[i].key, p->owner, r->deployment, r->replica);
	}
	return 0;
}

/* Takes replica (dep, replica) out of every route it is in: drained first
 * (up to drain_ms; 0: at once), then removed. Errors are logged: the
 * replica is going away either way. */
static void gw_server_down(long long dep, int replica, int drain_ms)
{
	struct gw_srv *mine = NULL;
	size_t n = 0, cap = 0;
	struct ferr e = FERR_INIT;

	pthread_mutex_lock(&eng.lock);
	for (size_t i = 0; i < eng.nsrvs; i++) {
		if (eng.srvs[i].dep == dep && eng.srvs[i].replica == replica) {
			grow((void **)&mine, n, &cap, sizeof(*mine));
			mine[n++] = eng.srvs[i];
		}
	}
	pthread_mutex_unlock(&eng.lock);
	if (!n || !eng.gw)
		goto out;
	/* drain every route first, then wait on each: in-flight requests of
	 * all routes finish in parallel */
	if (drain_ms > 0) {
		long long deadline = now_ms() + drain_ms;
		for (size_t i = 0; i < n; i++) {
			ferr_clear(&e);
			gateway_server_drain(eng.gw, mine[i].key, mine[i].id, 0, &e);
		}
		for (size_t i = 0; i < n; i++) {
			long long left = deadline - now_ms();
			ferr_clear(&e);
			if (gateway_server_drain(eng.gw, mine[i].key, mine[i].id,
						 left > 0 ? (int)left : 1, &e) < 0)
				log_warnx("event=drain_incomplete route=%s server=%s err=\"%s\"", mine[i].key,
					  mine[i].id, e.msg);
		}
	}
	for (size_t i = 0; i < n; i++) {
		ferr_clear(&e);
		if (gateway_server_remove(eng.gw, mine[i].key, mine[i].id, &e) < 0)
			log_warnx("event=server_remove_failed route=%s server=%s err=\"%s\"", mine[i].key,
				  mine[i].id, e.msg);
	}
out:
	pthread_mutex_lock(&eng.lock);
	for (size_t i = 0; i < eng.nsrvs;) {
		if (eng.srvs[i].dep == dep && eng.srvs[i].replica == replica)
			eng.srvs[i] = eng.srvs[--eng.nsrvs];
		else
			i++;
	}
	pthread_mutex_unlock(&eng.lock);
	free(mine);
}

/* Removes owner's routes whose key is not in keep (nkeep keys). */
static void gw_routes_drop(const char *owner, const struct route_plan *keep, size_t nkeep)
{
	char (*drop)[GATEWAY_KEY_MAX + 1] = NULL;
	size_t n = 0, cap = 0;
	struct ferr e = FERR_INIT;

	pthread_mutex_lock(&eng.lock);
	for (size_t i = 0; i < eng.nroutes;) {
		size_t k;
		if (strcmp(eng.routes[i].owner, owner)) {
			i++;
			continue;
		}
		for (k = 0; k < nkeep && strcmp(keep[k].key, eng.routes[i].key); k++)
			;
		if (k < nkeep) {
			i++;
			continue;
		}
		grow((void **)&drop, n, &cap, sizeof(*drop));
		memcpy(drop[n++], eng.routes[i].key, sizeof(drop[0]));
		eng.routes[i] = eng.routes[--eng.nroutes];
	}
	for (size_t i = 0; i < eng.nsrvs;) {
		size_t k;
		for (k = 0; k < n && strcmp(drop[k], eng.srvs[i].key); k++)
			;
		if (k < n)
			eng.srvs[i] = eng.srvs[--eng.nsrvs];
		else
			i++;
	}
	pthread_mutex_unlock(&eng.lock);
	for (size_t i = 0; i < n && eng.gw; i++) {
		ferr_clear(&e);
		if (gateway_route_remove(eng.gw, drop[i], &e) < 0)
			log_warnx("event=route_remove_failed route=%s err=\"%s\"", drop[i], e.msg);
		else
			log_info("event=route_removed route=%s", drop[i]);
	}
	free(drop);
}

/* ------------------------------------------------------------------ */
/* Replica states and backoff                                           */

/* Finds (or adds) the state of runtime id. Call with eng.lock held. */
static struct rep_state *rep_state_locked(const char *id, long long dep, int replica)
{
	for (size_t i = 0; i < eng.nreps; i++)
		if (!strcmp(eng.reps[i].id, id))
			return &eng.reps[i];
	grow((void **)&eng.reps, eng.nreps, &eng.areps, sizeof(*eng.reps));
	memset(&eng.reps[eng.nreps], 0, sizeof(eng.reps[0]));
	snprintf(eng.reps[eng.nreps].id, sizeof(eng.reps[0].id), "%s", id);
	eng.reps[eng.nreps].dep = dep;
	eng.reps[eng.nreps].replica = replica;
	return &eng.reps[eng.nreps++];
}

static void rep_set_ready(const char *id, long long dep, int replica, int ready)
{
	struct rep_state *s;

	pthread_mutex_lock(&eng.lock);
	s = rep_state_locked(id, dep, replica);
	s->ready = ready;
	s->live_fails = 0;
	s->next_live_ms = 0;
	pthread_mutex_unlock(&eng.lock);
}

static int rep_ready(const char *id)
{
	int r = 0;

	pthread_mutex_lock(&eng.lock);
	for (size_t i = 0; i < eng.nreps; i++)
		if (!strcmp(eng.reps[i].id, id))
			r = eng.reps[i].ready;
	pthread_mutex_unlock(&eng.lock);
	return r;
}

static void rep_forget(const char *id)
{
	pthread_mutex_lock(&eng.lock);
	for (size_t i = 0; i < eng.nreps; i++) {
		if (!strcmp(eng.reps[i].id, id)) {
			eng.reps[i] = eng.reps[--eng.nreps];
			break;
		}
	}
	pthread_mutex_unlock(&eng.lock);
}

static struct backoff *backoff_locked(long long dep, int replica)
{
	for (size_t i = 0; i < eng.nbacks; i++)
		if (eng.backs[i].dep == dep && eng.backs[i].replica == replica)
			return &eng.backs[i];
	grow((void **)&eng.backs, eng.nbacks, &eng.abacks, sizeof(*eng.backs));
	memset(&eng.backs[eng.nbacks], 0, sizeof(eng.backs[0]));
	eng.backs[eng.nbacks].dep = dep;
	eng.backs[eng.nbacks].replica = replica;
	return &eng.backs[eng.nbacks++];
}

/* May slot (dep, replica) be (re)started now? If so, records the attempt
 * and returns the delay that will apply to the next one (seconds). */
static int backoff_take(long long dep, int replica, int *ret_next_s)
{
	long long now = now_ms();
	struct backoff *b;
	int ok = 0;

	pthread_mutex_lock(&eng.lock);
	b = backoff_locked(dep, replica);
	/* a replica that stayed up for the longest backoff is forgiven */
	if (b->since_ms && now - b->since_ms > BACKOFF_MAX_S * 1000LL * 2)
		b->fails = 0;
	if (now >= b->next_ms) {
		int delay = 1 << (b->fails < 6 ? b->fails : 6);
		if (delay > BACKOFF_MAX_S)
			delay = BACKOFF_MAX_S;
		b->fails++;
		b->next_ms = now + delay * 1000LL;
		b->since_ms = now;
		*ret_next_s = delay;
		ok = 1;
	}
	pthread_mutex_unlock(&eng.lock);
	return ok;
}

/* ------------------------------------------------------------------ */
/* Busy owners                                                          */

static int owner_busy_locked(const char *owner)
{
	for (size_t i = 0; i < eng.nbusy; i++)
		if (!strcmp(eng.busy[i], owner))
			return 1;
	return 0;
}

/* Takes owner for a job; waits while another job has it. Returns 0, or -1
 * if the job was cancelled while waiting. */
static int owner_take(const char *owner, struct job *job)
{
	pthread_mutex_lock(&eng.lock);
	while (owner_busy_locked(owner)) {
		struct timespec ts;

		if (job && job_cancelled(job)) {
			pthread_mutex_unlock(&eng.lock);
			return -1;
		}
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_nsec += 200 * 1000000L;
		if (ts.tv_nsec >= 1000000000L) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000L;
		}
		pthread_cond_timedwait(&eng.cond, &eng.lock, &ts);
	}
	grow((void **)&eng.busy, eng.nbusy, &eng.abusy, sizeof(*eng.busy));
	snprintf(eng.busy[eng.nbusy++], OWNER_MAX, "%s", owner);
	pthread_mutex_unlock(&eng.lock);
	return 0;
}

static void owner_give(const char *owner)
{
	pthread_mutex_lock(&eng.lock);
	for (size_t i = 0; i < eng.nbusy; i++) {
		if (!strcmp(eng.busy[i], owner)) {
			memcpy(eng.busy[i], eng.busy[--eng.nbusy], OWNER_MAX);
			break;
		}
	}
	pthread_cond_broadcast(&eng.cond);
	pthread_mutex_unlock(&eng.lock);
}

/* Sleeps ms, in steps, returning -1 at once if the job is cancelled. */
static int nap(struct job *job, int ms)
{
	while (ms > 0) {
		int step = ms < 50 ? ms : 50;
		if (job && job_cancelled(job))
			return -1;
		usleep((useconds_t)step * 1000);
		ms -= step;
	}
	return job && job_cancelled(job) ? -1 : 0;
}

/* Waits until the engine finished its first pass. */
static int engine_wait_ready(struct job *job, struct ferr *e)
{
	long long deadline = now_ms() + ENGINE_WAIT_MS;

	for (;;) {
		int ready;
		char why[512];

		pthread_mutex_lock(&eng.lock);
		ready = eng.ready;
		memcpy(why, eng.why, sizeof(why));
		pthread_mutex_unlock(&eng.lock);
		if (ready)
			return 0;
		if (!eng.started)
			return ferr_set(e, 503, "not_started", "the rollout engine is not running");
		if (now_ms() > deadline)
			return ferr_set(e, 503, "runtime_unavailable",
					"the container runtime did not come up in %d s%s%s",
					ENGINE_WAIT_MS / 1000, why[0] ? ": " : "", why);
		if (nap(job, 200) < 0)
			return ferr_set(e, 409, "cancelled", "cancelled while waiting for the container runtime");
	}
}

/* ------------------------------------------------------------------ */
/* Starting replicas and probing them                                   */

static void wipe_free(char *s)
{
	if (s) {
		sodium_memzero(s, strlen(s));
		free(s);
	}
}

/* Starts replica i of plan p with its configuration snapshot and the
 * FERRY_* variables (and FERRY_EXECUTION = i for a task, whose replica slot
 * is its execution id). args, for tasks, replaces the image's CMD (NULL:
 * keep it). The network must exist: use replica_start_args. */
static int replica_start_in_network(const struct plan *p, int i, const char *const *args,
			      struct runtime_replica *ret, struct ferr *e)
{
	struct runtime_spec spec = { 0 };
	const char *caps[DESCRIPTOR_N_CAPABILITIES + 1];
	size_t ncaps = 0;
	struct snapshot *snap = NULL;
	struct runtime_file *files = NULL;
	char **env = NULL;
	size_t nenv = 0, nfiles = 0;
	char dep[32];
	int rc = -1;

	if (snapshot_load(p->d.snapshot_id, &snap, e) < 0)
		return ferr_prefix(e, "configuration of deployment %lld", (long long)p->d.id);
	env = calloc(snap->n + 6, sizeof(*env));
	files = calloc(snap->n + 1, sizeof(*files));
	if (!env || !files)
		abort();
	for (size_t k = 0; k < snap->n; k++) {
		const struct config_value *v = &snap->entries[k];
		if (v->kind == CONFIG_KIND_FILE) {
			files[nfiles].path = v->mount_path;
			files[nfiles].data = v->value;
			files[nfiles].len = v->value_len;
			nfiles++;
		} else {
			struct strbuf sb;
			strbuf_init(&sb, strlen(v->key) + v->value_len + 2);
			strbuf_addstr(&sb, v->key);
			strbuf_addch(&sb, '=');
			strbuf_add(&sb, v->value, v->value_len);
			env[nenv++] = strbuf_detach(&sb, NULL);
		}
	}
	/* ferry's own variables come last: they win over a stored value */
	snprintf(dep, sizeof(dep), "%lld", (long long)p->d.id);
	{
		char exec[32];
		const char *names[5] = { "FERRY_PROJECT", "FERRY_ENVIRONMENT", "FERRY_COMPONENT",
					 "FERRY_DEPLOYMENT", "FERRY_EXECUTION" };
		const char *vals[5] = { p->d.project, p->d.environment, p->d.component, dep, exec };
		snprintf(exec, sizeof(exec), "%d", i);
		for (int k = 0; k < (p->task ? 5 : 4); k++) {
			struct strbuf sb;
			strbuf_init(&sb, 64);
			strbuf_addf(&sb, "%s=%s", names[k], vals[k]);
			env[nenv++] = strbuf_detach(&sb, NULL);
		}
	}
	spec.project = p->d.project;
	spec.environment = p->d.environment;
	spec.component = p->d.component;
	spec.deployment = p->d.id;
	spec.replica = i;
	spec.image = p->d.image;
	spec.cpu_millicores = (int)p->desc->cpu_millicores;
	spec.memory_bytes = p->desc->memory_bytes;
	memcpy(spec.ports, p->ports, sizeof(spec.ports));
	spec.nports = p->nports;
	spec.env = (const char *const *)env;
	spec.files = files;
	spec.nfiles = nfiles;
	spec.args = args;
	spec.task = p->task;
	for (int k = 0; k < DESCRIPTOR_N_CAPABILITIES; k++)
		if (p->desc->capabilities & (1u << k))
			caps[ncaps++] = descriptor_capabilities[k];
	caps[ncaps] = NULL;
	spec.capabilities = caps;
	spec.read_only_root = p->desc->read_only_root;
	rc = runtime_start_replica(eng.rt, &spec, ret, e);
	for (size_t k = 0; k < nenv; k++)
		wipe_free(env[k]);
	free(env);
	free(files);
	snapshot_free(snap);
	return rc;
}

/* Ensures the project+environment network and starts the replica in it,
 * with no network removal in between (eng.net_lock). */
static int replica_start_args(const struct plan *p, int i, const char *const *args,
			      struct runtime_replica *ret, struct ferr *e)
{
	int rc;

	pthread_rwlock_rdlock(&eng.net_lock);
	rc = runtime_ensure_network(eng.rt, p->d.project, p->d.environment, e);
	if (rc == 0)
		rc = replica_start_in_network(p, i, args, ret, e);
	pthread_rwlock_unlock(&eng.net_lock);
	return rc;
}

static int replica_start(const struct plan *p, int i, struct runtime_replica *ret, struct ferr *e)
{
	return replica_start_args(p, i, NULL, ret, e);
}

int rollout_task_start(int64_t deployment_id, int64_t execution_id, const char *const *args,
		       char ret_id[65], struct ferr *e)
{
	if (rollout_kube_on())
		return rollout_kube_task_start(deployment_id, execution_id, args, ret_id, e);
	struct runtime_replica r;
	struct plan *p = NULL;
	int rc = -1;

	if (execution_id <= 0 || execution_id > 0x7fffffff)
		return ferr_invalid(e, "execution id %lld cannot name a container slot", (long long)execution_id);
	if (!rollout_runtime(e))
		return -1;
	if (plan_get(deployment_id, &p, e) < 0)
		return -1;
	if (!p->task) {
		ferr_invalid(e, "deployment %lld is of a %s, not a task", (long long)deployment_id,
			     p->d.component_type);
		goto out;
	}
	if (replica_start_args(p, (int)execution_id, args, &r, e) < 0)
		goto out;
	memcpy(ret_id, r.id, sizeof(r.id));
	rc = 0;
out:
	plan_unref(p);
	return rc;
}

/* Runs probe pr against replica r once. Returns 1 healthy, 0 not; answer
 * says what it saw. */
static int probe_once(const struct descriptor_probe *pr, const struct runtime_replica *r,
		      char *answer, size_t size)
{
	int timeout = (pr->timeout_seconds > 0 ? pr->timeout_seconds : 1) * 1000;
	struct ferr e = FERR_INIT;

	switch (pr->kind) {
	case PROBE_HTTP:
	case PROBE_TCP: {
		int hp = runtime_replica_host_port(r, pr->port);
		if (hp <= 0) {
			snprintf(answer, size, "port %d is not published", pr->port);
			return 0;
		}
		return pr->kind == PROBE_HTTP ? probe_http(hp, pr->http_path, NULL, timeout, answer, size)
					      : probe_tcp(hp, timeout, answer, size);
	}
	case PROBE_EXEC: {
		struct strbuf out;
		int rc;

		strbuf_init(&out, 0);
		rc = runtime_exec_probe(eng.rt, r->id, (const char *const *)pr->exec_argv, timeout, &out, &e);
		if (rc < 0) {
			snprintf(answer, size, "exec failed: %.120s", e.msg);
		} else {
			size_t nl = strcspn(out.buf, "\n");
			snprintf(answer, size, "exit %d%s%.*s", rc, nl ? ": " : "",
				 (int)(nl > 100 ? 100 : nl), out.buf);
		}
		strbuf_release(&out);
		return rc == 0;
	}
	case PROBE_NONE:
		break;
	}
	{
		struct runtime_replica now;
		if (runtime_inspect(eng.rt, r->id, &now, &e) < 0) {
			snprintf(answer, size, "%.140s", e.msg);
			return 0;
		}
		snprintf(answer, size, "%s", runtime_state_name(now.state));
		return now.state == RUNTIME_RUNNING;
	}
}

/* Waits for replica r of plan p to pass readiness within the plan's
 * budget. Returns 1 ready, 0 not (why: the last answers), -1 cancelled. */
static int wait_ready(const struct plan *p, const struct runtime_replica *r, struct job *job,
		      char *why, size_t size)
{
	long long start = now_ms(), deadline = start + p->ready_budget_ms, next_inspect = start + 1000;
	char last[3][PROBE_ANSWER_MAX] = { "", "", "" };
	int nlast = 0;

	if (p->readiness.initial_delay_seconds > 0 &&
	    nap(job, p->readiness.initial_delay_seconds * 1000) < 0)
		return -1;
	for (;;) {
		char answer[PROBE_ANSWER_MAX];

		if (probe_once(&p->readiness, r, answer, sizeof(answer))) {
			snprintf(why, size, "%s after %.1f s", answer, (double)(now_ms() - start) / 1000);
			return 1;
		}
		if (!nlast || strcmp(last[(nlast - 1) % 3], answer))
			snprintf(last[nlast++ % 3], PROBE_ANSWER_MAX, "%s", answer);
		if (now_ms() >= next_inspect) {
			struct runtime_replica st;
			struct ferr e = FERR_INIT;
			next_inspect = now_ms() + 1000;
			if (runtime_inspect(eng.rt, r->id, &st, &e) == 0 && st.state == RUNTIME_EXITED &&
			    st.restarts < 0) {
				snprintf(why, size, "the replica exited with code %d (last probe: %s)",
					 st.exit_code, answer);
				return 0;
			}
		}
		if (now_ms() >= deadline) {
			int k0 = nlast > 3 ? nlast - 3 : 0;
			size_t off = (size_t)snprintf(why, size, "readiness did not pass within %.1f s; last answers:",
						      (double)p->ready_budget_ms / 1000);
			for (int k = k0; k < nlast && off < size; k++)
				off += (size_t)snprintf(why + off, size - off, "%s %s", k > k0 ? "," : "",
							last[k % 3]);
			return 0;
		}
		if (nap(job, PROBE_STEP_MS) < 0)
			return -1;
	}
}

/* Stops replica r: out of the gateway (drained), SIGTERM with grace,
 * removed. */
static void replica_retire(const struct runtime_replica *r, int drain_ms, int64_t event_dep,
			   const char *why)
{
	struct ferr e = FERR_INIT;

	gw_server_down(r->deployment, r->replica, drain_ms);
	if (runtime_stop_replica(eng.rt, r->id, GRACE_S, &e) < 0)
		log_warnx("event=replica_stop_failed replica=%s err=\"%s\"", r->name, e.msg);
	rep_forget(r->id);
	if (event_dep > 0)
		deployment_event(event_dep, "replica %d of deployment %lld %s", r->replica,
				 (long long)r->deployment, why);
	log_info("event=replica_stopped replica=%s why=\"%s\"", r->name, why);
}

/* ------------------------------------------------------------------ */
/* The rollout job                                                      */

static int64_t payload_id(struct job *job, const char *key)
{
	json_t *v = json_object_get(job->payload, key);

	return json_is_integer(v) ? (int64_t)json_integer_value(v) : 0;
}

/* The newest active deployment of the component in the environment, or 0. */
static int64_t active_of(int64_t component_id, int64_t env_id)
{
	sqlite3_stmt *st = store_stmt("SELECT max(id) FROM deployments WHERE component_id = ?"
				      " AND environment_id = ? AND status = 'active'");
	int64_t id = 0;

	sqlite3_bind_int64(st, 1, component_id);
	sqlite3_bind_int64(st, 2, env_id);
	if (sqlite3_step(st) == SQLITE_ROW)
		id = sqlite3_column_int64(st, 0);
	sqlite3_reset(st);
	return id;
}

static int status_is(int64_t dep, const char *status)
{
	sqlite3_stmt *st = store_stmt("SELECT status FROM deployments WHERE id = ?");
	int r = 0;

	sqlite3_bind_int64(st, 1, dep);
	if (sqlite3_step(st) == SQLITE_ROW)
		r = !strcmp((const char *)sqlite3_column_text(st, 0), status);
	sqlite3_reset(st);
	return r;
}

int rollout_status_is(int64_t dep, const char *status)
{
	return status_is(dep, status);
}

static int cmp_replica(const void *a, const void *b)
{
	const struct runtime_replica *x = a, *y = b;

	if (x->deployment != y->deployment)
		return x->deployment < y->deployment ? -1 : 1;
	return x->replica - y->replica;
}

/* Undoes a rollout that cannot finish: its replicas leave the gateway and
 * stop; the previous version keeps (or gets back, via the reconciler) all
 * traffic; the deployment is failed with reason. */
static void rollout_abort(const struct plan *p, const char *reason)
{
	struct runtime_replica_list mine = RUNTIME_REPLICA_LIST_INIT;
	struct runtime_filter f = { p->d.project, p->d.environment, p->d.component, p->d.id };
	struct ferr e = FERR_INIT;

	if (runtime_list(eng.rt, &f, &mine, &e) == 0) {
		for (size_t i = 0; i < mine.n; i++)
			replica_retire(&mine.items[i], 2000, p->d.id, "removed: the rollout did not finish");
	} else {
		log_warnx("event=rollout_cleanup_failed deployment=%lld err=\"%s\"", (long long)p->d.id, e.msg);
	}
	runtime_replica_list_release(&mine);
	ferr_clear(&e);
	if (deployment_mark_failed(p->d.id, reason, &e) < 0)
		log_error("event=mark_failed_failed deployment=%lld err=\"%s\"", (long long)p->d.id, e.msg);
	log_warnx("event=rollout_failed deployment=%lld owner=%s reason=\"%s\"", (long long)p->d.id,
		  p->owner, reason);
	kick();
}

/* The rolling update itself, with owner taken. Returns 0 when the
 * deployment ended active or failed, -1 when interrupted by a shutdown (the
 * job is re-queued and resumes). */
static int roll(struct job *job, struct plan *p, struct ferr *e)
{
	struct runtime_replica_list all = RUNTIME_REPLICA_LIST_INIT;
	struct runtime_filter f = { p->d.project, p->d.environment, p->d.component, 0 };
	struct runtime_replica *olds = NULL;
	size_t nolds = 0, nextold = 0;
	char why[1024];
	int rc = 0;

	if (runtime_ensure_network(eng.rt, p->d.project, p->d.environment, e) < 0 ||
	    gw_routes_apply(p, e) < 0 || runtime_list(eng.rt, &f, &all, e) < 0) {
		snprintf(why, sizeof(why), "%s", e->msg);
		rollout_abort(p, why);
		runtime_replica_list_release(&all);
		return 0;
	}
	olds = calloc(all.n + 1, sizeof(*olds));
	if (!olds)
		abort();
	for (size_t i = 0; i < all.n; i++)
		if (all.items[i].deployment != p->d.id)
			olds[nolds++] = all.items[i];
	qsort(olds, nolds, sizeof(*olds), cmp_replica);
	for (int i = 0; i < p->replicas; i++) {
		struct runtime_replica cur, *found = NULL;
		int ready;

		for (size_t k = 0; k < all.n; k++)
			if (all.items[k].deployment == p->d.id && all.items[k].replica == i)
				found = &all.items[k];
		if (found && found->state == RUNTIME_RUNNING) {
			cur = *found;
			deployment_event(p->d.id, "replica %d: adopted the running container %.12s", i, cur.id);
		} else {
			if (found && runtime_stop_replica(eng.rt, found->id, 0, e) < 0)
				goto fail_e;
			if (replica_start(p, i, &cur, e) < 0)
				goto fail_e;
			deployment_event(p->d.id, "replica %d: started container %.12s", i, cur.id);
		}
		ready = wait_ready(p, &cur, job, why, sizeof(why));
		if (ready < 0)
			goto cancelled;
		if (!ready) {
			char reason[1200];
			deployment_event(p->d.id, "replica %d: %s", i, why);
			snprintf(reason, sizeof(reason), "replica %d: %s", i, why);
			rollout_abort(p, reason);
			goto out;
		}
		deployment_event(p->d.id, "replica %d: ready (%s)", i, why);
		if (gw_server_up(p, &cur, e) < 0)
			goto fail_e;
		rep_set_ready(cur.id, cur.deployment, cur.replica, 1);
		if (p->nroutes)
			deployment_event(p->d.id, "replica %d: taking traffic", i);
		/* one new in, one old out */
		if (nextold < nolds) {
			replica_retire(&olds[nextold], DRAIN_MS, p->d.id, "drained and stopped");
			nextold++;
		}
		if (job_cancelled(job))
			goto cancelled;
	}
	while (nextold < nolds) {
		replica_retire(&olds[nextold], DRAIN_MS, p->d.id, "drained and stopped");
		nextold++;
	}
	gw_routes_drop(p->owner, p->routes, p->nroutes);
	if (!status_is(p->d.id, "rolling-out")) {
		/* undeployed (or failed by someone) while rolling out */
		rollout_abort(p, "undeployed before its rollout finished");
		goto out;
	}
	if (deployment_mark_active(p->d.id, e) < 0) {
		rc = -1;
		goto out;
	}
	log_info("event=rollout_done deployment=%lld owner=%s replicas=%d", (long long)p->d.id,
		 p->owner, p->replicas);
	goto out;
fail_e:
	snprintf(why, sizeof(why), "%s", e->msg);
	ferr_clear(e);
	rollout_abort(p, why);
	goto out;
cancelled:
	if (eng.shutdown) {
		deployment_event(p->d.id, "interrupted: ferryd is stopping; the rollout resumes at its next start");
		rc = ferr_set(e, 503, "interrupted", "ferryd stopped during the rollout");
	} else {
		rollout_abort(p, "the rollout was cancelled");
	}
out:
	free(olds);
	runtime_replica_list_release(&all);
	return rc;
}

static int rollout_run(struct job *job, struct ferr *e)
{
	int64_t dep = payload_id(job, "deployment"), newer;
	struct deployment_info d;
	struct plan *p = NULL;
	char owner[OWNER_MAX];
	int rc = 0;

	if (dep <= 0)
		return ferr_invalid(e, "rollout job without a deployment id");
	if (deployment_info_load(dep, &d, e) < 0)
		return -1;
	owner_of(owner, d.project, d.environment, d.component);
	if (strcmp(d.status, "pending") && strcmp(d.status, "rolling-out")) {
		job_log(job, "deployment %lld is %s: nothing to roll out", (long long)dep, d.status);
		deployment_info_release(&d);
		return 0;
	}
	deployment_info_release(&d);
	if (engine_wait_ready(job, e) < 0) {
		if (eng.shutdown)
			return -1;
		if (job_cancelled(job)) {
			struct ferr ig = FERR_INIT;
			deployment_mark_failed(dep, "the rollout was cancelled", &ig);
			return -1;
		}
		{
			struct ferr ig = FERR_INIT;
			deployment_mark_failed(dep, e->msg, &ig);
		}
		return -1;
	}
	if (owner_take(owner, job) < 0) {
		if (!eng.shutdown) {
			struct ferr ig = FERR_INIT;
			deployment_mark_failed(dep, "the rollout was cancelled", &ig);
		}
		return ferr_set(e, 409, "cancelled", "cancelled while another rollout of %s ran", owner);
	}
	/* re-read: it may have changed while we waited */
	if (plan_get(dep, &p, e) < 0) {
		struct ferr ig = FERR_INIT;
		deployment_mark_failed(dep, e->msg, &ig);
		rc = -1;
		goto out;
	}
	if (strcmp(p->d.status, "pending") && strcmp(p->d.status, "rolling-out")) {
		plan_unref(p);
		p = NULL;
		if (status_is(dep, "pending") || status_is(dep, "rolling-out")) {
			/* the cached plan's status is stale: build afresh */
		}
	}
	if (!p || (!status_is(dep, "pending") && !status_is(dep, "rolling-out"))) {
		job_log(job, "deployment %lld is no longer pending: nothing to roll out", (long long)dep);
		goto out;
	}
	newer = active_of(p->d.component_id, p->d.environment_id);
	if (newer > dep) {
		char why[160];
		snprintf(why, sizeof(why), "deployment %lld, which is newer, became active first",
			 (long long)newer);
		struct ferr ig = FERR_INIT;
		deployment_mark_failed(dep, why, &ig);
		goto out;
	}
	if (status_is(dep, "pending")) {
		if (deployment_mark_rolling_out(dep, e) < 0) {
			rc = -1;
			goto out;
		}
		deployment_event(dep, "rolling out %s to %s (%d replica%s, job %lld)", p->d.digest,
				 p->d.environment, p->task ? 0 : p->replicas,
				 !p->task && p->replicas == 1 ? "" : "s", (long long)job->id);
	} else {
		deployment_event(dep, "resuming the rollout (job %lld, attempt after a restart)",
				 (long long)job->id);
	}
	if (p->task) {
		/* tasks run per execution: nothing to start, nothing to route */
		rc = deployment_mark_active(dep, e);
		goto out;
	}
	rc = roll(job, p, e);
	if (rc == 0 && status_is(dep, "failed")) {
		sqlite3_stmt *st = store_stmt("SELECT error FROM deployments WHERE id = ?");
		sqlite3_bind_int64(st, 1, dep);
		if (sqlite3_step(st) == SQLITE_ROW)
			rc = ferr_set(e, 422, "rollout_failed", "deployment %lld failed: %s", (long long)dep,
				      sqlite3_column_text(st, 0) ? (const char *)sqlite3_column_text(st, 0) : "");
		sqlite3_reset(st);
	}
out:
	plan_unref(p);
	owner_give(owner);
	kick();
	return rc;
}

/* ------------------------------------------------------------------ */
/* The undeploy job                                                     */

/* Whether a deployment newer than upto (the newest one when the undeploy
 * was asked for) of the payload's component and environment is active or
 * on its way. */
static int overtaken(json_t *payload, int64_t upto)
{
	sqlite3_stmt *st = store_stmt("SELECT count(*) FROM deployments WHERE component_id = ?"
				      " AND environment_id = ? AND id > ?"
				      " AND status IN ('active','pending','rolling-out')");
	int n = 0;

	sqlite3_bind_int64(st, 1, json_integer_value(json_object_get(payload, "component")));
	sqlite3_bind_int64(st, 2, json_integer_value(json_object_get(payload, "environment")));
	sqlite3_bind_int64(st, 3, upto);
	if (sqlite3_step(st) == SQLITE_ROW)
		n = sqlite3_column_int(st, 0);
	sqlite3_reset(st);
	return n > 0;
}

static int undeploy_run(struct job *job, struct ferr *e)
{
	int64_t upto = json_integer_value(json_object_get(job->payload, "upto"));
	const char *project = json_string_value(json_object_get(job->payload, "project"));
	const char *env = json_string_value(json_object_get(job->payload, "environment_name"));
	const char *comp = json_string_value(json_object_get(job->payload, "component_name"));
	struct runtime_replica_list l = RUNTIME_REPLICA_LIST_INIT;
	struct runtime_filter f;
	char owner[OWNER_MAX];
	int rc = 0;

	if (!project || !env || !comp)
		return ferr_invalid(e, "undeploy job without project, environment_name and component_name");
	if (engine_wait_ready(job, e) < 0)
		return -1;
	owner_of(owner, project, env, comp);
	if (owner_take(owner, job) < 0)
		return ferr_set(e, 409, "cancelled", "cancelled while a rollout of %s ran", owner);
	f.project = project;
	f.environment = env;
	f.component = comp;
	f.deployment = 0;
	if (runtime_list(eng.rt, &f, &l, e) < 0) {
		rc = -1;
		goto out;
	}
	if (upto && overtaken(job->payload, upto)) {
		/* A deployment made after this undeploy was asked for serves or
		 * rolls out now: stop only what the undeploy was about, and
		 * leave the routes and the network to the newer one. */
		for (size_t i = 0; i < l.n; i++) {
			if (l.items[i].deployment > upto)
				continue;
			replica_retire(&l.items[i], 0, 0, "undeployed");
			job_log(job, "stopped %s", l.items[i].name);
		}
		job_log(job, "%s: a deployment newer than %lld took over; its replicas, routes and network stay",
			owner, (long long)upto);
		goto out;
	}
	/* routes first: the component is gone from the outside at once */
	gw_routes_drop(owner, NULL, 0);
	for (size_t i = 0; i < l.n; i++) {
		replica_retire(&l.items[i], 0, 0, "undeployed");
		job_log(job, "stopped %s", l.items[i].name);
	}
	{
		struct ferr ne = FERR_INIT;
		int removed;

		pthread_rwlock_wrlock(&eng.net_lock);
		removed = runtime_remove_network(eng.rt, project, env, &ne);
		pthread_rwlock_unlock(&eng.net_lock);
		if (removed < 0) {
			if (ne.status == 409)
				job_log(job, "network of %s/%s kept: other components still use it", project, env);
			else
				job_log(job, "network of %s/%s not removed: %s", project, env, ne.msg);
		} else {
			job_log(job, "removed the network of %s/%s", project, env);
		}
	}
	job_log(job, "%s undeployed: %zu replica%s stopped", owner, l.n, l.n == 1 ? "" : "s");
out:
	runtime_replica_list_release(&l);
	owner_give(owner);
	kick();
	return rc;
}

static const struct job_kind rollout_kind = {
	.name = "rollout", .limit = 4, .requeue_on_restart = 1, .run = rollout_run,
};

static const struct job_kind undeploy_kind = {
	.name = "undeploy", .limit = 2, .requeue_on_restart = 1, .run = undeploy_run,
};

int64_t rollout_queue(int64_t deployment_id, const char *who, struct ferr *e)
{
	sqlite3_stmt *st = store_stmt("SELECT project_id FROM deployments WHERE id = ?");
	int64_t project = 0, id;
	json_t *payload;
	int rc;

	sqlite3_bind_int64(st, 1, deployment_id);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		project = sqlite3_column_int64(st, 0);
	sqlite3_reset(st);
	if (rc != SQLITE_ROW)
		return ferr_notfound(e, "deployment %lld not found", (long long)deployment_id);
	payload = json_pack("{s:I}", "deployment", (json_int_t)deployment_id);
	id = jobq_submit("rollout", payload, project, who, e);
	json_decref(payload);
	kick();
	return id;
}

int64_t rollout_queue_undeploy(int64_t component_id, int64_t environment_id, const char *who,
			       struct ferr *e)
{
	sqlite3_stmt *st = store_stmt(
		"SELECT p.id, p.name, e.name, c.name, (SELECT coalesce(max(d.id), 0) FROM deployments d"
		"  WHERE d.component_id = c.id AND d.environment_id = e.id)"
		" FROM components c JOIN projects p ON p.id = c.project_id"
		" JOIN environments e ON e.project_id = p.id AND e.id = ? WHERE c.id = ?");
	json_t *payload = NULL;
	int64_t project = 0, id;

	sqlite3_bind_int64(st, 1, environment_id);
	sqlite3_bind_int64(st, 2, component_id);
	if (sqlite3_step(st) == SQLITE_ROW) {
		project = sqlite3_column_int64(st, 0);
		/* upto: the undeploy is about the deployments made until now,
		 * not about one a deploy right after it makes */
		payload = json_pack("{s:I, s:I, s:I, s:s, s:s, s:s}", "component", (json_int_t)component_id,
				    "environment", (json_int_t)environment_id,
				    "upto", (json_int_t)sqlite3_column_int64(st, 4),
				    "project", (const char *)sqlite3_column_text(st, 1),
				    "environment_name", (const char *)sqlite3_column_text(st, 2),
				    "component_name", (const char *)sqlite3_column_text(st, 3));
	}
	sqlite3_reset(st);
	if (!payload)
		return ferr_notfound(e, "component %lld or environment %lld not found",
				     (long long)component_id, (long long)environment_id);
	id = jobq_submit("undeploy", payload, project, who, e);
	json_decref(payload);
	return id;
}

/* ------------------------------------------------------------------ */
/* Reconciler                                                           */

/* A deployment the store wants served (active) or on its way. */
struct want {
	long long id;
	int64_t component_id, env_id;
	char owner[OWNER_MAX];
	int active;              /* else pending or rolling-out */
	int old_pending;         /* pending for over a minute */
};

static int wants_load(struct want **ret, size_t *ret_n, struct ferr *e)
{
	sqlite3_stmt *st = store_stmt(
		"SELECT d.id, d.component_id, d.environment_id, d.status, p.name, e.name, c.name,"
		" d.created_at < strftime('%Y-%m-%dT%H:%M:%SZ', 'now', '-60 seconds')"
		" FROM deployments d JOIN projects p ON p.id = d.project_id"
		" JOIN environments e ON e.id = d.environment_id JOIN components c ON c.id = d.component_id"
		" WHERE d.status IN ('active', 'pending', 'rolling-out') ORDER BY d.id");
	struct want *w = NULL;
	size_t n = 0, cap = 0;
	int rc;

	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		grow((void **)&w, n, &cap, sizeof(*w));
		w[n].id = sqlite3_column_int64(st, 0);
		w[n].component_id = sqlite3_column_int64(st, 1);
		w[n].env_id = sqlite3_column_int64(st, 2);
		w[n].active = !strcmp((const char *)sqlite3_column_text(st, 3), "active");
		owner_of(w[n].owner, (const char *)sqlite3_column_text(st, 4),
			 (const char *)sqlite3_column_text(st, 5), (const char *)sqlite3_column_text(st, 6));
		w[n].old_pending = !strcmp((const char *)sqlite3_column_text(st, 3), "pending") &&
				   sqlite3_column_int(st, 7);
		n++;
	}
	sqlite3_reset(st);
	if (rc != SQLITE_DONE) {
		free(w);
		return store_error(e, "read deployments");
	}
	*ret = w;
	*ret_n = n;
	return 0;
}

/* Is owner being changed (a job holds it, or a deployment is on its way)? */
static int owner_in_flux(const char *owner, const struct want *w, size_t n)
{
	int busy;

	pthread_mutex_lock(&eng.lock);
	busy = owner_busy_locked(owner);
	pthread_mutex_unlock(&eng.lock);
	for (size_t i = 0; i < n && !busy; i++)
		busy = !w[i].active && !strcmp(w[i].owner, owner);
	return busy;
}

static const struct want *active_want(const struct want *w, size_t n, long long dep)
{
	for (size_t i = 0; i < n; i++)
		if (w[i].id == dep && w[i].active)
			return &w[i];
	return NULL;
}

static int owner_has_active(const char *owner, const struct want *w, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (w[i].active && !strcmp(w[i].owner, owner))
			return 1;
	return 0;
}

/* A rollout that nothing will finish (its job ended, or it never got one)
 * is failed, so that no deployment stays rolling-out forever. */
static void fail_stuck(const struct want *w, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		sqlite3_stmt *st;
		int has_job = 0;
		struct ferr e = FERR_INIT;

		if (w[i].active)
			continue;
		if (!w[i].old_pending && !status_is(w[i].id, "rolling-out"))
			continue;
		pthread_mutex_lock(&eng.lock);
		has_job = owner_busy_locked(w[i].owner);
		pthread_mutex_unlock(&eng.lock);
		if (has_job)
			continue;
		st = store_stmt("SELECT count(*) FROM jobs WHERE kind = 'rollout'"
				" AND status IN ('queued', 'running')"
				" AND json_extract(payload, '$.deployment') = ?");
		sqlite3_bind_int64(st, 1, w[i].id);
		if (sqlite3_step(st) == SQLITE_ROW)
			has_job = sqlite3_column_int(st, 0) > 0;
		sqlite3_reset(st);
		if (has_job)
			continue;
		if (deployment_mark_failed(w[i].id, "its rollout job ended before the rollout did", &e) == 0)
			log_warnx("event=rollout_stuck deployment=%lld owner=%s", w[i].id, w[i].owner);
	}
}

static const struct runtime_replica *find_replica(const struct runtime_replica_list *l, long long dep,
						  int replica)
{
	for (size_t i = 0; i < l->n; i++)
		if (l->items[i].deployment == dep && l->items[i].replica == replica)
			return &l->items[i];
	return NULL;
}

/* Restarts (or re-creates) slot i of plan p after a crash or a liveness
 * failure, when its backoff allows. */
static void replica_revive(const struct plan *p, int i, const struct runtime_replica *r,
			   const char *why)
{
	struct runtime_replica fresh;
	struct ferr e = FERR_INIT;
	int next;

	if (!backoff_take(p->d.id, i, &next))
		return;
	if (r) {
		gw_server_down(r->deployment, r->replica, 0);
		rep_forget(r->id);
		if (runtime_restart_replica(eng.rt, r->id, GRACE_S, &e) == 0) {
			deployment_event(p->d.id, "replica %d %s: restarted it (next restart no sooner than %d s)",
					 i, why, next);
			log_warnx("event=replica_restarted replica=%s why=\"%s\"", r->name, why);
			pthread_mutex_lock(&eng.lock);
			rep_state_locked(r->id, r->deployment, r->replica)->restarts++;
			pthread_mutex_unlock(&eng.lock);
			return;
		}
		/* e.g. its configuration is gone after a reboot: start afresh */
		log_warnx("event=replica_restart_failed replica=%s err=\"%s\"", r->name, e.msg);
		ferr_clear(&e);
		runtime_stop_replica(eng.rt, r->id, 0, &e);
		ferr_clear(&e);
	}
	if (replica_start(p, i, &fresh, &e) < 0) {
		deployment_event(p->d.id, "replica %d %s: starting it failed: %s", i, why, e.msg);
		log_warnx("event=replica_start_failed deployment=%lld replica=%d err=\"%s\"", (long long)p->d.id, i, e.msg);
		return;
	}
	deployment_event(p->d.id, "replica %d %s: started container %.12s", i, why, fresh.id);
}

/* Keeps active deployment w healthy: every replica slot running, probed,
 * in the gateway once ready. */
static void keep_active(const struct want *w, const struct runtime_replica_list *l)
{
	struct plan *p;
	struct ferr e = FERR_INIT;

	if (plan_get(w->id, &p, &e) < 0) {
		log_warnx("event=plan_failed deployment=%lld err=\"%s\"", w->id, e.msg);
		return;
	}
	if (p->task)
		goto out;
	for (int i = 0; i < p->replicas; i++) {
		const struct runtime_replica *r = find_replica(l, w->id, i);
		char answer[PROBE_ANSWER_MAX];

		if (!r) {
			replica_revive(p, i, NULL, "was missing");
			continue;
		}
		if (r->state != RUNTIME_RUNNING) {
			char why[64];
			if (r->state == RUNTIME_EXITED)
				snprintf(why, sizeof(why), "exited with code %d", r->exit_code);
			else
				snprintf(why, sizeof(why), "was %s", runtime_state_name(r->state));
			if (r->state == RUNTIME_EXITED || r->state == RUNTIME_CREATED)
				replica_revive(p, i, r, why);
			continue;
		}
		if (!rep_ready(r->id)) {
			if (probe_once(&p->readiness, r, answer, sizeof(answer))) {
				ferr_clear(&e);
				if (gw_server_up(p, r, &e) < 0) {
					log_warnx("event=gateway_add_failed replica=%s err=\"%s\"", r->name, e.msg);
					continue;
				}
				rep_set_ready(r->id, r->deployment, r->replica, 1);
				deployment_event(w->id, "replica %d: ready again (%s); taking traffic", i, answer);
			}
			continue;
		}
		/* repair a gateway that lost the server (e.g. restarted empty) */
		for (size_t k = 0; k < p->nroutes; k++) {
			if (!table_has_srv(p->routes[k].key, r->deployment, r->replica)) {
				ferr_clear(&e);
				if (gw_server_up(p, r, &e) < 0)
					log_warnx("event=gateway_add_failed replica=%s err=\"%s\"", r->name, e.msg);
				break;
			}
		}
		if (p->desc->liveness.kind != PROBE_NONE) {
			const struct descriptor_probe *lp = &p->desc->liveness;
			struct rep_state *s;
			long long now = now_ms();
			int due, fails = 0;

			pthread_mutex_lock(&eng.lock);
			s = rep_state_locked(r->id, r->deployment, r->replica);
			due = now >= s->next_live_ms;
			if (due && !s->next_live_ms && lp->initial_delay_seconds)
				s->next_live_ms = now + lp->initial_delay_seconds * 1000LL, due = 0;
			pthread_mutex_unlock(&eng.lock);
			if (!due)
				continue;
			{
				int ok = probe_once(lp, r, answer, sizeof(answer));
				pthread_mutex_lock(&eng.lock);
				s = rep_state_locked(r->id, r->deployment, r->replica);
				s->next_live_ms = now + (lp->period_seconds > 0 ? lp->period_seconds : 10) * 1000LL;
				s->live_fails = ok ? 0 : s->live_fails + 1;
				fails = s->live_fails;
				pthread_mutex_unlock(&eng.lock);
			}
			if (fails && fails >= (lp->failure_threshold > 0 ? lp->failure_threshold : 3)) {
				char why[PROBE_ANSWER_MAX + 64];
				snprintf(why, sizeof(why), "failed liveness %d times (%s)", fails, answer);
				replica_revive(p, i, r, why);
			}
		}
	}
	/* slots beyond the replica count (none normally) */
	for (size_t k = 0; k < l->n; k++)
		if (l->items[k].deployment == w->id && l->items[k].replica >= p->replicas)
			replica_retire(&l->items[k], DRAIN_MS, w->id, "stopped: more than the replica count");
out:
	plan_unref(p);
}

/* One route of the first pass's desired gateway state. */
struct sync_route {
	struct gateway_route_state st;
	const char *owner;
	char (*ids)[40];
	char (*addrs)[32];
	struct gateway_server *srv;
	size_t n, cap;
};

static void sync_add(struct sync_route *sr, long long dep, int replica, int port)
{
	if (sr->n + 1 > sr->cap) {
		sr->cap = sr->cap ? sr->cap * 2 : 4;
		sr->ids = xrealloc(sr->ids, sr->cap * sizeof(*sr->ids));
		sr->addrs = xrealloc(sr->addrs, sr->cap * sizeof(*sr->addrs));
	}
	server_id(sr->ids[sr->n], dep, replica);
	snprintf(sr->addrs[sr->n], sizeof(sr->addrs[0]), "127.0.0.1:%d", port);
	sr->n++;
}

/* The first pass after a start: adopt replicas and make the gateway hold
 * exactly the served deployments' routes and servers. */
static int first_pass(struct ferr *e)
{
	struct runtime_replica_list l = RUNTIME_REPLICA_LIST_INIT;
	struct gateway_route_state *states = NULL;
	struct sync_route *sr = NULL;
	struct want *w = NULL;
	size_t nw = 0, nsr = 0, nsrv = 0;
	struct plan **plans = NULL;
	size_t nplans = 0;
	char pidfile[4096];
	int rc = -1;

	if (wants_load(&w, &nw, e) < 0 || runtime_list(eng.rt, NULL, &l, e) < 0)
		goto out;
	snprintf(pidfile, sizeof(pidfile), "%s/gateway/haproxy.pid", eng.data_dir);
	if ((nw || access(pidfile, F_OK) == 0) && !engine_gateway(e))
		goto out;
	plans = calloc(nw + 1, sizeof(*plans));
	sr = calloc(nw * MAX_ROUTES + 1, sizeof(*sr));
	if (!plans || !sr)
		abort();
	for (size_t i = 0; i < nw; i++) {
		struct ferr pe = FERR_INIT;
		struct plan *p;
		int serving = 0;

		if (plan_get(w[i].id, &p, &pe) < 0) {
			log_warnx("event=plan_failed deployment=%lld err=\"%s\"", w[i].id, pe.msg);
			continue;
		}
		plans[nplans++] = p;
		if (p->task)
			continue;
		/* does the owner's active deployment still have a running replica? */
		for (size_t k = 0; k < nw && !w[i].active; k++)
			for (size_t m = 0; m < l.n && w[k].active && !strcmp(w[k].owner, w[i].owner); m++)
				serving |= l.items[m].deployment == w[k].id &&
					   l.items[m].state == RUNTIME_RUNNING;
		for (size_t m = 0; m < l.n; m++) {
			const struct runtime_replica *rep = &l.items[m];
			char answer[PROBE_ANSWER_MAX];

			if (rep->deployment != w[i].id || rep->state != RUNTIME_RUNNING ||
			    rep->replica >= p->replicas)
				continue;
			/* a rollout's new replica keeps traffic only when the old
			 * version has none left and it answers now; its job resumes */
			if (!w[i].active &&
			    (serving || !probe_once(&p->readiness, rep, answer, sizeof(answer))))
				continue;
			rep_set_ready(rep->id, rep->deployment, rep->replica, 1);
		}
		for (size_t r = 0; r < p->nroutes; r++) {
			struct sync_route *s = NULL;

			for (size_t k = 0; k < nsr; k++)
				if (!strcmp(sr[k].st.route.key, p->routes[r].key))
					s = &sr[k];
			if (!s) {
				s = &sr[nsr++];
				s->st.route.key = p->routes[r].key;
				s->st.route.host = p->routes[r].host;
				s->st.route.path_prefix = p->routes[r].prefix;
				s->st.route.base_path = p->routes[r].base;
				s->owner = p->owner;
			}
			for (size_t m = 0; m < l.n; m++) {
				const struct runtime_replica *rep = &l.items[m];
				int hp = runtime_replica_host_port(rep, p->routes[r].port);

				if (rep->deployment != w[i].id || !rep_ready(rep->id) || hp <= 0)
					continue;
				sync_add(s, rep->deployment, rep->replica, hp);
				table_srv_add(p->routes[r].key, p->owner, rep->deployment, rep->replica);
			}
		}
	}
	if (eng.gw) {
		states = calloc(nsr + 1, sizeof(*states));
		if (!states)
			abort();
		for (size_t k = 0; k < nsr; k++) {
			sr[k].srv = calloc(sr[k].n + 1, sizeof(*sr[k].srv));
			if (!sr[k].srv)
				abort();
			for (size_t m = 0; m < sr[k].n; m++) {
				sr[k].srv[m].id = sr[k].ids[m];
				sr[k].srv[m].addr = sr[k].addrs[m];
				sr[k].srv[m].state = GATEWAY_SERVER_READY;
			}
			states[k] = sr[k].st;
			states[k].servers = sr[k].srv;
			states[k].nservers = sr[k].n;
			nsrv += sr[k].n;
		}
		if (gateway_sync(eng.gw, states, nsr, e) < 0)
			goto out;
		for (size_t k = 0; k < nsr; k++)
			table_route_add(sr[k].st.route.key, sr[k].owner);
		log_info("event=gateway_synced routes=%zu servers=%zu", nsr, nsrv);
	}
	log_info("event=replicas_adopted count=%zu", l.n);
	rc = 0;
out:
	for (size_t k = 0; k < nsr; k++) {
		free(sr[k].ids);
		free(sr[k].addrs);
		free(sr[k].srv);
	}
	free(sr);
	free(states);
	for (size_t i = 0; i < nplans; i++)
		plan_unref(plans[i]);
	free(plans);
	free(w);
	runtime_replica_list_release(&l);
	return rc;
}

static void pass(void)
{
	struct runtime_replica_list l = RUNTIME_REPLICA_LIST_INIT;
	struct want *w = NULL;
	size_t nw = 0;
	struct ferr e = FERR_INIT;
	long long *keep;

	if (wants_load(&w, &nw, &e) < 0 || runtime_list(eng.rt, NULL, &l, &e) < 0) {
		log_warnx("event=reconcile_failed err=\"%s\"", e.msg);
		goto out;
	}
	for (size_t i = 0; i < nw; i++)
		if (w[i].active && !owner_in_flux(w[i].owner, w, nw))
			keep_active(&w[i], &l);
	/* replicas nothing wants: superseded leftovers, deleted components */
	for (size_t i = 0; i < l.n; i++) {
		const struct runtime_replica *r = &l.items[i];
		char owner[OWNER_MAX];

		if (r->task || active_want(w, nw, r->deployment))
			continue;
		owner_of(owner, r->project, r->environment, r->component);
		if (owner_in_flux(owner, w, nw))
			continue;
		replica_retire(r, DRAIN_MS, 0, "stopped: its deployment is no longer active");
	}
	/* routes nothing serves */
	{
		char (*owners)[OWNER_MAX] = NULL;
		size_t n = 0, cap = 0;

		pthread_mutex_lock(&eng.lock);
		for (size_t i = 0; i < eng.nroutes; i++) {
			grow((void **)&owners, n, &cap, sizeof(*owners));
			memcpy(owners[n++], eng.routes[i].owner, OWNER_MAX);
		}
		pthread_mutex_unlock(&eng.lock);
		for (size_t i = 0; i < n; i++)
			if (!owner_has_active(owners[i], w, nw) && !owner_in_flux(owners[i], w, nw))
				gw_routes_drop(owners[i], NULL, 0);
		free(owners);
	}
	fail_stuck(w, nw);
	/* forget what is gone */
	pthread_mutex_lock(&eng.lock);
	for (size_t i = 0; i < eng.nreps;) {
		size_t k;
		for (k = 0; k < l.n && strcmp(l.items[k].id, eng.reps[i].id); k++)
			;
		if (k == l.n)
			eng.reps[i] = eng.reps[--eng.nreps];
		else
			i++;
	}
	pthread_mutex_unlock(&eng.lock);
	keep = calloc(nw + 1, sizeof(*keep));
	if (!keep)
		abort();
	for (size_t i = 0; i < nw; i++)
		keep[i] = w[i].id;
	plans_prune(keep, nw);
	free(keep);
out:
	free(w);
	runtime_replica_list_release(&l);
}

/* Is there anything for the engine to do? Until something is deployed
 * (or was, by an earlier run on this data dir) neither podman nor HAProxy
 * is touched: a ferryd that only builds starts no gateway and mounts no
 * tmpfs. */
static int engine_needed(void)
{
	char path[4096];
	sqlite3_stmt *st;
	int n = 0;

	snprintf(path, sizeof(path), "%s/runtime-instance", eng.data_dir);
	if (access(path, F_OK) == 0)
		return 1;
	st = store_stmt("SELECT EXISTS (SELECT 1 FROM deployments"
			" WHERE status IN ('active', 'pending', 'rolling-out'))");
	if (sqlite3_step(st) == SQLITE_ROW)
		n = sqlite3_column_int(st, 0);
	sqlite3_reset(st);
	return n;
}

static void *reconciler(void *arg)
{
	(void)arg;
	for (;;) {
		struct ferr e = FERR_INIT;
		struct timespec ts;

		pthread_mutex_lock(&eng.lock);
		if (eng.stop) {
			pthread_mutex_unlock(&eng.lock);
			break;
		}
		pthread_mutex_unlock(&eng.lock);
		if (!eng.rt && !engine_needed()) {
			set_why("nothing is deployed yet");
		} else if (!eng.rt && engine_runtime_up(&e) < 0) {
			set_why(e.msg);
		} else if (!eng.ready) {
			if (first_pass(&e) < 0) {
				set_why(e.msg);
				log_warnx("event=adopt_failed err=\"%s\"", e.msg);
			} else {
				pthread_mutex_lock(&eng.lock);
				eng.ready = 1;
				eng.why[0] = '\0';
				pthread_cond_broadcast(&eng.cond);
				pthread_mutex_unlock(&eng.lock);
				log_info("event=rollout_engine_ready");
			}
		} else {
			pass();
		}
		if (eng.gw) {
			ferr_clear(&e);
			int r = gateway_supervise(eng.gw, &e);
			if (r == 1) {
				parts_restarted("gateway", 0, "HAProxy had exited; its routes and servers restored");
			} else if (r < 0) {
				log_warnx("event=gateway_down err=\"%s\"", e.msg);
				parts_seen("gateway", "down", 0, e.msg);
			} else {
				parts_seen("gateway", "up", 0, NULL);
			}
		}
		pthread_mutex_lock(&eng.lock);
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_sec += RECONCILE_MS / 1000;
		ts.tv_nsec += (RECONCILE_MS % 1000) * 1000000L;
		if (ts.tv_nsec >= 1000000000L) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000L;
		}
		while (!eng.stop && !eng.kick)
			if (pthread_cond_timedwait(&eng.cond, &eng.lock, &ts) == ETIMEDOUT)
				break;
		eng.kick = 0;
		pthread_mutex_unlock(&eng.lock);
	}
	return NULL;
}

/* ------------------------------------------------------------------ */
/* Start and stop                                                       */

static char *xstrdup(const char *s)
{
	char *d = strdup(s);

	if (!d)
		abort();
	return d;
}

int rollout_start(const struct rollout_config *cfg, struct ferr *e)
{
	if (cfg->runtime && !strcmp(cfg->runtime, "kubernetes"))
		return rollout_kube_start(cfg, e);
	if (eng.started)
		return ferr_internal(e, "rollout_start called twice");
	if (!cfg->data_dir || !cfg->gateway_listen || !cfg->init_binary)
		return ferr_invalid(e, "the rollout engine needs a data dir, a gateway address and ferry-init");
	if (access(cfg->init_binary, X_OK) < 0)
		return ferr_invalid(e, "ferry-init at %s is not executable (%s): build it or pass --init-binary",
				    cfg->init_binary, strerror(errno));
	{
		const char *colon = strrchr(cfg->gateway_listen, ':');
		char *end;
		long port = colon ? strtol(colon + 1, &end, 10) : 0;
		if (!colon || *end || port < 1 || port > 65535)
			return ferr_invalid(e, "gateway address \"%s\" is not HOST:PORT", cfg->gateway_listen);
		deployment_set_gateway_port((int)port);
	}
	eng.data_dir = xstrdup(cfg->data_dir);
	eng.listen = xstrdup(cfg->gateway_listen);
	eng.init_binary = xstrdup(cfg->init_binary);
	if (cfg->containers_env) {
		size_t n = 0;
		while (cfg->containers_env[n])
			n++;
		eng.env = calloc(n + 1, sizeof(*eng.env));
		if (!eng.env)
			abort();
		for (size_t i = 0; i < n; i++)
			eng.env[i] = xstrdup(cfg->containers_env[i]);
	}
	jobq_register(&rollout_kind);
	jobq_register(&undeploy_kind);
	eng.stop = 0;
	if (pthread_create(&eng.thread, NULL, reconciler, NULL) != 0)
		return ferr_internal(e, "cannot start the reconciler thread");
	eng.started = 1;
	return 0;
}

void rollout_begin_shutdown(void)
{
	rollout_kube_begin_shutdown();
	pthread_mutex_lock(&eng.lock);
	eng.shutdown = 1;
	pthread_cond_broadcast(&eng.cond);
	pthread_mutex_unlock(&eng.lock);
}

void rollout_stop(void)
{
	rollout_kube_stop();
	if (!eng.started)
		return;
	pthread_mutex_lock(&eng.lock);
	eng.shutdown = 1;
	eng.stop = 1;
	pthread_cond_broadcast(&eng.cond);
	pthread_mutex_unlock(&eng.lock);
	pthread_join(eng.thread, NULL);
	eng.started = 0;
	/* HAProxy and the replicas keep running: the next ferryd adopts them */
	gateway_free(eng.gw);
	eng.gw = NULL;
	runtime_free(eng.rt);
	eng.rt = NULL;
	plans_prune(NULL, 0);
	free(eng.plans);
	free(eng.busy);
	free(eng.routes);
	free(eng.srvs);
	free(eng.reps);
	free(eng.backs);
	if (eng.env)
		for (size_t i = 0; eng.env[i]; i++)
			free(eng.env[i]);
	free(eng.env);
	free(eng.data_dir);
	free(eng.listen);
	free(eng.init_binary);
	eng.plans = NULL;
	eng.busy = NULL;
	eng.routes = NULL;
	eng.srvs = NULL;
	eng.reps = NULL;
	eng.backs = NULL;
	eng.env = NULL;
	eng.nplans = eng.aplans = eng.nbusy = eng.abusy = eng.nroutes = eng.aroutes = 0;
	eng.nsrvs = eng.asrvs = eng.nreps = eng.areps = eng.nbacks = eng.abacks = 0;
	eng.ready = 0;
}

/* ------------------------------------------------------------------ */
/* Health                                                               */

static json_t *replicas_health(int64_t component_id, int64_t environment_id)
{
	sqlite3_stmt *st = store_stmt(
		"SELECT p.name, e.name, c.name, c.type FROM components c JOIN projects p ON p.id = c.project_id"
		" JOIN environments e ON e.project_id = p.id AND e.id = ? WHERE c.id = ?");
	char project[64] = "", env[64] = "", comp[64] = "", type[32] = "";
	struct runtime_replica_list l = RUNTIME_REPLICA_LIST_INIT;
	json_t *out = json_object(), *reps = json_array();
	int64_t active = active_of(component_id, environment_id);
	int want = 0, ok = 0, found;
	struct ferr e = FERR_INIT;
	struct runtime *rt;

	sqlite3_bind_int64(st, 1, environment_id);
	sqlite3_bind_int64(st, 2, component_id);
	found = sqlite3_step(st) == SQLITE_ROW;
	if (found) {
		snprintf(project, sizeof(project), "%s", sqlite3_column_text(st, 0));
		snprintf(env, sizeof(env), "%s", sqlite3_column_text(st, 1));
		snprintf(comp, sizeof(comp), "%s", sqlite3_column_text(st, 2));
		snprintf(type, sizeof(type), "%s", sqlite3_column_text(st, 3));
	}
	sqlite3_reset(st);
	json_object_set_new(out, "replicas", reps);
	if (!found || !active) {
		json_object_set_new(out, "healthy", json_false());
		json_object_set_new(out, "reason", json_string(found ? "no active deployment" : "not found"));
		return out;
	}
	if (!strcmp(type, "scheduled-task") || !strcmp(type, "manual-task")) {
		json_object_set_new(out, "healthy", json_true());
		return out;
	}
	{
		struct plan *p;
		if (plan_get(active, &p, &e) == 0) {
			want = p->replicas;
			plan_unref(p);
		}
	}
	rt = rollout_runtime(&e);
	if (rt) {
		struct runtime_filter f = { project, env, comp, 0 };
		if (runtime_list(rt, &f, &l, &e) < 0)
			rt = NULL;
	}
	if (!rt) {
		json_object_set_new(out, "healthy", json_false());
		json_object_set_new(out, "reason", json_string(e.msg));
		return out;
	}
	for (size_t i = 0; i < l.n; i++) {
		const struct runtime_replica *r = &l.items[i];
		int ready = r->state == RUNTIME_RUNNING && rep_ready(r->id);
		int restarts = r->restarts > 0 ? r->restarts : 0;

		pthread_mutex_lock(&eng.lock);
		for (size_t k = 0; k < eng.nreps; k++)
			if (!strcmp(eng.reps[k].id, r->id))
				restarts += eng.reps[k].restarts;
		pthread_mutex_unlock(&eng.lock);
		if (r->deployment == active && ready && r->replica < want)
			ok++;
		json_array_append_new(reps, json_pack("{s:s, s:I, s:i, s:s, s:b, s:i}", "id", r->name,
						      "deployment", (json_int_t)r->deployment,
						      "replica", r->replica,
						      "state", runtime_state_name(r->state),
						      "ready", ready, "restarts", restarts));
	}
	runtime_replica_list_release(&l);
	json_object_set_new(out, "healthy", json_boolean(want > 0 && ok >= want));
	if (!(want > 0 && ok >= want))
		json_object_set_new(out, "reason", json_sprintf("%d of %d replicas ready", ok, want));
	return out;
}

json_t *rollout_health(int64_t component_id, int64_t environment_id)
{
	if (rollout_kube_on())
		return rollout_kube_health(component_id, environment_id);
	return replicas_health(component_id, environment_id);
}
