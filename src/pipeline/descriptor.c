#include "pipeline/descriptor.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "lib/strbuf.h"
#include "pipeline/yaml_tree.h"

#include "lib/banned.h"

/* Bounds on what one descriptor may declare. Generous for real
 * components, small enough that a hostile file cannot make a build slow. */
#define MAX_ENDPOINTS     64
#define MAX_CONNECTIONS   64
#define MAX_ENV           256
#define MAX_FILES         64
#define MAX_EXEC_ARGS     64
#define MAX_NAME          253
#define MAX_TEXT          256
#define MAX_PATH          1024
#define MAX_MOUNT_PATH    4096
#define MAX_ARG           4096

#define CHOREO_API_VERSION "core.choreo.dev/v1beta1"

static const char *const endpoint_type_names[] = {
	"REST", "GraphQL", "WS", "GRPC", "TCP", "UDP",
};
static const char *const visibility_names[] = {
	"Project", "Organization", "Public",
};
static const char *const config_type_names[] = {
	"string", "number", "boolean", "secret",
};
static const char *const file_type_names[] = { "string", "secret" };
static const enum config_type file_types[] = { CONFIG_STRING, CONFIG_SECRET };
static const char *const probe_kind_names[] = { "none", "http", "tcp", "exec" };
static const char *const schema_versions[] = { "1.0", "1.1", "1.2" };

#define N_ELEMS(a) (sizeof(a) / sizeof((a)[0]))

static const struct {
	const char *path;
	const char *name;
} formats[] = {
	[DESCRIPTOR_DEFAULT] = { NULL, "default" },
	[DESCRIPTOR_FERRY] = { ".ferry/component.yaml", "ferry" },
	[DESCRIPTOR_CHOREO] = { ".choreo/component.yaml", "choreo" },
	[DESCRIPTOR_CHOREO_COMPONENT_CONFIG] = { ".choreo/component-config.yaml",
						 "choreo-component-config" },
	[DESCRIPTOR_CHOREO_ENDPOINTS] = { ".choreo/endpoints.yaml", "choreo-endpoints" },
};

const char *descriptor_format_path(enum descriptor_format f)
{
	return (size_t)f < N_ELEMS(formats) ? formats[f].path : NULL;
}

const char *descriptor_format_name(enum descriptor_format f)
{
	return (size_t)f < N_ELEMS(formats) ? formats[f].name : "unknown";
}

const char *endpoint_type_name(enum endpoint_type t)
{
	return (size_t)t < N_ELEMS(endpoint_type_names) ? endpoint_type_names[t] : "unknown";
}

const char *config_type_name(enum config_type t)
{
	return (size_t)t < N_ELEMS(config_type_names) ? config_type_names[t] : "unknown";
}

const char *probe_kind_name(enum probe_kind k)
{
	return (size_t)k < N_ELEMS(probe_kind_names) ? probe_kind_names[k] : "unknown";
}

static char *xstrdup(const char *s)
{
	char *r = strdup(s);

	if (!r)
		abort();
	return r;
}

static void *xcalloc(size_t n, size_t size)
{
	void *p = calloc(n ? n : 1, size);

	if (!p)
		abort();
	return p;
}

/* ---- value checks shared by the YAML and the JSON readers ---- */

static bool is_dns_label(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > 63 || s[0] == '-' || s[n - 1] == '-')
		return false;
	for (size_t i = 0; i < n; i++)
		if (!(islower((unsigned char)s[i]) || isdigit((unsigned char)s[i]) || s[i] == '-'))
			return false;
	return true;
}

static bool is_env_name(const char *s)
{
	if (!(isalpha((unsigned char)s[0]) || s[0] == '_'))
		return false;
	for (size_t i = 1; s[i]; i++)
		if (!(isalnum((unsigned char)s[i]) || s[i] == '_'))
			return false;
	return strlen(s) <= 255;
}

/* Names of connections and file configurations. */
static bool is_simple_name(const char *s)
{
	if (!s[0] || strlen(s) > MAX_NAME)
		return false;
	for (size_t i = 0; s[i]; i++)
		if (!(isalnum((unsigned char)s[i]) || s[i] == '.' || s[i] == '_' || s[i] == '-'))
			return false;
	return true;
}

static bool has_control(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return true;
	return false;
}

/* An URL path: "/", "/api/v1". No spaces, query or fragment. */
static bool is_url_path(const char *s)
{
	if (s[0] != '/' || strlen(s) > MAX_PATH)
		return false;
	for (; *s; s++)
		if ((unsigned char)*s <= 0x20 || *s == 0x7f || *s == '?' || *s == '#')
			return false;
	return true;
}

/* Absolute, no empty, "." or ".." parts, not "/" itself. */
static bool is_mount_path(const char *s)
{
	const char *c;

	if (s[0] != '/' || strlen(s) > MAX_MOUNT_PATH || has_control(s))
		return false;
	for (c = s + 1;;) {
		const char *end = strchrnul(c, '/');
		size_t n = (size_t)(end - c);

		if (n == 0 || (n == 1 && c[0] == '.') || (n == 2 && c[0] == '.' && c[1] == '.'))
			return false;
		if (!*end)
			return true;
		c = end + 1;
	}
}

/* Normalises a path relative to the build context: drops empty and "."
 * parts, resolves ".." lexically. Returns a new string, or NULL when the
 * path is absolute, escapes the context, names the context itself or is
 * too long. */
static char *normalise_context_path(const char *s)
{
	struct strbuf out = STRBUF_INIT;
	const char *c = s;

	if (s[0] == '/' || s[0] == '\0' || strlen(s) > MAX_PATH || has_control(s))
		return NULL;
	for (;;) {
		const char *end = strchrnul(c, '/');
		size_t n = (size_t)(end - c);

		if (n == 2 && c[0] == '.' && c[1] == '.') {
			char *slash;

			if (out.len == 0) {
				strbuf_release(&out);
				return NULL;
			}
			slash = strrchr(out.buf, '/');
			strbuf_setlen(&out, slash ? (size_t)(slash - out.buf) : 0);
		} else if (n > 0 && !(n == 1 && c[0] == '.')) {
			if (out.len)
				strbuf_addch(&out, '/');
			strbuf_add(&out, c, n);
		}
		if (!*end)
			break;
		c = end + 1;
	}
	if (out.len == 0) {
		strbuf_release(&out);
		return NULL;
	}
	return strbuf_detach(&out, NULL);
}

static bool is_timezone(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > 64 || s[0] == '/' || s[n - 1] == '/' || strstr(s, "..") ||
	    strstr(s, "//"))
		return false;
	for (; *s; s++)
		if (!(isalnum((unsigned char)*s) || strchr("_+-/", *s)))
			return false;
	return true;
}

/* Integers as YAML writes them in decimal: optional '-', 1..18 digits. */
static bool parse_int(const char *s, long long *out)
{
	const char *d = s[0] == '-' ? s + 1 : s;
	size_t n = strlen(d);

	if (n == 0 || n > 18)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!isdigit((unsigned char)d[i]))
			return false;
	*out = strtoll(s, NULL, 10);
	return true;
}

/* "2", "0.5", "1.250" cores or "500m" millicores -> millicores. */
static bool parse_cpu(const char *s, int64_t *out)
{
	long long v = 0, frac = 0;
	size_t n = strlen(s), i = 0, fd = 0;

	if (n == 0 || n > 16)
		return false;
	if (s[n - 1] == 'm') {
		char num[17];

		memcpy(num, s, n - 1);
		num[n - 1] = '\0';
		if (num[0] == '-' || !parse_int(num, &v))
			return false;
		*out = v;
		return v >= 1 && v <= 64000;
	}
	for (; isdigit((unsigned char)s[i]); i++)
		v = v * 10 + (s[i] - '0');
	if (i == 0)
		return false;
	if (s[i] == '.') {
		for (i++; isdigit((unsigned char)s[i]); i++, fd++) {
			if (fd == 3)
				return false; /* finer than a millicore */
			frac = frac * 10 + (s[i] - '0');
		}
		if (fd == 0)
			return false;
		for (; fd < 3; fd++)
			frac *= 10;
	}
	if (s[i])
		return false;
	*out = v * 1000 + frac;
	return *out >= 1 && *out <= 64000;
}

#define MEMORY_MIN (6LL << 20) /* podman refuses less than 6 MB */
#define MEMORY_MAX (1LL << 40)

/* "268435456", "256Mi", "1Gi", "512M", "1G", "64k" -> bytes. */
static bool parse_memory(const char *s, int64_t *out)
{
	static const struct {
		const char *suffix;
		long long mult;
	} units[] = {
		{ "", 1 },
		{ "k", 1000LL }, { "K", 1000LL }, { "M", 1000LL * 1000 },
		{ "G", 1000LL * 1000 * 1000 }, { "T", 1000LL * 1000 * 1000 * 1000 },
		{ "Ki", 1LL << 10 }, { "Mi", 1LL << 20 }, { "Gi", 1LL << 30 },
		{ "Ti", 1LL << 40 },
	};
	long long v = 0;
	size_t i = 0;

	for (; isdigit((unsigned char)s[i]); i++) {
		if (i >= 15)
			return false;
		v = v * 10 + (s[i] - '0');
	}
	if (i == 0)
		return false;
	for (size_t u = 0; u < N_ELEMS(units); u++) {
		if (!strcmp(s + i, units[u].suffix)) {
			if (v > MEMORY_MAX / units[u].mult)
				return false;
			*out = v * units[u].mult;
			return *out >= MEMORY_MIN && *out <= MEMORY_MAX;
		}
	}
	return false;
}

/* Legacy Choreo files name endpoints freely ("Greeting Service"); ferry
 * needs DNS labels, so lower-case and turn every run of other characters
 * into one '-'. Returns NULL when nothing usable is left. */
static char *dns_label_from(const char *s)
{
	struct strbuf out = STRBUF_INIT;
	bool dash = false;

	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (isalnum(c) && c < 0x80) {
			bool sep = dash && out.len;

			if (out.len + sep + 1 > 63)
				break; /* a DNS label holds at most 63 */
			if (sep)
				strbuf_addch(&out, '-');
			dash = false;
			strbuf_addch(&out, (char)tolower(c));
		} else {
			dash = true;
		}
	}
	while (out.len && out.buf[out.len - 1] == '-')
		strbuf_setlen(&out, out.len - 1);
	if (out.len == 0) {
		strbuf_release(&out);
		return NULL;
	}
	return strbuf_detach(&out, NULL);
}

static int enum_index(const char *const names[], size_t n, const char *s)
{
	for (size_t i = 0; i < n; i++)
		if (!strcasecmp(names[i], s))
			return (int)i;
	return -1;
}

static void join_names(char *buf, size_t size, const char *const names[], size_t n)
{
	size_t off = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < n && off < size; i++) {
		int w = snprintf(buf + off, size - off, "%s%s", i ? ", " : "", names[i]);

		if (w < 0)
			break;
		off += (size_t)w;
	}
}

/* ---- the YAML reader ---- */

struct dp {
	const char *file;
	enum descriptor_format fmt;
	bool strict;            /* unknown keys are errors (ferry's format) */
	const char *context;    /* build context to check schema files, or NULL */
	struct ferr *e;
	struct strbuf path;     /* field path of the current object */
	struct descriptor *d;
};

/* Describes a node for "got ..." in messages: the text, quoted and cut. */
static const char *describe(const struct ynode *n, char *buf, size_t size)
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

static int fail(struct dp *p, const struct ynode *at, const char *key,
		const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/* One message: "file:line:col: field: problem". key, when given, is
 * appended to the current field path. */
static int fail(struct dp *p, const struct ynode *at, const char *key,
		const char *fmt, ...)
{
	struct strbuf field = STRBUF_INIT;
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	strbuf_addstr(&field, p->path.buf);
	if (key) {
		if (field.len && key[0] != '[')
			strbuf_addch(&field, '.');
		strbuf_addstr(&field, key);
	}
	if (field.len)
		ferr_invalid(p->e, "%s:%u:%u: %s: %s", p->file, at ? at->line : 1,
			     at ? at->col : 1, field.buf, msg);
	else
		ferr_invalid(p->e, "%s:%u:%u: %s", p->file, at ? at->line : 1,
			     at ? at->col : 1, msg);
	strbuf_release(&field);
	return -1;
}

static size_t push_key(struct dp *p, const char *key)
{
	size_t old = p->path.len;

	if (old)
		strbuf_addch(&p->path, '.');
	strbuf_addstr(&p->path, key);
	return old;
}

static size_t push_index(struct dp *p, size_t i)
{
	size_t old = p->path.len;

	strbuf_addf(&p->path, "[%zu]", i);
	return old;
}

static void pop(struct dp *p, size_t old)
{
	strbuf_setlen(&p->path, old);
}

/* The value under key, or NULL when absent or written as null. */
static const struct ynode *get(const struct ynode *map, const char *key)
{
	const struct ynode *v = ynode_map_get(map, key);

	return ynode_is_null(v) ? NULL : v;
}

/* In ferry's format, refuses keys not in allowed (NULL-terminated). */
static int check_keys(struct dp *p, const struct ynode *map, const char *const allowed[])
{
	if (!p->strict)
		return 0;
	for (size_t i = 0; i + 1 < map->n; i += 2) {
		const struct ynode *k = map->child[i];
		size_t j;

		for (j = 0; allowed[j]; j++)
			if (!strcmp(allowed[j], k->str))
				break;
		if (!allowed[j]) {
			char list[512];
			size_t n = j;

			join_names(list, sizeof(list), allowed, n);
			return fail(p, k, k->str, "unknown field (expected one of %s)", list);
		}
	}
	return 0;
}

static int want_kind(struct dp *p, const struct ynode *v, const char *key,
		     enum ynode_kind kind)
{
	char got[80];

	if (v->kind == kind)
		return 0;
	return fail(p, v, key, "must be %s, got %s",
		    kind == YNODE_MAP ? "a mapping" : kind == YNODE_SEQ ? "a list" : "a string",
		    describe(v, got, sizeof(got)));
}

/* A string field. required: absence is an error; otherwise *out is NULL. */
static int get_str(struct dp *p, const struct ynode *map, const char *key,
		   bool required, size_t max, char **out)
{
	const struct ynode *v = get(map, key);

	*out = NULL;
	if (!v)
		return required ? fail(p, map, key, "is required") : 0;
	if (want_kind(p, v, key, YNODE_SCALAR) < 0)
		return -1;
	if (v->len == 0)
		return fail(p, v, key, "must not be empty");
	if (v->len > max)
		return fail(p, v, key, "is too long (at most %zu characters)", max);
	*out = xstrdup(v->str);
	return 0;
}

static int node_int(struct dp *p, const struct ynode *v, const char *key,
		    long long min, long long max, long long *out)
{
	char got[80];

	if (v->kind != YNODE_SCALAR || !parse_int(v->str, out) || *out < min || *out > max)
		return fail(p, v, key, "must be an integer from %lld to %lld, got %s",
			    min, max, describe(v, got, sizeof(got)));
	return 0;
}

static int get_int(struct dp *p, const struct ynode *map, const char *key,
		   bool required, long long min, long long max, long long def, int *out)
{
	const struct ynode *v = get(map, key);
	long long x;

	if (!v) {
		if (required)
			return fail(p, map, key, "is required");
		*out = (int)def;
		return 0;
	}
	if (node_int(p, v, key, min, max, &x) < 0)
		return -1;
	*out = (int)x;
	return 0;
}

static int get_bool(struct dp *p, const struct ynode *map, const char *key,
		    bool def, bool *out)
{
	static const char *const yes[] = { "true", "yes", "on" };
	static const char *const no[] = { "false", "no", "off" };
	const struct ynode *v = get(map, key);
	char got[80];

	*out = def;
	if (!v)
		return 0;
	if (v->kind == YNODE_SCALAR) {
		if (enum_index(yes, N_ELEMS(yes), v->str) >= 0) {
			*out = true;
			return 0;
		}
		if (enum_index(no, N_ELEMS(no), v->str) >= 0) {
			*out = false;
			return 0;
		}
	}
	return fail(p, v, key, "must be true or false, got %s", describe(v, got, sizeof(got)));
}

static int node_enum(struct dp *p, const struct ynode *v, const char *key,
		     const char *const names[], size_t n, int *out)
{
	char got[80], list[128];
	int i = v->kind == YNODE_SCALAR ? enum_index(names, n, v->str) : -1;

	if (i >= 0) {
		*out = i;
		return 0;
	}
	join_names(list, sizeof(list), names, n);
	return fail(p, v, key, "must be one of %s, got %s", list, describe(v, got, sizeof(got)));
}

/* An enum field; absent gives def, or an error when def < 0. */
static int get_enum(struct dp *p, const struct ynode *map, const char *key,
		    const char *const names[], size_t n, int def, int *out)
{
	const struct ynode *v = get(map, key);

	if (!v) {
		if (def < 0)
			return fail(p, map, key, "is required");
		*out = def;
		return 0;
	}
	return node_enum(p, v, key, names, n, out);
}

/* A list field: NULL when absent, else checked to be a list of at most max. */
static int get_list(struct dp *p, const struct ynode *map, const char *key,
		    size_t max, const struct ynode **out)
{
	const struct ynode *v = get(map, key);

	*out = NULL;
	if (!v)
		return 0;
	if (want_kind(p, v, key, YNODE_SEQ) < 0)
		return -1;
	if (v->n > max)
		return fail(p, v, key, "has %zu entries, at most %zu are allowed", v->n, max);
	*out = v;
	return 0;
}

static int get_map(struct dp *p, const struct ynode *map, const char *key,
		   const struct ynode **out)
{
	const struct ynode *v = get(map, key);

	*out = NULL;
	if (!v)
		return 0;
	if (want_kind(p, v, key, YNODE_MAP) < 0)
		return -1;
	*out = v;
	return 0;
}

static int check_schema_version(struct dp *p, const struct ynode *root, bool required)
{
	const struct ynode *v = get(root, "schemaVersion");
	char list[64];
	char got[80];

	if (!v)
		return required ? fail(p, root, "schemaVersion",
				       "is required (one of 1.0, 1.1, 1.2)") : 0;
	if (v->kind != YNODE_SCALAR ||
	    enum_index(schema_versions, N_ELEMS(schema_versions), v->str) < 0) {
		join_names(list, sizeof(list), schema_versions, N_ELEMS(schema_versions));
		return fail(p, v, "schemaVersion", "must be one of %s, got %s", list,
			    describe(v, got, sizeof(got)));
	}
	p->d->schema_version = xstrdup(v->str);
	return 0;
}

static int check_schema_file(struct dp *p, const struct ynode *map, const char *key,
			     char **out)
{
	const struct ynode *v;
	char got[80];
	char *raw;

	if (get_str(p, map, key, false, MAX_PATH, &raw) < 0)
		return -1;
	if (!raw)
		return 0;
	v = get(map, key);
	*out = normalise_context_path(raw);
	free(raw);
	if (!*out)
		return fail(p, v, key, "must be a file path relative to the build context that stays inside it, got %s",
			    describe(v, got, sizeof(got)));
	if (p->context) {
		struct ferr oe = FERR_INIT;
		int fd = descriptor_open_in_context(p->context, *out, &oe);

		if (fd < 0)
			return fail(p, v, key, "%s", oe.msg);
		close(fd);
	}
	return 0;
}

static int check_base_path(struct dp *p, const struct ynode *map, const char *key,
			   char **out)
{
	char got[80];

	if (get_str(p, map, key, false, MAX_PATH, out) < 0)
		return -1;
	if (*out && !is_url_path(*out))
		return fail(p, get(map, key), key,
			    "must be an URL path starting with '/' (no spaces, '?' or '#'), got %s",
			    describe(get(map, key), got, sizeof(got)));
	return 0;
}

static int parse_endpoint(struct dp *p, const struct ynode *m,
			  struct descriptor_endpoint *ep)
{
	static const char *const keys[] = {
		"name", "displayName", "service", "port", "basePath", "type",
		"networkVisibilities", "schemaFilePath", NULL,
	};
	const struct ynode *svc, *vis, *port_map, *path_map;
	size_t old = p->path.len;
	char got[80];
	int t;

	if (check_keys(p, m, keys) < 0 || get_str(p, m, "name", true, 63, &ep->name) < 0)
		return -1;
	if (!is_dns_label(ep->name))
		return fail(p, get(m, "name"), "name",
			    "must be a DNS label: lower-case letters, digits and '-', at most 63, starting and ending with a letter or digit, got %s",
			    describe(get(m, "name"), got, sizeof(got)));
	if (get_str(p, m, "displayName", false, MAX_TEXT, &ep->display_name) < 0)
		return -1;
	if (!ep->display_name)
		ep->display_name = xstrdup(ep->name);
	if (get_map(p, m, "service", &svc) < 0)
		return -1;
	if (svc) {
		static const char *const svc_keys[] = { "port", "basePath", NULL };
		const char *flat = get(m, "port") ? "port" : get(m, "basePath") ? "basePath" : NULL;

		if (p->fmt == DESCRIPTOR_FERRY && flat)
			return fail(p, get(m, flat), flat,
				    "give the port and base path either under service or flat, not both");
		port_map = path_map = svc;
		push_key(p, "service");
		if (check_keys(p, svc, svc_keys) < 0)
			return -1;
	} else if (p->fmt == DESCRIPTOR_FERRY) {
		port_map = path_map = m;
	} else {
		return fail(p, m, "service", "is required");
	}
	if (get_int(p, port_map, "port", true, 1, 65535, 0, &ep->port) < 0 ||
	    check_base_path(p, path_map, "basePath", &ep->base_path) < 0)
		return -1;
	pop(p, old);
	if (get_enum(p, m, "type", endpoint_type_names, N_ELEMS(endpoint_type_names), -1, &t) < 0)
		return -1;
	ep->type = (enum endpoint_type)t;
	if (!ep->base_path && (ep->type == ENDPOINT_REST || ep->type == ENDPOINT_GRAPHQL))
		return fail(p, svc ? svc : m, svc ? "service.basePath" : "basePath",
			    "is required for %s endpoints", endpoint_type_name(ep->type));
	if (get_list(p, m, "networkVisibilities", N_ELEMS(visibility_names) * 4, &vis) < 0)
		return -1;
	if (!vis) {
		ep->visibilities = VISIBILITY_PUBLIC;
	} else if (vis->n == 0) {
		return fail(p, vis, "networkVisibilities",
			    "must name at least one of Project, Organization, Public");
	} else {
		for (size_t i = 0; i < vis->n; i++) {
			char key[48];
			int v;

			snprintf(key, sizeof(key), "networkVisibilities[%zu]", i);
			if (node_enum(p, vis->child[i], key, visibility_names,
				      N_ELEMS(visibility_names), &v) < 0)
				return -1;
			ep->visibilities |= 1u << v;
		}
	}
	return check_schema_file(p, m, "schemaFilePath", &ep->schema_file_path);
}

/* spec.inbound[] of component-config.yaml and endpoints[] of endpoints.yaml. */
static int parse_legacy_endpoint(struct dp *p, const struct ynode *m,
				 struct descriptor_endpoint *ep)
{
	const struct ynode *vis;
	char got[80];
	char *raw, *ctx;
	int t, v;

	if (get_str(p, m, "name", true, MAX_TEXT, &raw) < 0)
		return -1;
	ep->name = dns_label_from(raw);
	ep->display_name = raw;
	if (!ep->name)
		return fail(p, get(m, "name"), "name",
			    "needs at least one letter or digit to make an endpoint name, got %s",
			    describe(get(m, "name"), got, sizeof(got)));
	if (get_int(p, m, "port", true, 1, 65535, 0, &ep->port) < 0 ||
	    get_enum(p, m, "type", endpoint_type_names, N_ELEMS(endpoint_type_names), -1, &t) < 0)
		return -1;
	ep->type = (enum endpoint_type)t;
	vis = get(m, "networkVisibility");
	if (!vis) {
		ep->visibilities = VISIBILITY_PUBLIC;
	} else {
		if (node_enum(p, vis, "networkVisibility", visibility_names,
			      N_ELEMS(visibility_names), &v) < 0)
			return -1;
		ep->visibilities = 1u << v;
	}
	/* Old files often wrote "context: greeting"; the path is meant. */
	if (get_str(p, m, "context", false, MAX_PATH - 1, &ctx) < 0)
		return -1;
	if (ctx) {
		if (ctx[0] != '/') {
			struct strbuf sb = STRBUF_INIT;

			strbuf_addf(&sb, "/%s", ctx);
			free(ctx);
			ctx = strbuf_detach(&sb, NULL);
		}
		ep->base_path = ctx;
		if (!is_url_path(ctx))
			return fail(p, get(m, "context"), "context",
				    "must be an URL path (no spaces, '?' or '#'), got %s",
				    describe(get(m, "context"), got, sizeof(got)));
	} else if (ep->type == ENDPOINT_REST || ep->type == ENDPOINT_GRAPHQL) {
		return fail(p, m, "context", "is required for %s endpoints",
			    endpoint_type_name(ep->type));
	}
	return check_schema_file(p, m, "schemaFilePath", &ep->schema_file_path);
}

static int parse_endpoints(struct dp *p, const struct ynode *parent, const char *key,
			   bool legacy)
{
	struct descriptor *d = p->d;
	const struct ynode *list;
	size_t old;

	if (get_list(p, parent, key, MAX_ENDPOINTS, &list) < 0)
		return -1;
	if (!list)
		return 0;
	d->endpoints = xcalloc(list->n, sizeof(*d->endpoints));
	old = push_key(p, key);
	for (size_t i = 0; i < list->n; i++) {
		const struct ynode *m = list->child[i];
		struct descriptor_endpoint *ep = &d->endpoints[d->n_endpoints++];
		size_t o = push_index(p, i);

		if (want_kind(p, m, NULL, YNODE_MAP) < 0 ||
		    (legacy ? parse_legacy_endpoint(p, m, ep) : parse_endpoint(p, m, ep)) < 0)
			return -1;
		for (size_t j = 0; j < i; j++)
			if (!strcmp(d->endpoints[j].name, ep->name))
				return fail(p, get(m, "name"), "name",
					    "endpoint name \"%s\" is already used by %s[%zu]",
					    ep->name, key, j);
		pop(p, o);
	}
	pop(p, old);
	return 0;
}

static int parse_dependencies(struct dp *p, const struct ynode *root)
{
	static const char *const keys[] = { "connectionReferences", NULL };
	static const char *const ref_keys[] = { "name", "resourceRef", NULL };
	struct descriptor *d = p->d;
	const struct ynode *deps, *list;
	size_t old;
	char got[80];

	if (get_map(p, root, "dependencies", &deps) < 0)
		return -1;
	if (!deps)
		return 0;
	old = push_key(p, "dependencies");
	if (check_keys(p, deps, keys) < 0 ||
	    get_list(p, deps, "connectionReferences", MAX_CONNECTIONS, &list) < 0)
		return -1;
	if (list) {
		d->connections = xcalloc(list->n, sizeof(*d->connections));
		push_key(p, "connectionReferences");
		for (size_t i = 0; i < list->n; i++) {
			const struct ynode *m = list->child[i];
			struct descriptor_connection *c = &d->connections[d->n_connections++];
			size_t o = push_index(p, i);

			if (want_kind(p, m, NULL, YNODE_MAP) < 0 || check_keys(p, m, ref_keys) < 0 ||
			    get_str(p, m, "name", true, MAX_NAME, &c->name) < 0 ||
			    get_str(p, m, "resourceRef", true, MAX_PATH, &c->resource_ref) < 0)
				return -1;
			if (!is_simple_name(c->name))
				return fail(p, get(m, "name"), "name",
					    "must use only letters, digits, '.', '_' and '-', got %s",
					    describe(get(m, "name"), got, sizeof(got)));
			for (size_t j = 0; j < i; j++)
				if (!strcmp(d->connections[j].name, c->name))
					return fail(p, get(m, "name"), "name",
						    "connection \"%s\" is declared twice", c->name);
			pop(p, o);
		}
	}
	pop(p, old);
	return 0;
}

static const struct descriptor_connection *find_connection(const struct descriptor *d,
							    const char *name)
{
	for (size_t i = 0; i < d->n_connections; i++)
		if (!strcmp(d->connections[i].name, name))
			return &d->connections[i];
	return NULL;
}

/* displayName, required and type of a configuration form (m may be an env
 * entry itself in ferry's flat form). */
static int parse_config_form(struct dp *p, const struct ynode *m, char **display_name,
			     bool *required, enum config_type *type)
{
	int t;

	if (get_str(p, m, "displayName", false, MAX_TEXT, display_name) < 0 ||
	    get_bool(p, m, "required", true, required) < 0 ||
	    get_enum(p, m, "type", config_type_names, N_ELEMS(config_type_names),
		     CONFIG_STRING, &t) < 0)
		return -1;
	*type = (enum config_type)t;
	return 0;
}

static int parse_env(struct dp *p, const struct ynode *m, struct descriptor_env *env)
{
	static const char *const keys[] = {
		"name", "valueFrom", "displayName", "required", "type", NULL,
	};
	static const char *const from_keys[] = { "configForm", "connectionRef", NULL };
	static const char *const form_keys[] = { "displayName", "required", "type", NULL };
	static const char *const ref_keys[] = { "name", "key", NULL };
	static const char *const flat[] = { "displayName", "required", "type" };
	const struct ynode *from, *form, *ref;
	char got[80];
	size_t old;

	env->required = true;
	env->type = CONFIG_STRING;
	if (check_keys(p, m, keys) < 0 || get_str(p, m, "name", true, 255, &env->name) < 0)
		return -1;
	if (!is_env_name(env->name))
		return fail(p, get(m, "name"), "name",
			    "must be letters, digits and '_', not starting with a digit, got %s",
			    describe(get(m, "name"), got, sizeof(got)));
	if (get_map(p, m, "valueFrom", &from) < 0)
		return -1;
	if (!from) {
		if (p->fmt != DESCRIPTOR_FERRY)
			return fail(p, m, "valueFrom", "is required (configForm or connectionRef)");
		if (parse_config_form(p, m, &env->display_name, &env->required, &env->type) < 0)
			return -1;
		goto out;
	}
	for (size_t i = 0; p->fmt == DESCRIPTOR_FERRY && i < N_ELEMS(flat); i++)
		if (get(m, flat[i]))
			return fail(p, get(m, flat[i]), flat[i],
				    "give it under valueFrom.configForm or flat, not both");
	old = push_key(p, "valueFrom");
	if (check_keys(p, from, from_keys) < 0 || get_map(p, from, "configForm", &form) < 0 ||
	    get_map(p, from, "connectionRef", &ref) < 0)
		return -1;
	if (form && ref)
		return fail(p, ref, "connectionRef",
			    "give either configForm or connectionRef, not both");
	if (!form && !ref)
		return fail(p, from, NULL, "must hold configForm or connectionRef");
	if (form) {
		push_key(p, "configForm");
		if (check_keys(p, form, form_keys) < 0 ||
		    parse_config_form(p, form, &env->display_name, &env->required, &env->type) < 0)
			return -1;
	} else {
		push_key(p, "connectionRef");
		if (check_keys(p, ref, ref_keys) < 0 ||
		    get_str(p, ref, "name", true, MAX_NAME, &env->connection_name) < 0 ||
		    get_str(p, ref, "key", true, MAX_TEXT, &env->connection_key) < 0)
			return -1;
		if (!find_connection(p->d, env->connection_name))
			return fail(p, get(ref, "name"), "name",
				    "names no connection declared in dependencies.connectionReferences, got %s",
				    describe(get(ref, "name"), got, sizeof(got)));
	}
	pop(p, old);
out:
	if (!env->display_name)
		env->display_name = xstrdup(env->name);
	return 0;
}

static int parse_file(struct dp *p, const struct ynode *m, struct descriptor_file *f)
{
	static const char *const keys[] = {
		"name", "mountPath", "displayName", "required", "type", NULL,
	};
	char got[80];
	int t = 0;

	f->required = true;
	f->type = CONFIG_STRING;
	if (check_keys(p, m, keys) < 0 || get_str(p, m, "name", true, MAX_NAME, &f->name) < 0 ||
	    get_str(p, m, "mountPath", true, MAX_MOUNT_PATH, &f->mount_path) < 0)
		return -1;
	if (!is_simple_name(f->name))
		return fail(p, get(m, "name"), "name",
			    "must use only letters, digits, '.', '_' and '-', got %s",
			    describe(get(m, "name"), got, sizeof(got)));
	if (!is_mount_path(f->mount_path))
		return fail(p, get(m, "mountPath"), "mountPath",
			    "must be an absolute path without empty, \".\" or \"..\" parts, got %s",
			    describe(get(m, "mountPath"), got, sizeof(got)));
	/* Choreo gives file configurations other attributes (e.g. a file
	 * type such as yaml); only ferry's format says required and type. */
	if (p->fmt == DESCRIPTOR_FERRY &&
	    (get_str(p, m, "displayName", false, MAX_TEXT, &f->display_name) < 0 ||
	     get_bool(p, m, "required", true, &f->required) < 0 ||
	     get_enum(p, m, "type", file_type_names, N_ELEMS(file_type_names), 0, &t) < 0))
		return -1;
	f->type = file_types[t];
	if (!f->display_name)
		f->display_name = xstrdup(f->name);
	return 0;
}

static int parse_configurations(struct dp *p, const struct ynode *root)
{
	static const char *const keys[] = { "env", "file", NULL };
	struct descriptor *d = p->d;
	const struct ynode *conf, *env, *files;
	size_t old, o;

	if (get_map(p, root, "configurations", &conf) < 0)
		return -1;
	if (!conf)
		return 0;
	old = push_key(p, "configurations");
	if (check_keys(p, conf, keys) < 0 || get_list(p, conf, "env", MAX_ENV, &env) < 0 ||
	    get_list(p, conf, "file", MAX_FILES, &files) < 0)
		return -1;
	if (env) {
		d->env = xcalloc(env->n, sizeof(*d->env));
		o = push_key(p, "env");
		for (size_t i = 0; i < env->n; i++) {
			const struct ynode *m = env->child[i];
			struct descriptor_env *ev = &d->env[d->n_env++];
			size_t oi = push_index(p, i);

			if (want_kind(p, m, NULL, YNODE_MAP) < 0 || parse_env(p, m, ev) < 0)
				return -1;
			for (size_t j = 0; j < i; j++)
				if (!strcmp(d->env[j].name, ev->name))
					return fail(p, get(m, "name"), "name",
						    "environment variable %s is declared twice",
						    ev->name);
			pop(p, oi);
		}
		pop(p, o);
	}
	if (files) {
		d->files = xcalloc(files->n, sizeof(*d->files));
		o = push_key(p, "file");
		for (size_t i = 0; i < files->n; i++) {
			const struct ynode *m = files->child[i];
			struct descriptor_file *f = &d->files[d->n_files++];
			size_t oi = push_index(p, i);

			if (want_kind(p, m, NULL, YNODE_MAP) < 0 || parse_file(p, m, f) < 0)
				return -1;
			for (size_t j = 0; j < i; j++) {
				if (!strcmp(d->files[j].name, f->name))
					return fail(p, get(m, "name"), "name",
						    "file configuration \"%s\" is declared twice",
						    f->name);
				if (!strcmp(d->files[j].mount_path, f->mount_path))
					return fail(p, get(m, "mountPath"), "mountPath",
						    "%s is already the mount path of file[%zu]",
						    f->mount_path, j);
			}
			pop(p, oi);
		}
		pop(p, o);
	}
	pop(p, old);
	return 0;
}

static int probe_port(struct dp *p, const struct ynode *m, int *port)
{
	if (get(m, "port"))
		return get_int(p, m, "port", true, 1, 65535, 0, port);
	if (p->d->n_endpoints == 0)
		return fail(p, m, "port", "is required when the descriptor declares no endpoint");
	*port = p->d->endpoints[0].port;
	return 0;
}

static void probe_defaults(struct descriptor_probe *pr)
{
	pr->period_seconds = 10;
	pr->timeout_seconds = 1;
	pr->failure_threshold = 3;
	pr->initial_delay_seconds = 0;
}

static int parse_probe(struct dp *p, const struct ynode *health, const char *key,
		       struct descriptor_probe *pr)
{
	static const char *const keys[] = {
		"http", "tcp", "exec", "periodSeconds", "timeoutSeconds",
		"failureThreshold", "initialDelaySeconds", NULL,
	};
	static const char *const kinds[] = { "http", "tcp", "exec" };
	static const char *const http_keys[] = { "path", "port", NULL };
	static const char *const tcp_keys[] = { "port", NULL };
	static const char *const exec_keys[] = { "command", NULL };
	const struct ynode *m, *k = NULL, *cmd;
	const char *kind = NULL;
	size_t old, kind_old;
	char got[80];

	if (get_map(p, health, key, &m) < 0)
		return -1;
	if (!m)
		return 0;
	old = push_key(p, key);
	if (check_keys(p, m, keys) < 0)
		return -1;
	for (size_t i = 0; i < N_ELEMS(kinds); i++) {
		if (!get(m, kinds[i]))
			continue;
		if (kind)
			return fail(p, ynode_map_key_of(m, get(m, kinds[i])), kinds[i],
				    "give only one of http, tcp or exec (%s is already given)", kind);
		kind = kinds[i];
		if (get_map(p, m, kind, &k) < 0)
			return -1;
	}
	if (!kind)
		return fail(p, m, NULL, "must have one of http, tcp or exec");
	kind_old = push_key(p, kind);
	if (!strcmp(kind, "http")) {
		pr->kind = PROBE_HTTP;
		if (check_keys(p, k, http_keys) < 0 || probe_port(p, k, &pr->port) < 0 ||
		    check_base_path(p, k, "path", &pr->http_path) < 0)
			return -1;
		if (!pr->http_path)
			pr->http_path = xstrdup("/");
	} else if (!strcmp(kind, "tcp")) {
		pr->kind = PROBE_TCP;
		if (check_keys(p, k, tcp_keys) < 0 || probe_port(p, k, &pr->port) < 0)
			return -1;
	} else {
		pr->kind = PROBE_EXEC;
		if (check_keys(p, k, exec_keys) < 0)
			return -1;
		cmd = get(k, "command");
		if (!cmd)
			return fail(p, k, "command", "is required");
		if (cmd->kind != YNODE_SEQ || cmd->n == 0)
			return fail(p, cmd, "command",
				    "must be a non-empty list of strings (the program and its arguments; no shell is used), got %s",
				    describe(cmd, got, sizeof(got)));
		if (cmd->n > MAX_EXEC_ARGS)
			return fail(p, cmd, "command", "has %zu entries, at most %d are allowed",
				    cmd->n, MAX_EXEC_ARGS);
		pr->exec_argv = xcalloc(cmd->n + 1, sizeof(char *));
		for (size_t i = 0; i < cmd->n; i++) {
			const struct ynode *a = cmd->child[i];
			char akey[32];

			snprintf(akey, sizeof(akey), "command[%zu]", i);
			if (a->kind != YNODE_SCALAR || (i == 0 && a->len == 0) || a->len > MAX_ARG)
				return fail(p, a, akey,
					    "must be a string of at most %d characters%s, got %s",
					    MAX_ARG, i == 0 ? " (not empty)" : "",
					    describe(a, got, sizeof(got)));
			pr->exec_argv[pr->exec_argc++] = xstrdup(a->str);
		}
	}
	pop(p, kind_old);
	if (get_int(p, m, "periodSeconds", false, 1, 3600, 10, &pr->period_seconds) < 0 ||
	    get_int(p, m, "timeoutSeconds", false, 1, 3600, 1, &pr->timeout_seconds) < 0 ||
	    get_int(p, m, "failureThreshold", false, 1, 100, 3, &pr->failure_threshold) < 0 ||
	    get_int(p, m, "initialDelaySeconds", false, 0, 3600, 0,
		    &pr->initial_delay_seconds) < 0)
		return -1;
	pop(p, old);
	return 0;
}

static int parse_ferry_extensions(struct dp *p, const struct ynode *root)
{
	static const char *const health_keys[] = { "readiness", "liveness", NULL };
	static const char *const res_keys[] = { "cpu", "memory", NULL };
	struct descriptor *d = p->d;
	const struct ynode *health, *res, *v;
	char got[80];
	size_t old;

	if (get_map(p, root, "health", &health) < 0)
		return -1;
	if (health) {
		old = push_key(p, "health");
		if (check_keys(p, health, health_keys) < 0 ||
		    parse_probe(p, health, "readiness", &d->readiness) < 0 ||
		    parse_probe(p, health, "liveness", &d->liveness) < 0)
			return -1;
		pop(p, old);
	}
	if (get_int(p, root, "replicas", false, 1, 20, 1, &d->replicas) < 0 ||
	    get_map(p, root, "resources", &res) < 0)
		return -1;
	if (res) {
		old = push_key(p, "resources");
		if (check_keys(p, res, res_keys) < 0)
			return -1;
		if ((v = get(res, "cpu")) &&
		    (v->kind != YNODE_SCALAR || !parse_cpu(v->str, &d->cpu_millicores)))
			return fail(p, v, "cpu",
				    "must be cores like \"0.5\" or millicores like \"500m\", from 1m to 64, got %s",
				    describe(v, got, sizeof(got)));
		if ((v = get(res, "memory")) &&
		    (v->kind != YNODE_SCALAR || !parse_memory(v->str, &d->memory_bytes)))
			return fail(p, v, "memory",
				    "must be a size like \"256Mi\", \"1Gi\" or \"512M\", from 6Mi to 1Ti, got %s",
				    describe(v, got, sizeof(got)));
		pop(p, old);
	}
	if (get_str(p, root, "schedule", false, MAX_TEXT, &d->schedule) < 0 ||
	    get_str(p, root, "timezone", false, 64, &d->timezone) < 0)
		return -1;
	if (d->timezone && !is_timezone(d->timezone))
		return fail(p, get(root, "timezone"), "timezone",
			    "must be a time zone name like \"Europe/Berlin\" or \"UTC\", got %s",
			    describe(get(root, "timezone"), got, sizeof(got)));
	return 0;
}

static int parse_ferry(struct dp *p, const struct ynode *root)
{
	static const char *const keys[] = {
		"schemaVersion", "endpoints", "dependencies", "configurations", "health",
		"replicas", "resources", "schedule", "timezone", NULL,
	};

	if (check_keys(p, root, keys) < 0 || check_schema_version(p, root, false) < 0 ||
	    parse_endpoints(p, root, "endpoints", false) < 0 ||
	    parse_dependencies(p, root) < 0 || parse_configurations(p, root) < 0 ||
	    parse_ferry_extensions(p, root) < 0)
		return -1;
	return 0;
}

static int parse_choreo(struct dp *p, const struct ynode *root)
{
	if (check_schema_version(p, root, true) < 0 ||
	    parse_endpoints(p, root, "endpoints", false) < 0)
		return -1;
	/* As Choreo does: sections a schema version does not know are ignored. */
	if (strcmp(p->d->schema_version, "1.1") >= 0 && parse_dependencies(p, root) < 0)
		return -1;
	if (strcmp(p->d->schema_version, "1.2") >= 0 && parse_configurations(p, root) < 0)
		return -1;
	return 0;
}

static int parse_component_config(struct dp *p, const struct ynode *root)
{
	const struct ynode *spec;
	char *s = NULL;
	char got[80];
	int r = -1;

	if (get_str(p, root, "apiVersion", true, MAX_TEXT, &s) < 0)
		goto out;
	if (strcmp(s, CHOREO_API_VERSION)) {
		fail(p, get(root, "apiVersion"), "apiVersion", "must be %s, got %s",
		     CHOREO_API_VERSION, describe(get(root, "apiVersion"), got, sizeof(got)));
		goto out;
	}
	free(s);
	if (get_str(p, root, "kind", true, MAX_TEXT, &s) < 0)
		goto out;
	if (strcmp(s, "ComponentConfig")) {
		fail(p, get(root, "kind"), "kind", "must be ComponentConfig, got %s",
		     describe(get(root, "kind"), got, sizeof(got)));
		goto out;
	}
	if (get_map(p, root, "spec", &spec) < 0)
		goto out;
	if (spec) {
		size_t old = push_key(p, "spec");

		if (parse_endpoints(p, spec, "inbound", true) < 0)
			goto out;
		pop(p, old);
	}
	r = 0;
out:
	free(s);
	return r;
}

static int parse_tree(struct dp *p, const struct ynode *root)
{
	char got[80];

	if (root->kind != YNODE_MAP)
		return fail(p, root, NULL, "the descriptor must be a YAML mapping, got %s",
			    describe(root, got, sizeof(got)));
	switch (p->fmt) {
	case DESCRIPTOR_FERRY:
		return parse_ferry(p, root);
	case DESCRIPTOR_CHOREO:
		return parse_choreo(p, root);
	case DESCRIPTOR_CHOREO_COMPONENT_CONFIG:
		return parse_component_config(p, root);
	case DESCRIPTOR_CHOREO_ENDPOINTS:
		return parse_endpoints(p, root, "endpoints", true);
	default:
		return ferr_internal(p->e, "descriptor format %d cannot be parsed", p->fmt);
	}
}

struct descriptor *descriptor_new_default(void)
{
	struct descriptor *d = xcalloc(1, sizeof(*d));

	d->replicas = 1;
	probe_defaults(&d->readiness);
	probe_defaults(&d->liveness);
	return d;
}

static int parse_in_context(struct descriptor **ret, const char *buf, size_t len,
			    const char *file, enum descriptor_format fmt,
			    const char *context, struct ferr *e)
{
	struct dp p = {
		.file = file, .fmt = fmt, .strict = fmt == DESCRIPTOR_FERRY,
		.context = context, .e = e, .path = STRBUF_INIT,
	};
	/* An empty file is an empty mapping: all defaults (or, for Choreo,
	 * "schemaVersion is required"). */
	struct ynode empty = { .kind = YNODE_MAP, .line = 1, .col = 1 };
	struct ynode *root = NULL;
	int r;

	*ret = NULL;
	if (len > DESCRIPTOR_MAX_FILE_SIZE)
		return ferr_set(e, 413, "too_large", "%s: the descriptor is larger than %d KiB",
				file, DESCRIPTOR_MAX_FILE_SIZE / 1024);
	if (ytree_parse(&root, buf, len, file, e) < 0)
		return -1;
	p.d = descriptor_new_default();
	p.d->format = fmt;
	p.d->file = xstrdup(file);
	r = parse_tree(&p, root ? root : &empty);
	ynode_free(root);
	strbuf_release(&p.path);
	if (r < 0) {
		descriptor_free(p.d);
		return -1;
	}
	*ret = p.d;
	return 0;
}

int descriptor_parse(struct descriptor **ret, const char *buf, size_t len,
		     const char *file, enum descriptor_format fmt, struct ferr *e)
{
	return parse_in_context(ret, buf, len, file, fmt, NULL, e);
}

/* ---- files ---- */

static void probe_release(struct descriptor_probe *pr)
{
	free(pr->http_path);
	for (size_t i = 0; i < pr->exec_argc; i++)
		free(pr->exec_argv[i]);
	free(pr->exec_argv);
}

void descriptor_free(struct descriptor *d)
{
	if (!d)
		return;
	for (size_t i = 0; i < d->n_endpoints; i++) {
		free(d->endpoints[i].name);
		free(d->endpoints[i].display_name);
		free(d->endpoints[i].base_path);
		free(d->endpoints[i].schema_file_path);
	}
	free(d->endpoints);
	for (size_t i = 0; i < d->n_connections; i++) {
		free(d->connections[i].name);
		free(d->connections[i].resource_ref);
	}
	free(d->connections);
	for (size_t i = 0; i < d->n_env; i++) {
		free(d->env[i].name);
		free(d->env[i].display_name);
		free(d->env[i].connection_name);
		free(d->env[i].connection_key);
	}
	free(d->env);
	for (size_t i = 0; i < d->n_files; i++) {
		free(d->files[i].name);
		free(d->files[i].display_name);
		free(d->files[i].mount_path);
	}
	free(d->files);
	probe_release(&d->readiness);
	probe_release(&d->liveness);
	free(d->file);
	free(d->schema_version);
	free(d->schedule);
	free(d->timezone);
	free(d);
}

/* Walks relpath one part at a time without following any symbolic link:
 * the fallback for kernels without openat2(). */
static int open_nofollow_walk(int dirfd, const char *relpath)
{
	char *copy = xstrdup(relpath), *c = copy;
	int fd = dup(dirfd);

	while (fd >= 0) {
		char *slash = strchr(c, '/');
		int next;

		if (slash)
			*slash = '\0';
		next = openat(fd, c, (slash ? O_DIRECTORY : 0) | O_RDONLY | O_NOFOLLOW |
					     O_CLOEXEC | O_NONBLOCK);
		close(fd);
		fd = next;
		if (!slash)
			break;
		c = slash + 1;
	}
	free(copy);
	return fd;
}

int descriptor_open_in_context(const char *context_dir, const char *relpath,
			       struct ferr *e)
{
	struct open_how how = {
		.flags = O_RDONLY | O_CLOEXEC | O_NONBLOCK,
		.resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS,
	};
	struct stat st;
	char *norm = normalise_context_path(relpath);
	int dfd, fd, err;

	/* Only the parser's normalised form: no "..", ".", empty parts or
	 * leading '/', so that the fallback walk cannot climb out either. */
	if (!norm || strcmp(norm, relpath)) {
		free(norm);
		return ferr_invalid(e, "%s: must be a normalised path inside the build context",
				    relpath);
	}
	free(norm);
	dfd = open(context_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		return ferr_internal(e, "cannot open the build context %s: %s", context_dir,
				     strerror(errno));
#ifndef DESCRIPTOR_TEST_NO_OPENAT2
	fd = (int)syscall(SYS_openat2, dfd, relpath, &how, sizeof(how));
#else
	/* The unit tests build a second copy this way to cover the fallback. */
	(void)how;
	fd = -1;
	errno = ENOSYS;
#endif
	if (fd < 0 && (errno == ENOSYS || errno == EPERM))
		fd = open_nofollow_walk(dfd, relpath); /* EPERM: seccomp filters */
	err = errno;
	close(dfd);
	if (fd < 0) {
		if (err == ENOENT)
			return ferr_notfound(e, "%s does not exist in the build context", relpath);
		if (err == EXDEV || err == ELOOP)
			return ferr_invalid(e, "%s leads out of the build context through a symbolic link",
					    relpath);
		if (err == ENOTDIR)
			return ferr_invalid(e, "%s: a part of the path is not a directory",
					    relpath);
		return ferr_invalid(e, "cannot open %s: %s", relpath, strerror(err));
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		return ferr_invalid(e, "%s is not a regular file", relpath);
	}
	return fd;
}

/* Reads the descriptor at rel below dfd. Returns 1 with *ret_buf and *ret_len
 * set (caller frees), 0 when there is no such file, -1 on error. */
static int read_candidate(int dfd, const char *rel, char **ret_buf, size_t *ret_len,
			  struct ferr *e)
{
	const char *slash = strchr(rel, '/');
	char dir[64];
	struct stat st;
	struct strbuf sb = STRBUF_INIT;
	int sub, fd;

	*ret_buf = NULL;
	snprintf(dir, sizeof(dir), "%.*s", (int)(slash - rel), rel);
	sub = openat(dfd, dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (sub < 0) {
		if (errno == ENOENT)
			return 0;
		if (errno == ELOOP || errno == ENOTDIR)
			return ferr_invalid(e, "%s must be a directory, not a symbolic link or a file",
					    dir);
		return ferr_internal(e, "cannot open %s: %s", dir, strerror(errno));
	}
	fd = openat(sub, slash + 1, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
	close(sub);
	if (fd < 0) {
		if (errno == ENOENT)
			return 0;
		if (errno == ELOOP)
			return ferr_invalid(e, "%s must be a regular file, not a symbolic link", rel);
		return ferr_internal(e, "cannot open %s: %s", rel, strerror(errno));
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		return ferr_invalid(e, "%s must be a regular file", rel);
	}
	if (st.st_size > DESCRIPTOR_MAX_FILE_SIZE) {
		close(fd);
		return ferr_set(e, 413, "too_large", "%s is larger than %d KiB", rel,
				DESCRIPTOR_MAX_FILE_SIZE / 1024);
	}
	for (;;) {
		ssize_t n;

		strbuf_grow(&sb, 8192);
		n = read(fd, sb.buf + sb.len, sb.alloc - sb.len - 1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			int err = errno;

			close(fd);
			strbuf_release(&sb);
			return ferr_internal(e, "cannot read %s: %s", rel, strerror(err));
		}
		if (n == 0)
			break;
		/* strbuf_setlen() only shortens; we wrote into the grown space. */
		sb.len += (size_t)n;
		sb.buf[sb.len] = '\0';
		if (sb.len > DESCRIPTOR_MAX_FILE_SIZE) {
			close(fd);
			strbuf_release(&sb);
			return ferr_set(e, 413, "too_large", "%s is larger than %d KiB", rel,
					DESCRIPTOR_MAX_FILE_SIZE / 1024);
		}
	}
	close(fd);
	*ret_len = sb.len;
	*ret_buf = strbuf_detach(&sb, NULL);
	return 1;
}

int descriptor_load(struct descriptor **ret, const char *context_dir, struct ferr *e)
{
	static const enum descriptor_format order[] = {
		DESCRIPTOR_FERRY, DESCRIPTOR_CHOREO, DESCRIPTOR_CHOREO_COMPONENT_CONFIG,
		DESCRIPTOR_CHOREO_ENDPOINTS,
	};
	char *buf = NULL;
	size_t len = 0;
	int dfd, r = 0;

	*ret = NULL;
	dfd = open(context_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		return ferr_internal(e, "cannot open the build context %s: %s", context_dir,
				     strerror(errno));
	for (size_t i = 0; i < N_ELEMS(order); i++) {
		const char *rel = descriptor_format_path(order[i]);

		r = read_candidate(dfd, rel, &buf, &len, e);
		if (r < 0)
			break;
		if (r == 0 && order[i] == DESCRIPTOR_FERRY &&
		    faccessat(dfd, ".ferry/component.yml", F_OK, AT_SYMLINK_NOFOLLOW) == 0) {
			/* A silent fall-back to defaults would hide the user's file. */
			r = ferr_invalid(e, ".ferry/component.yml: ferry reads .ferry/component.yaml; rename the file");
			break;
		}
		if (r == 1) {
			r = parse_in_context(ret, buf, len, rel, order[i], context_dir, e);
			break;
		}
	}
	close(dfd);
	free(buf);
	if (r < 0)
		return -1;
	if (!*ret)
		*ret = descriptor_new_default();
	return 0;
}

/* ---- JSON ---- */

static json_t *jstr_or_null(const char *s)
{
	return s ? json_string(s) : json_null();
}

static json_t *probe_to_json(const struct descriptor_probe *pr)
{
	json_t *o;

	if (pr->kind == PROBE_NONE)
		return json_null();
	o = json_pack("{s:s, s:i, s:i, s:i, s:i}", "kind", probe_kind_name(pr->kind),
		      "period_seconds", pr->period_seconds,
		      "timeout_seconds", pr->timeout_seconds,
		      "failure_threshold", pr->failure_threshold,
		      "initial_delay_seconds", pr->initial_delay_seconds);
	if (pr->kind == PROBE_HTTP)
		json_object_set_new(o, "path", json_string(pr->http_path));
	if (pr->kind == PROBE_HTTP || pr->kind == PROBE_TCP)
		json_object_set_new(o, "port", json_integer(pr->port));
	if (pr->kind == PROBE_EXEC) {
		json_t *a = json_array();

		for (size_t i = 0; i < pr->exec_argc; i++)
			json_array_append_new(a, json_string(pr->exec_argv[i]));
		json_object_set_new(o, "command", a);
	}
	return o;
}

json_t *descriptor_to_json(const struct descriptor *d)
{
	json_t *o = json_object(), *a;

	json_object_set_new(o, "format", json_string(descriptor_format_name(d->format)));
	json_object_set_new(o, "file", jstr_or_null(d->file));
	json_object_set_new(o, "schema_version", jstr_or_null(d->schema_version));

	a = json_array();
	for (size_t i = 0; i < d->n_endpoints; i++) {
		const struct descriptor_endpoint *ep = &d->endpoints[i];
		json_t *vis = json_array();

		for (size_t v = 0; v < N_ELEMS(visibility_names); v++)
			if (ep->visibilities & (1u << v))
				json_array_append_new(vis, json_string(visibility_names[v]));
		json_array_append_new(a, json_pack("{s:s, s:s, s:i, s:o, s:s, s:o, s:o}",
			"name", ep->name, "display_name", ep->display_name, "port", ep->port,
			"base_path", jstr_or_null(ep->base_path),
			"type", endpoint_type_name(ep->type), "network_visibilities", vis,
			"schema_file_path", jstr_or_null(ep->schema_file_path)));
	}
	json_object_set_new(o, "endpoints", a);

	a = json_array();
	for (size_t i = 0; i < d->n_connections; i++)
		json_array_append_new(a, json_pack("{s:s, s:s}", "name", d->connections[i].name,
			"resource_ref", d->connections[i].resource_ref));
	json_object_set_new(o, "connection_references", a);

	a = json_array();
	for (size_t i = 0; i < d->n_env; i++) {
		const struct descriptor_env *ev = &d->env[i];
		json_t *ref = ev->connection_name ?
			json_pack("{s:s, s:s}", "name", ev->connection_name, "key",
				  ev->connection_key) : json_null();

		json_array_append_new(a, json_pack("{s:s, s:s, s:b, s:s, s:o}",
			"name", ev->name, "display_name", ev->display_name,
			"required", ev->required, "type", config_type_name(ev->type),
			"connection_ref", ref));
	}
	json_object_set_new(o, "env", a);

	a = json_array();
	for (size_t i = 0; i < d->n_files; i++) {
		const struct descriptor_file *f = &d->files[i];

		json_array_append_new(a, json_pack("{s:s, s:s, s:s, s:b, s:s}",
			"name", f->name, "display_name", f->display_name,
			"mount_path", f->mount_path, "required", f->required,
			"type", config_type_name(f->type)));
	}
	json_object_set_new(o, "files", a);

	json_object_set_new(o, "health", json_pack("{s:o, s:o}",
		"readiness", probe_to_json(&d->readiness),
		"liveness", probe_to_json(&d->liveness)));
	json_object_set_new(o, "replicas", json_integer(d->replicas));
	json_object_set_new(o, "resources", json_pack("{s:o, s:o}",
		"cpu_millicores", d->cpu_millicores ? json_integer(d->cpu_millicores) : json_null(),
		"memory_bytes", d->memory_bytes ? json_integer(d->memory_bytes) : json_null()));
	json_object_set_new(o, "schedule", jstr_or_null(d->schedule));
	json_object_set_new(o, "timezone", jstr_or_null(d->timezone));
	return o;
}

/* Reading back: the JSON came from descriptor_to_json, normally through the
 * store, but is checked as strictly as a file would be. */
struct jr {
	struct ferr *e;
	char field[160];
};

static int jfail(struct jr *r, const char *key, const char *what)
{
	return ferr_invalid(r->e, "stored descriptor: %s%s%s: %s", r->field,
			    r->field[0] && key ? "." : "", key ? key : "", what);
}

static int jstr(struct jr *r, const json_t *o, const char *key, bool required,
		size_t max, char **out)
{
	const json_t *v = json_object_get(o, key);

	*out = NULL;
	if (!v || json_is_null(v))
		return required ? jfail(r, key, "is missing") : 0;
	if (!json_is_string(v) || json_string_length(v) == 0 || json_string_length(v) > max ||
	    strlen(json_string_value(v)) != json_string_length(v))
		return jfail(r, key, "must be a non-empty string");
	*out = xstrdup(json_string_value(v));
	return 0;
}

static int jint(struct jr *r, const json_t *o, const char *key, long long min,
		long long max, long long *out)
{
	const json_t *v = json_object_get(o, key);

	if (!json_is_integer(v) || json_integer_value(v) < min || json_integer_value(v) > max)
		return jfail(r, key, "must be an integer in range");
	*out = json_integer_value(v);
	return 0;
}

static int jint32(struct jr *r, const json_t *o, const char *key, long long min,
		  long long max, int *out)
{
	long long v = 0;

	if (jint(r, o, key, min, max, &v) < 0)
		return -1;
	*out = (int)v;
	return 0;
}

static int jbool(struct jr *r, const json_t *o, const char *key, bool *out)
{
	const json_t *v = json_object_get(o, key);

	if (!json_is_boolean(v))
		return jfail(r, key, "must be true or false");
	*out = json_is_true(v);
	return 0;
}

static int jenum(struct jr *r, const json_t *o, const char *key,
		 const char *const names[], size_t n, int *out)
{
	const char *s = json_string_value(json_object_get(o, key));

	for (size_t i = 0; s && i < n; i++) {
		if (!strcmp(names[i], s)) {
			*out = (int)i;
			return 0;
		}
	}
	return jfail(r, key, "has an unknown value");
}

static const json_t *jarray(struct jr *r, const json_t *o, const char *key, size_t max)
{
	const json_t *a = json_object_get(o, key);

	if (!json_is_array(a) || json_array_size(a) > max) {
		jfail(r, key, "must be a list");
		return NULL;
	}
	return a;
}

static void jfield(struct jr *r, const char *key, size_t i)
{
	snprintf(r->field, sizeof(r->field), "%s[%zu]", key, i);
}

static int probe_from_json(struct jr *r, const json_t *o, const char *key,
			   struct descriptor_probe *pr)
{
	const json_t *cmd;
	int k;

	snprintf(r->field, sizeof(r->field), "health.%s", key);
	if (!o || json_is_null(o))
		return 0;
	if (!json_is_object(o) ||
	    jenum(r, o, "kind", probe_kind_names, N_ELEMS(probe_kind_names), &k) < 0 ||
	    k == PROBE_NONE)
		return jfail(r, "kind", "must be http, tcp or exec");
	pr->kind = (enum probe_kind)k;
	if (jint32(r, o, "period_seconds", 1, 3600, &pr->period_seconds) < 0 ||
	    jint32(r, o, "timeout_seconds", 1, 3600, &pr->timeout_seconds) < 0 ||
	    jint32(r, o, "failure_threshold", 1, 100, &pr->failure_threshold) < 0 ||
	    jint32(r, o, "initial_delay_seconds", 0, 3600, &pr->initial_delay_seconds) < 0)
		return -1;
	if (pr->kind == PROBE_HTTP &&
	    (jstr(r, o, "path", true, MAX_PATH, &pr->http_path) < 0 || !is_url_path(pr->http_path)))
		return jfail(r, "path", "must be an URL path");
	if ((pr->kind == PROBE_HTTP || pr->kind == PROBE_TCP) &&
	    jint32(r, o, "port", 1, 65535, &pr->port) < 0)
		return -1;
	if (pr->kind == PROBE_EXEC) {
		cmd = jarray(r, o, "command", MAX_EXEC_ARGS);
		if (!cmd || json_array_size(cmd) == 0)
			return jfail(r, "command", "must be a non-empty list");
		pr->exec_argv = xcalloc(json_array_size(cmd) + 1, sizeof(char *));
		for (size_t i = 0; i < json_array_size(cmd); i++) {
			const json_t *a = json_array_get(cmd, i);

			if (!json_is_string(a) || json_string_length(a) > MAX_ARG ||
			    strlen(json_string_value(a)) != json_string_length(a) ||
			    (i == 0 && json_string_length(a) == 0))
				return jfail(r, "command", "must hold strings");
			pr->exec_argv[pr->exec_argc++] = xstrdup(json_string_value(a));
		}
	}
	return 0;
}

static int from_json(struct jr *r, struct descriptor *d, const json_t *j)
{
	const json_t *a, *h, *res, *v;
	int x;

	if (!json_is_object(j))
		return jfail(r, NULL, "must be a JSON object");
	if (jenum(r, j, "format", (const char *const[]){ "default", "ferry", "choreo",
		  "choreo-component-config", "choreo-endpoints" }, 5, &x) < 0)
		return -1;
	d->format = (enum descriptor_format)x;
	if (jstr(r, j, "file", false, MAX_PATH, &d->file) < 0 ||
	    jstr(r, j, "schema_version", false, 8, &d->schema_version) < 0)
		return -1;
	if ((d->format == DESCRIPTOR_DEFAULT) != !d->file)
		return jfail(r, "file", "must be set exactly when a file was read");

	if (!(a = jarray(r, j, "endpoints", MAX_ENDPOINTS)))
		return -1;
	d->endpoints = xcalloc(json_array_size(a), sizeof(*d->endpoints));
	for (size_t i = 0; i < json_array_size(a); i++) {
		const json_t *o = json_array_get(a, i), *vis;
		struct descriptor_endpoint *ep = &d->endpoints[d->n_endpoints++];
		char *sfp;

		jfield(r, "endpoints", i);
		if (jstr(r, o, "name", true, 63, &ep->name) < 0 || !is_dns_label(ep->name))
			return jfail(r, "name", "must be a DNS label");
		if (jstr(r, o, "display_name", true, MAX_TEXT, &ep->display_name) < 0 ||
		    jint32(r, o, "port", 1, 65535, &ep->port) < 0 ||
		    jenum(r, o, "type", endpoint_type_names, N_ELEMS(endpoint_type_names), &x) < 0)
			return -1;
		ep->type = (enum endpoint_type)x;
		if (jstr(r, o, "base_path", false, MAX_PATH, &ep->base_path) < 0 ||
		    (ep->base_path && !is_url_path(ep->base_path)) ||
		    (!ep->base_path && (ep->type == ENDPOINT_REST || ep->type == ENDPOINT_GRAPHQL)))
			return jfail(r, "base_path", "must be an URL path, and is required for REST and GraphQL");
		if (jstr(r, o, "schema_file_path", false, MAX_PATH, &ep->schema_file_path) < 0)
			return -1;
		if (ep->schema_file_path) {
			sfp = normalise_context_path(ep->schema_file_path);
			if (!sfp || strcmp(sfp, ep->schema_file_path)) {
				free(sfp);
				return jfail(r, "schema_file_path", "must be a normalised relative path");
			}
			free(sfp);
		}
		if (!(vis = jarray(r, o, "network_visibilities", N_ELEMS(visibility_names))))
			return -1;
		for (size_t k = 0; k < json_array_size(vis); k++) {
			const char *s = json_string_value(json_array_get(vis, k));
			int b = s ? enum_index(visibility_names, N_ELEMS(visibility_names), s) : -1;

			if (b < 0 || strcmp(s, visibility_names[b]))
				return jfail(r, "network_visibilities", "has an unknown value");
			ep->visibilities |= 1u << b;
		}
		if (!ep->visibilities)
			return jfail(r, "network_visibilities", "must not be empty");
		for (size_t k = 0; k < i; k++)
			if (!strcmp(d->endpoints[k].name, ep->name))
				return jfail(r, "name", "is used twice");
	}

	if (!(a = jarray(r, j, "connection_references", MAX_CONNECTIONS)))
		return -1;
	d->connections = xcalloc(json_array_size(a), sizeof(*d->connections));
	for (size_t i = 0; i < json_array_size(a); i++) {
		const json_t *o = json_array_get(a, i);
		struct descriptor_connection *c = &d->connections[d->n_connections++];

		jfield(r, "connection_references", i);
		if (jstr(r, o, "name", true, MAX_NAME, &c->name) < 0 || !is_simple_name(c->name) ||
		    find_connection(d, c->name) != c)
			return jfail(r, "name", "must be a unique simple name");
		if (jstr(r, o, "resource_ref", true, MAX_PATH, &c->resource_ref) < 0)
			return -1;
	}

	if (!(a = jarray(r, j, "env", MAX_ENV)))
		return -1;
	d->env = xcalloc(json_array_size(a), sizeof(*d->env));
	for (size_t i = 0; i < json_array_size(a); i++) {
		const json_t *o = json_array_get(a, i), *ref;
		struct descriptor_env *ev = &d->env[d->n_env++];

		jfield(r, "env", i);
		if (jstr(r, o, "name", true, 255, &ev->name) < 0 || !is_env_name(ev->name))
			return jfail(r, "name", "must be an environment variable name");
		for (size_t k = 0; k < i; k++)
			if (!strcmp(d->env[k].name, ev->name))
				return jfail(r, "name", "is used twice");
		if (jstr(r, o, "display_name", true, MAX_TEXT, &ev->display_name) < 0 ||
		    jbool(r, o, "required", &ev->required) < 0 ||
		    jenum(r, o, "type", config_type_names, N_ELEMS(config_type_names), &x) < 0)
			return -1;
		ev->type = (enum config_type)x;
		ref = json_object_get(o, "connection_ref");
		if (ref && !json_is_null(ref)) {
			if (!json_is_object(ref))
				return jfail(r, "connection_ref", "must be an object or null");
			if (jstr(r, ref, "name", true, MAX_NAME, &ev->connection_name) < 0 ||
			    jstr(r, ref, "key", true, MAX_TEXT, &ev->connection_key) < 0)
				return -1;
			if (!find_connection(d, ev->connection_name))
				return jfail(r, "connection_ref.name", "names no declared connection");
		}
	}

	if (!(a = jarray(r, j, "files", MAX_FILES)))
		return -1;
	d->files = xcalloc(json_array_size(a), sizeof(*d->files));
	for (size_t i = 0; i < json_array_size(a); i++) {
		const json_t *o = json_array_get(a, i);
		struct descriptor_file *f = &d->files[d->n_files++];

		jfield(r, "files", i);
		if (jstr(r, o, "name", true, MAX_NAME, &f->name) < 0 || !is_simple_name(f->name))
			return jfail(r, "name", "must be a simple name");
		if (jstr(r, o, "mount_path", true, MAX_MOUNT_PATH, &f->mount_path) < 0 ||
		    !is_mount_path(f->mount_path))
			return jfail(r, "mount_path", "must be an absolute path");
		for (size_t k = 0; k < i; k++)
			if (!strcmp(d->files[k].name, f->name) ||
			    !strcmp(d->files[k].mount_path, f->mount_path))
				return jfail(r, "name", "name or mount path is used twice");
		if (jstr(r, o, "display_name", true, MAX_TEXT, &f->display_name) < 0 ||
		    jbool(r, o, "required", &f->required) < 0 ||
		    jenum(r, o, "type", file_type_names, N_ELEMS(file_type_names), &x) < 0)
			return -1;
		f->type = file_types[x];
	}

	r->field[0] = '\0';
	h = json_object_get(j, "health");
	if (!json_is_object(h))
		return jfail(r, "health", "must be an object");
	if (probe_from_json(r, json_object_get(h, "readiness"), "readiness", &d->readiness) < 0 ||
	    probe_from_json(r, json_object_get(h, "liveness"), "liveness", &d->liveness) < 0)
		return -1;
	r->field[0] = '\0';
	if (jint32(r, j, "replicas", 1, 20, &d->replicas) < 0)
		return -1;
	res = json_object_get(j, "resources");
	if (!json_is_object(res))
		return jfail(r, "resources", "must be an object");
	snprintf(r->field, sizeof(r->field), "resources");
	v = json_object_get(res, "cpu_millicores");
	if (v && !json_is_null(v)) {
		long long c;

		if (jint(r, res, "cpu_millicores", 1, 64000, &c) < 0)
			return -1;
		d->cpu_millicores = c;
	}
	v = json_object_get(res, "memory_bytes");
	if (v && !json_is_null(v)) {
		long long m;

		if (jint(r, res, "memory_bytes", MEMORY_MIN, MEMORY_MAX, &m) < 0)
			return -1;
		d->memory_bytes = m;
	}
	r->field[0] = '\0';
	if (jstr(r, j, "schedule", false, MAX_TEXT, &d->schedule) < 0 ||
	    jstr(r, j, "timezone", false, 64, &d->timezone) < 0)
		return -1;
	if (d->timezone && !is_timezone(d->timezone))
		return jfail(r, "timezone", "must be a time zone name");
	return 0;
}

int descriptor_from_json(struct descriptor **ret, const json_t *j, struct ferr *e)
{
	struct jr r = { .e = e };
	struct descriptor *d = descriptor_new_default();

	*ret = NULL;
	if (from_json(&r, d, j) < 0) {
		/* Checks that fail without setting e (a bad name after a good
		 * read) have already called jfail; be sure anyway. */
		if (!ferr_isset(e))
			ferr_invalid(e, "stored descriptor: invalid");
		descriptor_free(d);
		return -1;
	}
	*ret = d;
	return 0;
}
