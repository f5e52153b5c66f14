/* scheduler: see sched/scheduler.h. */
#include "sched/scheduler.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lib/log.h"
#include "store/store.h"
#include "lib/banned.h"

#define MISSED_CAP 100000
#define CLEAN_EVERY_S 60

int scheduler_due(const struct cron *c, const struct tz *tz, time_t last, time_t now,
		  int deadline_s, time_t *ret_slot, long *ret_missed, struct ferr *e)
{
	time_t t = last, latest = 0, s;
	long n = 0;

	if (deadline_s <= 0)
		deadline_s = SCHEDULER_DEADLINE_DEFAULT;
	for (;;) {
		if (cron_next(c, tz, t, &s, e) < 0)
			return -1;
		if (s > now)
			break;
		latest = s;
		t = s;
		if (n < MISSED_CAP) {
			n++;
		} else if (t < now - deadline_s - 61) {
			/* far behind (a long outage of an every-minute task): only
			 * the run times near now can matter */
			t = now - deadline_s - 61;
		}
	}
	if (!latest)
		return SCHEDULER_NOTHING;
	*ret_slot = latest;
	if (ret_missed)
		*ret_missed = n - 1;
	return now - latest < deadline_s ? SCHEDULER_RUN : SCHEDULER_TOO_LATE;
}

static struct {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	pthread_t thread;
	int stop;
	int started;
	struct scheduler_config cfg;
} sch = { .lock = PTHREAD_MUTEX_INITIALIZER, .cond = PTHREAD_COND_INITIALIZER };

static void fmt_time(time_t t, char buf[32])
{
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(buf, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static void set_last(int64_t cid, int64_t eid, time_t slot)
{
	sqlite3_stmt *st = store_stmt(
		"INSERT INTO task_schedules (component_id, environment_id, last_slot) VALUES (?,?,?)"
		" ON CONFLICT (component_id, environment_id) DO UPDATE SET last_slot = excluded.last_slot");

	sqlite3_bind_int64(st, 1, cid);
	sqlite3_bind_int64(st, 2, eid);
	sqlite3_bind_int64(st, 3, (sqlite3_int64)slot);
	if (sqlite3_step(st) != SQLITE_DONE)
		log_warnx("event=schedule_state_failed component=%lld environment=%lld err=\"%s\"",
			  (long long)cid, (long long)eid, sqlite3_errmsg(store_db()));
	sqlite3_reset(st);
}

/* One look at every schedule. */
static void tick(time_t now)
{
	sqlite3_stmt *st = store_stmt(
		"SELECT c.id, d.environment_id,"
		" coalesce(c.schedule, json_extract(d.descriptor, '$.schedule')),"
		" coalesce(c.timezone, json_extract(d.descriptor, '$.timezone'), 'UTC'), ts.last_slot"
		" FROM components c JOIN deployments d ON d.component_id = c.id AND d.status = 'active'"
		" LEFT JOIN task_schedules ts ON ts.component_id = c.id AND ts.environment_id = d.environment_id"
		" WHERE c.type = 'scheduled-task' ORDER BY c.id, d.environment_id");
	struct item {
		int64_t cid, eid;
		char expr[CRON_EXPR_MAX + 1];
		char zone[128];
		time_t last;
		int has_last;
	} *items = NULL;
	size_t n = 0, cap = 0;

	/* read everything first: fire() writes, and must not run under this read */
	while (sqlite3_step(st) == SQLITE_ROW) {
		struct item *it;
		if (sqlite3_column_type(st, 2) == SQLITE_NULL)
			continue;
		if (n == cap) {
			cap = cap ? cap * 2 : 16;
			items = realloc(items, cap * sizeof(*items));
			if (!items)
				abort();
		}
		it = &items[n++];
		it->cid = sqlite3_column_int64(st, 0);
		it->eid = sqlite3_column_int64(st, 1);
		snprintf(it->expr, sizeof(it->expr), "%s", sqlite3_column_text(st, 2));
		snprintf(it->zone, sizeof(it->zone), "%s", sqlite3_column_text(st, 3));
		it->has_last = sqlite3_column_type(st, 4) != SQLITE_NULL;
		it->last = (time_t)sqlite3_column_int64(st, 4);
	}
	sqlite3_reset(st);
	for (size_t i = 0; i < n; i++) {
		struct item *it = &items[i];
		struct ferr e = FERR_INIT;
		const struct tz *tz = NULL;
		struct cron c;
		time_t slot;
		long missed = 0;
		int v;

		if (!it->has_last) {
			/* newly active here: runs from now on */
			set_last(it->cid, it->eid, now);
			continue;
		}
		if (cron_parse(&c, it->expr, &e) < 0 ||
		    (strcmp(it->zone, "UTC") && tz_get(&tz, it->zone, &e) < 0)) {
			/* refused at creation; a descriptor's may be bad: say so once a minute */
			if (now % 60 == 0)
				log_warnx("event=schedule_invalid component=%lld err=\"%s\"",
					  (long long)it->cid, e.msg);
			continue;
		}
		v = scheduler_due(&c, tz, it->last, now, sch.cfg.missed_deadline_s, &slot, &missed, &e);
		if (v < 0) {
			log_warnx("event=schedule_failed component=%lld err=\"%s\"", (long long)it->cid, e.msg);
			continue;
		}
		if (v == SCHEDULER_NOTHING)
			continue;
		if (v == SCHEDULER_RUN) {
			if (missed > 0)
				log_info("event=schedule_missed component=%lld environment=%lld missed=%ld",
					 (long long)it->cid, (long long)it->eid, missed);
			if (sch.cfg.fire(it->cid, it->eid, slot, NULL, &e) < 0) {
				log_warnx("event=schedule_fire_failed component=%lld environment=%lld err=\"%s\"",
					  (long long)it->cid, (long long)it->eid, e.msg);
				continue;
			}
		} else {
			char why[256], when[32];
			fmt_time(slot, when);
			snprintf(why, sizeof(why),
				 "missed while ferryd was down: the run of %s was %lld s late, over the"
				 " deadline of %d s (--missed-run-deadline)%s", when, (long long)(now - slot),
				 sch.cfg.missed_deadline_s, missed > 0 ? "; earlier missed runs not recorded" : "");
			if (sch.cfg.fire(it->cid, it->eid, slot, why, &e) < 0) {
				log_warnx("event=schedule_fire_failed component=%lld environment=%lld err=\"%s\"",
					  (long long)it->cid, (long long)it->eid, e.msg);
				continue;
			}
		}
		set_last(it->cid, it->eid, slot);
	}
	free(items);
}

/* Schedules whose component is no longer active there start afresh when it
 * is deployed again (no missed run for the time it was not deployed). */
static void clean(void)
{
	struct ferr e = FERR_INIT;

	if (store_exec("DELETE FROM task_schedules WHERE NOT EXISTS (SELECT 1 FROM deployments d"
		       " WHERE d.component_id = task_schedules.component_id"
		       " AND d.environment_id = task_schedules.environment_id AND d.status = 'active')",
		       &e) < 0)
		log_warnx("event=schedule_clean_failed err=\"%s\"", e.msg);
}

static void *scheduler_main(void *arg)
{
	time_t next_clean = 0;

	(void)arg;
	for (;;) {
		struct timespec ts;
		time_t now = time(NULL);

		pthread_mutex_lock(&sch.lock);
		if (sch.stop) {
			pthread_mutex_unlock(&sch.lock);
			break;
		}
		pthread_mutex_unlock(&sch.lock);
		if (now >= next_clean) {
			clean();
			next_clean = now + CLEAN_EVERY_S;
		}
		tick(now);
		/* wake just after the next second begins: cron times are whole minutes */
		pthread_mutex_lock(&sch.lock);
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_sec += 1;
		ts.tv_nsec = 5 * 1000 * 1000;
		while (!sch.stop)
			if (pthread_cond_timedwait(&sch.cond, &sch.lock, &ts) == ETIMEDOUT)
				break;
		pthread_mutex_unlock(&sch.lock);
	}
	return NULL;
}

int scheduler_start(const struct scheduler_config *cfg, struct ferr *e)
{
	if (sch.started)
		return ferr_internal(e, "scheduler_start called twice");
	if (!cfg || !cfg->fire)
		return ferr_invalid(e, "the scheduler needs a fire function");
	sch.cfg = *cfg;
	if (sch.cfg.missed_deadline_s <= 0)
		sch.cfg.missed_deadline_s = SCHEDULER_DEADLINE_DEFAULT;
	sch.stop = 0;
	if (pthread_create(&sch.thread, NULL, scheduler_main, NULL) != 0)
		return ferr_internal(e, "cannot start the scheduler thread");
	sch.started = 1;
	return 0;
}

void scheduler_stop(void)
{
	if (!sch.started)
		return;
	pthread_mutex_lock(&sch.lock);
	sch.stop = 1;
	pthread_cond_broadcast(&sch.cond);
	pthread_mutex_unlock(&sch.lock);
	pthread_join(sch.thread, NULL);
	sch.started = 0;
}
