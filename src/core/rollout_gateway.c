/* rollout gateway bookkeeping: the routes and servers this engine set in
 * the gateway, remembered so that retiring a replica or an owner knows
 * what to remove. See core/rollout_engine.h. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/rollout_engine.h"
#include "lib/log.h"
#include "lib/banned.h"

void server_id(char out[40], long long dep, int replica)
{
	snprintf(out, 40, "d%lld-r%d", dep, replica);
}

void table_route_add(const char *key, const char *owner)
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

void table_srv_add(const char *key, const char *owner, long long dep, int replica)
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

int table_has_srv(const char *key, long long dep, int replica)
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
int gw_routes_apply(const struct plan *p, struct ferr *e)
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
int gw_server_up(const struct plan *p, const struct runtime_replica *r, struct ferr *e)
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
void gw_server_down(long long dep, int replica, int drain_ms)
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
		long long deadline = mono_ms() + drain_ms;
		for (size_t i = 0; i < n; i++) {
			ferr_clear(&e);
			gateway_server_drain(eng.gw, mine[i].key, mine[i].id, 0, &e);
		}
		for (size_t i = 0; i < n; i++) {
			long long left = deadline - mono_ms();
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
void gw_routes_drop(const char *owner, const struct route_plan *keep, size_t nkeep)
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
