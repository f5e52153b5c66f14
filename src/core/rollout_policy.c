#include "core/rollout_policy.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/lookup.h"
#include "core/json.h"
#include "core/traffic.h"
#include "store/store.h"
#include "lib/banned.h"

static int get_int(json_t *in, const char *key, int64_t min, int64_t max, int64_t def, int64_t *ret,
		   struct ferr *e)
{
	json_t *v = json_object_get(in, key);

	if (!v || json_is_null(v)) {
		*ret = def;
		return 0;
	}
	if (!json_is_integer(v) || json_integer_value(v) < min || json_integer_value(v) > max)
		return ferr_invalid(e, "\"%s\" must be a whole number from %lld to %lld", key, (long long)min,
				    (long long)max);
	*ret = json_integer_value(v);
	return 0;
}

int rollout_policy_parse(json_t *in, struct rollout_policy *p, struct ferr *e)
{
	static const char *const keys[] = { "steps", "pause_s", "watch_s", "max_error_ratio", "max_p95_ms",
					    "max_readiness_failures", "min_requests", NULL };
	json_t *steps, *v, *ratio;
	int64_t n;
	size_t i;

	memset(p, 0, sizeof(*p));
	if (!json_is_object(in))
		return ferr_invalid(e, "a rollout policy is a JSON object");
	if (json_only_keys(in, keys, e) < 0)
		return -1;
	steps = json_object_get(in, "steps");
	if (steps && !json_is_null(steps)) {
		if (!json_is_array(steps) || json_array_size(steps) > ROLLOUT_MAX_STEPS - 1)
			return ferr_invalid(e, "\"steps\" must be a list of at most %d percentages",
					    ROLLOUT_MAX_STEPS - 1);
		json_array_foreach(steps, i, v) {
			int64_t s = json_integer_value(v);
			if (!json_is_integer(v) || s < 1 || s > 100)
				return ferr_invalid(e, "steps[%zu] must be a percentage from 1 to 100", i);
			if (p->nsteps && s <= p->steps[p->nsteps - 1])
				return ferr_invalid(e, "steps must go up: %lld after %d", (long long)s,
						    p->steps[p->nsteps - 1]);
			p->steps[p->nsteps++] = (int)s;
		}
	}
	if (!p->nsteps || p->steps[p->nsteps - 1] != 100)
		p->steps[p->nsteps++] = 100;
	if (get_int(in, "pause_s", 0, ROLLOUT_MAX_PAUSE_S, p->nsteps > 1 ? 30 : 0, &n, e) < 0)
		return -1;
	p->pause_s = (int)n;
	if (get_int(in, "watch_s", 0, ROLLOUT_MAX_WATCH_S, 60, &n, e) < 0)
		return -1;
	p->watch_s = (int)n;
	if (get_int(in, "max_p95_ms", 1, 600000, -1, &p->max_p95_ms, e) < 0)
		return -1;
	if (get_int(in, "max_readiness_failures", 0, 1000, -1, &n, e) < 0)
		return -1;
	p->max_readiness_failures = (int)n;
	if (get_int(in, "min_requests", 1, 1000000, 10, &n, e) < 0)
		return -1;
	p->min_requests = (int)n;
	ratio = json_object_get(in, "max_error_ratio");
	p->max_error_ratio = -1;
	if (ratio && !json_is_null(ratio)) {
		if (!json_is_number(ratio) || json_number_value(ratio) < 0 || json_number_value(ratio) >= 1)
			return ferr_invalid(e, "\"max_error_ratio\" must be a number from 0 to below 1 (0.05 is 5%%)");
		p->max_error_ratio = json_number_value(ratio);
	}
	if (p->max_error_ratio < 0 && p->max_p95_ms < 0 && p->max_readiness_failures < 0)
		return ferr_invalid(e, "a rollout policy needs a threshold: max_error_ratio, max_p95_ms or"
				    " max_readiness_failures");
	if (p->pause_s * (p->nsteps - 1) + p->watch_s == 0)
		return ferr_invalid(e, "a rollout policy needs time to watch: give pause_s (with steps) or watch_s");
	if (p->watch_s + p->pause_s > TRAFFIC_LIVE_S)
		return ferr_invalid(e, "pause_s plus watch_s must be at most %d seconds", TRAFFIC_LIVE_S);
	return 0;
}

json_t *rollout_policy_json(const struct rollout_policy *p)
{
	json_t *steps = json_array();

	for (int i = 0; i < p->nsteps; i++)
		json_array_append_new(steps, json_integer(p->steps[i]));
	return json_pack("{s:o, s:i, s:i, s:o, s:o, s:o, s:i}", "steps", steps, "pause_s", p->pause_s,
			 "watch_s", p->watch_s,
			 "max_error_ratio", p->max_error_ratio < 0 ? json_null() : json_real(p->max_error_ratio),
			 "max_p95_ms", p->max_p95_ms < 0 ? json_null() : json_integer(p->max_p95_ms),
			 "max_readiness_failures",
			 p->max_readiness_failures < 0 ? json_null() : json_integer(p->max_readiness_failures),
			 "min_requests", p->min_requests);
}

int rollout_policy_load(int64_t component_id, struct rollout_policy *ret)
{
	sqlite3_stmt *st = store_stmt("SELECT policy FROM rollout_policies WHERE component_id = ?");
	struct ferr e = FERR_INIT;
	json_t *j = NULL;
	int found = 0;

	sqlite3_bind_int64(st, 1, component_id);
	if (sqlite3_step(st) == SQLITE_ROW)
		j = json_loads((const char *)sqlite3_column_text(st, 0), 0, NULL);
	sqlite3_reset(st);
	if (j && rollout_policy_parse(j, ret, &e) == 0)
		found = 1;
	json_decref(j);
	return found;
}

int rollout_policy_set(const struct principal *who, const char *project, const char *component,
		       json_t *in, json_t **ret, struct ferr *e)
{
	struct rollout_policy p;
	sqlite3_stmt *st;
	char now[32], *text;
	int64_t cid;
	int rc;

	if (component_lookup(who, project, component, NULL, &cid, e) < 0 || auth_require_write(who, e) < 0 ||
	    rollout_policy_parse(in, &p, e) < 0)
		return -1;
	*ret = json_pack("{s:o}", "policy", rollout_policy_json(&p));
	text = json_dumps(json_object_get(*ret, "policy"), JSON_COMPACT);
	store_now(now);
	st = store_stmt("INSERT OR REPLACE INTO rollout_policies (component_id, policy, updated_by, updated_at)"
			" VALUES (?,?,?,?)");
	sqlite3_bind_int64(st, 1, cid);
	sqlite3_bind_text(st, 2, text, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, who->name, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, now, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	sqlite3_reset(st);
	free(text);
	if (rc != SQLITE_DONE) {
		json_decref(*ret);
		*ret = NULL;
		return store_error(e, "store rollout policy");
	}
	return 0;
}

int rollout_policy_show(const struct principal *who, const char *project, const char *component,
			json_t **ret, struct ferr *e)
{
	struct rollout_policy p;
	int64_t cid;

	if (component_lookup(who, project, component, NULL, &cid, e) < 0)
		return -1;
	*ret = json_pack("{s:o}", "policy", rollout_policy_load(cid, &p) ? rollout_policy_json(&p) : json_null());
	return 0;
}

int rollout_policy_unset(const struct principal *who, const char *project, const char *component,
			 struct ferr *e)
{
	sqlite3_stmt *st;
	int64_t cid;

	if (component_lookup(who, project, component, NULL, &cid, e) < 0 || auth_require_write(who, e) < 0)
		return -1;
	st = store_stmt("DELETE FROM rollout_policies WHERE component_id = ?");
	sqlite3_bind_int64(st, 1, cid);
	if (sqlite3_step(st) != SQLITE_DONE)
		return store_error(e, "remove rollout policy");
	if (sqlite3_changes(store_db()) == 0)
		return ferr_notfound(e, "%s/%s has no rollout policy", project, component);
	return 0;
}
