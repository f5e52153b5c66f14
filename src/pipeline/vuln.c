/* The vulnerability matcher and the reloadable advisory database. See vuln.h. */
#include "pipeline/vuln.h"

#include <dirent.h>
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "lib/strbuf.h"
#include "pipeline/osv.h"
#include "pipeline/pkgdb.h"

#include "lib/banned.h"

/* One loaded index, shared by the scans that started while it was current. */
struct vulnidx {
	struct osv_index *ix;
	unsigned refs;      /* under vulndb.lock */
	uint64_t snapshot;  /* of the directory it was loaded from */
};

struct vulndb {
	char *dir;
	pthread_mutex_t lock;          /* guards cur and every refs */
	pthread_mutex_t refresh_lock;  /* one (re)load at a time */
	struct vulnidx *cur;
};

/* ----------------------------------------------------------- snapshot */

static uint64_t mix(uint64_t h)
{
	/* splitmix64 finaliser: spreads every input bit over the result */
	h ^= h >> 30;
	h *= 0xbf58476d1ce4e5b9ull;
	h ^= h >> 27;
	h *= 0x94d049bb133111ebull;
	h ^= h >> 31;
	return h;
}

static uint64_t stat_hash(const char *name, const struct stat *st)
{
	uint64_t h = 14695981039346656037ull;

	for (const char *p = name; *p; p++) {
		h ^= (unsigned char)*p;
		h *= 1099511628211ull;
	}
	h = mix(h ^ (uint64_t)st->st_ino);
	h = mix(h ^ (uint64_t)st->st_size);
	h = mix(h ^ (uint64_t)st->st_mtim.tv_sec);
	h = mix(h ^ (uint64_t)st->st_mtim.tv_nsec);
	h = mix(h ^ (uint64_t)st->st_mode);
	return h;
}

/* A summary of what the loader would read: names, inodes, sizes and
 * mtimes of dir and every entry in it and its direct subdirectories.
 * Order-independent (a sum), so readdir order does not matter. 0 when dir
 * does not exist. A replaced file (new inode), a rewrite in place (new
 * mtime or size), an added or removed file all change it. */
static uint64_t dir_snapshot(const char *dir, int depth)
{
	DIR *d;
	struct dirent *de;
	struct stat st;
	uint64_t sum;
	struct strbuf path = STRBUF_INIT;

	if (stat(dir, &st) < 0)
		return 0;
	sum = stat_hash(".", &st) + 1;
	d = opendir(dir);
	if (!d)
		return sum;
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		strbuf_reset(&path);
		strbuf_addf(&path, "%s/%s", dir, de->d_name);
		if (stat(path.buf, &st) < 0)
			continue;
		sum += stat_hash(de->d_name, &st);
		if (S_ISDIR(st.st_mode) && depth == 0)
			sum += mix(dir_snapshot(path.buf, 1));
	}
	closedir(d);
	strbuf_release(&path);
	return sum;
}

/* ---------------------------------------------------------- lifecycle */

static struct vulnidx *load(const char *dir, uint64_t snap, struct ferr *e)
{
	struct vulnidx *vi;
	struct osv_index *ix = osv_index_new();

	if (osv_index_load_dir(ix, dir, e) < 0) {
		osv_index_free(ix);
		return NULL;
	}
	vi = calloc(1, sizeof(*vi));
	if (!vi)
		abort();
	vi->ix = ix;
	vi->refs = 1;   /* the db's own reference */
	vi->snapshot = snap;
	return vi;
}

static struct vulnidx *idx_get(struct vulndb *db)
{
	struct vulnidx *vi;

	pthread_mutex_lock(&db->lock);
	vi = db->cur;
	vi->refs++;
	pthread_mutex_unlock(&db->lock);
	return vi;
}

static void idx_put(struct vulndb *db, struct vulnidx *vi)
{
	bool last;

	pthread_mutex_lock(&db->lock);
	last = --vi->refs == 0;
	pthread_mutex_unlock(&db->lock);
	if (last) {
		osv_index_free(vi->ix);
		free(vi);
	}
}

int vulndb_open(struct vulndb **ret, const char *dir, struct ferr *e)
{
	struct vulndb *db;
	uint64_t snap = dir_snapshot(dir, 0);
	struct vulnidx *vi = load(dir, snap, e);

	*ret = NULL;
	if (!vi)
		return -1;
	db = calloc(1, sizeof(*db));
	if (!db)
		abort();
	db->dir = strdup(dir);
	if (!db->dir)
		abort();
	pthread_mutex_init(&db->lock, NULL);
	pthread_mutex_init(&db->refresh_lock, NULL);
	db->cur = vi;
	*ret = db;
	return 0;
}

int vulndb_refresh(struct vulndb *db, struct ferr *e)
{
	struct vulnidx *vi, *old;
	uint64_t snap;
	int r = 0;

	pthread_mutex_lock(&db->refresh_lock);
	snap = dir_snapshot(db->dir, 0);
	/* Only this function replaces cur, and it holds refresh_lock: reading
	 * cur->snapshot here needs no other lock. */
	if (snap == db->cur->snapshot)
		goto out;
	vi = load(db->dir, snap, e);
	if (!vi) {
		r = -1;
		goto out;
	}
	pthread_mutex_lock(&db->lock);
	old = db->cur;
	db->cur = vi;
	pthread_mutex_unlock(&db->lock);
	idx_put(db, old);
	r = 1;
out:
	pthread_mutex_unlock(&db->refresh_lock);
	return r;
}

void vulndb_free(struct vulndb *db)
{
	if (!db)
		return;
	idx_put(db, db->cur);
	pthread_mutex_destroy(&db->lock);
	pthread_mutex_destroy(&db->refresh_lock);
	free(db->dir);
	free(db);
}

size_t vulndb_count(const struct vulndb *db)
{
	struct vulnidx *vi = idx_get((struct vulndb *)db);
	size_t n = osv_index_count(vi->ix);

	idx_put((struct vulndb *)db, vi);
	return n;
}

size_t vulndb_invalid(const struct vulndb *db, char *msg, size_t msgsz)
{
	struct vulnidx *vi = idx_get((struct vulndb *)db);
	size_t n = osv_index_invalid(vi->ix, msg, msgsz);

	idx_put((struct vulndb *)db, vi);
	return n;
}

const char *vulndb_dir(const struct vulndb *db)
{
	return db->dir;
}

/* ---------------------------------------------------------------- scan */

struct finding {
	const struct osv_affected *a;
	const struct pkg *p;
	const char *fixed;
};

struct findings {
	struct finding *v;
	size_t n, alloc;
};

static void findings_add(struct findings *f, const struct osv_affected *a, const struct pkg *p,
                         const char *fixed)
{
	if (f->n == f->alloc) {
		size_t na = f->alloc ? f->alloc * 2 : 64;
		struct finding *nv = realloc(f->v, na * sizeof(*nv));
		if (!nv)
			abort();
		f->v = nv;
		f->alloc = na;
	}
	f->v[f->n++] = (struct finding){ a, p, fixed };
}

/* "Debian:12" advisories apply to Debian 12 only; "Alpine:v3.18" to
 * 3.18.x. Without a known OS release (no os-release, Debian testing) every
 * release's advisories apply. */
static bool release_matches(const struct osv_affected *a, const struct pkglist *l)
{
	const char *rel = a->release, *osv = l->os_version;
	size_t n;

	if (!rel || !osv)
		return true;
	if (*rel == 'v')
		rel++;
	n = strlen(rel);
	return !strncmp(osv, rel, n) && (osv[n] == '\0' || osv[n] == '.');
}

static bool is_os_family(const char *eco)
{
	return !strcmp(eco, PKG_ECO_DEBIAN) || !strcmp(eco, PKG_ECO_UBUNTU) ||
	       !strcmp(eco, PKG_ECO_ALPINE);
}

static void match_name(struct findings *f, const struct osv_index *ix, const struct pkglist *l,
                       const struct pkg *p, const char *name, const char *version)
{
	const struct osv_affected *a;
	size_t n = osv_index_lookup(ix, p->ecosystem, name, &a);

	for (size_t k = 0; k < n; k++) {
		const char *fixed = NULL;

		if (is_os_family(p->ecosystem) && !release_matches(&a[k], l))
			continue;
		if (osv_affected_match(&a[k], version, &fixed))
			findings_add(f, &a[k], p, fixed);
	}
}

static int finding_cmp(const void *x, const void *y)
{
	const struct finding *a = x, *b = y;
	int r;

	if (a->a->severity != b->a->severity)
		return a->a->severity > b->a->severity ? -1 : 1;
	if ((r = strcmp(a->p->name, b->p->name)))
		return r;
	if ((r = strcmp(a->a->rec->id, b->a->rec->id)))
		return r;
	if ((r = strcmp(a->p->version, b->p->version)))
		return r;
	return strcmp(a->p->where, b->p->where);
}

static bool same_finding(const struct finding *a, const struct finding *b)
{
	return !strcmp(a->a->rec->id, b->a->rec->id) && !strcmp(a->p->name, b->p->name) &&
	       !strcmp(a->p->version, b->p->version) && !strcmp(a->p->where, b->p->where);
}

/* A JSON string even for bytes that are not UTF-8 (names and versions in
 * an image are untrusted): such bytes become '?'. */
static json_t *jstr(const char *s)
{
	json_t *j = json_string(s);
	char *c;

	if (j)
		return j;
	c = strdup(s);
	if (!c)
		abort();
	for (char *p = c; *p; p++)
		if ((unsigned char)*p >= 0x80)
			*p = '?';
	j = json_string(c);
	free(c);
	return j ? j : json_string("?");
}

static json_t *finding_json(const struct finding *f)
{
	const struct osv_record *r = f->a->rec;
	json_t *o = json_object(), *aliases = json_array();

	for (size_t k = 0; k < r->naliases; k++)
		json_array_append_new(aliases, jstr(r->aliases[k]));
	json_object_set_new(o, "id", jstr(r->id));
	json_object_set_new(o, "aliases", aliases);
	json_object_set_new(o, "package", jstr(f->p->name));
	if (strcmp(f->p->source, f->p->name))
		json_object_set_new(o, "source", jstr(f->p->source));
	json_object_set_new(o, "ecosystem", jstr(f->p->ecosystem));
	json_object_set_new(o, "installed_version", jstr(f->p->version));
	json_object_set_new(o, "fixed_version", f->fixed ? jstr(f->fixed) : json_null());
	json_object_set_new(o, "severity", json_string(osv_severity_name(f->a->severity)));
	json_object_set_new(o, "title", jstr(r->title));
	json_object_set_new(o, "where", jstr(f->p->where));
	return o;
}

int vuln_scan_rootfs(struct vulndb *db, const char *rootfs, json_t **ret, struct ferr *e)
{
	struct pkglist l = PKGLIST_INIT;
	struct findings f = { NULL, 0, 0 };
	struct vulnidx *vi;
	json_t *arr;

	*ret = NULL;
	if (pkgdb_read_rootfs(&l, rootfs, e) < 0)
		return ferr_prefix(e, "vulnerability scan");
	vi = idx_get(db);
	for (size_t k = 0; k < l.n; k++) {
		const struct pkg *p = &l.v[k];

		/* OS advisories name source packages (one Debian source builds
		 * many binaries); the binary name is tried too, for databases
		 * that use it. */
		match_name(&f, vi->ix, &l, p, p->source, p->source_version);
		if (strcmp(p->source, p->name))
			match_name(&f, vi->ix, &l, p, p->name, p->version);
	}
	if (f.n)
		qsort(f.v, f.n, sizeof(*f.v), finding_cmp);
	arr = json_array();
	for (size_t k = 0; k < f.n; k++) {
		if (k && same_finding(&f.v[k - 1], &f.v[k]))
			continue;
		json_array_append_new(arr, finding_json(&f.v[k]));
	}
	/* The findings point into the index and the package list: both stay
	 * alive until the JSON holds copies. */
	idx_put(db, vi);
	free(f.v);
	pkglist_release(&l);
	*ret = arr;
	return 0;
}

json_t *vuln_summary(json_t *findings)
{
	static const char *const names[] = { "CRITICAL", "HIGH", "MEDIUM", "LOW", "UNKNOWN" };
	json_int_t counts[5] = { 0 };
	json_t *o = json_object(), *it;
	size_t k;

	json_array_foreach(findings, k, it) {
		const char *s = json_string_value(json_object_get(it, "severity"));
		for (int i = 0; i < 5; i++)
			if (s && !strcmp(s, names[i]))
				counts[i]++;
	}
	for (int i = 0; i < 5; i++)
		json_object_set_new(o, names[i], json_integer(counts[i]));
	return o;
}
