/* rollout reconciler: the engine's thread. It brings the runtime up, then
 * adopts running replicas and syncs the gateway after a start (first
 * pass), and from then on keeps active deployments healthy (liveness,
 * restarts with backoff), stops orphans, drops unserved routes and fails
 * stuck rollouts. When ferryd's supervisor restarted HAProxy it converges
 * the gateway's routes again (rollout_gateway_restored). Also
 * replicas_health (rollout_health), for ferry status and promotion.
 * See core/rollout.h and core/rollout_engine.h. */
#include "core/rollout.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "core/deployment_record.h"
#include "core/probe.h"
#include "core/rollout_engine.h"
#include "core/rollout_int.h"
#include "lib/log.h"
#include "store/store.h"
#include "lib/banned.h"

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
			long long now = mono_ms();
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

/* Adds the routes of plan p (deployment dep) and its running, ready
 * replicas behind them to sr (*nsr routes so far; room for MAX_ROUTES
 * more), and records the servers in the engine's table. */
static void routes_collect(struct sync_route *sr, size_t *nsr, const struct plan *p, long long dep,
			   const struct runtime_replica_list *l)
{
	for (size_t r = 0; r < p->nroutes; r++) {
		struct sync_route *s = NULL;

		for (size_t k = 0; k < *nsr; k++)
			if (!strcmp(sr[k].st.route.key, p->routes[r].key))
				s = &sr[k];
		if (!s) {
			s = &sr[(*nsr)++];
			s->st.route.key = p->routes[r].key;
			s->st.route.host = p->routes[r].host;
			s->st.route.path_prefix = p->routes[r].prefix;
			s->st.route.base_path = p->routes[r].base;
			s->owner = p->owner;
		}
		for (size_t m = 0; m < l->n; m++) {
			const struct runtime_replica *rep = &l->items[m];
			int hp = runtime_replica_host_port(rep, p->routes[r].port);

			if (rep->deployment != dep || rep->state != RUNTIME_RUNNING ||
			    !rep_ready(rep->id) || hp <= 0)
				continue;
			sync_add(s, rep->deployment, rep->replica, hp);
			table_srv_add(p->routes[r].key, p->owner, rep->deployment, rep->replica);
		}
	}
}

/* Makes the gateway hold the nsr routes of sr, every server ready: all
 * other routes removed (only_listed 0, after a start) or left alone.
 * *ret_nsrv: the servers. Returns 0 or -1 with e set. */
static int routes_sync(struct sync_route *sr, size_t nsr, int only_listed, size_t *ret_nsrv,
		       struct ferr *e)
{
	struct gateway_route_state *states = calloc(nsr + 1, sizeof(*states));
	size_t nsrv = 0;
	int rc;

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
	rc = only_listed ? gateway_sync_routes(eng.gw, states, nsr, e)
			 : gateway_sync(eng.gw, states, nsr, e);
	free(states);
	if (rc < 0)
		return -1;
	for (size_t k = 0; k < nsr; k++)
		table_route_add(sr[k].st.route.key, sr[k].owner);
	*ret_nsrv = nsrv;
	return 0;
}

static void routes_release(struct sync_route *sr, size_t nsr)
{
	for (size_t k = 0; sr && k < nsr; k++) {
		free(sr[k].ids);
		free(sr[k].addrs);
		free(sr[k].srv);
	}
	free(sr);
}

/* What a pass over the served deployments works from, and what it builds:
 * the deployments the store wants, the runtime's replicas, the plans taken
 * (released together) and the gateway routes collected from them. */
struct route_pass {
	struct want *w;
	size_t nw;
	struct runtime_replica_list l;
	struct plan **plans;
	size_t nplans;
	struct sync_route *sr;
	size_t nsr;
};

#define ROUTE_PASS_INIT { .l = RUNTIME_REPLICA_LIST_INIT }

/* Loads the wants and the runtime's replicas, with room for every want's
 * plan and routes. Returns 0 or -1 with e set (release rp either way). */
static int route_pass_load(struct route_pass *rp, struct ferr *e)
{
	if (wants_load(&rp->w, &rp->nw, e) < 0 || runtime_list(eng.rt, NULL, &rp->l, e) < 0)
		return -1;
	rp->plans = calloc(rp->nw + 1, sizeof(*rp->plans));
	rp->sr = calloc(rp->nw * MAX_ROUTES + 1, sizeof(*rp->sr));
	if (!rp->plans || !rp->sr)
		abort();
	return 0;
}

/* The plan of want i, held until route_pass_release; NULL (logged) when
 * it cannot be built. */
static struct plan *route_pass_plan(struct route_pass *rp, size_t i)
{
	struct ferr pe = FERR_INIT;
	struct plan *p;

	if (plan_get(rp->w[i].id, &p, &pe) < 0) {
		log_warnx("event=plan_failed deployment=%lld err=\"%s\"", rp->w[i].id, pe.msg);
		return NULL;
	}
	rp->plans[rp->nplans++] = p;
	return p;
}

/* Adds plan p's (want i's) routes and its ready replicas behind them. */
static void route_pass_collect(struct route_pass *rp, const struct plan *p, size_t i)
{
	routes_collect(rp->sr, &rp->nsr, p, rp->w[i].id, &rp->l);
}

static void route_pass_release(struct route_pass *rp)
{
	routes_release(rp->sr, rp->nsr);
	for (size_t i = 0; i < rp->nplans; i++)
		plan_unref(rp->plans[i]);
	free(rp->plans);
	free(rp->w);
	runtime_replica_list_release(&rp->l);
}

/* The first pass after a start: adopt replicas and make the gateway hold
 * exactly the served deployments' routes and servers. */
static int first_pass(struct ferr *e)
{
	struct route_pass rp = ROUTE_PASS_INIT;
	const struct want *w;
	size_t nw, nsrv = 0;
	int rc = -1;

	if (route_pass_load(&rp, e) < 0)
		goto out;
	w = rp.w;
	nw = rp.nw;
	if ((nw || (eng.gateway_left_running && eng.gateway_left_running())) && !engine_gateway(e))
		goto out;
	for (size_t i = 0; i < nw; i++) {
		struct plan *p = route_pass_plan(&rp, i);
		int serving = 0;

		if (!p || p->task)
			continue;
		/* does the owner's active deployment still have a running replica? */
		for (size_t k = 0; k < nw && !w[i].active; k++)
			for (size_t m = 0; m < rp.l.n && w[k].active && !strcmp(w[k].owner, w[i].owner); m++)
				serving |= rp.l.items[m].deployment == w[k].id &&
					   rp.l.items[m].state == RUNTIME_RUNNING;
		for (size_t m = 0; m < rp.l.n; m++) {
			const struct runtime_replica *rep = &rp.l.items[m];
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
		route_pass_collect(&rp, p, i);
	}
	if (eng.gw) {
		if (routes_sync(rp.sr, rp.nsr, 0, &nsrv, e) < 0)
			goto out;
		log_info("event=gateway_synced routes=%zu servers=%zu", rp.nsr, nsrv);
	}
	log_info("event=replicas_adopted count=%zu", rp.l.n);
	rc = 0;
out:
	route_pass_release(&rp);
	return rc;
}

/* After HAProxy died and was started again: the routes and servers of
 * every active deployment are converged from the store (the deployments it
 * wants served) and the runtime (their running replicas that passed
 * readiness), as after a start, instead of trusting what the gateway
 * remembered. An owner in the middle of a rollout is left to its job
 * (which holds its servers' states and weights). *ret_routes and
 * *ret_servers: what was restored. Returns 0 or -1 with e set. */
static int gateway_restore(size_t *ret_routes, size_t *ret_servers, struct ferr *e)
{
	struct route_pass rp = ROUTE_PASS_INIT;
	size_t nsrv = 0;
	int rc = -1;

	if (route_pass_load(&rp, e) < 0)
		goto out;
	for (size_t i = 0; i < rp.nw; i++) {
		struct plan *p;

		if (!rp.w[i].active || owner_in_flux(rp.w[i].owner, rp.w, rp.nw))
			continue;
		p = route_pass_plan(&rp, i);
		if (p && !p->task)
			route_pass_collect(&rp, p, i);
	}
	if (routes_sync(rp.sr, rp.nsr, 1, &nsrv, e) < 0)
		goto out;
	*ret_routes = rp.nsr;
	*ret_servers = nsrv;
	rc = 0;
out:
	route_pass_release(&rp);
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

void *reconciler(void *arg)
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
		pthread_mutex_lock(&eng.pass_lock);
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
		pthread_mutex_unlock(&eng.pass_lock);
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

int rollout_gateway_restored(size_t *ret_routes, size_t *ret_servers, struct ferr *e)
{
	int rc = 0;
	int ready;
	struct gateway *gw;

	*ret_routes = *ret_servers = 0;
	pthread_mutex_lock(&eng.pass_lock);
	pthread_mutex_lock(&eng.lock);
	ready = eng.started && eng.ready;
	gw = eng.gw;
	pthread_mutex_unlock(&eng.lock);
	/* before the first pass (or once stopped) there is nothing to
	 * restore: the first pass syncs the whole gateway itself */
	if (ready && gw)
		rc = gateway_restore(ret_routes, ret_servers, e);
	pthread_mutex_unlock(&eng.pass_lock);
	return rc;
}

json_t *replicas_health(int64_t component_id, int64_t environment_id)
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
