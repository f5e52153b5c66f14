#include "core/registry_prune.h"

#include <stdlib.h>
#include <string.h>

#include "core/build.h"
#include "core/core.h"
#include "lib/log.h"
#include "lib/strbuf.h"
#include "pipeline/registry.h"
#include "pipeline/registry_storage.h"
#include "store/store.h"
#include "lib/banned.h"

/* Each component image (component, digest) recorded by a build, with
 * whether it must stay (?1: deployments kept per environment, ?2: newest
 * successful builds kept per component). */
static const char images_sql[] =
	"WITH keep(component_id, digest) AS ("
	"  SELECT component_id, digest FROM deployments"
	"   WHERE status IN ('pending','rolling-out','active')"
	"  UNION SELECT component_id, digest FROM (SELECT component_id, digest, ROW_NUMBER() OVER"
	"   (PARTITION BY component_id, environment_id ORDER BY seq DESC) AS n FROM deployments)"
	"   WHERE n <= ?1"
	"  UNION SELECT d.component_id, d.digest FROM executions x"
	"   JOIN deployments d ON d.id = x.deployment_id WHERE x.status IN ('pending','running')"
	"  UNION SELECT component_id, digest FROM (SELECT component_id, digest, ROW_NUMBER() OVER"
	"   (PARTITION BY component_id ORDER BY id DESC) AS n FROM builds"
	"   WHERE status = 'succeeded' AND digest IS NOT NULL) WHERE n <= ?2"
	"  UNION SELECT component_id, digest FROM builds"
	"   WHERE status IN ('queued','running') AND digest IS NOT NULL)"
	" SELECT component_id, digest, min(image),"
	"  (component_id, digest) IN (SELECT component_id, digest FROM keep)"
	" FROM builds WHERE image IS NOT NULL AND digest IS NOT NULL"
	" GROUP BY component_id, digest ORDER BY component_id, min(id)";

struct victim {
	long long component_id;
	char *repo;      /* "project/component" */
	char *digest;
	char *image;
};

struct victims {
	struct victim *v;
	size_t n, alloc;
	long manifests;  /* the components' images in the registry */
};

static void victims_release(struct victims *vs)
{
	for (size_t i = 0; i < vs->n; i++) {
		free(vs->v[i].repo);
		free(vs->v[i].digest);
		free(vs->v[i].image);
	}
	free(vs->v);
}

static char *xstrndup(const char *s, size_t n)
{
	char *p = strndup(s, n);
	if (!p)
		abort();
	return p;
}

/* The repository of image "HOST/repo@digest" in this registry, or NULL
 * when it is not an image of this registry (another host, or a port that
 * changed): not ferry's to delete. */
static char *image_repo(const char *image, const char *host, const char *digest)
{
	size_t hl = strlen(host);
	const char *at;

	if (strncmp(image, host, hl) || image[hl] != '/')
		return NULL;
	image += hl + 1;
	at = strchr(image, '@');
	if (!at || at == image || strcmp(at + 1, digest))
		return NULL;
	return xstrndup(image, (size_t)(at - image));
}

static int victims_load(struct victims *vs, int keep_dep, int keep_builds, struct ferr *e)
{
	sqlite3_stmt *st = store_stmt(images_sql);
	const char *host = registry_host(core.registry);
	int rc;

	sqlite3_bind_int(st, 1, keep_dep);
	sqlite3_bind_int(st, 2, keep_builds);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		const char *digest = (const char *)sqlite3_column_text(st, 1);
		const char *image = (const char *)sqlite3_column_text(st, 2);
		char *repo = image ? image_repo(image, host, digest) : NULL;
		struct victim *v;

		if (!repo)
			continue;
		vs->manifests++;
		if (sqlite3_column_int(st, 3)) {
			free(repo);
			continue;
		}
		if (vs->n == vs->alloc) {
			vs->alloc = vs->alloc ? vs->alloc * 2 : 32;
			vs->v = realloc(vs->v, vs->alloc * sizeof(*vs->v));
			if (!vs->v)
				abort();
		}
		v = &vs->v[vs->n++];
		v->component_id = sqlite3_column_int64(st, 0);
		v->repo = repo;
		v->digest = xstrndup(digest, strlen(digest));
		v->image = xstrndup(image, strlen(image));
	}
	sqlite3_reset(st);
	return rc == SQLITE_DONE ? 0 : store_error(e, "list the builds' images");
}

static int set_image(const struct victim *v, const char *image, struct ferr *e)
{
	sqlite3_stmt *st = image ?
		store_stmt("UPDATE builds SET image = ? WHERE component_id = ? AND digest = ?"
			   " AND image IS NULL") :
		store_stmt("UPDATE builds SET image = NULL WHERE component_id = ? AND digest = ?");
	int i = 1;

	if (image)
		sqlite3_bind_text(st, i++, image, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, i++, v->component_id);
	sqlite3_bind_text(st, i, v->digest, -1, SQLITE_STATIC);
	return store_run(st, "record the deleted image", e);
}

struct prune_run {
	int keep_dep, keep_builds;
	struct victims vs;
	long deleted, failures;
};

/* With no push in flight (build_registry_exclusive): the builds forget the
 * images first, in one transaction, so a deploy either came before (and is
 * in the keep set) or is refused; then the manifests go. */
static int prune_locked(void *arg, struct ferr *e)
{
	struct prune_run *p = arg;

	if (store_begin(e) < 0)
		return -1;
	if (victims_load(&p->vs, p->keep_dep, p->keep_builds, e) < 0)
		goto fail;
	for (size_t i = 0; i < p->vs.n; i++)
		if (set_image(&p->vs.v[i], NULL, e) < 0)
			goto fail;
	if (store_commit(e) < 0)
		return -1;
	for (size_t i = 0; i < p->vs.n; i++) {
		const struct victim *v = &p->vs.v[i];
		struct ferr de = FERR_INIT;

		if (registry_delete_manifest(core.registry, v->repo, v->digest, &de) == 0) {
			p->deleted++;
			log_info("event=registry_image_deleted repo=%s digest=%s", v->repo, v->digest);
			continue;
		}
		if (!p->failures++)
			log_warnx("event=registry_prune_failed repo=%s digest=%s err=\"%s\"", v->repo,
				  v->digest, de.msg);
		ferr_clear(&de);
		if (set_image(v, v->image, &de) < 0)
			log_warnx("event=store_write_failed what=\"restore an image\" err=\"%s\"", de.msg);
	}
	return 0;
fail:
	store_rollback();
	return -1;
}

json_t *registry_prune(int keep_deployments, int keep_builds, int apply, struct ferr *e)
{
	struct prune_run p = { .keep_dep = keep_deployments, .keep_builds = keep_builds };
	const char *storage;
	long long bytes = 0;
	json_t *out = NULL;

	if (!core.registry || !(storage = registry_storage_dir(core.registry)))
		goto done;
	if (apply) {
		if (build_registry_exclusive(prune_locked, &p, e) < 0)
			goto fail;
	} else {
		struct registry_manifest *drop;
		if (victims_load(&p.vs, keep_deployments, keep_builds, e) < 0)
			goto fail;
		drop = calloc(p.vs.n + 1, sizeof(*drop));
		if (!drop)
			abort();
		for (size_t i = 0; i < p.vs.n; i++)
			drop[i] = (struct registry_manifest){ p.vs.v[i].repo, p.vs.v[i].digest };
		if (registry_storage_reclaimable(storage, drop, p.vs.n, &bytes, e) < 0) {
			free(drop);
			goto fail;
		}
		free(drop);
	}
done:
	out = json_pack("{s:i, s:i, s:I, s:i, s:i, s:i}", "manifests",
			(int)(p.vs.manifests - p.deleted),
			"reclaimable_manifests", apply ? 0 : (int)p.vs.n, "reclaimable_bytes",
			(json_int_t)bytes, "deleted_manifests", (int)p.deleted, "delete_failures",
			(int)p.failures, "keep_builds", keep_builds);
fail:
	victims_release(&p.vs);
	return out;
}
