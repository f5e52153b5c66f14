/* rollout plan: a deployment's needs derived from its descriptor. See
 * core/rollout_plan.h. */
#include "core/rollout_plan.h"

#include <stdio.h>
#include <string.h>

#include <sodium.h>

#include "lib/banned.h"

void owner_of(char out[OWNER_MAX], const char *p, const char *env, const char *c)
{
	snprintf(out, OWNER_MAX, "%s/%s/%s", p, env, c);
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

int plan_compute(struct plan *p, struct ferr *e)
{
	const struct descriptor *ds = p->desc;
	long long dep = (long long)p->d.id;

	owner_of(p->owner, p->d.project, p->d.environment, p->d.component);
	p->task = !strcmp(p->d.component_type, "scheduled-task") ||
		  !strcmp(p->d.component_type, "manual-task");
	p->replicas = ds->replicas > 0 ? ds->replicas : 1;
	for (size_t i = 0; i < ds->n_endpoints; i++) {
		const struct descriptor_endpoint *ep = &ds->endpoints[i];
		struct route_plan *rp;
		char base[GATEWAY_PATH_MAX + 1];

		if (add_port(p, ep->port, e) < 0)
			return -1;
		if (!(ep->visibilities & (VISIBILITY_PUBLIC | VISIBILITY_ORGANIZATION)) ||
		    ep->type == ENDPOINT_TCP || ep->type == ENDPOINT_UDP)
			continue;
		if (p->nroutes == MAX_ROUTES)
			return ferr_invalid(e, "deployment %lld: more than %d public or organization endpoints",
					    dep, MAX_ROUTES);
		if (gateway_base_path_norm(base, sizeof(base),
					   !strcmp(p->d.component_type, "web-app") ? "/" : ep->base_path,
					   e) < 0)
			return -1;
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
		return -1;
	if ((ds->liveness.kind == PROBE_HTTP || ds->liveness.kind == PROBE_TCP) &&
	    add_port(p, ds->liveness.port, e) < 0)
		return -1;
	if (ds->readiness.kind == PROBE_NONE) {
		p->ready_budget_ms = READY_DEFAULT_MS;
	} else {
		long long b = ((long long)ds->readiness.initial_delay_seconds +
			       (long long)ds->readiness.period_seconds * ds->readiness.failure_threshold) * 1000;
		p->ready_budget_ms = (int)(b < READY_MIN_MS ? READY_MIN_MS : b > READY_MAX_MS ? READY_MAX_MS : b);
	}
	return 0;
}
