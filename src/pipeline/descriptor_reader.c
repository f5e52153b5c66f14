/* descriptor_reader: the YAML reader every descriptor format uses. It
 * keeps the field path of what is being read ("endpoints[0].service") so
 * that each message names the field and its line and column. */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <unistd.h>

#include "pipeline/descriptor_int.h"

#include "lib/banned.h"

/* Describes a node for "got ..." in messages: the text, quoted and cut. */
const char *dp_describe(const struct ynode *n, char *buf, size_t size)
{
	size_t o = 0;

	if (n->kind == YNODE_MAP)
		return "a mapping";
	if (n->kind == YNODE_SEQ)
		return "a list";
	if (ynode_is_null(n))
		return "nothing";
	buf[o++] = '"';
	for (size_t i = 0; i < n->len && o + 5 < size; i++) {
		unsigned char c = (unsigned char)n->str[i];

		if (i == 60) {
			memcpy(buf + o, "...", 3);
			o += 3;
			break;
		}
		buf[o++] = (c < 0x20 || c == 0x7f || c == '"') ? '?' : (char)c;
	}
	buf[o++] = '"';
	buf[o] = '\0';
	return buf;
}

/* "file:line:col: field: msg" into out; key, when given, is appended to
 * the current field path. */
static void locate(struct strbuf *out, struct dp *p, const struct ynode *at, const char *key,
		   const char *msg)
{
	size_t field_start;

	strbuf_addf(out, "%s:%u:%u: ", p->file, at ? at->line : 1, at ? at->col : 1);
	field_start = out->len;
	strbuf_addstr(out, p->path.buf);
	if (key) {
		if (out->len > field_start && key[0] != '[')
			strbuf_addch(out, '.');
		strbuf_addstr(out, key);
	}
	if (out->len > field_start)
		strbuf_addstr(out, ": ");
	strbuf_addstr(out, msg);
}

/* One error message: "file:line:col: field: problem". */
int dp_fail(struct dp *p, const struct ynode *at, const char *key, const char *fmt, ...)
{
	struct strbuf sb = STRBUF_INIT;
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	locate(&sb, p, at, key, msg);
	ferr_invalid(p->e, "%s", sb.buf);
	strbuf_release(&sb);
	return -1;
}

void dp_warn(struct dp *p, const struct ynode *at, const char *key, const char *fmt, ...)
{
	struct descriptor *d = p->d;
	struct strbuf sb = STRBUF_INIT;
	char msg[512];
	va_list ap;

	/* The last slot is kept for "N more warnings" (descriptor.c). */
	if (d->n_warnings + 1 >= DESCRIPTOR_MAX_WARNINGS) {
		p->dropped_warnings++;
		return;
	}
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	locate(&sb, p, at, key, msg);
	if (!d->warnings)
		d->warnings = dsc_calloc(DESCRIPTOR_MAX_WARNINGS, sizeof(char *));
	d->warnings[d->n_warnings++] = strbuf_detach(&sb, NULL);
}

size_t dp_push_key(struct dp *p, const char *key)
{
	size_t old = p->path.len;

	if (old)
		strbuf_addch(&p->path, '.');
	strbuf_addstr(&p->path, key);
	return old;
}

size_t dp_push_index(struct dp *p, size_t i)
{
	size_t old = p->path.len;

	strbuf_addf(&p->path, "[%zu]", i);
	return old;
}

void dp_pop(struct dp *p, size_t old)
{
	strbuf_setlen(&p->path, old);
}

/* The value under key, or NULL when absent or written as null. */
const struct ynode *dp_get(const struct ynode *map, const char *key)
{
	const struct ynode *v = ynode_map_get(map, key);

	return ynode_is_null(v) ? NULL : v;
}

int dp_check_keys(struct dp *p, const struct ynode *map, const char *const allowed[])
{
	for (size_t i = 0; i + 1 < map->n; i += 2) {
		const struct ynode *k = map->child[i];
		char list[512];
		size_t j;

		for (j = 0; allowed[j]; j++)
			if (!strcmp(allowed[j], k->str))
				break;
		if (allowed[j])
			continue;
		while (allowed[j])
			j++;
		rule_join_names(list, sizeof(list), allowed, j);
		if (p->rules.strict)
			return dp_fail(p, k, k->str, "unknown field (expected one of %s)", list);
		dp_warn(p, k, k->str, "unknown field, ignored (known here: %s)", list);
	}
	return 0;
}

int dp_want_kind(struct dp *p, const struct ynode *v, const char *key,
		     enum ynode_kind kind)
{
	char got[80];

	if (v->kind == kind)
		return 0;
	return dp_fail(p, v, key, "must be %s, got %s",
		    kind == YNODE_MAP ? "a mapping" : kind == YNODE_SEQ ? "a list" : "a string",
		    dp_describe(v, got, sizeof(got)));
}

/* A string field. required: absence is an error; otherwise *out is NULL. */
int dp_get_str(struct dp *p, const struct ynode *map, const char *key,
		   bool required, size_t max, char **out)
{
	const struct ynode *v = dp_get(map, key);

	*out = NULL;
	if (!v)
		return required ? dp_fail(p, map, key, "is required") : 0;
	if (dp_want_kind(p, v, key, YNODE_SCALAR) < 0)
		return -1;
	if (v->len == 0)
		return dp_fail(p, v, key, "must not be empty");
	if (v->len > max)
		return dp_fail(p, v, key, "is too long (at most %zu characters)", max);
	*out = dsc_strdup(v->str);
	return 0;
}

static int node_int(struct dp *p, const struct ynode *v, const char *key,
		    long long min, long long max, long long *out)
{
	char got[80];

	if (v->kind != YNODE_SCALAR || !rule_parse_int(v->str, out) || *out < min || *out > max)
		return dp_fail(p, v, key, "must be an integer from %lld to %lld, got %s",
			    min, max, dp_describe(v, got, sizeof(got)));
	return 0;
}

int dp_get_int(struct dp *p, const struct ynode *map, const char *key,
		   bool required, long long min, long long max, long long def, int *out)
{
	const struct ynode *v = dp_get(map, key);
	long long x;

	if (!v) {
		if (required)
			return dp_fail(p, map, key, "is required");
		*out = (int)def;
		return 0;
	}
	if (node_int(p, v, key, min, max, &x) < 0)
		return -1;
	*out = (int)x;
	return 0;
}

int dp_get_bool(struct dp *p, const struct ynode *map, const char *key,
		    bool def, bool *out)
{
	static const char *const yes[] = { "true", "yes", "on" };
	static const char *const no[] = { "false", "no", "off" };
	const struct ynode *v = dp_get(map, key);
	char got[80];

	*out = def;
	if (!v)
		return 0;
	if (v->kind == YNODE_SCALAR) {
		if (rule_enum_index(yes, N_ELEMS(yes), v->str) >= 0) {
			*out = true;
			return 0;
		}
		if (rule_enum_index(no, N_ELEMS(no), v->str) >= 0) {
			*out = false;
			return 0;
		}
	}
	return dp_fail(p, v, key, "must be true or false, got %s", dp_describe(v, got, sizeof(got)));
}

int dp_node_enum(struct dp *p, const struct ynode *v, const char *key,
		     const char *const names[], size_t n, int *out)
{
	char got[80], list[128];
	int i = v->kind == YNODE_SCALAR ? rule_enum_index(names, n, v->str) : -1;

	if (i >= 0) {
		*out = i;
		return 0;
	}
	rule_join_names(list, sizeof(list), names, n);
	return dp_fail(p, v, key, "must be one of %s, got %s", list, dp_describe(v, got, sizeof(got)));
}

/* An enum field; absent gives def, or an error when def < 0. */
int dp_get_enum(struct dp *p, const struct ynode *map, const char *key,
		    const char *const names[], size_t n, int def, int *out)
{
	const struct ynode *v = dp_get(map, key);

	if (!v) {
		if (def < 0)
			return dp_fail(p, map, key, "is required");
		*out = def;
		return 0;
	}
	return dp_node_enum(p, v, key, names, n, out);
}

/* A list field: NULL when absent, else checked to be a list of at most max. */
int dp_get_list(struct dp *p, const struct ynode *map, const char *key,
		    size_t max, const struct ynode **out)
{
	const struct ynode *v = dp_get(map, key);

	*out = NULL;
	if (!v)
		return 0;
	if (dp_want_kind(p, v, key, YNODE_SEQ) < 0)
		return -1;
	if (v->n > max)
		return dp_fail(p, v, key, "has %zu entries, at most %zu are allowed", v->n, max);
	*out = v;
	return 0;
}

int dp_get_map(struct dp *p, const struct ynode *map, const char *key,
		   const struct ynode **out)
{
	const struct ynode *v = dp_get(map, key);

	*out = NULL;
	if (!v)
		return 0;
	if (dp_want_kind(p, v, key, YNODE_MAP) < 0)
		return -1;
	*out = v;
	return 0;
}

int dp_context_file(struct dp *p, const struct ynode *map, const char *key,
		    bool must_exist, char **out)
{
	const struct ynode *v;
	char got[80];
	char *raw;

	*out = NULL;
	if (dp_get_str(p, map, key, false, MAX_PATH, &raw) < 0)
		return -1;
	if (!raw)
		return 0;
	v = dp_get(map, key);
	*out = rule_context_path(raw);
	free(raw);
	if (!*out)
		return dp_fail(p, v, key, "must be a file path relative to the build context that stays inside it, got %s",
			       dp_describe(v, got, sizeof(got)));
	if (p->context && must_exist) {
		struct ferr oe = FERR_INIT;
		int fd = descriptor_open_in_context(p->context, *out, &oe);

		if (fd < 0)
			return dp_fail(p, v, key, "%s", oe.msg);
		close(fd);
	}
	return 0;
}

int dp_url_path(struct dp *p, const struct ynode *map, const char *key, char **out)
{
	char got[80];

	if (dp_get_str(p, map, key, false, MAX_PATH, out) < 0)
		return -1;
	if (*out && !rule_url_path(*out))
		return dp_fail(p, dp_get(map, key), key,
			       "must be an URL path starting with '/' (no spaces, '?' or '#'), got %s",
			       dp_describe(dp_get(map, key), got, sizeof(got)));
	return 0;
}

/* JavaScript's Number() of the text: blanks around it are ignored, the
 * empty text is 0 (never a valid version). */
static bool js_number(const char *s, double *out)
{
	char *end;

	while (*s == ' ' || *s == '\t')
		s++;
	if (!*s)
		return false;
	*out = strtod(s, &end);
	while (*end == ' ' || *end == '\t')
		end++;
	return *end == '\0' && isfinite(*out);
}

int dp_schema_version(struct dp *p, const struct ynode *root, const char *key,
		      const int tenths[], size_t n, int *out)
{
	const struct ynode *v = dp_get(root, key);
	struct strbuf list = STRBUF_INIT;
	char got[80];
	double x;

	if (v && v->kind == YNODE_SCALAR && js_number(v->str, &x)) {
		for (size_t i = 0; i < n; i++) {
			if (fabs(x * 10 - tenths[i]) < 1e-9) {
				*out = tenths[i];
				return 0;
			}
		}
	}
	for (size_t i = 0; i < n; i++)
		strbuf_addf(&list, "%s%d.%d", i ? ", " : "", tenths[i] / 10, tenths[i] % 10);
	if (!v)
		dp_fail(p, root, key, "is required (one of %s)", list.buf);
	else
		dp_fail(p, v, key, "must be one of %s, got %s", list.buf,
			dp_describe(v, got, sizeof(got)));
	strbuf_release(&list);
	return -1;
}
