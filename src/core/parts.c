#include "core/parts.h"

#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "core/audit.h"
#include "core/rollout_int.h"
#include "lib/log.h"
#include "runtime/runtime.h"
#include "store/store.h"
#include "lib/banned.h"

#define MAX_PARTS 128
#define WATCH_S 2

struct part {
	char name[160];
	char state[16];
	char detail[256];
	char last_restart[32];
	int pid;
	int restarts;
	time_t seen;
};

static struct {
	pthread_mutex_t lock;
	struct part p[MAX_PARTS];
	size_t n;
	pthread_t thread;
	pthread_cond_t cond;
	int started, stop;
} parts = { .lock = PTHREAD_MUTEX_INITIALIZER, .cond = PTHREAD_COND_INITIALIZER };

/* Caller holds the lock. NULL when the table is full. */
static struct part *find(const char *name)
{
	for (size_t i = 0; i < parts.n; i++)
		if (!strcmp(parts.p[i].name, name))
			return &parts.p[i];
	if (parts.n == MAX_PARTS)
		return NULL;
	snprintf(parts.p[parts.n].name, sizeof(parts.p[0].name), "%s", name);
	return &parts.p[parts.n++];
}

void parts_seen(const char *name, const char *state, int pid, const char *detail)
{
	struct part *p;

	pthread_mutex_lock(&parts.lock);
	p = find(name);
	if (p) {
		snprintf(p->state, sizeof(p->state), "%s", state);
		snprintf(p->detail, sizeof(p->detail), "%s", detail ? detail : "");
		p->pid = pid;
		p->seen = time(NULL);
	}
	pthread_mutex_unlock(&parts.lock);
}

void parts_restarted(const char *name, int pid, const char *why)
{
	char msg[300];
	struct part *p;

	pthread_mutex_lock(&parts.lock);
	p = find(name);
	if (p) {
		snprintf(p->state, sizeof(p->state), "up");
		p->detail[0] = '\0';
		p->pid = pid;
		p->restarts++;
		store_now(p->last_restart);
		p->seen = time(NULL);
	}
	pthread_mutex_unlock(&parts.lock);
	snprintf(msg, sizeof(msg), "restarted (%s): pid %d", why, pid);
	log_warnx("event=part_restarted part=\"%s\" why=\"%s\" pid=%d", name, why, pid);
	audit_record(NULL, "ferryd", "part.restarted", name, NULL, 200, msg);
}

json_t *parts_json(const char *prefix)
{
	json_t *out = json_object();

	pthread_mutex_lock(&parts.lock);
	for (size_t i = 0; i < parts.n; i++) {
		const struct part *p = &parts.p[i];
		json_t *o;

		if (prefix && strncmp(p->name, prefix, strlen(prefix)))
			continue;
		o = json_pack("{s:s, s:i, s:i}", "state", p->state[0] ? p->state : "unknown", "pid", p->pid,
			      "restarts", p->restarts);
		json_object_set_new(o, "last_restart", p->last_restart[0] ? json_string(p->last_restart) : json_null());
		if (p->detail[0])
			json_object_set_new(o, "detail", json_string(p->detail));
		json_object_set_new(out, p->name, o);
	}
	pthread_mutex_unlock(&parts.lock);
	return out;
}

static void watch_once(void)
{
	struct runtime_helper h[64];
	struct ferr e = FERR_INIT;
	struct runtime *rt = rollout_runtime(&e);
	int n;

	if (!rt)
		return;
	n = runtime_check_helpers(rt, 1, h, sizeof(h) / sizeof(h[0]), &e);
	for (int i = 0; i < n; i++) {
		switch (h[i].state) {
		case RUNTIME_HELPER_RESTARTED:
			parts_restarted(h[i].name, h[i].pid, "its dnsmasq had died");
			break;
		case RUNTIME_HELPER_DOWN:
			parts_seen(h[i].name, "down", 0, "its dnsmasq died and could not be started");
			break;
		case RUNTIME_HELPER_IDLE:
			parts_seen(h[i].name, "idle", 0, NULL);
			break;
		case RUNTIME_HELPER_UP:
			parts_seen(h[i].name, "up", h[i].pid, NULL);
			break;
		}
	}
}

static void *watch_main(void *arg)
{
	(void)arg;
	pthread_mutex_lock(&parts.lock);
	while (!parts.stop) {
		struct timespec ts;

		pthread_mutex_unlock(&parts.lock);
		watch_once();
		pthread_mutex_lock(&parts.lock);
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_sec += WATCH_S;
		if (!parts.stop)
			pthread_cond_timedwait(&parts.cond, &parts.lock, &ts);
	}
	pthread_mutex_unlock(&parts.lock);
	return NULL;
}

int parts_watch_start(struct ferr *e)
{
	parts.stop = 0;
	if (pthread_create(&parts.thread, NULL, watch_main, NULL))
		return ferr_internal(e, "cannot start the network helpers' watcher");
	parts.started = 1;
	return 0;
}

void parts_watch_stop(void)
{
	if (!parts.started)
		return;
	pthread_mutex_lock(&parts.lock);
	parts.stop = 1;
	pthread_cond_broadcast(&parts.cond);
	pthread_mutex_unlock(&parts.lock);
	pthread_join(parts.thread, NULL);
	parts.started = 0;
}
