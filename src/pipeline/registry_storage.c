#include "pipeline/registry_storage.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/fstree.h"
#include "lib/strbuf.h"
#include "lib/banned.h"

#define DIGEST_HEX 64
#define MANIFEST_MAX (4 << 20)

/* The blobs garbage collection keeps, as hex digests (sorted once marked). */
struct marks {
	char (*hex)[DIGEST_HEX + 1];
	size_t n, alloc;
};

static int hex_digest(const char *s, char out[DIGEST_HEX + 1])
{
	if (strncmp(s, "sha256:", 7))
		return 0;
	s += 7;
	for (int i = 0; i < DIGEST_HEX; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return 0;
	if (s[DIGEST_HEX] && s[DIGEST_HEX] != '\n')
		return 0;
	memcpy(out, s, DIGEST_HEX);
	out[DIGEST_HEX] = '\0';
	return 1;
}

static int marked(const struct marks *m, const char *hex)
{
	for (size_t i = 0; i < m->n; i++)
		if (!strcmp(m->hex[i], hex))
			return 1;
	return 0;
}

static void mark(struct marks *m, const char *hex)
{
	if (m->n == m->alloc) {
		m->alloc = m->alloc ? m->alloc * 2 : 256;
		m->hex = realloc(m->hex, m->alloc * sizeof(*m->hex));
		if (!m->hex)
			abort();
	}
	memcpy(m->hex[m->n++], hex, DIGEST_HEX + 1);
}

static void blob_path(struct strbuf *sb, const char *v2, const char *hex)
{
	strbuf_reset(sb);
	strbuf_addf(sb, "%s/blobs/sha256/%.2s/%s/data", v2, hex, hex);
}

static int read_small(const char *path, struct strbuf *out, size_t cap)
{
	char buf[8192];
	ssize_t n;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	strbuf_reset(out);
	if (fd < 0)
		return -1;
	while ((n = read(fd, buf, sizeof(buf))) > 0) {
		if (out->len + (size_t)n > cap) {
			close(fd);
			return -1;
		}
		strbuf_add(out, buf, (size_t)n);
	}
	close(fd);
	return n < 0 ? -1 : 0;
}

static void mark_ref(struct marks *m, const char *v2, json_t *desc, int depth);

/* Marks the manifest hex and what it references (config, layers, and an
 * index's manifests). depth bounds a malformed index pointing at itself. */
static void mark_manifest(struct marks *m, const char *v2, const char *hex, int depth)
{
	struct strbuf path = STRBUF_INIT, body = STRBUF_INIT;
	json_t *doc, *v;
	size_t i;

	if (marked(m, hex) || depth > 4)
		goto out;
	mark(m, hex);
	blob_path(&path, v2, hex);
	if (read_small(path.buf, &body, MANIFEST_MAX) < 0)
		goto out;
	doc = json_loadb(body.buf, body.len, 0, NULL);
	if (!doc)
		goto out;
	mark_ref(m, v2, json_object_get(doc, "config"), -1);
	json_array_foreach(json_object_get(doc, "layers"), i, v)
		mark_ref(m, v2, v, -1);
	json_array_foreach(json_object_get(doc, "manifests"), i, v)
		mark_ref(m, v2, v, depth + 1);
	json_decref(doc);
out:
	strbuf_release(&path);
	strbuf_release(&body);
}

/* depth < 0: a plain blob; else a manifest of an index. */
static void mark_ref(struct marks *m, const char *v2, json_t *desc, int depth)
{
	char hex[DIGEST_HEX + 1];
	const char *d = json_string_value(json_object_get(desc, "digest"));

	if (!d || !hex_digest(d, hex))
		return;
	if (depth >= 0)
		mark_manifest(m, v2, hex, depth);
	else if (!marked(m, hex))
		mark(m, hex);
}

static int dropped(const struct registry_manifest *drop, size_t n, const char *repo,
		   const char *hex)
{
	for (size_t i = 0; i < n; i++)
		if (!strcmp(drop[i].repo, repo) && !strncmp(drop[i].digest, "sha256:", 7) &&
		    !strcmp(drop[i].digest + 7, hex))
			return 1;
	return 0;
}

/* Marks what the tags of the repository at dir (named repo) point at. */
static void mark_tags(struct marks *m, const char *v2, const char *dir, const char *repo,
		      const struct registry_manifest *drop, size_t n_drop)
{
	struct strbuf tags = STRBUF_INIT, link = STRBUF_INIT, body = STRBUF_INIT;
	struct dirent *de;
	DIR *d;

	strbuf_addf(&tags, "%s/_manifests/tags", dir);
	d = opendir(tags.buf);
	while (d && (de = readdir(d))) {
		char hex[DIGEST_HEX + 1];
		if (de->d_name[0] == '.')
			continue;
		strbuf_reset(&link);
		strbuf_addf(&link, "%s/%s/current/link", tags.buf, de->d_name);
		if (read_small(link.buf, &body, 256) < 0 || !hex_digest(body.buf, hex))
			continue;
		if (!dropped(drop, n_drop, repo, hex))
			mark_manifest(m, v2, hex, 0);
	}
	if (d)
		closedir(d);
	strbuf_release(&tags);
	strbuf_release(&link);
	strbuf_release(&body);
}

/* Walks the repositories below dir (repo names may nest: "a/b/c"). */
static void walk_repos(struct marks *m, const char *v2, const char *dir, const char *repo,
		       const struct registry_manifest *drop, size_t n_drop, int depth)
{
	struct strbuf sub = STRBUF_INIT, name = STRBUF_INIT;
	struct dirent *de;
	DIR *d = depth < 16 ? opendir(dir) : NULL;

	while (d && (de = readdir(d))) {
		struct stat st;
		if (de->d_name[0] == '.')
			continue;
		strbuf_reset(&sub);
		strbuf_addf(&sub, "%s/%s", dir, de->d_name);
		if (!strcmp(de->d_name, "_manifests")) {
			mark_tags(m, v2, dir, repo, drop, n_drop);
			continue;
		}
		if (de->d_name[0] == '_' || lstat(sub.buf, &st) < 0 || !S_ISDIR(st.st_mode))
			continue;
		strbuf_reset(&name);
		if (*repo)
			strbuf_addf(&name, "%s/", repo);
		strbuf_addstr(&name, de->d_name);
		walk_repos(m, v2, sub.buf, name.buf, drop, n_drop, depth + 1);
	}
	if (d)
		closedir(d);
	strbuf_release(&sub);
	strbuf_release(&name);
}

static int cmp_hex(const void *a, const void *b)
{
	return strcmp(a, b);
}

int registry_storage_reclaimable(const char *storage, const struct registry_manifest *drop,
				 size_t n_drop, long long *ret_bytes, struct ferr *e)
{
	struct strbuf v2 = STRBUF_INIT, dir = STRBUF_INIT, path = STRBUF_INIT;
	struct marks m = { 0 };
	struct dirent *pre;
	long long bytes = 0;
	DIR *top;
	int ret = 0;

	strbuf_addf(&v2, "%s/docker/registry/v2", storage);
	strbuf_addf(&dir, "%s/repositories", v2.buf);
	walk_repos(&m, v2.buf, dir.buf, "", drop, n_drop, 0);
	if (m.n)
		qsort(m.hex, m.n, sizeof(*m.hex), cmp_hex);
	strbuf_reset(&dir);
	strbuf_addf(&dir, "%s/blobs/sha256", v2.buf);
	top = opendir(dir.buf);
	if (!top && errno != ENOENT) {
		ret = ferr_internal(e, "cannot read %s: %s", dir.buf, strerror(errno));
		goto out;
	}
	while (top && (pre = readdir(top))) {
		struct dirent *de;
		DIR *d;
		if (pre->d_name[0] == '.')
			continue;
		strbuf_reset(&path);
		strbuf_addf(&path, "%s/%s", dir.buf, pre->d_name);
		d = opendir(path.buf);
		while (d && (de = readdir(d))) {
			struct strbuf data = STRBUF_INIT;
			struct stat st;
			if (de->d_name[0] == '.')
				continue;
			if (m.n && bsearch(de->d_name, m.hex, m.n, sizeof(*m.hex), cmp_hex))
				continue;
			strbuf_addf(&data, "%s/%s/data", path.buf, de->d_name);
			if (stat(data.buf, &st) == 0)
				bytes += (long long)st.st_blocks * 512;
			strbuf_release(&data);
		}
		if (d)
			closedir(d);
	}
	if (top)
		closedir(top);
	*ret_bytes = bytes;
out:
	free(m.hex);
	strbuf_release(&v2);
	strbuf_release(&dir);
	strbuf_release(&path);
	return ret;
}

static int blob_exists(const char *v2, const char *hex)
{
	struct strbuf path = STRBUF_INIT;
	struct stat st;
	int ok;

	blob_path(&path, v2, hex);
	ok = stat(path.buf, &st) == 0;
	strbuf_release(&path);
	return ok;
}

/* In dir (a ".../sha256" directory of hex-named entries), removes the
 * entries whose blob is gone, or (need_link) that have no link file. */
static long sweep_dir(const char *v2, const char *dir, int need_link)
{
	struct strbuf sub = STRBUF_INIT;
	struct dirent *de;
	long n = 0;
	DIR *d = opendir(dir);

	while (d && (de = readdir(d))) {
		char hex[DIGEST_HEX + 8], digest[DIGEST_HEX + 1];
		struct stat st;

		if (strlen(de->d_name) != DIGEST_HEX)
			continue;
		memcpy(hex, "sha256:", 7);
		memcpy(hex + 7, de->d_name, DIGEST_HEX + 1);
		if (!hex_digest(hex, digest))
			continue;
		strbuf_reset(&sub);
		strbuf_addf(&sub, "%s/%s/link", dir, de->d_name);
		if (blob_exists(v2, digest) && (!need_link || stat(sub.buf, &st) == 0))
			continue;
		strbuf_reset(&sub);
		strbuf_addf(&sub, "%s/%s", dir, de->d_name);
		if (fstree_remove(sub.buf) == 0)
			n++;
	}
	if (d)
		closedir(d);
	strbuf_release(&sub);
	return n;
}

static long sweep_repo(const char *v2, const char *dir)
{
	struct strbuf sub = STRBUF_INIT;
	struct dirent *de;
	long n = 0;
	DIR *d;

	strbuf_addf(&sub, "%s/_layers/sha256", dir);
	n += sweep_dir(v2, sub.buf, 1);
	strbuf_reset(&sub);
	strbuf_addf(&sub, "%s/_manifests/revisions/sha256", dir);
	n += sweep_dir(v2, sub.buf, 1);
	strbuf_reset(&sub);
	strbuf_addf(&sub, "%s/_manifests/tags", dir);
	d = opendir(sub.buf);
	while (d && (de = readdir(d))) {
		struct strbuf idx = STRBUF_INIT;
		if (de->d_name[0] == '.')
			continue;
		strbuf_addf(&idx, "%s/%s/index/sha256", sub.buf, de->d_name);
		n += sweep_dir(v2, idx.buf, 0);
		strbuf_release(&idx);
	}
	if (d)
		closedir(d);
	strbuf_release(&sub);
	return n;
}

static long sweep_walk(const char *v2, const char *dir, int depth)
{
	struct strbuf sub = STRBUF_INIT;
	struct dirent *de;
	long n = 0;
	DIR *d = depth < 16 ? opendir(dir) : NULL;

	while (d && (de = readdir(d))) {
		struct stat st;
		if (de->d_name[0] == '.')
			continue;
		if (!strcmp(de->d_name, "_manifests")) {
			n += sweep_repo(v2, dir);
			continue;
		}
		strbuf_reset(&sub);
		strbuf_addf(&sub, "%s/%s", dir, de->d_name);
		if (de->d_name[0] == '_' || lstat(sub.buf, &st) < 0 || !S_ISDIR(st.st_mode))
			continue;
		n += sweep_walk(v2, sub.buf, depth + 1);
	}
	if (d)
		closedir(d);
	strbuf_release(&sub);
	return n;
}

long registry_storage_sweep(const char *storage)
{
	struct strbuf v2 = STRBUF_INIT, dir = STRBUF_INIT;
	long n;

	strbuf_addf(&v2, "%s/docker/registry/v2", storage);
	strbuf_addf(&dir, "%s/repositories", v2.buf);
	n = sweep_walk(v2.buf, dir.buf, 0);
	/* repositories whose every image went, and the blob prefix
	 * directories (blobs/sha256/<2 hex>/) garbage collection emptied */
	n += fstree_remove_empty(dir.buf);
	strbuf_reset(&dir);
	strbuf_addf(&dir, "%s/blobs", v2.buf);
	n += fstree_remove_empty(dir.buf);
	strbuf_release(&v2);
	strbuf_release(&dir);
	return n;
}
