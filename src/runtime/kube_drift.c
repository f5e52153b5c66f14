/* kube_drift: ferry's object against the cluster's (see kube_drift.h). */
#include "kube_drift.h"

#include <stdio.h>
#include <string.h>

#include "lib/strbuf.h"
#include "lib/banned.h"

/* Whether live holds d at path (a strbuf holding the dotted path so far;
 * on a difference it is left naming where). exact: live holds nothing
 * beyond d either. */
static int holds(const json_t *d, const json_t *l, int exact, struct strbuf *path)
{
	size_t len = path->len;

	if (json_is_object(d)) {
		const char *k;
		const json_t *v;

		if (!json_is_object(l))
			return 0;
		json_object_foreach((json_t *)d, k, v) {
			strbuf_addf(path, "%s%s", path->len ? "." : "", k);
			if (!holds(v, json_object_get(l, k), exact, path))
				return 0;
			strbuf_setlen(path, len);
		}
		if (exact) {
			json_object_foreach((json_t *)l, k, v) {
				if (!json_object_get(d, k)) {
					strbuf_addf(path, "%s%s", path->len ? "." : "", k);
					return 0;
				}
			}
		}
		return 1;
	}
	if (json_is_array(d)) {
		size_t i;
		const json_t *v;

		if (!json_is_array(l) || json_array_size(l) != json_array_size(d))
			return 0;
		json_array_foreach(d, i, v) {
			strbuf_addf(path, "[%zu]", i);
			if (!holds(v, json_array_get(l, i), exact, path))
				return 0;
			strbuf_setlen(path, len);
		}
		return 1;
	}
	return l && json_equal(d, l);
}

static int kind_is(const json_t *o, const char *kind)
{
	const char *k = json_string_value(json_object_get(o, "kind"));

	return k && !strcmp(k, kind);
}

/* Compares member key of desired and live (both objects) at key. */
static int holds_member(const json_t *desired, const json_t *live, const char *key, int exact,
			struct strbuf *path)
{
	const json_t *d = json_object_get(desired, key);

	strbuf_reset(path);
	strbuf_addstr(path, key);
	if (!d)
		return 1;
	return holds(d, json_object_get(live, key), exact, path);
}

int kube_drift(const json_t *desired, const json_t *live, char *where, size_t size)
{
	const json_t *dmd = json_object_get(desired, "metadata"), *lmd = json_object_get(live, "metadata");
	struct strbuf path = STRBUF_INIT;
	int ok = 1, meta = 0;

	if (!holds_member(dmd, lmd, "labels", 0, &path) || !holds_member(dmd, lmd, "annotations", 0, &path)) {
		ok = 0;
		meta = 1;
	} else if (kind_is(desired, "NetworkPolicy")) {
		ok = holds_member(desired, live, "spec", 1, &path);
	} else if (kind_is(desired, "Service") || kind_is(desired, "Ingress") || kind_is(desired, "HTTPRoute")) {
		ok = holds_member(desired, live, "spec", 0, &path);
	} else if (kind_is(desired, "Secret")) {
		ok = holds_member(desired, live, "type", 0, &path) && holds_member(desired, live, "data", 0, &path);
	}
	if (size)
		snprintf(where, size, "%s%s", ok || !meta ? "" : "metadata.", ok ? "" : path.buf);
	strbuf_release(&path);
	return !ok;
}
