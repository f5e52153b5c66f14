/* rollout_watch: a rollout with a policy (core/rollout_policy.h), inside the
 * engine. The rolling update (rollout_jobs.c) brings the new replicas up
 * beside the old ones and calls this; the steps, the watch and the
 * decision are rollout_canary.c's, this carries it out: stops the new
 * replicas and marks the deployment rolled-back on a breach, or leaves the
 * old ones (drained) to the caller to stop. */
#include "core/rollout_watch.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/deployment_record.h"
#include "core/rollout_canary.h"
#include "lib/log.h"
#include "lib/banned.h"

struct watch_arg {
	struct job *job;
	const struct plan *p;
	const struct runtime_replica *news;
};

static int w_probe(void *arg, int i, char *why, size_t size)
{
	struct watch_arg *a = arg;

	return probe_once(&a->p->readiness, &a->news[i], why, size);
}

static int w_cancelled(void *arg)
{
	struct watch_arg *a = arg;

	return job_cancelled(a->job);
}

static void w_say(void *arg, const char *text)
{
	struct watch_arg *a = arg;

	deployment_event(a->p->d.id, "%s", text);
}

/* The gateway servers of replicas rs on every route of p. */
static struct canary_server *servers(const struct plan *p, const struct runtime_replica *rs, size_t n,
				     size_t *ret_n)
{
	struct canary_server *s = calloc(n * p->nroutes + 1, sizeof(*s));
	size_t k = 0;

	if (!s)
		abort();
	for (size_t r = 0; r < p->nroutes; r++)
		for (size_t i = 0; i < n; i++) {
			s[k].route = p->routes[r].key;
			server_id(s[k].id, rs[i].deployment, rs[i].replica);
			k++;
		}
	*ret_n = k;
	return s;
}

void rollout_watch_begin(const struct plan *p, const struct runtime_replica *olds, size_t nolds)
{
	struct ferr e = FERR_INIT;
	size_t n;
	struct canary_server *s = servers(p, olds, nolds, &n);

	/* new servers join at weight 1: against these, next to nothing
	 * reaches them until the first step sets the shares */
	for (size_t i = 0; eng.gw && i < n; i++) {
		if (gateway_server_set_weight(eng.gw, s[i].route, s[i].id, GATEWAY_WEIGHT_MAX, &e) < 0) {
			log_warnx("event=canary_weight_failed server=%s err=\"%s\"", s[i].id, e.msg);
			ferr_clear(&e);
		}
	}
	free(s);
}

int rollout_watch(struct job *job, const struct plan *p, const struct rollout_policy *pol,
		  const struct runtime_replica *news, int nnews, const struct runtime_replica *olds, size_t nolds)
{
	struct watch_arg a = { job, p, news };
	struct canary c = { .policy = pol, .gw = eng.gw, .deployment = p->d.id, .nreplicas = nnews,
			    .probe = w_probe, .cancelled = w_cancelled, .say = w_say, .arg = &a };
	struct canary_server *ns, *os;
	json_t *numbers = NULL;
	char reason[512] = "";
	struct ferr e = FERR_INIT;
	int rc;

	ns = servers(p, news, (size_t)nnews, &c.nnews);
	os = servers(p, olds, nolds, &c.nolds);
	c.news = ns;
	c.olds = os;
	rc = canary_run(&c, &numbers, reason, sizeof(reason));
	free(ns);
	free(os);
	if (rc != 0) {
		json_decref(numbers);
		return rc;
	}
	log_warnx("event=rollout_rolled_back deployment=%lld owner=%s reason=\"%s\"", (long long)p->d.id, p->owner,
		  reason);
	deployment_event(p->d.id, "traffic is back on the previous version; stopping the new replicas");
	for (int i = 0; i < nnews; i++)
		replica_retire(&news[i], 2000, p->d.id, "stopped: rolled back");
	if (deployment_mark_rolled_back(p->d.id, reason, numbers, &e) < 0)
		log_error("event=mark_rolled_back_failed deployment=%lld err=\"%s\"", (long long)p->d.id, e.msg);
	json_decref(numbers);
	kick();
	return 0;
}
