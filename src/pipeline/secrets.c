#include "pipeline/secrets.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "lib/strbuf.h"
#include "lib/clock.h"
#include "lib/xalloc.h"
#include "lib/banned.h"

#define RULES_FILE_MAX (4u << 20)
#define MAX_KEYWORDS 16
#define MAX_ALLOW 16
#define DEFAULT_MAX_FILE (1u << 20)
#define DEFAULT_MAX_FILES 100000
#define DEFAULT_MAX_BYTES (512u << 20)
#define BINARY_SNIFF 8192
#define MAX_DEPTH 64
#define ALLOW_MARK "ferry:allow-secret"

struct secret_rule {
	char *id;
	char *title;
	char *severity;
	regex_t re;
	int group;
	double min_entropy;
	char *keywords[MAX_KEYWORDS];   /* lower case */
	int n_keywords;
	regex_t allow[MAX_ALLOW];
	int n_allow;
};

struct secret_rules {
	struct secret_rule *rules;
	size_t n;
	char **allow_paths;             /* NULL-terminated */
};

static void rule_release(struct secret_rule *r, int compiled)
{
	free(r->id);
	free(r->title);
	free(r->severity);
	if (compiled)
		regfree(&r->re);
	for (int i = 0; i < r->n_keywords; i++)
		free(r->keywords[i]);
	for (int i = 0; i < r->n_allow; i++)
		regfree(&r->allow[i]);
}

void secret_rules_free(struct secret_rules *r)
{
	if (!r)
		return;
	for (size_t i = 0; i < r->n; i++)
		rule_release(&r->rules[i], 1);
	free(r->rules);
	secrets_globs_free(r->allow_paths);
	free(r);
}

size_t secret_rules_count(const struct secret_rules *r)
{
	return r ? r->n : 0;
}

void secrets_globs_free(char **globs)
{
	if (!globs)
		return;
	for (char **g = globs; *g; g++)
		free(*g);
	free(globs);
}

static int valid_severity(const char *s)
{
	static const char *const names[] = { "CRITICAL", "HIGH", "MEDIUM", "LOW", "UNKNOWN", NULL };
	for (const char *const *n = names; *n; n++)
		if (!strcmp(s, *n))
			return 1;
	return 0;
}

static int compile(regex_t *re, const char *pattern, int icase, const char *name, const char *id,
		   const char *what, struct ferr *e)
{
	int rc = regcomp(re, pattern, REG_EXTENDED | (icase ? REG_ICASE : 0));
	char msg[256];

	if (rc == 0)
		return 0;
	regerror(rc, re, msg, sizeof(msg));
	regfree(re);
	return ferr_invalid(e, "%s: rule \"%s\": %s is not a POSIX extended regular expression: %s",
			    name, id, what, msg);
}

static int rule_parse(struct secret_rule *r, json_t *o, size_t idx, const char *name, struct ferr *e)
{
	json_t *id = json_object_get(o, "id"), *title = json_object_get(o, "title");
	json_t *sev = json_object_get(o, "severity"), *re = json_object_get(o, "regex");
	json_t *kw = json_object_get(o, "keywords"), *allow = json_object_get(o, "allow");
	json_t *group = json_object_get(o, "group"), *ent = json_object_get(o, "min_entropy");
	json_t *v;
	size_t i;

	memset(r, 0, sizeof(*r));
	if (!json_is_object(o))
		return ferr_invalid(e, "%s: rules[%zu] is not an object", name, idx);
	if (!json_is_string(id) || !json_string_length(id))
		return ferr_invalid(e, "%s: rules[%zu] needs an \"id\" string", name, idx);
	if (!json_is_string(re))
		return ferr_invalid(e, "%s: rule \"%s\" needs a \"regex\" string", name, json_string_value(id));
	if (sev && (!json_is_string(sev) || !valid_severity(json_string_value(sev))))
		return ferr_invalid(e, "%s: rule \"%s\": severity must be CRITICAL, HIGH, MEDIUM, LOW or "
				    "UNKNOWN", name, json_string_value(id));
	if (group && (!json_is_integer(group) || json_integer_value(group) < 0 ||
		      json_integer_value(group) > 9))
		return ferr_invalid(e, "%s: rule \"%s\": group must be 0 to 9", name, json_string_value(id));
	if (ent && !json_is_number(ent))
		return ferr_invalid(e, "%s: rule \"%s\": min_entropy must be a number", name,
				    json_string_value(id));
	if ((kw && !json_is_array(kw)) || json_array_size(kw) > MAX_KEYWORDS)
		return ferr_invalid(e, "%s: rule \"%s\": keywords must be a list of at most %d strings",
				    name, json_string_value(id), MAX_KEYWORDS);
	if ((allow && !json_is_array(allow)) || json_array_size(allow) > MAX_ALLOW)
		return ferr_invalid(e, "%s: rule \"%s\": allow must be a list of at most %d patterns",
				    name, json_string_value(id), MAX_ALLOW);
	if (compile(&r->re, json_string_value(re), json_is_true(json_object_get(o, "case_insensitive")),
		    name, json_string_value(id), "regex", e) < 0)
		return -1;
	if ((size_t)json_integer_value(group) > r->re.re_nsub) {
		regfree(&r->re);
		return ferr_invalid(e, "%s: rule \"%s\": group %d but the regex has %zu groups", name,
				    json_string_value(id), (int)json_integer_value(group), r->re.re_nsub);
	}
	r->id = xstrdup(json_string_value(id));
	r->title = xstrdup(json_is_string(title) ? json_string_value(title) : json_string_value(id));
	r->severity = xstrdup(sev ? json_string_value(sev) : "HIGH");
	r->group = (int)json_integer_value(group);
	r->min_entropy = ent ? json_number_value(ent) : 0;
	json_array_foreach(kw, i, v) {
		char *k;
		if (!json_is_string(v) || !json_string_length(v)) {
			rule_release(r, 1);
			return ferr_invalid(e, "%s: rule \"%s\": keywords must be non-empty strings", name,
					    json_string_value(id));
		}
		k = xstrdup(json_string_value(v));
		for (char *p = k; *p; p++)
			*p = (char)tolower((unsigned char)*p);
		r->keywords[r->n_keywords++] = k;
	}
	json_array_foreach(allow, i, v) {
		if (!json_is_string(v) || compile(&r->allow[r->n_allow], json_string_value(v), 0, name,
						  r->id, "an allow pattern", e) < 0) {
			ferr_invalid(e, "%s: rule \"%s\": allow patterns must be strings", name, r->id);
			rule_release(r, 1);
			return -1;
		}
		r->n_allow++;
	}
	return 0;
}

int secret_rules_parse(struct secret_rules **ret, const char *text, size_t len, const char *name,
		       struct ferr *e)
{
	json_error_t je;
	json_t *doc = json_loadb(text, len, JSON_REJECT_DUPLICATES, &je), *rules, *paths, *v;
	struct secret_rules *r;
	size_t i;

	*ret = NULL;
	if (!doc)
		return ferr_invalid(e, "%s:%d:%d: not valid JSON: %s", name, je.line, je.column, je.text);
	rules = json_object_get(doc, "rules");
	paths = json_object_get(doc, "allow_paths");
	if (!json_is_object(doc) || !json_is_array(rules)) {
		json_decref(doc);
		return ferr_invalid(e, "%s: the top level must be an object with a \"rules\" list", name);
	}
	if (paths && !json_is_array(paths)) {
		json_decref(doc);
		return ferr_invalid(e, "%s: \"allow_paths\" must be a list of globs", name);
	}
	r = calloc(1, sizeof(*r));
	if (!r)
		abort();
	r->rules = calloc(json_array_size(rules) + 1, sizeof(*r->rules));
	r->allow_paths = calloc(json_array_size(paths) + 1, sizeof(char *));
	if (!r->rules || !r->allow_paths)
		abort();
	json_array_foreach(paths, i, v) {
		if (!json_is_string(v)) {
			ferr_invalid(e, "%s: allow_paths[%zu] is not a string", name, i);
			goto fail;
		}
		r->allow_paths[i] = xstrdup(json_string_value(v));
	}
	json_array_foreach(rules, i, v) {
		if (rule_parse(&r->rules[r->n], v, i, name, e) < 0)
			goto fail;
		r->n++;
	}
	json_decref(doc);
	*ret = r;
	return 0;
fail:
	json_decref(doc);
	secret_rules_free(r);
	return -1;
}

/* All of fd, at most cap bytes in out: 0, or -1 with errno (EFBIG: larger). */
static int read_file(int fd, size_t cap, struct strbuf *out)
{
	int rc = strbuf_read_fd(out, fd, cap);

	if (rc > 0)
		errno = EFBIG;
	return rc ? -1 : 0;
}

int secret_rules_load(struct secret_rules **ret, const char *path, struct ferr *e)
{
	struct strbuf sb = STRBUF_INIT;
	int fd = open(path, O_RDONLY | O_CLOEXEC), rc;

	*ret = NULL;
	if (fd < 0)
		return ferr_invalid(e, "cannot read the secret rules %s: %s", path, strerror(errno));
	rc = read_file(fd, RULES_FILE_MAX, &sb);
	close(fd);
	if (rc < 0) {
		ferr_invalid(e, "cannot read the secret rules %s: %s", path, strerror(errno));
		strbuf_release(&sb);
		return -1;
	}
	rc = secret_rules_parse(ret, sb.buf, sb.len, path, e);
	strbuf_release(&sb);
	return rc;
}

/* ------------------------------------------------------------------ */
/* Globs                                                                */

static int glob_at(const char *g, const char *p)
{
	for (; *g; g++) {
		if (g[0] == '*' && g[1] == '*') {
			const char *rest = g + 2;
			/* "**" + "/" also matches no directory at all */
			if (*rest == '/' && glob_at(rest + 1, p))
				return 1;
			for (const char *q = p;; q++) {
				if (glob_at(rest, q))
					return 1;
				if (!*q)
					return 0;
			}
		}
		if (*g == '*') {
			for (const char *q = p;; q++) {
				if (glob_at(g + 1, q))
					return 1;
				if (!*q || *q == '/')
					return 0;
			}
		}
		if (!*p)
			return 0;
		if (*g == '?') {
			if (*p == '/')
				return 0;
		} else if (*g != *p) {
			return 0;
		}
		p++;
	}
	return !*p;
}

int secrets_glob_match(const char *glob, const char *path)
{
	while (*path == '/')
		path++;
	if (*glob == '/')
		glob++;
	if (!strchr(glob, '/')) {
		const char *base = strrchr(path, '/');
		return glob_at(glob, base ? base + 1 : path);
	}
	return glob_at(glob, path);
}

int secrets_path_allowed(const struct secret_rules *r, const char *const *extra, const char *path)
{
	for (char **g = r ? r->allow_paths : NULL; g && *g; g++)
		if (secrets_glob_match(*g, path))
			return 1;
	for (const char *const *g = extra; g && *g; g++)
		if (secrets_glob_match(*g, path))
			return 1;
	return 0;
}

char **secrets_allow_file_read(const char *path)
{
	struct strbuf sb = STRBUF_INIT;
	size_t n = 0, cap = 8;
	char **out = calloc(cap, sizeof(char *));
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);

	if (!out)
		abort();
	if (fd >= 0) {
		if (read_file(fd, 1 << 20, &sb) < 0)
			strbuf_reset(&sb);
		close(fd);
	}
	for (char *line = sb.buf, *next; line && *line; line = next) {
		char *end;
		next = strchr(line, '\n');
		if (next)
			*next++ = '\0';
		while (isspace((unsigned char)*line))
			line++;
		end = line + strlen(line);
		while (end > line && isspace((unsigned char)end[-1]))
			*--end = '\0';
		if (!*line || *line == '#')
			continue;
		if (n + 1 >= cap) {
			cap *= 2;
			out = realloc(out, cap * sizeof(char *));
			if (!out)
				abort();
		}
		out[n++] = xstrdup(line);
		out[n] = NULL;
	}
	strbuf_release(&sb);
	return out;
}

/* ------------------------------------------------------------------ */
/* Matching                                                             */

double secrets_entropy(const char *s, size_t len)
{
	size_t counts[256] = { 0 };
	double h = 0;

	if (!len)
		return 0;
	for (size_t i = 0; i < len; i++)
		counts[(unsigned char)s[i]]++;
	for (int c = 0; c < 256; c++) {
		double p;
		if (!counts[c])
			continue;
		p = (double)counts[c] / (double)len;
		h -= p * log2(p);
	}
	return h;
}

void secrets_redact(const char *secret, size_t len, char *out, size_t size)
{
	/* Enough to recognise which credential it is; never enough to use it. */
	size_t show = len >= 16 ? 4 : len >= 8 ? 2 : 0;
	char prefix[8];

	memcpy(prefix, secret, show);
	prefix[show] = '\0';
	for (size_t i = 0; i < show; i++)
		if (!isprint((unsigned char)prefix[i]))
			prefix[i] = '?';
	snprintf(out, size, "%s…(%zu chars)", prefix, len);
}

static int has_keyword(const struct secret_rule *r, const char *lower_line)
{
	if (!r->n_keywords)
		return 1;
	for (int i = 0; i < r->n_keywords; i++)
		if (strstr(lower_line, r->keywords[i]))
			return 1;
	return 0;
}

static int allowed_value(const struct secret_rule *r, const char *value)
{
	for (int i = 0; i < r->n_allow; i++)
		if (regexec(&r->allow[i], value, 0, NULL, 0) == 0)
			return 1;
	return 0;
}

static void add_secret(json_t *findings, const struct secret_rule *r, const char *path, int line,
		       const char *secret, size_t len)
{
	char red[64];
	struct strbuf where = STRBUF_INIT;

	secrets_redact(secret, len, red, sizeof(red));
	strbuf_addf(&where, "%s:%d", path, line);
	json_array_append_new(findings, json_pack(
		"{s:s, s:s, s:s, s:s, s:n, s:n, s:n, s:s, s:s, s:i, s:s, s:s}",
		"id", r->id, "type", "secret", "severity", r->severity, "title", r->title,
		"package", "installed_version", "fixed_version",
		"where", where.buf, "file", path, "line", line, "rule", r->id, "match", red));
	strbuf_release(&where);
}

/* One line (NUL-terminated, with its lower-case copy): every rule, first
 * match of each. */
static int scan_line(const struct secret_rules *rs, const char *path, int lineno, const char *line,
		     const char *lower, json_t *findings)
{
	int n = 0;

	if (strstr(lower, ALLOW_MARK))
		return 0;
	for (size_t i = 0; i < rs->n; i++) {
		const struct secret_rule *r = &rs->rules[i];
		regmatch_t m[10];
		const char *secret;
		size_t len;
		char *value;

		if (!has_keyword(r, lower))
			continue;
		if (regexec(&r->re, line, 10, m, 0) != 0)
			continue;
		if (m[r->group].rm_so < 0)
			continue;
		secret = line + m[r->group].rm_so;
		len = (size_t)(m[r->group].rm_eo - m[r->group].rm_so);
		if (r->min_entropy > 0 && secrets_entropy(secret, len) < r->min_entropy)
			continue;
		value = strndup(secret, len);
		if (!value)
			abort();
		if (!allowed_value(r, value)) {
			add_secret(findings, r, path, lineno, secret, len);
			n++;
		}
		explicit_bzero(value, len);
		free(value);
	}
	return n;
}

/* Longer lines (minified code, data) are cut for matching: a secret sits
 * near an assignment, and regexec on megabyte lines costs too much. */
#define LINE_SCAN_MAX 16384

int secrets_scan_buffer(const struct secret_rules *r, const char *path, const char *buf,
			size_t len, json_t *findings)
{
	char *line = malloc(LINE_SCAN_MAX + 1), *lower = malloc(LINE_SCAN_MAX + 1);
	int n = 0, lineno = 0;

	if (!line || !lower)
		abort();
	for (size_t i = 0; i < len;) {
		size_t eol = i, l;
		while (eol < len && buf[eol] != '\n')
			eol++;
		lineno++;
		l = eol - i;
		if (l > LINE_SCAN_MAX)
			l = LINE_SCAN_MAX;
		memcpy(line, buf + i, l);
		line[l] = '\0';
		if (l && line[l - 1] == '\r')
			line[--l] = '\0';
		if (memchr(line, '\0', l))
			l = strlen(line);
		for (size_t k = 0; k <= l; k++)
			lower[k] = (char)tolower((unsigned char)line[k]);
		if (l)
			n += scan_line(r, path, lineno, line, lower, findings);
		i = eol + 1;
	}
	explicit_bzero(line, LINE_SCAN_MAX + 1);
	free(line);
	free(lower);
	return n;
}

/* ------------------------------------------------------------------ */
/* Walking a tree                                                       */

struct walk {
	const struct secret_rules *r;
	const struct secret_scan_opts *o;
	json_t *findings;
	struct secret_scan_stats *st;
	size_t max_file, max_files, max_bytes;
	struct strbuf buf;
};

static int walk_stop(struct walk *w)
{
	if (w->st->incomplete)
		return 1;
	if (w->st->files_scanned >= w->max_files || w->st->bytes_scanned >= w->max_bytes ||
	    (w->o->deadline_ms && mono_ms() >= w->o->deadline_ms))
		w->st->incomplete = 1;
	return w->st->incomplete;
}

static void scan_file(struct walk *w, int dirfd, const char *name, const char *rel, off_t size)
{
	struct strbuf shown = STRBUF_INIT;
	int fd;

	if ((size_t)size > w->max_file || secrets_path_allowed(w->r, w->o->allow_globs, rel)) {
		w->st->files_skipped++;
		return;
	}
	fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
	if (fd < 0) {
		w->st->files_skipped++;
		return;
	}
	strbuf_reset(&w->buf);
	if (read_file(fd, w->max_file, &w->buf) < 0 ||
	    memchr(w->buf.buf, '\0', w->buf.len < BINARY_SNIFF ? w->buf.len : BINARY_SNIFF)) {
		close(fd);
		w->st->files_skipped++;
		return;
	}
	close(fd);
	strbuf_addf(&shown, "%s%s", w->o->where_prefix ? w->o->where_prefix : "", rel);
	secrets_scan_buffer(w->r, shown.buf, w->buf.buf, w->buf.len, w->findings);
	w->st->files_scanned++;
	w->st->bytes_scanned += w->buf.len;
	strbuf_release(&shown);
}

static int skipped_top(const struct walk *w, const char *name)
{
	for (const char *const *d = w->o->skip_dirs; d && *d; d++)
		if (!strcmp(*d, name))
			return 1;
	return 0;
}

static void walk_dir(struct walk *w, int fd, struct strbuf *rel, int depth)
{
	DIR *d = fdopendir(fd);
	struct dirent *de;
	size_t base = rel->len;

	if (!d) {
		close(fd);
		return;
	}
	while (!walk_stop(w) && (de = readdir(d))) {
		struct stat sb;

		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		if (fstatat(dirfd(d), de->d_name, &sb, AT_SYMLINK_NOFOLLOW) < 0)
			continue;
		strbuf_setlen(rel, base);
		if (base)
			strbuf_addch(rel, '/');
		strbuf_addstr(rel, de->d_name);
		if (S_ISDIR(sb.st_mode)) {
			int sub;
			if (!strcmp(de->d_name, ".git") || depth >= MAX_DEPTH ||
			    (depth == 0 && skipped_top(w, de->d_name)))
				continue;
			sub = openat(dirfd(d), de->d_name, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
			if (sub >= 0)
				walk_dir(w, sub, rel, depth + 1);
		} else if (S_ISREG(sb.st_mode)) {
			scan_file(w, dirfd(d), de->d_name, rel->buf, sb.st_size);
		}
	}
	strbuf_setlen(rel, base);
	closedir(d);
}

int secrets_scan_tree(const struct secret_rules *r, const char *root,
		      const struct secret_scan_opts *o, json_t *findings,
		      struct secret_scan_stats *st, struct ferr *e)
{
	static const struct secret_scan_opts none;
	struct walk w = { .r = r, .o = o ? o : &none, .findings = findings, .st = st };
	struct strbuf rel = STRBUF_INIT;
	int fd;

	memset(st, 0, sizeof(*st));
	w.max_file = w.o->max_file_size ? w.o->max_file_size : DEFAULT_MAX_FILE;
	w.max_files = w.o->max_files ? w.o->max_files : DEFAULT_MAX_FILES;
	w.max_bytes = w.o->max_bytes ? w.o->max_bytes : DEFAULT_MAX_BYTES;
	strbuf_init(&w.buf, 0);
	fd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return ferr_internal(e, "cannot open %s to look for secrets: %s", root, strerror(errno));
	walk_dir(&w, fd, &rel, 0);
	explicit_bzero(w.buf.buf, w.buf.len);
	strbuf_release(&w.buf);
	strbuf_release(&rel);
	return 0;
}
