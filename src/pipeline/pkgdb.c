/* Installed packages in an image root. See pkgdb.h. */
#include "pipeline/pkgdb.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/beneath.h"
#include "lib/strbuf.h"

#include "lib/xalloc.h"
#include "lib/banned.h"

static char *xstrndup(const char *s, size_t n)
{
	char *r = strndup(s, n);
	if (!r)
		abort();
	return r;
}

void pkglist_release(struct pkglist *l)
{
	for (size_t i = 0; i < l->n; i++) {
		struct pkg *p = &l->v[i];
		free(p->name);
		free(p->source);
		free(p->version);
		free(p->source_version);
		free(p->where);
	}
	free(l->v);
	free(l->os_id);
	free(l->os_version);
	*l = (struct pkglist)PKGLIST_INIT;
}

int pkglist_add(struct pkglist *l, const char *ecosystem, const char *name,
                const char *version, const char *source, const char *source_version,
                const char *where)
{
	struct pkg *p;

	if (!*name || !*version)
		return 0;

	if (l->n == l->alloc) {
		size_t na = l->alloc ? l->alloc * 2 : 64;
		struct pkg *nv = realloc(l->v, na * sizeof(*nv));
		if (!nv)
			abort();
		l->v = nv;
		l->alloc = na;
	}
	p = &l->v[l->n++];
	p->ecosystem = ecosystem;
	p->name = xstrdup(name);
	p->version = xstrdup(version);
	p->source = xstrdup(source && *source ? source : name);
	p->source_version = xstrdup(source_version && *source_version ? source_version : version);
	p->where = xstrdup(where);
	return 1;
}

/* ------------------------------------------------------ line utilities */

struct lines {
	const char *p, *end;
};

/* Next line without its "\n" (and "\r"). False at the end. */
static bool next_line(struct lines *ls, const char **line, size_t *len)
{
	const char *nl;

	if (ls->p >= ls->end)
		return false;
	nl = memchr(ls->p, '\n', (size_t)(ls->end - ls->p));
	if (!nl)
		nl = ls->end;
	*line = ls->p;
	*len = (size_t)(nl - ls->p);
	if (*len && (*line)[*len - 1] == '\r')
		(*len)--;
	ls->p = nl + 1;
	return true;
}

static void trim(const char **s, size_t *len)
{
	while (*len && (**s == ' ' || **s == '\t')) {
		(*s)++;
		(*len)--;
	}
	while (*len && ((*s)[*len - 1] == ' ' || (*s)[*len - 1] == '\t' || (*s)[*len - 1] == '\r'))
		(*len)--;
}

/* Sets the strbuf to [s, s+len). */
static void sb_set(struct strbuf *sb, const char *s, size_t len)
{
	strbuf_reset(sb);
	strbuf_add(sb, s, len);
}

/* ------------------------------------------------------------------ dpkg */

struct dpkg_para {
	struct strbuf package, version, source, status;
	bool any;
};

static bool dpkg_state_installed(const char *status)
{
	/* "want flag state": only the state counts. Packages removed but
	 * with config files left ("config-files") or never unpacked are not
	 * in the image's code. */
	const char *state = strrchr(status, ' ');

	state = state ? state + 1 : status;
	return !strcmp(state, "installed") || !strcmp(state, "half-configured") ||
	       !strcmp(state, "triggers-awaiting") || !strcmp(state, "triggers-pending");
}

static int dpkg_flush(struct pkglist *l, struct dpkg_para *pp, const char *eco, const char *where)
{
	int added = 0;

	if (pp->package.len && pp->version.len &&
	    (!pp->status.len || dpkg_state_installed(pp->status.buf))) {
		const char *src = NULL, *srcver = NULL;
		char *sname = NULL, *sver = NULL;

		if (pp->source.len) {
			/* "Source: name" or "Source: name (version)" */
			const char *s = pp->source.buf, *sp = strchr(s, ' ');
			if (sp) {
				const char *open = strchr(sp, '('), *close = open ? strchr(open, ')') : NULL;
				sname = xstrndup(s, (size_t)(sp - s));
				if (open && close && close > open + 1)
					sver = xstrndup(open + 1, (size_t)(close - open - 1));
			} else {
				sname = xstrdup(s);
			}
			src = sname;
			srcver = sver;
		}
		added = pkglist_add(l, eco, pp->package.buf, pp->version.buf, src, srcver, where);
		free(sname);
		free(sver);
	}
	strbuf_reset(&pp->package);
	strbuf_reset(&pp->version);
	strbuf_reset(&pp->source);
	strbuf_reset(&pp->status);
	return added;
}

int pkgdb_parse_dpkg_status(struct pkglist *l, const char *buf, size_t len,
                            const char *eco, const char *where, struct ferr *e)
{
	struct dpkg_para pp = { STRBUF_INIT, STRBUF_INIT, STRBUF_INIT, STRBUF_INIT, false };
	struct lines ls = { buf, buf + len };
	const char *line;
	size_t n;
	int added = 0;
	bool seen_package = false;

	while (next_line(&ls, &line, &n)) {
		const char *colon, *val;
		size_t klen, vlen;

		if (!n || line[0] == ' ' || line[0] == '\t') {
			/* Continuation lines (" text") belong to multi-line
			 * fields we do not need; an empty or blank line ends a
			 * paragraph. */
			const char *t = line;
			size_t tl = n;
			trim(&t, &tl);
			if (!tl)
				added += dpkg_flush(l, &pp, eco, where);
			continue;
		}
		colon = memchr(line, ':', n);
		if (!colon)
			continue;
		klen = (size_t)(colon - line);
		val = colon + 1;
		vlen = n - klen - 1;
		trim(&val, &vlen);
		if (klen == 7 && !strncasecmp(line, "Package", 7)) {
			/* A second Package: without a blank line starts a new
			 * paragraph too (seen in hand-edited status.d files). */
			if (pp.package.len)
				added += dpkg_flush(l, &pp, eco, where);
			sb_set(&pp.package, val, vlen);
			seen_package = true;
		} else if (klen == 7 && !strncasecmp(line, "Version", 7)) {
			sb_set(&pp.version, val, vlen);
		} else if (klen == 6 && !strncasecmp(line, "Source", 6)) {
			sb_set(&pp.source, val, vlen);
		} else if (klen == 6 && !strncasecmp(line, "Status", 6)) {
			sb_set(&pp.status, val, vlen);
		}
	}
	added += dpkg_flush(l, &pp, eco, where);
	strbuf_release(&pp.package);
	strbuf_release(&pp.version);
	strbuf_release(&pp.source);
	strbuf_release(&pp.status);
	if (!seen_package && len)
		return ferr_invalid(e, "%s: no \"Package:\" field: not a dpkg status file", where);
	return added;
}

/* ------------------------------------------------------------------- apk */

int pkgdb_parse_apk_installed(struct pkglist *l, const char *buf, size_t len,
                              const char *where, struct ferr *e)
{
	struct strbuf name = STRBUF_INIT, ver = STRBUF_INIT, origin = STRBUF_INIT;
	struct lines ls = { buf, buf + len };
	const char *line;
	size_t n;
	int added = 0;
	bool seen = false, more = true;

	while (more) {
		more = next_line(&ls, &line, &n);
		if (!more || !n) {
			if (name.len && ver.len) {
				added += pkglist_add(l, PKG_ECO_ALPINE, name.buf, ver.buf,
				                     origin.len ? origin.buf : NULL, NULL, where);
			}
			strbuf_reset(&name);
			strbuf_reset(&ver);
			strbuf_reset(&origin);
			continue;
		}
		if (n < 2 || line[1] != ':')
			continue;
		if (line[0] == 'P') {
			sb_set(&name, line + 2, n - 2);
			seen = true;
		} else if (line[0] == 'V') {
			sb_set(&ver, line + 2, n - 2);
		} else if (line[0] == 'o') {
			sb_set(&origin, line + 2, n - 2);
		}
	}
	strbuf_release(&name);
	strbuf_release(&ver);
	strbuf_release(&origin);
	if (!seen && len)
		return ferr_invalid(e, "%s: no \"P:\" line: not an apk installed database", where);
	return added;
}

/* ------------------------------------------------------- package-lock */

#define NPM_MAX_DEPTH 64

static int npm_v1_deps(struct pkglist *l, json_t *deps, const char *where, int depth)
{
	const char *key;
	json_t *val;
	int added = 0;

	if (!json_is_object(deps) || depth > NPM_MAX_DEPTH)
		return 0;
	json_object_foreach(deps, key, val) {
		const char *ver = json_string_value(json_object_get(val, "version"));

		if (!json_is_object(val))
			continue;
		/* "version" of a git or file dependency is a URL, not a
		 * registry version: skip what cannot be a semver. */
		if (ver && *ver && strchr("0123456789", ver[0])) {
			added += pkglist_add(l, PKG_ECO_NPM, key, ver, NULL, NULL, where);
		}
		added += npm_v1_deps(l, json_object_get(val, "dependencies"), where, depth + 1);
	}
	return added;
}

int pkgdb_parse_package_lock(struct pkglist *l, const char *buf, size_t len,
                             const char *where, struct ferr *e)
{
	json_error_t jerr;
	json_t *root = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &jerr);
	json_t *pkgs;
	int added = 0;

	if (!json_is_object(root)) {
		json_decref(root);
		return ferr_invalid(e, "%s:%d: not a package-lock.json: %s", where, jerr.line,
		                    root ? "top level is not an object" : jerr.text);
	}
	pkgs = json_object_get(root, "packages");
	if (json_is_object(pkgs)) {
		/* lockfileVersion 2 and 3: keyed by install path. */
		const char *key;
		json_t *val;

		json_object_foreach(pkgs, key, val) {
			const char *nm = strstr(key, "node_modules/"), *ver, *name;
			const char *last = NULL;

			if (!*key || !json_is_object(val) || !nm)
				continue;   /* "" is the project itself */
			if (json_is_true(json_object_get(val, "link")))
				continue;
			for (const char *p = nm; (p = strstr(p, "node_modules/")); p += 13)
				last = p + 13;
			name = json_string_value(json_object_get(val, "name"));
			if (!name)
				name = last;
			ver = json_string_value(json_object_get(val, "version"));
			if (!name || !*name || !ver || !*ver || !strchr("0123456789", ver[0]))
				continue;
			added += pkglist_add(l, PKG_ECO_NPM, name, ver, NULL, NULL, where);
		}
	} else {
		added = npm_v1_deps(l, json_object_get(root, "dependencies"), where, 0);
	}
	json_decref(root);
	return added;
}

/* ----------------------------------------------------- requirements.txt */

static bool pypi_name_char(int c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '-' || c == '_' || c == '.';
}

int pkgdb_parse_requirements(struct pkglist *l, const char *buf, size_t len,
                             const char *where, struct ferr *e)
{
	struct lines ls = { buf, buf + len };
	struct strbuf name = STRBUF_INIT, ver = STRBUF_INIT;
	const char *line;
	size_t n;
	int added = 0;

	(void)e;   /* any text is a (possibly empty) requirements file */
	while (next_line(&ls, &line, &n)) {
		const char *hash, *p, *end, *eq;
		size_t i;

		trim(&line, &n);
		hash = memchr(line, '#', n);
		if (hash)
			n = (size_t)(hash - line);
		trim(&line, &n);
		if (!n || line[0] == '-')
			continue;   /* options: -r, -e, --hash (continued lines) */
		end = line + n;
		for (i = 0; i < n && pypi_name_char((unsigned char)line[i]); i++)
			;
		if (!i)
			continue;
		sb_set(&name, line, i);
		p = line + i;
		if (p < end && *p == '[') {   /* extras */
			p = memchr(p, ']', (size_t)(end - p));
			if (!p)
				continue;
			p++;
		}
		while (p < end && (*p == ' ' || *p == '\t'))
			p++;
		if (end - p < 3 || p[0] != '=' || p[1] != '=')
			continue;
		p += 2;
		if (*p == '=')
			p++;   /* "===" arbitrary equality */
		while (p < end && (*p == ' ' || *p == '\t'))
			p++;
		eq = p;
		while (p < end && *p != ';' && *p != ',' && *p != ' ' && *p != '\t' && *p != '\\')
			p++;
		if (p == eq || memchr(eq, '*', (size_t)(p - eq)))
			continue;   /* "==1.*" is a range, not a pin */
		sb_set(&ver, eq, (size_t)(p - eq));
		added += pkglist_add(l, PKG_ECO_PYPI, name.buf, ver.buf, NULL, NULL, where);
	}
	strbuf_release(&name);
	strbuf_release(&ver);
	return added;
}

void pkgdb_pypi_normalize(char *out, size_t outsz, const char *name)
{
	size_t o = 0;
	bool sep = false;

	if (!outsz)
		return;
	for (const char *p = name; *p && o + 1 < outsz; p++) {
		if (*p == '-' || *p == '_' || *p == '.') {
			sep = true;
			continue;
		}
		if (sep && o && o + 2 < outsz)
			out[o++] = '-';
		sep = false;
		out[o++] = (*p >= 'A' && *p <= 'Z') ? (char)(*p - 'A' + 'a') : *p;
	}
	out[o] = '\0';
}

/* ---------------------------------------------------------------- go.sum */

int pkgdb_parse_go_sum(struct pkglist *l, const char *buf, size_t len,
                       const char *where, struct ferr *e)
{
	struct lines ls = { buf, buf + len };
	struct strbuf mod = STRBUF_INIT, ver = STRBUF_INIT;
	const char *line;
	size_t n;
	int added = 0, bad = 0;

	while (next_line(&ls, &line, &n)) {
		const char *sp1, *sp2;

		trim(&line, &n);
		if (!n)
			continue;
		sp1 = memchr(line, ' ', n);
		sp2 = sp1 ? memchr(sp1 + 1, ' ', n - (size_t)(sp1 + 1 - line)) : NULL;
		if (!sp1 || !sp2 || sp1 == line || sp2 == sp1 + 1) {
			bad++;
			continue;
		}
		/* "mod v1.2.3/go.mod h1:..." only hashes the go.mod file: the
		 * module's code may not even be in the build. */
		if ((size_t)(sp2 - sp1 - 1) > 7 && !memcmp(sp2 - 7, "/go.mod", 7))
			continue;
		sb_set(&mod, line, (size_t)(sp1 - line));
		sb_set(&ver, sp1 + 1, (size_t)(sp2 - sp1 - 1));
		if (ver.buf[0] != 'v')
			continue;
		added += pkglist_add(l, PKG_ECO_GO, mod.buf, ver.buf, NULL, NULL, where);
	}
	strbuf_release(&mod);
	strbuf_release(&ver);
	if (bad && !added)
		return ferr_invalid(e, "%s: not a go.sum file (lines are \"module version hash\")", where);
	return added;
}

/* ------------------------------------------------------------ Cargo.lock */

/* The quoted value of `key = "value"` if line is that, else false. */
static bool toml_string(const char *line, size_t n, const char *key, const char **v, size_t *vl)
{
	size_t kl = strlen(key);
	const char *p = line, *end = line + n, *q;

	if (n < kl || memcmp(p, key, kl))
		return false;
	p += kl;
	while (p < end && (*p == ' ' || *p == '\t'))
		p++;
	if (p >= end || *p != '=')
		return false;
	p++;
	while (p < end && (*p == ' ' || *p == '\t'))
		p++;
	if (p >= end || *p != '"')
		return false;
	p++;
	q = memchr(p, '"', (size_t)(end - p));
	if (!q)
		return false;
	*v = p;
	*vl = (size_t)(q - p);
	return true;
}

int pkgdb_parse_cargo_lock(struct pkglist *l, const char *buf, size_t len,
                           const char *where, struct ferr *e)
{
	struct lines ls = { buf, buf + len };
	struct strbuf name = STRBUF_INIT, ver = STRBUF_INIT, src = STRBUF_INIT;
	const char *line;
	size_t n;
	int added = 0;
	bool in_pkg = false, seen = false, more = true;

	while (more) {
		const char *v;
		size_t vl;

		more = next_line(&ls, &line, &n);
		if (more)
			trim(&line, &n);
		if (!more || (n && line[0] == '[')) {
			/* Packages from crates.io (or a registry mirror); workspace
			 * members (no source) and git checkouts are not what
			 * crates.io advisories describe. */
			if (in_pkg && name.len && ver.len && !strncmp(src.buf, "registry+", 9)) {
				added += pkglist_add(l, PKG_ECO_CRATES, name.buf, ver.buf, NULL, NULL, where);
			}
			strbuf_reset(&name);
			strbuf_reset(&ver);
			strbuf_reset(&src);
			in_pkg = more && n == 11 && !memcmp(line, "[[package]]", 11);
			seen = seen || in_pkg;
			continue;
		}
		if (!in_pkg)
			continue;
		if (toml_string(line, n, "name", &v, &vl))
			sb_set(&name, v, vl);
		else if (toml_string(line, n, "version", &v, &vl))
			sb_set(&ver, v, vl);
		else if (toml_string(line, n, "source", &v, &vl))
			sb_set(&src, v, vl);
	}
	strbuf_release(&name);
	strbuf_release(&ver);
	strbuf_release(&src);
	if (!seen && len)
		return ferr_invalid(e, "%s: no [[package]] table: not a Cargo.lock", where);
	return added;
}

/* ------------------------------------------------------------ the walk */

/* Reads a regular file from fd, at most PKGDB_MAX_FILE_SIZE. Closes fd. */
static int slurp_fd(int fd, struct strbuf *sb)
{
	struct stat st;
	int rc;

	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || (size_t)st.st_size > PKGDB_MAX_FILE_SIZE) {
		close(fd);
		return -1;
	}
	strbuf_grow(sb, (size_t)st.st_size);
	rc = strbuf_read_fd(sb, fd, PKGDB_MAX_FILE_SIZE);
	close(fd);
	return rc == 0 ? 0 : -1;
}

static int slurp_at(int rootfd, const char *relpath, struct strbuf *sb)
{
	int fd = open_beneath(rootfd, relpath, O_RDONLY | O_NONBLOCK, BENEATH_NO_LINKS);

	strbuf_reset(sb);
	if (fd < 0)
		return -1;
	return slurp_fd(fd, sb);
}

/* Value of KEY=... in an os-release buffer, unquoted, or NULL. */
static char *os_release_value(const char *buf, size_t len, const char *key)
{
	struct lines ls = { buf, buf + len };
	const char *line;
	size_t n, kl = strlen(key);

	while (next_line(&ls, &line, &n)) {
		if (n > kl && !memcmp(line, key, kl) && line[kl] == '=') {
			const char *v = line + kl + 1;
			size_t vl = n - kl - 1;
			trim(&v, &vl);
			if (vl >= 2 && (v[0] == '"' || v[0] == '\'') && v[vl - 1] == v[0]) {
				v++;
				vl -= 2;
			}
			return vl ? xstrndup(v, vl) : NULL;
		}
	}
	return NULL;
}

typedef int (*lock_parser)(struct pkglist *, const char *, size_t, const char *, struct ferr *);

static lock_parser lockfile_parser(const char *name)
{
	if (!strcmp(name, "package-lock.json") || !strcmp(name, ".package-lock.json"))
		return pkgdb_parse_package_lock;
	if (!strcmp(name, "requirements.txt"))
		return pkgdb_parse_requirements;
	if (!strcmp(name, "go.sum"))
		return pkgdb_parse_go_sum;
	if (!strcmp(name, "Cargo.lock"))
		return pkgdb_parse_cargo_lock;
	return NULL;
}

struct walk {
	struct pkglist *l;
	struct strbuf path;   /* relative path of the directory being walked */
	struct strbuf buf;
	size_t entries;
};

static void walk_dir(struct walk *w, int dfd, int depth)
{
	DIR *d;
	struct dirent *de;
	size_t base = w->path.len;

	if (depth > PKGDB_MAX_DEPTH)
		return;
	d = fdopendir(dfd);
	if (!d) {
		close(dfd);
		return;
	}
	while ((de = readdir(d)) && w->entries < PKGDB_MAX_ENTRIES) {
		const char *nm = de->d_name;
		unsigned char type = de->d_type;
		lock_parser parse;

		w->entries++;
		if (!strcmp(nm, ".") || !strcmp(nm, ".."))
			continue;
		if (depth == 0 && (!strcmp(nm, "proc") || !strcmp(nm, "sys") || !strcmp(nm, "dev")))
			continue;
		if (type == DT_UNKNOWN) {
			struct stat st;
			if (fstatat(dirfd(d), nm, &st, AT_SYMLINK_NOFOLLOW) < 0)
				continue;
			type = S_ISDIR(st.st_mode) ? DT_DIR : S_ISREG(st.st_mode) ? DT_REG : DT_LNK;
		}
		strbuf_setlen(&w->path, base);
		if (base)
			strbuf_addch(&w->path, '/');
		strbuf_addstr(&w->path, nm);
		if (type == DT_DIR) {
			int cfd = openat(dirfd(d), nm,
			                 O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_DIRECTORY | O_NONBLOCK);
			if (cfd >= 0)
				walk_dir(w, cfd, depth + 1);
		} else if (type == DT_REG && (parse = lockfile_parser(nm))) {
			int ffd = openat(dirfd(d), nm, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
			struct ferr e = FERR_INIT;

			strbuf_reset(&w->buf);
			if (ffd >= 0 && slurp_fd(ffd, &w->buf) == 0)
				(void)parse(w->l, w->buf.buf, w->buf.len, w->path.buf, &e);
		}
	}
	strbuf_setlen(&w->path, base);
	closedir(d);
}

static int pkgcmp(const void *a, const void *b)
{
	const struct pkg *x = a, *y = b;
	int r;

	if ((r = strcmp(x->ecosystem, y->ecosystem)))
		return r;
	if ((r = strcmp(x->name, y->name)))
		return r;
	if ((r = strcmp(x->version, y->version)))
		return r;
	return strcmp(x->where, y->where);
}

int pkgdb_read_rootfs(struct pkglist *l, const char *rootfs, struct ferr *e)
{
	struct walk w = { l, STRBUF_INIT, STRBUF_INIT, 0 };
	struct strbuf sb = STRBUF_INIT;
	const char *eco;
	int rootfd, dfd;
	size_t first = l->n, o;

	rootfd = open(rootfs, O_RDONLY | O_CLOEXEC | O_DIRECTORY);
	if (rootfd < 0)
		return ferr_set(e, errno == ENOENT ? 404 : 500, errno == ENOENT ? "not_found" : "internal",
		                "image root %s: %s", rootfs, strerror(errno));

	if (slurp_at(rootfd, "etc/os-release", &sb) == 0 ||
	    slurp_at(rootfd, "usr/lib/os-release", &sb) == 0) {
		free(l->os_id);
		free(l->os_version);
		l->os_id = os_release_value(sb.buf, sb.len, "ID");
		l->os_version = os_release_value(sb.buf, sb.len, "VERSION_ID");
	}
	eco = l->os_id && !strcmp(l->os_id, "ubuntu") ? PKG_ECO_UBUNTU : PKG_ECO_DEBIAN;

	if (slurp_at(rootfd, "var/lib/dpkg/status", &sb) == 0) {
		struct ferr pe = FERR_INIT;
		(void)pkgdb_parse_dpkg_status(l, sb.buf, sb.len, eco, "var/lib/dpkg/status", &pe);
	}
	dfd = open_beneath(rootfd, "var/lib/dpkg/status.d", O_RDONLY | O_DIRECTORY | O_NONBLOCK,
			   BENEATH_NO_LINKS);
	if (dfd >= 0) {
		DIR *d = fdopendir(dfd);
		struct dirent *de;
		struct strbuf where = STRBUF_INIT;

		if (!d)
			close(dfd);
		while (d && (de = readdir(d))) {
			int ffd;
			struct ferr pe = FERR_INIT;

			/* distroless also keeps "<pkg>.md5sums" there. */
			if (de->d_name[0] == '.' || strstr(de->d_name, ".md5sums"))
				continue;
			ffd = openat(dirfd(d), de->d_name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
			if (ffd < 0)
				continue;
			strbuf_reset(&sb);
			if (slurp_fd(ffd, &sb) < 0)
				continue;
			strbuf_reset(&where);
			strbuf_addf(&where, "var/lib/dpkg/status.d/%s", de->d_name);
			(void)pkgdb_parse_dpkg_status(l, sb.buf, sb.len, eco, where.buf, &pe);
		}
		if (d)
			closedir(d);
		strbuf_release(&where);
	}
	if (slurp_at(rootfd, "lib/apk/db/installed", &sb) == 0) {
		struct ferr pe = FERR_INIT;
		(void)pkgdb_parse_apk_installed(l, sb.buf, sb.len, "lib/apk/db/installed", &pe);
	}

	dfd = dup(rootfd);
	if (dfd >= 0)
		walk_dir(&w, dfd, 0);
	close(rootfd);
	strbuf_release(&w.path);
	strbuf_release(&w.buf);
	strbuf_release(&sb);

	/* The same package at the same version in the same file once (v1
	 * package-locks repeat nested dependencies). */
	if (l->n - first > 1) {
		qsort(l->v + first, l->n - first, sizeof(*l->v), pkgcmp);
		o = first + 1;
		for (size_t i = first + 1; i < l->n; i++) {
			if (!pkgcmp(&l->v[o - 1], &l->v[i])) {
				struct pkg *p = &l->v[i];
				free(p->name);
				free(p->source);
				free(p->version);
				free(p->source_version);
				free(p->where);
				continue;
			}
			l->v[o++] = l->v[i];
		}
		l->n = o;
	}
	return 0;
}
