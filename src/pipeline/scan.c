#include "pipeline/scan.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "pipeline/dockerfile_scan.h"
#include "pipeline/layer_mount.h"
#include "pipeline/secrets.h"
#include "pipeline/vuln.h"
#include "lib/beneath.h"
#include "lib/xalloc.h"
#include "lib/banned.h"

#define IGNORE_FILE_MAX (1u << 20)
#define EXTERNAL_OUT_MAX (64u << 20)
#define LOG_FINDINGS_MAX 50

static const char *const level_names[] = { "UNKNOWN", "LOW", "MEDIUM", "HIGH", "CRITICAL" };
static const char *const fail_on_names[] = { "unknown", "low", "medium", "high", "critical", "never" };

int scan_severity_level(const char *name)
{
	for (int i = SCAN_UNKNOWN; i <= SCAN_CRITICAL; i++)
		if (name && !strcasecmp(name, level_names[i]))
			return i;
	return -1;
}

const char *scan_severity_name(int level)
{
	return level >= SCAN_UNKNOWN && level <= SCAN_CRITICAL ? level_names[level] : "UNKNOWN";
}

int scan_fail_on_parse(const char *s)
{
	for (int i = SCAN_LOW; i <= SCAN_NEVER; i++)
		if (s && !strcasecmp(s, fail_on_names[i]))
			return i;
	return -1;
}

const char *scan_fail_on_name(int level)
{
	return level >= SCAN_LOW && level <= SCAN_NEVER ? fail_on_names[level] : "critical";
}

/* ------------------------------------------------------------------ */
/* Ignore files                                                         */

static void ignore_push(struct scan_ignore *ig, const char *id, size_t len, const char *file)
{
	char **ids = realloc(ig->ids, (ig->n + 1) * sizeof(char *));
	char **files = ids ? realloc(ig->files, (ig->n + 1) * sizeof(char *)) : NULL;

	if (!ids || !files)
		abort();
	ig->ids = ids;
	ig->files = files;
	ig->ids[ig->n] = strndup(id, len);
	ig->files[ig->n] = xstrdup(file);
	if (!ig->ids[ig->n])
		abort();
	ig->n++;
}

/* "exp:YYYY-MM-DD" past now (the whole day counts, in UTC). */
static int expired(const char *rest, time_t now)
{
	const char *p = strstr(rest, "exp:");
	struct tm tm = { 0 };
	char *end;

	if (!p)
		return 0;
	end = strptime(p + 4, "%Y-%m-%d", &tm);
	if (!end)
		return 0;
	return timegm(&tm) + 86400 <= now;
}

void scan_ignore_add_text(struct scan_ignore *ig, const char *text, size_t len, const char *file,
			  time_t now)
{
	size_t i = 0;

	while (i < len) {
		size_t eol = i, b, idlen;
		char rest[128];

		while (eol < len && text[eol] != '\n')
			eol++;
		b = i;
		i = eol + 1;
		while (b < eol && isspace((unsigned char)text[b]))
			b++;
		if (b == eol || text[b] == '#')
			continue;
		idlen = 0;
		while (b + idlen < eol && !isspace((unsigned char)text[b + idlen]) && text[b + idlen] != '#')
			idlen++;
		{
			size_t r = b + idlen, rl = 0;
			while (r < eol && text[r] != '#' && rl + 1 < sizeof(rest))
				rest[rl++] = text[r++];
			rest[rl] = '\0';
		}
		if (expired(rest, now)) {
			if (!ig->expired)
				ig->expired = json_array();
			json_array_append_new(ig->expired, json_stringn(text + b, idlen));
			continue;
		}
		ignore_push(ig, text + b, idlen, file);
	}
}

void scan_ignore_load(struct scan_ignore *ig, const char *dir, time_t now)
{
	static const char *const names[] = { ".trivyignore", ".ferryignore", NULL };

	for (const char *const *n = names; *n; n++) {
		struct strbuf text = STRBUF_INIT;
		int fd = open_beneath_path(dir, *n, O_RDONLY | O_NOFOLLOW, 0);

		if (fd < 0)
			continue;
		strbuf_read_fd(&text, fd, IGNORE_FILE_MAX); /* a prefix at most */
		close(fd);
		scan_ignore_add_text(ig, text.buf, text.len, *n, now);
		strbuf_release(&text);
	}
}

void scan_ignore_release(struct scan_ignore *ig)
{
	for (size_t i = 0; i < ig->n; i++) {
		free(ig->ids[i]);
		free(ig->files[i]);
	}
	free(ig->ids);
	free(ig->files);
	json_decref(ig->expired);
	*ig = (struct scan_ignore)SCAN_IGNORE_INIT;
}

const char *scan_ignore_match(const struct scan_ignore *ig, json_t *f)
{
	const char *id = json_string_value(json_object_get(f, "id"));
	json_t *aliases = json_object_get(f, "aliases"), *a;
	size_t k;

	for (size_t i = 0; i < ig->n; i++) {
		if (id && !strcmp(ig->ids[i], id))
			return ig->files[i];
		json_array_foreach(aliases, k, a)
			if (json_is_string(a) && !strcmp(ig->ids[i], json_string_value(a)))
				return ig->files[i];
	}
	return NULL;
}

/* ------------------------------------------------------------------ */
/* Policy and report                                                    */

static int finding_level(json_t *f)
{
	int l = scan_severity_level(json_string_value(json_object_get(f, "severity")));
	return l < 0 ? SCAN_UNKNOWN : l;
}

/* Most severe first; then by id and where, so reports compare. */
static int finding_cmp(const void *a, const void *b)
{
	json_t *fa = *(json_t *const *)a, *fb = *(json_t *const *)b;
	int d = finding_level(fb) - finding_level(fa);
	const char *ia, *ib;

	if (d)
		return d;
	ia = json_string_value(json_object_get(fa, "id"));
	ib = json_string_value(json_object_get(fb, "id"));
	d = strcmp(ia ? ia : "", ib ? ib : "");
	if (d)
		return d;
	ia = json_string_value(json_object_get(fa, "where"));
	ib = json_string_value(json_object_get(fb, "where"));
	return strcmp(ia ? ia : "", ib ? ib : "");
}

static json_t *sorted(json_t *arr)
{
	size_t n = json_array_size(arr);
	json_t **v = calloc(n + 1, sizeof(*v)), *out = json_array();

	if (!v)
		abort();
	for (size_t i = 0; i < n; i++)
		v[i] = json_array_get(arr, i);
	qsort(v, n, sizeof(*v), finding_cmp);
	for (size_t i = 0; i < n; i++)
		json_array_append(out, v[i]);
	free(v);
	return out;
}

json_t *scan_report_make(json_t *findings, const struct scan_ignore *ig, int fail_on,
			 json_t *scanners)
{
	json_t *kept = json_array(), *suppressed = json_array(), *summary = json_object();
	json_t *files = json_array(), *report, *f, *first = NULL;
	int counts[SCAN_CRITICAL + 1] = { 0 }, blocking = 0;
	struct strbuf reason = STRBUF_INIT;
	size_t i;

	json_array_foreach(findings, i, f) {
		const char *by = ig ? scan_ignore_match(ig, f) : NULL;
		if (by) {
			json_t *s = json_deep_copy(f);
			json_object_set_new(s, "suppressed_by", json_string(by));
			json_array_append_new(suppressed, s);
			continue;
		}
		json_array_append(kept, f);
	}
	json_decref(findings);
	findings = sorted(kept);
	json_decref(kept);
	kept = sorted(suppressed);
	json_decref(suppressed);
	suppressed = kept;
	json_array_foreach(findings, i, f) {
		int l = finding_level(f);
		counts[l]++;
		if (fail_on != SCAN_NEVER && l >= fail_on && l != SCAN_UNKNOWN) {
			if (!blocking)
				first = f;
			blocking++;
		}
	}
	for (int l = SCAN_CRITICAL; l >= SCAN_UNKNOWN; l--)
		json_object_set_new(summary, level_names[l], json_integer(counts[l]));
	for (size_t k = 0; ig && k < ig->n; k++) {
		int seen = 0;
		json_t *v;
		size_t j;
		json_array_foreach(files, j, v)
			seen |= !strcmp(json_string_value(v), ig->files[k]);
		if (!seen)
			json_array_append_new(files, json_string(ig->files[k]));
	}
	if (blocking) {
		strbuf_addf(&reason, "%d finding%s at or above %s (the component's scan policy is "
			    "fail-on=%s); first: %s %s at %s: %s", blocking, blocking == 1 ? "" : "s",
			    level_names[fail_on], fail_on_names[fail_on],
			    json_string_value(json_object_get(first, "severity")),
			    json_string_value(json_object_get(first, "id")),
			    json_string_value(json_object_get(first, "where")),
			    json_string_value(json_object_get(first, "title")));
	}
	report = json_pack("{s:b, s:s, s:o, s:i, s:o, s:o, s:o, s:o, s:o}",
			   "passed", !blocking, "fail_on", scan_fail_on_name(fail_on),
			   "summary", summary, "blocking", blocking,
			   "reason", blocking ? json_string(reason.buf) : json_null(),
			   "findings", findings, "suppressed", suppressed, "ignore_files", files,
			   "scanners", scanners ? scanners : json_array());
	if (ig && ig->expired)
		json_object_set(report, "ignore_expired", ig->expired);
	strbuf_release(&reason);
	return report;
}

void scan_report_summary(json_t *report, struct strbuf *out)
{
	json_t *s = json_object_get(report, "summary");

	strbuf_addf(out, "%lld critical, %lld high, %lld medium, %lld low, %lld unknown",
		    (long long)json_integer_value(json_object_get(s, "CRITICAL")),
		    (long long)json_integer_value(json_object_get(s, "HIGH")),
		    (long long)json_integer_value(json_object_get(s, "MEDIUM")),
		    (long long)json_integer_value(json_object_get(s, "LOW")),
		    (long long)json_integer_value(json_object_get(s, "UNKNOWN")));
	if (json_array_size(json_object_get(report, "suppressed")))
		strbuf_addf(out, "; %zu suppressed", json_array_size(json_object_get(report, "suppressed")));
}

/* ------------------------------------------------------------------ */
/* External scanners                                                    */

static json_t *str_or_null(json_t *v)
{
	return json_is_string(v) && json_string_length(v) ? json_incref(v) : json_null();
}

static const char *norm_severity(const char *s)
{
	int l = scan_severity_level(s);
	/* grype says "Negligible" */
	if (l < 0 && s && !strcasecmp(s, "negligible"))
		l = SCAN_LOW;
	return scan_severity_name(l < 0 ? SCAN_UNKNOWN : l);
}

int scan_parse_trivy(const char *text, size_t len, json_t *findings, struct ferr *e)
{
	json_error_t je;
	json_t *doc = json_loadb(text, len, 0, &je), *results, *r;
	size_t i;
	int n = 0;

	if (!doc)
		return ferr_invalid(e, "trivy's output is not JSON: %s (line %d)", je.text, je.line);
	results = json_object_get(doc, "Results");
	if (!json_is_object(doc) || (results && !json_is_array(results))) {
		json_decref(doc);
		return ferr_invalid(e, "trivy's output has no \"Results\" list");
	}
	json_array_foreach(results, i, r) {
		const char *target = json_string_value(json_object_get(r, "Target"));
		json_t *v;
		size_t k;
		json_array_foreach(json_object_get(r, "Vulnerabilities"), k, v) {
			json_t *id = json_object_get(v, "VulnerabilityID");
			json_t *path = json_object_get(v, "PkgPath");
			json_t *title = json_object_get(v, "Title");
			if (!json_is_string(id))
				continue;
			if (!json_is_string(title))
				title = json_object_get(v, "Description");
			json_array_append_new(findings, json_pack(
				"{s:O, s:s, s:[], s:s, s:o, s:o, s:o, s:o, s:o, s:s, s:o}",
				"id", id, "type", "vulnerability", "aliases",
				"severity", norm_severity(json_string_value(json_object_get(v, "Severity"))),
				"title", str_or_null(title),
				"package", str_or_null(json_object_get(v, "PkgName")),
				"installed_version", str_or_null(json_object_get(v, "InstalledVersion")),
				"fixed_version", str_or_null(json_object_get(v, "FixedVersion")),
				"where", json_is_string(path) ? json_incref(path) :
					 json_string(target ? target : ""),
				"source", "trivy",
				"ecosystem", str_or_null(json_object_get(r, "Type"))));
			n++;
		}
	}
	json_decref(doc);
	return n;
}

int scan_parse_grype(const char *text, size_t len, json_t *findings, struct ferr *e)
{
	json_error_t je;
	json_t *doc = json_loadb(text, len, 0, &je), *matches, *m;
	size_t i;
	int n = 0;

	if (!doc)
		return ferr_invalid(e, "grype's output is not JSON: %s (line %d)", je.text, je.line);
	matches = json_object_get(doc, "matches");
	if (!json_is_object(doc) || !json_is_array(matches)) {
		json_decref(doc);
		return ferr_invalid(e, "grype's output has no \"matches\" list");
	}
	json_array_foreach(matches, i, m) {
		json_t *v = json_object_get(m, "vulnerability"), *a = json_object_get(m, "artifact");
		json_t *fix = json_object_get(json_object_get(v, "fix"), "versions");
		json_t *loc = json_object_get(json_array_get(json_object_get(a, "locations"), 0), "path");
		json_t *aliases = json_array(), *rel;
		size_t k;

		if (!json_is_string(json_object_get(v, "id"))) {
			json_decref(aliases);
			continue;
		}
		json_array_foreach(json_object_get(m, "relatedVulnerabilities"), k, rel)
			if (json_is_string(json_object_get(rel, "id")) &&
			    !json_equal(json_object_get(rel, "id"), json_object_get(v, "id")))
				json_array_append(aliases, json_object_get(rel, "id"));
		json_array_append_new(findings, json_pack(
			"{s:O, s:s, s:o, s:s, s:o, s:o, s:o, s:o, s:o, s:s, s:o}",
			"id", json_object_get(v, "id"), "type", "vulnerability", "aliases", aliases,
			"severity", norm_severity(json_string_value(json_object_get(v, "severity"))),
			"title", str_or_null(json_object_get(v, "description")),
			"package", str_or_null(json_object_get(a, "name")),
			"installed_version", str_or_null(json_object_get(a, "version")),
			"fixed_version", str_or_null(json_array_get(fix, 0)),
			"where", json_is_string(loc) ? json_incref(loc) : json_string(""),
			"source", "grype",
			"ecosystem", str_or_null(json_object_get(a, "type"))));
		n++;
	}
	json_decref(doc);
	return n;
}

static int same_text(json_t *a, json_t *b)
{
	const char *x = json_string_value(a), *y = json_string_value(b);
	return x && y && !strcmp(x, y);
}

/* a and b name the same vulnerability (id or an alias in common). */
static int same_vuln(json_t *a, json_t *b)
{
	json_t *ia = json_object_get(a, "id"), *ib = json_object_get(b, "id"), *x, *y;
	size_t i, j;

	if (same_text(ia, ib))
		return 1;
	json_array_foreach(json_object_get(a, "aliases"), i, x) {
		if (same_text(x, ib))
			return 1;
		json_array_foreach(json_object_get(b, "aliases"), j, y)
			if (same_text(x, y))
				return 1;
	}
	json_array_foreach(json_object_get(b, "aliases"), j, y)
		if (same_text(ia, y))
			return 1;
	return 0;
}

int scan_merge(json_t *findings, json_t *external, const char *source)
{
	json_t *x, *f;
	size_t i, j;
	int n = 0;

	json_array_foreach(external, i, x) {
		json_t *dup = NULL;
		json_array_foreach(findings, j, f) {
			if (same_vuln(f, x) && same_text(json_object_get(f, "package"), json_object_get(x, "package")) &&
			    same_text(json_object_get(f, "installed_version"),
				      json_object_get(x, "installed_version"))) {
				dup = f;
				break;
			}
		}
		if (dup) {
			json_t *s = json_object_get(dup, "sources");
			if (!s) {
				s = json_array();
				json_object_set_new(dup, "sources", s);
			}
			json_array_append_new(s, json_string(source));
			continue;
		}
		json_object_set_new(x, "source", json_string(source));
		json_array_append(findings, x);
		n++;
	}
	return n;
}

/* ------------------------------------------------------------------ */
/* Running the scan                                                     */

static void say(const struct scan_request *rq, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void say(const struct scan_request *rq, const char *fmt, ...)
{
	struct strbuf sb = STRBUF_INIT;
	va_list ap;

	if (!rq->w || !rq->w->log)
		return;
	va_start(ap, fmt);
	strbuf_vaddf(&sb, fmt, ap);
	va_end(ap);
	rq->w->log(rq->w->log_ctx, sb.buf, sb.len);
	strbuf_release(&sb);
}

static int stopped(const struct scan_request *rq, struct ferr *e)
{
	if (rq->w && rq->w->cancel && atomic_load(rq->w->cancel))
		return ferr_set(e, 409, "canceled", "the scan was cancelled");
	if (rq->w && rq->w->deadline_ms && image_deadline(1) > rq->w->deadline_ms)
		return ferr_set(e, 504, "timeout", "the scan did not finish before the build's time limit");
	return 0;
}

static int read_capped(const char *path, size_t cap, struct strbuf *out)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC), rc, err;

	if (fd < 0)
		return -1;
	rc = strbuf_read_fd(out, fd, cap);
	err = rc > 0 ? EFBIG : errno;
	close(fd);
	errno = err;
	return rc ? -1 : 0;
}

static json_t *scanner(const char *name, const char *status)
{
	return json_pack("{s:s, s:s}", "name", name, "status", status);
}

static void step_dockerfile(const struct scan_request *rq, json_t *findings, json_t *scanners)
{
	struct strbuf text = STRBUF_INIT, path = STRBUF_INIT;
	const char *file = rq->dockerfile ? rq->dockerfile : "Dockerfile";
	struct ferr e = FERR_INIT;
	json_t *s;
	int n;

	if (rq->dockerfile_text) {
		strbuf_addstr(&text, rq->dockerfile_text);
		file = "(generated Dockerfile)";
	} else {
		strbuf_addf(&path, "%s/%s", rq->context_dir, file);
		if (read_capped(path.buf, DOCKERFILE_SCAN_MAX, &text) < 0) {
			say(rq, "dockerfile: cannot read %s: %s", file, strerror(errno));
			json_array_append_new(scanners, scanner("dockerfile", "error"));
			goto out;
		}
	}
	n = dockerfile_scan(text.buf, text.len, file, findings, &e);
	if (n < 0) {
		say(rq, "dockerfile: %s", e.msg);
		s = scanner("dockerfile", "error");
		json_object_set_new(s, "error", json_string(e.msg));
	} else {
		say(rq, "dockerfile: %s, %d finding%s", file, n, n == 1 ? "" : "s");
		s = scanner("dockerfile", "ok");
		json_object_set_new(s, "findings", json_integer(n));
	}
	json_array_append_new(scanners, s);
out:
	strbuf_release(&text);
	strbuf_release(&path);
}

static void step_secrets(const struct scan_config *c, const struct scan_request *rq,
			 const char *root, const char *name, const struct secret_scan_opts *o,
			 json_t *findings, json_t *scanners)
{
	struct secret_scan_stats st;
	struct ferr e = FERR_INIT;
	size_t before = json_array_size(findings);
	json_t *s;

	if (!c->rules) {
		json_array_append_new(scanners, scanner(name, "skipped"));
		return;
	}
	if (secrets_scan_tree(c->rules, root, o, findings, &st, &e) < 0) {
		say(rq, "%s: %s", name, e.msg);
		s = scanner(name, "error");
		json_object_set_new(s, "error", json_string(e.msg));
		json_array_append_new(scanners, s);
		return;
	}
	say(rq, "%s: %zu files read, %zu skipped (large, binary or allow-listed), %zu finding%s%s",
	    name, st.files_scanned, st.files_skipped, json_array_size(findings) - before,
	    json_array_size(findings) - before == 1 ? "" : "s",
	    st.incomplete ? "; stopped at a limit: not every file was read" : "");
	s = json_pack("{s:s, s:s, s:I, s:I, s:I, s:b}", "name", name, "status",
		      st.incomplete ? "incomplete" : "ok", "files", (json_int_t)st.files_scanned,
		      "skipped", (json_int_t)st.files_skipped,
		      "findings", (json_int_t)(json_array_size(findings) - before),
		      "incomplete", st.incomplete);
	json_array_append_new(scanners, s);
}

static void step_vulns(const struct scan_config *c, const struct scan_request *rq,
		       const char *rootfs, json_t *findings, json_t *scanners)
{
	struct ferr e = FERR_INIT;
	json_t *found = NULL, *s, *f;
	size_t i;

	if (!c->vulndb) {
		json_array_append_new(scanners, scanner("vulnerabilities", "skipped"));
		return;
	}
	/* Cheap when nothing changed: a snapshot of the directory is compared. */
	if (vulndb_refresh(c->vulndb, &e) < 0) {
		say(rq, "vulnerabilities: the database could not be reloaded (%s); using the one "
		    "loaded before", e.msg);
		ferr_clear(&e);
	}
	if (!vulndb_count(c->vulndb))
		say(rq, "vulnerabilities: the database %s holds no advisories: nothing to match "
		    "(see docs/scanning.md to fill it)", c->vulndb_dir ? c->vulndb_dir : "");
	if (vuln_scan_rootfs(c->vulndb, rootfs, &found, &e) < 0) {
		say(rq, "vulnerabilities: %s", e.msg);
		s = scanner("vulnerabilities", "error");
		json_object_set_new(s, "error", json_string(e.msg));
		json_array_append_new(scanners, s);
		return;
	}
	json_array_foreach(found, i, f) {
		if (!json_object_get(f, "type"))
			json_object_set_new(f, "type", json_string("vulnerability"));
		json_array_append(findings, f);
	}
	say(rq, "vulnerabilities: %zu advisories, %zu finding%s", vulndb_count(c->vulndb),
	    json_array_size(found), json_array_size(found) == 1 ? "" : "s");
	s = json_pack("{s:s, s:s, s:I, s:I}", "name", "vulnerabilities", "status", "ok",
		      "advisories", (json_int_t)vulndb_count(c->vulndb),
		      "findings", (json_int_t)json_array_size(found));
	json_array_append_new(scanners, s);
	json_decref(found);
}

static void step_external(const struct scan_config *c, const struct scan_request *rq,
			  const char *rootfs, json_t *findings, json_t *scanners)
{
	char tmpl[] = "/tmp/ferry-scan-XXXXXX";
	struct image_watch w = { NULL, NULL, rq->w ? rq->w->cancel : NULL,
				 rq->w ? rq->w->deadline_ms : 0, NULL };
	struct strbuf out = STRBUF_INIT, tail = STRBUF_INIT, target = STRBUF_INIT;
	struct ferr e = FERR_INIT;
	json_t *ext = json_array(), *s;
	const char *argv[16];
	int fd, status, n, argc = 0, trivy = !strcmp(c->external, "trivy");

	fd = mkstemp(tmpl);
	if (fd < 0) {
		say(rq, "%s: cannot make a scratch file: %s", c->external, strerror(errno));
		json_array_append_new(scanners, scanner(c->external, "error"));
		json_decref(ext);
		return;
	}
	close(fd);
	if (trivy) {
		argv[argc++] = "trivy";
		argv[argc++] = "rootfs";
		argv[argc++] = "--quiet";
		argv[argc++] = "--scanners";
		argv[argc++] = "vuln";
		argv[argc++] = "--format";
		argv[argc++] = "json";
		argv[argc++] = "--output";
		argv[argc++] = tmpl;
		argv[argc++] = rootfs;
	} else {
		strbuf_addf(&target, "dir:%s", rootfs);
		argv[argc++] = "grype";
		argv[argc++] = "--quiet";
		argv[argc++] = "-o";
		argv[argc++] = "json";
		argv[argc++] = "--file";
		argv[argc++] = tmpl;
		argv[argc++] = target.buf;
	}
	argv[argc] = NULL;
	say(rq, "%s: scanning the image's files", c->external);
	status = image_tool_run(rq->registry, argv, &w, NULL, &tail, &e);
	if (status != 0 || read_capped(tmpl, EXTERNAL_OUT_MAX, &out) < 0) {
		const char *why = status < 0 ? e.msg : status ? "it failed" : strerror(errno);
		say(rq, "%s: no result (%s, exit %d); the built-in scanner's findings stand alone",
		    c->external, why, status);
		s = scanner(c->external, "error");
		json_object_set_new(s, "error", json_string(why));
		json_array_append_new(scanners, s);
		goto out;
	}
	n = trivy ? scan_parse_trivy(out.buf, out.len, ext, &e) : scan_parse_grype(out.buf, out.len, ext, &e);
	if (n < 0) {
		say(rq, "%s: %s", c->external, e.msg);
		s = scanner(c->external, "error");
		json_object_set_new(s, "error", json_string(e.msg));
		json_array_append_new(scanners, s);
		goto out;
	}
	n = scan_merge(findings, ext, c->external);
	say(rq, "%s: %zu finding%s, %d not already found", c->external, json_array_size(ext),
	    json_array_size(ext) == 1 ? "" : "s", n);
	s = json_pack("{s:s, s:s, s:I, s:i}", "name", c->external, "status", "ok",
		      "findings", (json_int_t)json_array_size(ext), "new", n);
	json_array_append_new(scanners, s);
out:
	unlink(tmpl);
	json_decref(ext);
	strbuf_release(&out);
	strbuf_release(&tail);
	strbuf_release(&target);
}

/* The last non-empty line of a tool's stdout (buildah from prints the
 * container's id, buildah mount its root). */
static void last_line(struct strbuf *sb)
{
	while (sb->len && isspace((unsigned char)sb->buf[sb->len - 1]))
		strbuf_setlen(sb, sb->len - 1);
	{
		char *nl = strrchr(sb->buf, '\n');
		if (nl) {
			size_t off = (size_t)(nl + 1 - sb->buf);
			memmove(sb->buf, nl + 1, sb->len - off + 1);
			strbuf_setlen(sb, sb->len - off);
		}
	}
}

/* A working container of the image and its mounted root; or, with
 * layered, the root mounted from the image's layers. */
struct mounted {
	struct strbuf cid;
	struct strbuf root;
	int layered;
};

/* The image's root from its layers at <context_dir>-root (a directory of
 * the build's own, next to its checkout). 0, or -1: use buildah. */
static int layers_mount(const struct scan_request *rq, struct mounted *m)
{
	const char *id = rq->image_id;
	struct ferr e = FERR_INIT;

	if (!id || !rq->graph_root || !rq->context_dir)
		return -1;
	if (!strncmp(id, "sha256:", 7))
		id += 7;
	strbuf_addf(&m->root, "%s-root", rq->context_dir);
	if (mkdir(m->root.buf, 0700) < 0 && errno != EEXIST) {
		say(rq, "image: cannot make %s (%s): mounting with buildah", m->root.buf, strerror(errno));
		strbuf_reset(&m->root);
		return -1;
	}
	if (layer_mount(rq->graph_root, id, m->root.buf, &e) < 0) {
		say(rq, "image: %s: mounting with buildah", e.msg);
		rmdir(m->root.buf);
		strbuf_reset(&m->root);
		return -1;
	}
	m->layered = 1;
	return 0;
}

static int image_mount(const struct scan_request *rq, struct mounted *m, struct ferr *e)
{
	struct image_watch w = { NULL, NULL, rq->w ? rq->w->cancel : NULL,
				 rq->w ? rq->w->deadline_ms : 0, NULL };
	char cidfile[] = "/tmp/ferry-scan-cid-XXXXXX";
	const char *from[16] = { "buildah", "from", "--pull-never", "--quiet", "--cidfile", cidfile };
	size_t nfrom = 6;
	const char *mount[] = { "buildah", "mount", NULL, NULL };
	struct strbuf tail = STRBUF_INIT, out = STRBUF_INIT;
	int fd, status;

	/* buildah wants to create the cid file itself */
	fd = mkstemp(cidfile);
	if (fd < 0)
		return ferr_internal(e, "cannot make a scratch file: %s", strerror(errno));
	close(fd);
	unlink(cidfile);
	for (size_t i = 0; rq->from_args && rq->from_args[i] && i < 8; i++)
		from[nfrom++] = rq->from_args[i];
	from[nfrom++] = rq->image;
	from[nfrom] = NULL;
	status = image_tool_run(rq->registry, from, &w, &out, &tail, e);
	if (status < 0)
		goto fail;
	if (status == 0)
		read_capped(cidfile, 4096, &m->cid);
	last_line(&m->cid);
	if (status != 0 || !m->cid.len || strspn(m->cid.buf, "0123456789abcdef") != m->cid.len) {
		ferr_set(e, 500, "scan_failed", "buildah from %s failed (exit %d): %.300s", rq->image,
			 status, tail.len ? tail.buf : out.buf);
		strbuf_reset(&m->cid);
		goto fail;
	}
	mount[2] = m->cid.buf;
	strbuf_reset(&tail);
	status = image_tool_run(rq->registry, mount, &w, &m->root, &tail, e);
	if (status < 0)
		goto fail;
	last_line(&m->root);
	if (status != 0 || m->root.buf[0] != '/') {
		ferr_set(e, 500, "scan_failed", "buildah mount failed (exit %d): %.300s (mounting "
			 "needs root; see docs/scanning.md)", status, tail.buf);
		strbuf_reset(&m->root);
		goto fail;
	}
	unlink(cidfile);
	strbuf_release(&tail);
	strbuf_release(&out);
	return 0;
fail:
	unlink(cidfile);
	strbuf_release(&tail);
	strbuf_release(&out);
	return -1;
}

/* Removes the working container by its id (buildah rm unmounts it
 * first: no buildah umount of its own). */
static void image_unmount(const struct scan_request *rq, struct mounted *m)
{
	const char *rm[] = { "buildah", "rm", m->cid.buf, NULL };
	struct ferr e = FERR_INIT;

	if (m->layered) {
		layer_unmount(m->root.buf);
		if (rmdir(m->root.buf) < 0)
			say(rq, "warning: could not remove %s: %s", m->root.buf, strerror(errno));
		m->layered = 0;
		return;
	}
	if (!m->cid.len)
		return;
	if (image_tool_run(rq->registry, rm, NULL, NULL, NULL, &e) != 0)
		say(rq, "warning: could not remove the scan's working container %s: %s", m->cid.buf,
		    e.msg[0] ? e.msg : "buildah rm failed");
}

static void log_findings(const struct scan_request *rq, json_t *report)
{
	json_t *f;
	size_t i;

	json_array_foreach(json_object_get(report, "findings"), i, f) {
		const char *pkg = json_string_value(json_object_get(f, "package"));
		const char *match = json_string_value(json_object_get(f, "match"));
		if (i == LOG_FINDINGS_MAX) {
			say(rq, "... and %zu more: ferry scan ID lists them all",
			    json_array_size(json_object_get(report, "findings")) - i);
			break;
		}
		say(rq, "%-8s %s %s%s%s%s%s at %s: %s", json_string_value(json_object_get(f, "severity")),
		    json_string_value(json_object_get(f, "id")), pkg ? pkg : "",
		    pkg ? " " : "", pkg ? json_string_value(json_object_get(f, "installed_version")) : "",
		    match ? " " : "", match ? match : "",
		    json_string_value(json_object_get(f, "where")),
		    json_string_value(json_object_get(f, "title")));
	}
	json_array_foreach(json_object_get(report, "suppressed"), i, f) {
		if (i == LOG_FINDINGS_MAX)
			break;
		say(rq, "suppressed by %s: %s at %s", json_string_value(json_object_get(f, "suppressed_by")),
		    json_string_value(json_object_get(f, "id")), json_string_value(json_object_get(f, "where")));
	}
}

int scan_run(const struct scan_config *c, const struct scan_request *rq, json_t **ret_report,
	     struct ferr *e)
{
	static const char *const image_skip[] = { "proc", "sys", "dev", "run", NULL };
	json_t *findings = json_array(), *scanners = json_array(), *report;
	struct scan_ignore ig = SCAN_IGNORE_INIT;
	struct mounted m = { STRBUF_INIT, STRBUF_INIT, 0 };
	struct strbuf allow_path = STRBUF_INIT, summary = STRBUF_INIT;
	long long t0 = image_deadline(1);
	char **allow = NULL;
	int ret = -1;

	*ret_report = NULL;
	say(rq, "policy: fail on findings at or above %s", rq->fail_on == SCAN_NEVER ? "nothing (report only)" :
	    scan_severity_name(rq->fail_on));

	step_dockerfile(rq, findings, scanners);

	strbuf_addf(&allow_path, "%s/.ferry/secrets-allow", rq->context_dir);
	allow = secrets_allow_file_read(allow_path.buf);
	if (allow[0])
		say(rq, "secrets: .ferry/secrets-allow adds allow-listed paths");
	{
		struct secret_scan_opts o = { .where_prefix = "", .allow_globs = (const char *const *)allow,
					      .deadline_ms = rq->w ? rq->w->deadline_ms : 0 };
		step_secrets(c, rq, rq->context_dir, "secrets-source", &o, findings, scanners);
	}
	if (stopped(rq, e) < 0)
		goto out;

	if (rq->image) {
		long long cap = image_deadline((c->image_timeout_s > 0 ? c->image_timeout_s : 120) * 1000);
		struct secret_scan_opts o = {
			.where_prefix = "/", .allow_globs = (const char *const *)allow,
			.skip_dirs = image_skip,
			.deadline_ms = rq->w && rq->w->deadline_ms && rq->w->deadline_ms < cap ?
				       rq->w->deadline_ms : cap,
		};
		if (layers_mount(rq, &m) == 0) {
			say(rq, "image: %s mounted read-only from its layers", rq->image);
		} else {
			if (image_mount(rq, &m, e) < 0)
				goto out;
			say(rq, "image: %s mounted (working container %.12s)", rq->image, m.cid.buf);
		}
		step_secrets(c, rq, m.root.buf, "secrets-image", &o, findings, scanners);
		if (stopped(rq, e) < 0)
			goto out;
		step_vulns(c, rq, m.root.buf, findings, scanners);
		if (stopped(rq, e) < 0)
			goto out;
		if (c->external)
			step_external(c, rq, m.root.buf, findings, scanners);
		if (stopped(rq, e) < 0)
			goto out;
	}

	scan_ignore_load(&ig, rq->context_dir, time(NULL));
	if (ig.n)
		say(rq, "ignore: %zu id%s listed in the build context's ignore file%s", ig.n,
		    ig.n == 1 ? "" : "s", ig.n == 1 ? "" : "s");
	if (ig.expired)
		say(rq, "ignore: %zu id%s past its exp: date no longer suppressed",
		    json_array_size(ig.expired), json_array_size(ig.expired) == 1 ? "" : "s");
	report = scan_report_make(findings, &ig, rq->fail_on, scanners);
	findings = scanners = NULL;
	json_object_set_new(report, "duration_ms", json_integer(image_deadline(1) - t0));
	log_findings(rq, report);
	scan_report_summary(report, &summary);
	say(rq, "summary: %s", summary.buf);
	if (json_is_true(json_object_get(report, "passed"))) {
		say(rq, "passed the policy (fail-on=%s)", scan_fail_on_name(rq->fail_on));
		ret = 0;
	} else {
		say(rq, "FAILED: %s", json_string_value(json_object_get(report, "reason")));
		ret = 1;
	}
	*ret_report = report;
out:
	image_unmount(rq, &m);
	strbuf_release(&m.cid);
	strbuf_release(&m.root);
	secrets_globs_free(allow);
	scan_ignore_release(&ig);
	json_decref(findings);
	json_decref(scanners);
	strbuf_release(&allow_path);
	strbuf_release(&summary);
	return ret;
}
