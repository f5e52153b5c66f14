#include "core/image_prune.h"

#include <stdlib.h>
#include <string.h>

#include "core/core.h"
#include "pipeline/registry.h"
#include "runtime/runtime.h"
#include "store/store.h"
#include "lib/banned.h"

struct keep_set {
	char **refs;
	size_t n;
};

static void keep_set_release(struct keep_set *k)
{
	for (size_t i = 0; i < k->n; i++)
		free(k->refs[i]);
	free(k->refs);
}

/* The image references deployments still need. */
static int keep_set_load(struct keep_set *k, int keep, struct ferr *e)
{
	sqlite3_stmt *st = store_stmt(
		"SELECT image FROM deployments WHERE status IN ('pending','rolling-out','active')"
		" UNION SELECT image FROM (SELECT image, ROW_NUMBER() OVER (PARTITION BY component_id,"
		"   environment_id ORDER BY seq DESC) AS n FROM deployments) WHERE n <= ?"
		" UNION SELECT d.image FROM executions x JOIN deployments d ON d.id = x.deployment_id"
		"   WHERE x.status IN ('pending','running')");
	size_t alloc = 0;
	int rc;

	sqlite3_bind_int(st, 1, keep);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		const char *ref = (const char *)sqlite3_column_text(st, 0);
		if (!ref)
			continue;
		if (k->n == alloc) {
			alloc = alloc ? alloc * 2 : 64;
			k->refs = realloc(k->refs, alloc * sizeof(*k->refs));
			if (!k->refs)
				abort();
		}
		k->refs[k->n] = strdup(ref);
		if (!k->refs[k->n])
			abort();
		k->n++;
	}
	sqlite3_reset(st);
	return rc == SQLITE_DONE ? 0 : store_error(e, "list the deployments' images");
}

static int kept(const struct keep_set *k, const char *ref)
{
	for (size_t i = 0; i < k->n; i++)
		if (!strcmp(k->refs[i], ref))
			return 1;
	return 0;
}

/* How many references of img are in ferry's registry (host/...). */
static size_t ours(const struct runtime_image *img, const char *host)
{
	size_t hl = strlen(host), n = 0;

	for (size_t i = 0; i < img->n_refs; i++)
		if (!strncmp(img->refs[i], host, hl) && img->refs[i][hl] == '/')
			n++;
	return n;
}

json_t *image_prune(struct runtime *rt, int keep, int apply, struct ferr *e)
{
	struct runtime_image_list l = { 0 };
	struct keep_set k = { 0 };
	long long bytes = 0, rbytes = 0, gbytes = 0;
	int count = 0, rcount = 0, gcount = 0, in_use = 0, shared = 0;
	const char *host;
	json_t *out = NULL;

	if (!rt || !core.registry)
		goto done;
	host = registry_host(core.registry);
	if (keep_set_load(&k, keep, e) < 0 || runtime_images(rt, &l, e) < 0)
		goto fail;
	for (size_t i = 0; i < l.n; i++) {
		const struct runtime_image *img = &l.items[i];
		int needed = 0;

		size_t mine = ours(img, host);

		if (!mine)
			continue;
		count++;
		bytes += img->size;
		for (size_t j = 0; j < img->n_refs && !needed; j++)
			needed = kept(&k, img->refs[j]);
		if (needed)
			continue;
		if (mine < img->n_refs) {
			/* the same image (same content) is also another registry's:
			 * not ferry's alone to remove */
			shared++;
			continue;
		}
		if (img->containers > 0) {
			in_use++;
			continue;
		}
		rcount++;
		rbytes += img->size;
		if (apply) {
			struct ferr re = FERR_INIT;
			int rc = runtime_remove_image(rt, img->id, &re);
			if (rc == 0) {
				gcount++;
				gbytes += img->size;
			} else if (rc == 1) {
				in_use++;
			} else {
				*e = re;
				goto fail;
			}
		}
	}
done:
	out = json_pack("{s:i, s:I, s:i, s:I, s:i, s:I, s:i, s:i, s:i}", "count", count, "bytes",
			(json_int_t)bytes, "reclaimable_count", rcount, "reclaimable_bytes",
			(json_int_t)rbytes, "removed_count", gcount, "removed_bytes", (json_int_t)gbytes,
			"in_use", in_use, "shared", shared, "keep_per_environment", keep);
fail:
	runtime_image_list_release(&l);
	keep_set_release(&k);
	return out;
}
