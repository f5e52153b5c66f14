/* descriptor_rules: the value rules every descriptor format and the JSON
 * reader share. Choreo's rules are those of its source-config validator
 * (regular expressions given next to each function); POSIX <regex.h>
 * checks the reference forms exactly where they are regular expressions
 * there too. */
#include <ctype.h>
#include <regex.h>
#include <stdio.h>
#include <strings.h>

#include "pipeline/descriptor_int.h"

#include "lib/banned.h"

bool rule_dns_label(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > 63 || s[0] == '-' || s[n - 1] == '-')
		return false;
	for (size_t i = 0; i < n; i++)
		if (!(islower((unsigned char)s[i]) || isdigit((unsigned char)s[i]) || s[i] == '-'))
			return false;
	return true;
}

bool rule_env_name(const char *s)
{
	if (!(isalpha((unsigned char)s[0]) || s[0] == '_'))
		return false;
	for (size_t i = 1; s[i]; i++)
		if (!(isalnum((unsigned char)s[i]) || s[i] == '_'))
			return false;
	return strlen(s) <= 255;
}

bool rule_simple_name(const char *s)
{
	if (!s[0] || strlen(s) > MAX_NAME)
		return false;
	for (size_t i = 0; s[i]; i++)
		if (!(isalnum((unsigned char)s[i]) || s[i] == '.' || s[i] == '_' || s[i] == '-'))
			return false;
	return true;
}

bool rule_has_control(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return true;
	return false;
}

/* An URL path: "/", "/api/v1". No spaces, query or fragment. */
bool rule_url_path(const char *s)
{
	if (s[0] != '/' || strlen(s) > MAX_PATH)
		return false;
	for (; *s; s++)
		if ((unsigned char)*s <= 0x20 || *s == 0x7f || *s == '?' || *s == '#')
			return false;
	return true;
}

/* Absolute, no empty, "." or ".." parts, not "/" itself. */
bool rule_mount_path(const char *s)
{
	const char *c;

	if (s[0] != '/' || strlen(s) > MAX_MOUNT_PATH || rule_has_control(s))
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
char *rule_context_path(const char *s)
{
	struct strbuf out = STRBUF_INIT;
	const char *c = s;

	if (s[0] == '/' || s[0] == '\0' || strlen(s) > MAX_PATH || rule_has_control(s))
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

bool rule_timezone(const char *s)
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
bool rule_parse_int(const char *s, long long *out)
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
bool rule_parse_cpu(const char *s, int64_t *out)
{
	long long v = 0, frac = 0;
	size_t n = strlen(s), i = 0, fd = 0;

	if (n == 0 || n > 16)
		return false;
	if (s[n - 1] == 'm') {
		char num[17];

		memcpy(num, s, n - 1);
		num[n - 1] = '\0';
		if (num[0] == '-' || !rule_parse_int(num, &v))
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

/* "268435456", "256Mi", "1Gi", "512M", "1G", "64k" -> bytes. */
bool rule_parse_memory(const char *s, int64_t *out)
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

/* Legacy Choreo files name endpoints freely ("Greeting Service") and
 * component.yaml allows '_'; ferry needs DNS labels. */
char *rule_dns_label_from(const char *s)
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

int rule_enum_index(const char *const names[], size_t n, const char *s)
{
	for (size_t i = 0; i < n; i++)
		if (!strcasecmp(names[i], s))
			return (int)i;
	return -1;
}

void rule_join_names(char *buf, size_t size, const char *const names[], size_t n)
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

/* ^[a-z][a-z0-9_-]*$, at most 50 characters. */
bool rule_endpoint_name(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > 50 || !(s[0] >= 'a' && s[0] <= 'z'))
		return false;
	for (size_t i = 1; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || isdigit((unsigned char)s[i]) ||
		      s[i] == '_' || s[i] == '-'))
			return false;
	return true;
}

static bool ascii_alnum(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

/* JavaScript's \s for the ASCII range. */
static bool js_space(char c)
{
	return c == ' ' || (c >= '\t' && c <= '\r');
}

/* ^\s*(?!.*[^a-zA-Z0-9][^a-zA-Z0-9])[a-zA-Z0-9][a-zA-Z0-9 _\-.]{1,48}[a-zA-Z0-9]\s*$ */
bool rule_connection_name(const char *s)
{
	size_t n, last = 0;
	bool found = false;

	while (js_space(*s))
		s++;
	n = strlen(s);
	for (size_t i = 0; i < n; i++) {
		if (i && !ascii_alnum(s[i]) && !ascii_alnum(s[i - 1]))
			return false;
		if (ascii_alnum(s[i])) {
			last = i;
			found = true;
		}
	}
	if (!found || !ascii_alnum(s[0]) || last + 1 < 3 || last + 1 > 50)
		return false;
	for (size_t i = 1; i < last; i++)
		if (!ascii_alnum(s[i]) && !strchr(" _-.", s[i]))
			return false;
	for (size_t i = last + 1; i < n; i++)
		if (!js_space(s[i]))
			return false;
	return true;
}

/* ^/[a-zA-Z0-9/\-_]*$ */
bool rule_choreo_path(const char *s)
{
	if (s[0] != '/' || strlen(s) > MAX_PATH)
		return false;
	for (s++; *s; s++)
		if (!ascii_alnum(*s) && !strchr("/-_", *s))
			return false;
	return true;
}

/* yup's uuid(): 8-4-4-4-12 hexadecimal digits, version 1..5, variant
 * 8..b, or the nil UUID. */
bool rule_uuid(const char *s)
{
	static const int groups[] = { 8, 4, 4, 4, 12 };

	if (strlen(s) != 36)
		return false;
	if (!strcmp(s, "00000000-0000-0000-0000-000000000000"))
		return true;
	for (size_t g = 0, i = 0; g < N_ELEMS(groups); g++) {
		for (int k = 0; k < groups[g]; k++, i++)
			if (!isxdigit((unsigned char)s[i]))
				return false;
		if (g + 1 < N_ELEMS(groups) && s[i++] != '-')
			return false;
	}
	return s[14] >= '1' && s[14] <= '5' && strchr("89abAB", s[19]);
}

static bool matches(const char *re, const char *s)
{
	regex_t rx;
	bool ok;

	if (regcomp(&rx, re, REG_EXTENDED | REG_NOSUB) != 0)
		abort(); /* the expressions are constants */
	ok = regexec(&rx, s, 0, NULL, 0) == 0;
	regfree(&rx);
	return ok;
}

/* Splits s at '/' into at most max parts (new strings in parts[]). */
static size_t split(const char *s, char *parts[], size_t max)
{
	size_t n = 0;

	while (n < max) {
		const char *slash = strchr(s, '/');
		size_t len = slash ? (size_t)(slash - s) : strlen(s);

		parts[n] = dsc_calloc(len + 1, 1);
		memcpy(parts[n++], s, len);
		if (!slash)
			break;
		s = slash + 1;
	}
	return n;
}

static bool is_visibility_word(const char *s)
{
	return !strcmp(s, "PUBLIC") || !strcmp(s, "PROJECT") || !strcmp(s, "ORGANIZATION");
}

#define RX_NAME "[a-zA-Z0-9_-]+"
#define RX_THIRDPARTY "^thirdparty:[a-zA-Z0-9[:space:]_.-]+/[vV][0-9]+(\\.[0-9]+)*$"
#define RX_DATABASE "^database:(" RX_NAME "/)?" RX_NAME "$"
#define RX_STORAGE "^storage:[a-zA-Z0-9[:space:]_.-]+$"
#define RX_SERVICE "^(service:)?(/" RX_NAME "/)?" RX_NAME "/[vV]?[0-9]+(\\.[0-9]+)*" \
	"(/" RX_NAME ")?(/(PUBLIC|PROJECT|ORGANIZATION))?$"
#define RX_CHOREO "^choreo:///" RX_NAME "/" RX_NAME "/" RX_NAME "/" RX_NAME \
	"/v[0-9]+(\\.[0-9]+)?/(PUBLIC|PROJECT|ORGANIZATION)$"

static const char why_service[] =
	"[service:][/<project>/]<component>/<major-version>[/<endpoint>][/<PUBLIC|PROJECT|ORGANIZATION>]";
static const char why_thirdparty[] = "thirdparty:<service-name>/<version> (a version like v1 or v1.2)";
static const char why_database[] = "database:[<server>/]<database> (letters, digits, '_' and '-')";
static const char why_storage[] = "storage:<name> (letters, digits, spaces, '.', '_' and '-')";
static const char why_choreo[] =
	"choreo:///<org>/<project>/<component>/<endpoint>/v<major>[.<minor>]/<PUBLIC|PROJECT|ORGANIZATION>";

/* thirdparty:, database: and storage: references keep what follows the
 * prefix as their target. */
static int other_ref(struct descriptor_connection *c, const char *ref, bool storage,
		     const char **why)
{
	static const struct {
		const char *prefix, *rx, *why;
		enum connection_kind kind;
	} kinds[] = {
		{ "thirdparty:", RX_THIRDPARTY, why_thirdparty, CONNECTION_THIRDPARTY },
		{ "database:", RX_DATABASE, why_database, CONNECTION_DATABASE },
		{ "storage:", RX_STORAGE, why_storage, CONNECTION_STORAGE },
	};

	for (size_t i = 0; i < N_ELEMS(kinds) - !storage; i++) {
		if (strncmp(ref, kinds[i].prefix, strlen(kinds[i].prefix)))
			continue;
		if (!matches(kinds[i].rx, ref)) {
			*why = kinds[i].why;
			return -1;
		}
		c->kind = kinds[i].kind;
		c->target = dsc_strdup(ref + strlen(kinds[i].prefix));
		return 0;
	}
	return 1;
}

int rule_resource_ref(struct descriptor_connection *c, const char *ref, const char **why)
{
	char *parts[4] = { 0 };
	const char *s = ref;
	size_t n;
	int r = other_ref(c, ref, true, why);

	if (r <= 0)
		return r;
	if (!matches(RX_SERVICE, ref)) {
		*why = !strncmp(ref, "service:", 8) ? why_service :
			"a service ([service:][/<project>/]<component>/<major-version>[/<endpoint>][/<visibility>]), "
			"database:[<server>/]<database>, thirdparty:<name>/<version> or storage:<name>";
		return -1;
	}
	c->kind = CONNECTION_SERVICE;
	if (!strncmp(s, "service:", 8))
		s += 8;
	if (s[0] == '/') {
		const char *slash = strchr(s + 1, '/');

		c->project = dsc_calloc((size_t)(slash - s), 1);
		memcpy(c->project, s + 1, (size_t)(slash - s - 1));
		s = slash + 1;
	}
	n = split(s, parts, 4);
	c->component = parts[0];
	c->version = parts[1];
	if (n == 3 && is_visibility_word(parts[2])) {
		c->visibility = parts[2];
	} else if (n >= 3) {
		c->endpoint = parts[2];
		c->visibility = n == 4 ? parts[3] : NULL;
	}
	return 0;
}

int rule_service_ref(struct descriptor_connection *c, const char *ref, const char **why)
{
	char *parts[6] = { 0 };
	int r = other_ref(c, ref, false, why);

	if (r <= 0)
		return r;
	if (strncmp(ref, "choreo:///", 10) || !matches(RX_CHOREO, ref)) {
		*why = !strncmp(ref, "choreo:///", 10) ? why_choreo :
			"choreo:///<org>/<project>/<component>/<endpoint>/v<major>/<visibility>, "
			"thirdparty:<name>/<version> or database:[<server>/]<database>";
		return -1;
	}
	split(ref + 10, parts, 6);
	free(parts[0]); /* the organisation: ferry has one */
	c->kind = CONNECTION_SERVICE;
	c->project = parts[1];
	c->component = parts[2];
	c->endpoint = parts[3];
	c->version = parts[4];
	c->visibility = parts[5];
	return 0;
}
