/* rollout replicas: starting them with their configuration, probing them
 * (readiness, liveness), retiring them, and restarting them with backoff.
 * See core/rollout_engine.h. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "core/deployment_record.h"
#include "core/probe.h"
#include "core/rollout_engine.h"
#include "core/rollout_int.h"
#include "core/snapshot.h"
#include "lib/log.h"
#include "lib/strbuf.h"
#include "lib/banned.h"

/* Finds (or adds) the state of runtime id. Call with eng.lock held. */
struct rep_state *rep_state_locked(const char *id, long long dep, int replica)
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

void rep_set_ready(const char *id, long long dep, int replica, int ready)
{
	struct rep_state *s;

	pthread_mutex_lock(&eng.lock);
	s = rep_state_locked(id, dep, replica);
	s->ready = ready;
	s->live_fails = 0;
	s->next_live_ms = 0;
	pthread_mutex_unlock(&eng.lock);
}

int rep_ready(const char *id)
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
	long long now = mono_ms();
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

int replica_start(const struct plan *p, int i, struct runtime_replica *ret, struct ferr *e)
{
	return replica_start_args(p, i, NULL, ret, e);
}

int replicas_task_start(int64_t deployment_id, int64_t execution_id, const char *const *args,
			char ret_id[65], struct ferr *e)
{
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
int probe_once(const struct descriptor_probe *pr, const struct runtime_replica *r,
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
int wait_ready(const struct plan *p, const struct runtime_replica *r, struct job *job,
		      char *why, size_t size)
{
	long long start = mono_ms(), deadline = start + p->ready_budget_ms, next_inspect = start + 1000;
	char last[3][PROBE_ANSWER_MAX] = { "", "", "" };
	int nlast = 0;

	if (p->readiness.initial_delay_seconds > 0 &&
	    nap(job, p->readiness.initial_delay_seconds * 1000) < 0)
		return -1;
	for (;;) {
		char answer[PROBE_ANSWER_MAX];

		if (probe_once(&p->readiness, r, answer, sizeof(answer))) {
			snprintf(why, size, "%s after %.1f s", answer, (double)(mono_ms() - start) / 1000);
			return 1;
		}
		if (!nlast || strcmp(last[(nlast - 1) % 3], answer))
			snprintf(last[nlast++ % 3], PROBE_ANSWER_MAX, "%s", answer);
		if (mono_ms() >= next_inspect) {
			struct runtime_replica st;
			struct ferr e = FERR_INIT;
			next_inspect = mono_ms() + 1000;
			if (runtime_inspect(eng.rt, r->id, &st, &e) == 0 && st.state == RUNTIME_EXITED &&
			    st.restarts < 0) {
				snprintf(why, size, "the replica exited with code %d (last probe: %s)",
					 st.exit_code, answer);
				return 0;
			}
		}
		if (mono_ms() >= deadline) {
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
void replica_retire(const struct runtime_replica *r, int drain_ms, int64_t event_dep,
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

/* Restarts (or re-creates) slot i of plan p after a crash or a liveness
 * failure, when its backoff allows. */
void replica_revive(const struct plan *p, int i, const struct runtime_replica *r,
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
