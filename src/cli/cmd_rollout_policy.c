/* The rollout-policy options of ferry component update (core/rollout_policy.h):
 *   --canary-steps 10,50[,100] --canary-pause 30s --watch 60s
 *   --max-5xx-ratio 0.05 --max-p95 500ms --max-readiness-failures N
 *   --min-requests N | --no-rollout-policy */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/commands.h"
#include "lib/banned.h"

/* "30s", "2m", "90" (seconds) into seconds; "500ms", "1s" into ms when ms. */
static int duration(const char *opt, const char *s, int ms, long long *ret, struct ferr *e)
{
	char *end;
	long long n = strtoll(s, &end, 10);

	if (end == s || n < 0)
		goto bad;
	if (ms) {
		if (!strcmp(end, "ms"))
			*ret = n;
		else if (!strcmp(end, "s"))
			*ret = n * 1000;
		else
			goto bad;
		return 0;
	}
	if (!*end || !strcmp(end, "s"))
		*ret = n;
	else if (!strcmp(end, "m"))
		*ret = n * 60;
	else
		goto bad;
	return 0;
bad:
	return usage_error(e, "--%s %s: give %s", opt, s, ms ? "milliseconds (500ms) or seconds (2s)"
							       : "seconds (30s) or minutes (2m)");
}

static int whole(const char *opt, const char *s, long long *ret, struct ferr *e)
{
	char *end;

	*ret = strtoll(s, &end, 10);
	if (end == s || *end || *ret < 0)
		return usage_error(e, "--%s %s: give a whole number", opt, s);
	return 0;
}

enum kind { SECONDS, MILLIS, WHOLE };

static const struct {
	const char *opt, *key;
	enum kind kind;
} numbers[] = {
	{ "canary-pause", "pause_s", SECONDS },
	{ "watch", "watch_s", SECONDS },
	{ "max-p95", "max_p95_ms", MILLIS },
	{ "max-readiness-failures", "max_readiness_failures", WHOLE },
	{ "min-requests", "min_requests", WHOLE },
	{ NULL, NULL, WHOLE },
};

int cli_rollout_policy_body(struct opt *opts, json_t **ret, int *ret_remove, struct ferr *e)
{
	static const char *const names[] = { "canary-steps", "canary-pause", "watch", "max-5xx-ratio", "max-p95",
					     "max-readiness-failures", "min-requests", NULL };
	json_t *b = json_object();
	long long n = 0;
	const char *v;
	int any = 0;

	*ret = NULL;
	*ret_remove = opt_get(opts, "no-rollout-policy") != NULL;
	for (int i = 0; names[i]; i++)
		any |= opt_get(opts, names[i]) != NULL;
	if (*ret_remove && any) {
		json_decref(b);
		return usage_error(e, "--no-rollout-policy takes no other rollout option");
	}
	if (!any) {
		json_decref(b);
		return 0;
	}
	if ((v = opt_get(opts, "canary-steps"))) {
		json_t *steps = json_array();
		for (const char *p = v; *p;) {
			char *end;
			long long s = strtoll(p, &end, 10);
			if (end == p || (*end && *end != ',')) {
				json_decref(steps);
				json_decref(b);
				return usage_error(e, "--canary-steps %s: give percentages such as 10,50,100", v);
			}
			json_array_append_new(steps, json_integer(s));
			p = *end ? end + 1 : end;
		}
		json_object_set_new(b, "steps", steps);
	}
	for (int i = 0; numbers[i].opt; i++) {
		if (!(v = opt_get(opts, numbers[i].opt)))
			continue;
		if ((numbers[i].kind == WHOLE ? whole(numbers[i].opt, v, &n, e)
					      : duration(numbers[i].opt, v, numbers[i].kind == MILLIS, &n, e)) < 0)
			goto fail;
		json_object_set_new(b, numbers[i].key, json_integer(n));
	}
	if ((v = opt_get(opts, "max-5xx-ratio"))) {
		char *end;
		double r = strtod(v, &end);
		if (end == v || *end) {
			usage_error(e, "--max-5xx-ratio %s: give a fraction such as 0.05 (5%%)", v);
			goto fail;
		}
		json_object_set_new(b, "max_error_ratio", json_real(r));
	}
	*ret = b;
	return 0;
fail:
	json_decref(b);
	return -1;
}
