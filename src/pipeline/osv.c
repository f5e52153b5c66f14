/* OSV loader and index. See osv.h.
 *
 * Records are copied out of jansson into a compact form (strings in an
 * arena, one flat array of affected entries sorted by family and name) so
 * that 50,000 advisories cost tens of megabytes, not the gigabyte their
 * JSON trees would, and a lookup is one binary search. */
#include "pipeline/osv.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "lib/strbuf.h"
#include "pipeline/pkgdb.h"

#include "lib/banned.h"

#define ARENA_CHUNK (256u * 1024)
#define TITLE_MAX 200

struct chunk {
	struct chunk *next;
	size_t used, size;
	_Alignas(16) char data[];
};

struct osv_index {
	struct chunk *chunks;
	struct osv_affected *aff;
	size_t naff, aff_alloc;
	size_t count;             /* records indexed */
	/* id -> record, open addressing, for "newer record with this id wins" */
	struct osv_record **ids;
	size_t ids_cap, ids_used;
	size_t invalid;
	char first_invalid[1024];
	bool finished;
};

/* ------------------------------------------------------------- arena */

static void *arena_alloc(struct osv_index *ix, size_t n)
{
	struct chunk *c = ix->chunks;
	void *r;

	n = (n + 15) & ~(size_t)15;
	if (!c || c->used + n > c->size) {
		size_t sz = n > ARENA_CHUNK ? n : ARENA_CHUNK;
		c = malloc(sizeof(*c) + sz);
		if (!c)
			abort();
		c->next = ix->chunks;
		c->used = 0;
		c->size = sz;
		ix->chunks = c;
	}
	r = c->data + c->used;
	c->used += n;
	return r;
}

static const char *arena_strndup(struct osv_index *ix, const char *s, size_t n)
{
	char *r = arena_alloc(ix, n + 1);

	memcpy(r, s, n);
	r[n] = '\0';
	return r;
}

static const char *arena_strdup(struct osv_index *ix, const char *s)
{
	return arena_strndup(ix, s, strlen(s));
}

/* --------------------------------------------------------- severities */

const char *osv_severity_name(enum osv_severity s)
{
	switch (s) {
	case OSV_SEV_LOW:      return "LOW";
	case OSV_SEV_MEDIUM:   return "MEDIUM";
	case OSV_SEV_HIGH:     return "HIGH";
	case OSV_SEV_CRITICAL: return "CRITICAL";
	case OSV_SEV_UNKNOWN:  break;
	}
	return "UNKNOWN";
}

enum osv_severity osv_severity_from_word(const char *w)
{
	static const struct { const char *w; enum osv_severity s; } words[] = {
		{ "critical", OSV_SEV_CRITICAL },
		{ "high", OSV_SEV_HIGH }, { "important", OSV_SEV_HIGH },
		{ "medium", OSV_SEV_MEDIUM }, { "moderate", OSV_SEV_MEDIUM },
		{ "low", OSV_SEV_LOW }, { "negligible", OSV_SEV_LOW },
		{ "unimportant", OSV_SEV_LOW },
	};
	char *end;
	double d;

	if (!w)
		return OSV_SEV_UNKNOWN;
	for (size_t i = 0; i < sizeof(words) / sizeof(words[0]); i++)
		if (!strcasecmp(w, words[i].w))
			return words[i].s;
	/* Some databases put a bare score where a word would be. */
	d = strtod(w, &end);
	if (end != w && !*end && d >= 0 && d <= 10)
		return osv_severity_from_score(d);
	return OSV_SEV_UNKNOWN;
}

enum osv_severity osv_severity_from_score(double score)
{
	if (score >= 9.0)
		return OSV_SEV_CRITICAL;
	if (score >= 7.0)
		return OSV_SEV_HIGH;
	if (score >= 4.0)
		return OSV_SEV_MEDIUM;
	if (score > 0.0)
		return OSV_SEV_LOW;
	return OSV_SEV_UNKNOWN;
}

/* CVSS v3.1 specification, Appendix A: Roundup avoids floating point
 * surprises such as 4.000000001 -> 4.1. */
static double cvss_roundup(double x)
{
	long long i = llround(x * 100000.0);

	if (i % 10000 == 0)
		return (double)i / 100000.0;
	return (double)(i / 10000 + 1) / 10.0;
}

double osv_cvss3_base_score(const char *vector)
{
	/* metric letters, in this order: AV AC PR UI S C I A */
	char m[8] = { 0 };
	static const char *const names[8] = { "AV", "AC", "PR", "UI", "S", "C", "I", "A" };
	const char *p;
	double av, ac, pr, ui, c, i, a, iss, impact, expl;
	bool changed;

	if (!vector || (strncmp(vector, "CVSS:3.0/", 9) && strncmp(vector, "CVSS:3.1/", 9)))
		return -1;
	p = vector + 9;
	while (*p) {
		const char *colon = strchr(p, ':'), *slash;
		size_t klen;

		if (!colon)
			return -1;
		klen = (size_t)(colon - p);
		slash = strchr(colon, '/');
		if (!slash)
			slash = colon + strlen(colon);
		if (slash - colon != 2)   /* values are single letters */
			return -1;
		for (int k = 0; k < 8; k++) {
			if (strlen(names[k]) == klen && !strncmp(p, names[k], klen)) {
				if (m[k])
					return -1;   /* repeated metric */
				m[k] = colon[1];
			}
		}
		p = *slash ? slash + 1 : slash;
	}
	for (int k = 0; k < 8; k++)
		if (!m[k])
			return -1;
	switch (m[4]) {
	case 'U': changed = false; break;
	case 'C': changed = true; break;
	default: return -1;
	}
	switch (m[0]) {
	case 'N': av = 0.85; break;
	case 'A': av = 0.62; break;
	case 'L': av = 0.55; break;
	case 'P': av = 0.2; break;
	default: return -1;
	}
	switch (m[1]) {
	case 'L': ac = 0.77; break;
	case 'H': ac = 0.44; break;
	default: return -1;
	}
	switch (m[2]) {
	case 'N': pr = 0.85; break;
	case 'L': pr = changed ? 0.68 : 0.62; break;
	case 'H': pr = changed ? 0.5 : 0.27; break;
	default: return -1;
	}
	switch (m[3]) {
	case 'N': ui = 0.85; break;
	case 'R': ui = 0.62; break;
	default: return -1;
	}
	{
		double *cia[3] = { &c, &i, &a };
		for (int k = 0; k < 3; k++) {
			switch (m[5 + k]) {
			case 'H': *cia[k] = 0.56; break;
			case 'L': *cia[k] = 0.22; break;
			case 'N': *cia[k] = 0; break;
			default: return -1;
			}
		}
	}
	iss = 1 - (1 - c) * (1 - i) * (1 - a);
	if (changed)
		impact = 7.52 * (iss - 0.029) - 3.25 * pow(iss - 0.02, 15);
	else
		impact = 6.42 * iss;
	expl = 8.22 * av * ac * pr * ui;
	if (impact <= 0)
		return 0;
	if (changed)
		return cvss_roundup(fmin(1.08 * (impact + expl), 10));
	return cvss_roundup(fmin(impact + expl, 10));
}

/* --------------------------------------------------------- ecosystems */

bool osv_ecosystem_parse(const char *eco, const char **ret_family, const char **ret_release,
                         size_t *ret_release_len)
{
	static const char *const plain[] = {
		PKG_ECO_NPM, PKG_ECO_PYPI, PKG_ECO_GO, PKG_ECO_CRATES,
	};
	static const char *const distros[] = { PKG_ECO_DEBIAN, PKG_ECO_UBUNTU, PKG_ECO_ALPINE };

	*ret_release = NULL;
	*ret_release_len = 0;
	for (size_t k = 0; k < sizeof(plain) / sizeof(plain[0]); k++) {
		if (!strcmp(eco, plain[k])) {
			*ret_family = plain[k];
			return true;
		}
	}
	for (size_t k = 0; k < sizeof(distros) / sizeof(distros[0]); k++) {
		size_t n = strlen(distros[k]);
		const char *rel, *colon;

		if (strncmp(eco, distros[k], n) || (eco[n] && eco[n] != ':'))
			continue;
		*ret_family = distros[k];
		if (!eco[n] || !eco[n + 1])
			return true;
		rel = eco + n + 1;
		if (!strncmp(rel, "Pro:", 4))
			return false;   /* Ubuntu Pro: fixes only for subscribers */
		colon = strchr(rel, ':');
		*ret_release = rel;
		*ret_release_len = colon ? (size_t)(colon - rel) : strlen(rel);
		return true;
	}
	return false;
}

static enum version_scheme family_scheme(const char *family)
{
	if (!strcmp(family, PKG_ECO_DEBIAN) || !strcmp(family, PKG_ECO_UBUNTU))
		return VERSION_DPKG;
	if (!strcmp(family, PKG_ECO_ALPINE))
		return VERSION_APK;
	if (!strcmp(family, PKG_ECO_PYPI))
		return VERSION_PEP440;
	return VERSION_SEMVER;
}

/* ------------------------------------------------------------- index */

struct osv_index *osv_index_new(void)
{
	struct osv_index *ix = calloc(1, sizeof(*ix));

	if (!ix)
		abort();
	return ix;
}

void osv_index_free(struct osv_index *ix)
{
	struct chunk *c, *next;

	if (!ix)
		return;
	for (c = ix->chunks; c; c = next) {
		next = c->next;
		free(c);
	}
	free(ix->aff);
	free(ix->ids);
	free(ix);
}

static uint64_t fnv1a(const char *s)
{
	uint64_t h = 14695981039346656037ull;

	for (; *s; s++) {
		h ^= (unsigned char)*s;
		h *= 1099511628211ull;
	}
	return h;
}

/* The slot for id: holding it, or the empty one where it would go. */
static struct osv_record **id_slot(struct osv_index *ix, const char *id)
{
	size_t mask = ix->ids_cap - 1, i = (size_t)fnv1a(id) & mask;

	while (ix->ids[i] && strcmp(ix->ids[i]->id, id))
		i = (i + 1) & mask;
	return &ix->ids[i];
}

static void ids_grow(struct osv_index *ix)
{
	struct osv_record **old = ix->ids;
	size_t oldcap = ix->ids_cap;

	ix->ids_cap = oldcap ? oldcap * 2 : 1024;
	ix->ids = calloc(ix->ids_cap, sizeof(*ix->ids));
	if (!ix->ids)
		abort();
	for (size_t k = 0; k < oldcap; k++)
		if (old[k])
			*id_slot(ix, old[k]->id) = old[k];
	free(old);
}

static struct osv_affected *aff_push(struct osv_index *ix)
{
	if (ix->naff == ix->aff_alloc) {
		size_t na = ix->aff_alloc ? ix->aff_alloc * 2 : 1024;
		struct osv_affected *nv = realloc(ix->aff, na * sizeof(*nv));
		if (!nv)
			abort();
		ix->aff = nv;
		ix->aff_alloc = na;
	}
	memset(&ix->aff[ix->naff], 0, sizeof(ix->aff[0]));
	return &ix->aff[ix->naff++];
}

static int event_cmp(const void *x, const void *y, void *arg)
{
	const struct osv_event *a = x, *b = y;
	enum version_scheme scheme = *(const enum version_scheme *)arg;
	bool za = a->kind == OSV_INTRODUCED && !strcmp(a->version, "0");
	bool zb = b->kind == OSV_INTRODUCED && !strcmp(b->version, "0");
	int r;

	if (za || zb)
		return za == zb ? 0 : (za ? -1 : 1);
	r = version_cmp(scheme, a->version, b->version);
	if (r)
		return r;
	return (int)a->kind - (int)b->kind;   /* introduced before fixed at a tie */
}

static const char *sev_word(json_t *obj, const char *key)
{
	return json_string_value(json_object_get(json_object_get(obj, key), "severity"));
}

static enum osv_severity record_severity(json_t *rec)
{
	enum osv_severity s = osv_severity_from_word(sev_word(rec, "database_specific"));
	json_t *sevs = json_object_get(rec, "severity"), *it;
	size_t k;
	double best = -1;

	if (s != OSV_SEV_UNKNOWN)
		return s;
	json_array_foreach(sevs, k, it) {
		const char *type = json_string_value(json_object_get(it, "type"));
		const char *score = json_string_value(json_object_get(it, "score"));

		if (!type || !score)
			continue;
		if (!strcmp(type, "CVSS_V3")) {
			double d = osv_cvss3_base_score(score);
			if (d > best)
				best = d;
		} else if (!strcmp(type, "Ubuntu") && s == OSV_SEV_UNKNOWN) {
			s = osv_severity_from_word(score);
		}
	}
	if (best >= 0)
		return osv_severity_from_score(best);
	return s;
}

static const char *record_title(struct osv_index *ix, json_t *rec, const char *id)
{
	const char *t = json_string_value(json_object_get(rec, "summary"));
	size_t n;

	if (!t || !*t)
		t = json_string_value(json_object_get(rec, "details"));
	if (!t || !*t)
		return arena_strdup(ix, id);
	n = strcspn(t, "\n");
	if (n > TITLE_MAX) {
		n = TITLE_MAX;
		while (n && ((unsigned char)t[n] & 0xC0) == 0x80)
			n--;   /* do not cut a UTF-8 sequence */
	}
	return arena_strndup(ix, t, n);
}

static const char *norm_name(struct osv_index *ix, const char *family, const char *name)
{
	if (!strcmp(family, PKG_ECO_PYPI)) {
		char buf[512];
		pkgdb_pypi_normalize(buf, sizeof(buf), name);
		return arena_strdup(ix, buf);
	}
	return arena_strdup(ix, name);
}

/* Copies one affected[] entry; returns false if it is skipped. */
static bool add_affected(struct osv_index *ix, struct osv_record *r, json_t *a)
{
	json_t *pkg = json_object_get(a, "package"), *ranges, *versions, *it;
	const char *eco = json_string_value(json_object_get(pkg, "ecosystem"));
	const char *name = json_string_value(json_object_get(pkg, "name"));
	const char *family, *rel;
	size_t rel_len, k, nr = 0;
	struct osv_affected *af;
	enum osv_severity s;

	if (!eco || !name || !*name || !osv_ecosystem_parse(eco, &family, &rel, &rel_len))
		return false;
	ranges = json_object_get(a, "ranges");
	versions = json_object_get(a, "versions");
	af = aff_push(ix);
	af->family = family;
	af->release = rel ? arena_strndup(ix, rel, rel_len) : NULL;
	af->name = norm_name(ix, family, name);
	af->scheme = family_scheme(family);
	af->rec = r;

	if (json_is_array(ranges) && json_array_size(ranges)) {
		af->ranges = arena_alloc(ix, json_array_size(ranges) * sizeof(*af->ranges));
		json_array_foreach(ranges, k, it) {
			const char *type = json_string_value(json_object_get(it, "type"));
			json_t *events = json_object_get(it, "events"), *ev;
			struct osv_range *rg;
			size_t j;

			if (!type || !json_is_array(events) || !json_array_size(events))
				continue;
			if (strcmp(type, "ECOSYSTEM") && strcmp(type, "SEMVER"))
				continue;   /* GIT ranges name commits, not versions */
			rg = &af->ranges[nr];
			rg->scheme = !strcmp(type, "SEMVER") ? VERSION_SEMVER : af->scheme;
			rg->ev = arena_alloc(ix, json_array_size(events) * sizeof(*rg->ev));
			rg->nev = 0;
			json_array_foreach(events, j, ev) {
				static const char *const kinds[] = {
					"introduced", "fixed", "last_affected", "limit",
				};
				for (int kd = 0; kd < 4; kd++) {
					const char *v = json_string_value(json_object_get(ev, kinds[kd]));
					if (v && *v) {
						rg->ev[rg->nev].kind = (enum osv_event_kind)kd;
						rg->ev[rg->nev].version = arena_strdup(ix, v);
						rg->nev++;
						break;
					}
				}
			}
			if (!rg->nev)
				continue;
			qsort_r(rg->ev, rg->nev, sizeof(*rg->ev), event_cmp, &rg->scheme);
			nr++;
		}
	}
	af->nranges = nr;
	if (json_is_array(versions) && json_array_size(versions)) {
		af->versions = arena_alloc(ix, json_array_size(versions) * sizeof(*af->versions));
		json_array_foreach(versions, k, it)
			if (json_is_string(it))
				af->versions[af->nversions++] = arena_strdup(ix, json_string_value(it));
	}
	if (!af->nranges && !af->nversions) {
		ix->naff--;   /* names a package but no version: nothing to match */
		return false;
	}
	s = osv_severity_from_word(sev_word(a, "ecosystem_specific"));
	if (s == OSV_SEV_UNKNOWN)
		s = osv_severity_from_word(sev_word(a, "database_specific"));
	if (s == OSV_SEV_UNKNOWN)
		s = r->severity;
	if (s == OSV_SEV_UNKNOWN)
		s = osv_severity_from_word(json_string_value(
			json_object_get(json_object_get(a, "ecosystem_specific"), "urgency")));
	af->severity = s;
	return true;
}

int osv_index_add_json(struct osv_index *ix, json_t *rec, struct ferr *e)
{
	const char *id = json_string_value(json_object_get(rec, "id"));
	const char *modified;
	json_t *affected = json_object_get(rec, "affected"), *aliases, *it;
	struct osv_record *r, **slot;
	size_t k, added = 0, before = ix->naff;

	if (!json_is_object(rec))
		return ferr_invalid(e, "an OSV record must be a JSON object");
	if (!id || !*id)
		return ferr_invalid(e, "OSV record without a string \"id\"");
	if (affected && !json_is_array(affected))
		return ferr_invalid(e, "%s: \"affected\" must be an array", id);
	if (json_object_get(rec, "withdrawn") && !json_is_null(json_object_get(rec, "withdrawn")))
		return 0;
	if (!json_array_size(affected))
		return 0;
	modified = json_string_value(json_object_get(rec, "modified"));
	if (!modified)
		modified = "";

	if (ix->ids_used * 2 >= ix->ids_cap)
		ids_grow(ix);
	slot = id_slot(ix, id);
	if (*slot) {
		/* RFC 3339 UTC timestamps order as strings. */
		if (strcmp(modified, (*slot)->modified) <= 0)
			return 0;
		(*slot)->superseded = true;
		ix->count--;
	}

	r = arena_alloc(ix, sizeof(*r));
	memset(r, 0, sizeof(*r));
	r->id = arena_strdup(ix, id);
	r->modified = arena_strdup(ix, modified);
	r->title = record_title(ix, rec, id);
	r->severity = record_severity(rec);
	aliases = json_object_get(rec, "aliases");
	if (json_is_array(aliases) && json_array_size(aliases)) {
		r->aliases = arena_alloc(ix, json_array_size(aliases) * sizeof(*r->aliases));
		json_array_foreach(aliases, k, it)
			if (json_is_string(it))
				r->aliases[r->naliases++] = arena_strdup(ix, json_string_value(it));
	}
	json_array_foreach(affected, k, it)
		if (json_is_object(it) && add_affected(ix, r, it))
			added++;
	if (!added) {
		ix->naff = before;
		if (*slot) {
			(*slot)->superseded = false;   /* the older one stays */
			ix->count++;
		}
		return 0;
	}
	if (!*slot)
		ix->ids_used++;
	*slot = r;
	ix->count++;
	ix->finished = false;
	return 1;
}

int osv_index_add_buffer(struct osv_index *ix, const char *buf, size_t len,
                         const char *where, struct ferr *e)
{
	json_error_t jerr;
	json_t *root = json_loadb(buf, len, 0, &jerr), *it;
	int n = 0;
	size_t k;

	if (!root)
		return ferr_invalid(e, "%s:%d:%d: not JSON: %s", where, jerr.line, jerr.column,
		                    jerr.text);
	if (json_is_array(root)) {
		json_array_foreach(root, k, it) {
			int r = osv_index_add_json(ix, it, e);
			if (r < 0) {
				json_decref(root);
				return ferr_prefix(e, "%s[%zu]", where, k);
			}
			n += r;
		}
	} else {
		n = osv_index_add_json(ix, root, e);
		if (n < 0)
			ferr_prefix(e, "%s", where);
	}
	json_decref(root);
	return n;
}

static void note_invalid(struct osv_index *ix, const struct ferr *e)
{
	if (!ix->invalid++)
		snprintf(ix->first_invalid, sizeof(ix->first_invalid), "%s", e->msg);
}

/* ---------------------------------------------------------------- zip */

static uint16_t rd16(const unsigned char *p) { return (uint16_t)(p[0] | p[1] << 8); }
static uint32_t rd32(const unsigned char *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}
static uint64_t rd64(const unsigned char *p) { return rd32(p) | (uint64_t)rd32(p + 4) << 32; }

/* Inflates (method 8) or copies (method 0) one member into sb. */
static int zip_member(const unsigned char *data, size_t csize, size_t usize, int method,
                      struct strbuf *sb)
{
	z_stream zs;
	int rc;

	strbuf_reset(sb);
	if (usize > OSV_MAX_DOC_SIZE)
		return -1;
	if (method == 0) {
		if (csize != usize)
			return -1;
		strbuf_add(sb, data, csize);
		return 0;
	}
	if (method != 8)
		return -1;
	strbuf_grow(sb, usize + 1);
	memset(&zs, 0, sizeof(zs));
	if (inflateInit2(&zs, -MAX_WBITS) != Z_OK)
		return -1;
	zs.next_in = (unsigned char *)data;
	zs.avail_in = (uInt)csize;
	zs.next_out = (unsigned char *)sb->buf;
	zs.avail_out = (uInt)(usize + 1);
	rc = inflate(&zs, Z_FINISH);
	inflateEnd(&zs);
	if (rc != Z_STREAM_END || zs.total_out != usize)
		return -1;
	/* inflate wrote into the grown buffer: extend len by hand
	 * (strbuf_setlen only shortens) */
	sb->len = usize;
	sb->buf[usize] = '\0';
	return 0;
}

int osv_index_add_zip(struct osv_index *ix, const char *path, struct ferr *e)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	struct stat st;
	const unsigned char *m, *p, *eocd = NULL, *end;
	uint64_t cd_off, cd_count, cd_size;
	struct strbuf sb = STRBUF_INIT, name = STRBUF_INIT;
	int total = 0;

	if (fd < 0)
		return ferr_internal(e, "%s: %s", path, strerror(errno));
	if (fstat(fd, &st) < 0 || st.st_size < 22) {
		close(fd);
		return ferr_invalid(e, "%s: not a zip file (too small)", path);
	}
	m = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
	close(fd);
	if (m == MAP_FAILED)
		return ferr_internal(e, "%s: mmap: %s", path, strerror(errno));
	end = m + st.st_size;
	/* End of central directory: the last 22 bytes plus a comment of up
	 * to 64 KiB. */
	for (p = end - 22; p >= m && p + 65557 >= end; p--) {
		if (rd32(p) == 0x06054b50) {
			eocd = p;
			break;
		}
	}
	if (!eocd) {
		munmap((void *)m, (size_t)st.st_size);
		return ferr_invalid(e, "%s: not a zip file (no end of central directory)", path);
	}
	cd_count = rd16(eocd + 10);
	cd_size = rd32(eocd + 12);
	cd_off = rd32(eocd + 16);
	if (eocd - m >= 20 && rd32(eocd - 20) == 0x07064b50) {
		/* zip64: osv.dev's larger exports have more than 65,535 members */
		uint64_t off64 = rd64(eocd - 20 + 8);
		if (off64 + 56 <= (uint64_t)st.st_size && rd32(m + off64) == 0x06064b50) {
			cd_count = rd64(m + off64 + 32);
			cd_size = rd64(m + off64 + 40);
			cd_off = rd64(m + off64 + 48);
		}
	}
	if (cd_off > (uint64_t)st.st_size || cd_size > (uint64_t)st.st_size - cd_off) {
		munmap((void *)m, (size_t)st.st_size);
		return ferr_invalid(e, "%s: corrupt zip (central directory out of bounds)", path);
	}
	p = m + cd_off;
	for (uint64_t k = 0; k < cd_count; k++) {
		uint64_t csize, usize, loff;
		size_t nlen, xlen, clen;
		int method;
		const unsigned char *x, *lh, *data;
		struct ferr me = FERR_INIT;
		int r;

		if (p + 46 > end || rd32(p) != 0x02014b50)
			break;
		method = rd16(p + 10);
		csize = rd32(p + 20);
		usize = rd32(p + 24);
		nlen = rd16(p + 28);
		xlen = rd16(p + 30);
		clen = rd16(p + 32);
		loff = rd32(p + 42);
		if (p + 46 + nlen + xlen + clen > end)
			break;
		strbuf_reset(&name);
		strbuf_add(&name, p + 46, nlen);
		/* zip64 extra field: the 0xFFFFFFFF fields, in order */
		for (x = p + 46 + nlen; x + 4 <= p + 46 + nlen + xlen;) {
			size_t dl = rd16(x + 2);
			const unsigned char *d = x + 4, *de = x + 4 + dl;
			if (de > p + 46 + nlen + xlen)
				break;
			if (rd16(x) == 0x0001) {
				if (usize == 0xFFFFFFFFu && d + 8 <= de) { usize = rd64(d); d += 8; }
				if (csize == 0xFFFFFFFFu && d + 8 <= de) { csize = rd64(d); d += 8; }
				if (loff == 0xFFFFFFFFu && d + 8 <= de) { loff = rd64(d); d += 8; }
			}
			x = de;
		}
		p += 46 + nlen + xlen + clen;
		if (name.len < 5 || strcmp(name.buf + name.len - 5, ".json"))
			continue;
		lh = m + loff;
		if (loff + 30 > (uint64_t)st.st_size || rd32(lh) != 0x04034b50) {
			ferr_invalid(&me, "%s: %s: corrupt local header", path, name.buf);
			note_invalid(ix, &me);
			continue;
		}
		data = lh + 30 + rd16(lh + 26) + rd16(lh + 28);
		if (data > end || csize > (uint64_t)(end - data) ||
		    zip_member(data, (size_t)csize, (size_t)usize, method, &sb) < 0) {
			ferr_invalid(&me, "%s: %s: cannot extract (method %d)", path, name.buf, method);
			note_invalid(ix, &me);
			continue;
		}
		r = osv_index_add_buffer(ix, sb.buf, sb.len, name.buf, &me);
		if (r < 0) {
			ferr_prefix(&me, "%s", path);
			note_invalid(ix, &me);
		} else {
			total += r;
		}
	}
	munmap((void *)m, (size_t)st.st_size);
	strbuf_release(&sb);
	strbuf_release(&name);
	return total;
}

/* ---------------------------------------------------------- directory */

static int strptrcmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static bool has_suffix(const char *s, const char *suf)
{
	size_t n = strlen(s), m = strlen(suf);
	return n >= m && !strcmp(s + n - m, suf);
}

/* Reads a whole file (capped). */
static int read_file(const char *path, struct strbuf *sb, struct ferr *e)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC), rc, err;
	struct stat st;

	strbuf_reset(sb);
	if (fd < 0)
		return ferr_internal(e, "%s: %s", path, strerror(errno));
	if (fstat(fd, &st) < 0 || (size_t)st.st_size > OSV_MAX_DOC_SIZE) {
		close(fd);
		return ferr_invalid(e, "%s: larger than %u bytes", path, OSV_MAX_DOC_SIZE);
	}
	rc = strbuf_read_fd(sb, fd, OSV_MAX_DOC_SIZE);
	err = errno;
	close(fd);
	if (rc < 0)
		return ferr_internal(e, "%s: %s", path, strerror(err));
	if (rc > 0)
		return ferr_invalid(e, "%s: larger than %u bytes", path, OSV_MAX_DOC_SIZE);
	return 0;
}

static int load_dir(struct osv_index *ix, const char *dir, int depth, struct ferr *e)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	char **names = NULL;
	size_t n = 0, alloc = 0;
	struct strbuf path = STRBUF_INIT, buf = STRBUF_INIT;

	if (!d) {
		if (errno == ENOENT && depth == 0)
			return 0;
		return ferr_internal(e, "vulnerability database %s: %s", dir, strerror(errno));
	}
	/* Sorted, so that loading is deterministic. */
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;   /* also half-written ".tmp" files of a refresh */
		if (n == alloc) {
			alloc = alloc ? alloc * 2 : 256;
			names = realloc(names, alloc * sizeof(*names));
			if (!names)
				abort();
		}
		names[n] = strdup(de->d_name);
		if (!names[n])
			abort();
		n++;
	}
	closedir(d);
	qsort(names, n, sizeof(*names), strptrcmp);
	for (size_t k = 0; k < n; k++) {
		struct stat st;
		struct ferr fe = FERR_INIT;

		strbuf_reset(&path);
		strbuf_addf(&path, "%s/%s", dir, names[k]);
		if (stat(path.buf, &st) < 0)
			continue;
		if (S_ISDIR(st.st_mode)) {
			if (depth == 0 && load_dir(ix, path.buf, 1, &fe) < 0)
				note_invalid(ix, &fe);
		} else if (S_ISREG(st.st_mode) && has_suffix(names[k], ".json")) {
			if (read_file(path.buf, &buf, &fe) < 0 ||
			    osv_index_add_buffer(ix, buf.buf, buf.len, path.buf, &fe) < 0)
				note_invalid(ix, &fe);
		} else if (S_ISREG(st.st_mode) && has_suffix(names[k], ".zip")) {
			if (osv_index_add_zip(ix, path.buf, &fe) < 0)
				note_invalid(ix, &fe);
		}
	}
	for (size_t k = 0; k < n; k++)
		free(names[k]);
	free(names);
	strbuf_release(&path);
	strbuf_release(&buf);
	return 0;
}

int osv_index_load_dir(struct osv_index *ix, const char *dir, struct ferr *e)
{
	int r = load_dir(ix, dir, 0, e);

	osv_index_finish(ix);
	return r;
}

static int aff_cmp(const void *x, const void *y)
{
	const struct osv_affected *a = x, *b = y;
	int r = strcmp(a->family, b->family);

	if (r)
		return r;
	r = strcmp(a->name, b->name);
	if (r)
		return r;
	/* Stable order among one package's entries: by id. */
	return strcmp(a->rec->id, b->rec->id);
}

void osv_index_finish(struct osv_index *ix)
{
	size_t o = 0;

	if (ix->finished)
		return;
	for (size_t k = 0; k < ix->naff; k++)
		if (!ix->aff[k].rec->superseded)
			ix->aff[o++] = ix->aff[k];
	ix->naff = o;
	if (ix->naff)
		qsort(ix->aff, ix->naff, sizeof(*ix->aff), aff_cmp);
	ix->finished = true;
}

size_t osv_index_count(const struct osv_index *ix)
{
	return ix->count;
}

size_t osv_index_invalid(const struct osv_index *ix, char *msg, size_t msgsz)
{
	if (msgsz)
		snprintf(msg, msgsz, "%s", ix->first_invalid);
	return ix->invalid;
}

size_t osv_index_lookup(const struct osv_index *ix, const char *family, const char *name,
                        const struct osv_affected **ret)
{
	char norm[512];
	size_t lo = 0, hi = ix->naff, first;

	*ret = NULL;
	if (!strcmp(family, PKG_ECO_PYPI)) {
		pkgdb_pypi_normalize(norm, sizeof(norm), name);
		name = norm;
	}
	/* lower bound of (family, name) */
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		const struct osv_affected *a = &ix->aff[mid];
		int r = strcmp(a->family, family);
		if (!r)
			r = strcmp(a->name, name);
		if (r < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	first = lo;
	while (lo < ix->naff && !strcmp(ix->aff[lo].family, family) && !strcmp(ix->aff[lo].name, name))
		lo++;
	if (lo == first)
		return 0;
	*ret = &ix->aff[first];
	return lo - first;
}

/* ------------------------------------------------------------ matching */

static bool range_match(const struct osv_range *rg, const char *v, const char **ret_fixed)
{
	bool affected = false;
	size_t k;

	for (k = 0; k < rg->nev; k++) {
		const struct osv_event *ev = &rg->ev[k];
		bool zero = ev->kind == OSV_INTRODUCED && !strcmp(ev->version, "0");
		int c = zero ? 1 : version_cmp(rg->scheme, v, ev->version);

		if (c < 0)
			break;   /* sorted: no later event applies to v */
		switch (ev->kind) {
		case OSV_INTRODUCED:    affected = true; break;
		case OSV_FIXED:         affected = false; break;
		case OSV_LIMIT:         affected = false; break;
		case OSV_LAST_AFFECTED: if (c > 0) affected = false; break;
		}
	}
	if (!affected)
		return false;
	if (ret_fixed) {
		*ret_fixed = NULL;
		for (; k < rg->nev; k++) {
			if (rg->ev[k].kind == OSV_FIXED) {
				*ret_fixed = rg->ev[k].version;
				break;
			}
			if (rg->ev[k].kind != OSV_LAST_AFFECTED)
				continue;
			break;   /* affected up to the last version: no fix */
		}
	}
	return true;
}

bool osv_affected_match(const struct osv_affected *a, const char *version, const char **ret_fixed)
{
	if (ret_fixed)
		*ret_fixed = NULL;
	for (size_t k = 0; k < a->nranges; k++)
		if (range_match(&a->ranges[k], version, ret_fixed))
			return true;
	for (size_t k = 0; k < a->nversions; k++)
		if (!strcmp(a->versions[k], version) || !version_cmp(a->scheme, a->versions[k], version))
			return true;
	return false;
}
