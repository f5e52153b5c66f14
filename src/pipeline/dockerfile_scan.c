#include "pipeline/dockerfile_scan.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "lib/strbuf.h"
#include "lib/jsontext.h"
#include "lib/banned.h"

#define MAX_STAGES 128
#define MAX_TOKENS 256

/* What a stage's USER instructions leave the process running as. */
enum user_state { USER_UNSET, USER_NONROOT, USER_ROOT };

struct stage {
	char *name;              /* "AS name", lower case; NULL if none */
	int parent;              /* index of the earlier stage FROM names, or -1 */
	enum user_state user;
	int user_line;           /* line of the USER that set user */
	int from_line;
};

struct dscan {
	const char *file;
	json_t *findings;
	int added;
	struct stage stages[MAX_STAGES];
	int n_stages;
	char *global_args[MAX_TOKENS];  /* "NAME=value" of ARGs before the first FROM */
	int n_global_args;
};

static void add_finding(struct dscan *s, const char *id, const char *severity, int line,
			const char *fmt, ...) __attribute__((format(printf, 5, 6)));
static void add_finding(struct dscan *s, const char *id, const char *severity, int line,
			const char *fmt, ...)
{
	struct strbuf title = STRBUF_INIT, where = STRBUF_INIT;
	va_list ap;

	va_start(ap, fmt);
	strbuf_vaddf(&title, fmt, ap);
	va_end(ap);
	strbuf_addf(&where, "%s:%d", s->file, line);
	json_array_append_new(s->findings, json_pack(
		"{s:s, s:s, s:s, s:o, s:n, s:n, s:n, s:o, s:o, s:i}",
		"id", id, "type", "dockerfile", "severity", severity,
		"title", json_text(title.buf, title.len),
		"package", "installed_version", "fixed_version",
		"where", json_text(where.buf, where.len), "file", json_text0(s->file), "line", line));
	s->added++;
	strbuf_release(&title);
	strbuf_release(&where);
}

/* Splits args into words as the shell form of ENV/ARG/FROM reads them:
 * whitespace separates, quotes group (and are removed), a backslash
 * escapes. tokens point into storage (which must outlive them). */
static int split_words(const char *args, struct strbuf *storage, char **tokens, int max)
{
	size_t n = strlen(args);
	int count = 0;

	strbuf_reset(storage);
	/* Every word is at most n bytes plus its NUL: grow once so that the
	 * pointers taken below stay valid. */
	strbuf_grow(storage, 2 * n + 2);
	for (size_t i = 0; i < n;) {
		char quote = 0;
		size_t start;

		while (i < n && isspace((unsigned char)args[i]))
			i++;
		if (i >= n)
			break;
		start = storage->len;
		while (i < n && (quote || !isspace((unsigned char)args[i]))) {
			char c = args[i++];
			if (quote && c == quote) {
				quote = 0;
			} else if (!quote && (c == '"' || c == '\'')) {
				quote = c;
			} else if (c == '\\' && i < n && quote != '\'') {
				strbuf_addch(storage, args[i++]);
			} else {
				strbuf_addch(storage, c);
			}
		}
		strbuf_addch(storage, '\0');
		if (count < max)
			tokens[count++] = storage->buf + start;
	}
	return count;
}

/* The exec form ["a", "b"] as plain words (good enough to look at the
 * sources of ADD: no escapes inside URLs matter here). */
static void unjson(const char *args, struct strbuf *out)
{
	strbuf_reset(out);
	for (const char *p = args; *p; p++)
		strbuf_addch(out, strchr("[],\"", *p) ? ' ' : *p);
}

static int stage_by_name(const struct dscan *s, const char *name)
{
	for (int i = s->n_stages - 1; i >= 0; i--)
		if (s->stages[i].name && !strcasecmp(s->stages[i].name, name))
			return i;
	return -1;
}

/* ${NAME} or $NAME of a global ARG substituted; 0 if a variable has no
 * known default (the reference cannot be judged). */
static int expand_args(const struct dscan *s, const char *in, struct strbuf *out)
{
	strbuf_reset(out);
	for (const char *p = in; *p;) {
		const char *name, *end;
		size_t len;
		int found = 0;

		if (*p != '$') {
			strbuf_addch(out, *p++);
			continue;
		}
		if (p[1] == '{') {
			name = p + 2;
			end = strchr(name, '}');
			if (!end)
				return 0;
			len = strcspn(name, ":}");
		} else {
			name = p + 1;
			len = 0;
			while (isalnum((unsigned char)name[len]) || name[len] == '_')
				len++;
			end = name + len - 1;
		}
		for (int i = 0; i < s->n_global_args; i++) {
			const char *a = s->global_args[i];
			if (!strncmp(a, name, len) && a[len] == '=') {
				strbuf_addstr(out, a + len + 1);
				found = 1;
				break;
			}
		}
		if (!found || !len)
			return 0;
		p = end + 1;
	}
	return 1;
}

static void check_base(struct dscan *s, const char *image, int line)
{
	struct strbuf ref = STRBUF_INIT;
	const char *slash, *colon, *tag;

	if (!strcasecmp(image, "scratch") || stage_by_name(s, image) >= 0)
		return;
	if (!expand_args(s, image, &ref) || !ref.len)
		goto out;
	if (!strcasecmp(ref.buf, "scratch") || stage_by_name(s, ref.buf) >= 0)
		goto out;
	/* ferry's own base images are built repeatably by ferryd itself and
	 * resolved through its registry (see baseimage.h): nothing to pin. */
	if (!strncmp(ref.buf, "ferry/", 6))
		goto out;
	if (strstr(ref.buf, "@sha256:"))
		goto out;
	slash = strrchr(ref.buf, '/');
	colon = strrchr(ref.buf, ':');
	tag = colon && (!slash || colon > slash) ? colon + 1 : NULL;
	if (!tag)
		add_finding(s, "FERRY-DF-004", "MEDIUM", line,
			    "base image %s is pinned to nothing (implicitly \"latest\"): name a version "
			    "tag or a digest (@sha256:...)", ref.buf);
	else if (!strcmp(tag, "latest"))
		add_finding(s, "FERRY-DF-004", "MEDIUM", line,
			    "base image %s is pinned to \"latest\": name a version tag or a digest "
			    "(@sha256:...)", ref.buf);
out:
	strbuf_release(&ref);
}

static void on_from(struct dscan *s, const char *args, int line)
{
	struct strbuf storage = STRBUF_INIT;
	char *tok[MAX_TOKENS];
	int n = split_words(args, &storage, tok, MAX_TOKENS), i = 0;
	struct stage *st;

	while (i < n && !strncmp(tok[i], "--", 2))
		i++;
	if (s->n_stages == MAX_STAGES) {
		/* Past the cap only the final stage matters: reuse the last slot. */
		free(s->stages[MAX_STAGES - 1].name);
		s->n_stages--;
	}
	st = &s->stages[s->n_stages];
	memset(st, 0, sizeof(*st));
	st->parent = -1;
	st->from_line = line;
	if (i < n) {
		st->parent = stage_by_name(s, tok[i]);
		check_base(s, tok[i], line);
		if (i + 2 < n && !strcasecmp(tok[i + 1], "as")) {
			st->name = strdup(tok[i + 2]);
			if (!st->name)
				abort();
		}
	}
	s->n_stages++;
	strbuf_release(&storage);
}

static void on_user(struct dscan *s, const char *args, int line)
{
	struct stage *st;
	char user[256];
	size_t len;

	if (!s->n_stages)
		return;
	st = &s->stages[s->n_stages - 1];
	while (isspace((unsigned char)*args))
		args++;
	len = strcspn(args, ": \t");
	if (len >= sizeof(user))
		len = sizeof(user) - 1;
	memcpy(user, args, len);
	user[len] = '\0';
	st->user = !len || !strcmp(user, "root") || strspn(user, "0") == len ? USER_ROOT : USER_NONROOT;
	st->user_line = line;
}

/* Names whose literal values are secrets. */
static int secret_name(const char *name)
{
	static const char *const words[] = {
		"PASSWORD", "PASSWD", "PASSPHRASE", "SECRET", "TOKEN", "API_KEY", "APIKEY",
		"ACCESS_KEY", "PRIVATE_KEY", "CREDENTIAL", "AUTH_KEY", NULL,
	};
	static const char *const not_values[] = { "_FILE", "_PATH", "_DIR", "_URL", "_NAME", NULL };
	char up[128];
	size_t n = strlen(name);

	if (n >= sizeof(up))
		n = sizeof(up) - 1;
	for (size_t i = 0; i < n; i++)
		up[i] = (char)toupper((unsigned char)name[i]);
	up[n] = '\0';
	/* SECRET_FILE=/run/secrets/db names where a secret is, not the secret. */
	for (const char *const *w = not_values; *w; w++) {
		size_t wl = strlen(*w);
		if (n > wl && !strcmp(up + n - wl, *w))
			return 0;
	}
	for (const char *const *w = words; *w; w++)
		if (strstr(up, *w))
			return 1;
	return 0;
}

static void check_assignment(struct dscan *s, const char *kw, const char *name, const char *value,
			     int line)
{
	if (!*value || *value == '$' || !secret_name(name))
		return;
	add_finding(s, "FERRY-DF-003", "HIGH", line,
		    "%s %s has a literal value: it stays readable in the image; pass it as a "
		    "secret configuration at run time instead", kw, name);
}

static void on_env_arg(struct dscan *s, const char *kw, const char *args, int line)
{
	struct strbuf storage = STRBUF_INIT;
	char *tok[MAX_TOKENS];
	int n = split_words(args, &storage, tok, MAX_TOKENS);
	int is_arg = !strcmp(kw, "ARG");

	if (!is_arg && n >= 2 && !strchr(tok[0], '=')) {
		/* The legacy form: ENV NAME the rest is the value */
		const char *v = args;
		while (isspace((unsigned char)*v))
			v++;
		v += strcspn(v, " \t");
		while (isspace((unsigned char)*v))
			v++;
		check_assignment(s, kw, tok[0], v, line);
		goto out;
	}
	for (int i = 0; i < n; i++) {
		char *eq = strchr(tok[i], '=');
		if (!eq)
			continue;
		*eq = '\0';
		check_assignment(s, kw, tok[i], eq + 1, line);
		if (is_arg && !s->n_stages && s->n_global_args < MAX_TOKENS) {
			*eq = '=';
			s->global_args[s->n_global_args] = strdup(tok[i]);
			if (!s->global_args[s->n_global_args])
				abort();
			s->n_global_args++;
		}
	}
out:
	strbuf_release(&storage);
}

static void on_add(struct dscan *s, const char *args, int line)
{
	struct strbuf plain = STRBUF_INIT, storage = STRBUF_INIT;
	char *tok[MAX_TOKENS];
	int n;

	while (isspace((unsigned char)*args))
		args++;
	if (*args == '[') {
		unjson(args, &plain);
		args = plain.buf;
	}
	n = split_words(args, &storage, tok, MAX_TOKENS);
	/* the last word is the destination */
	for (int i = 0; i + 1 < n; i++) {
		if (!strncmp(tok[i], "--", 2))
			continue;
		if (!strncasecmp(tok[i], "http://", 7) || !strncasecmp(tok[i], "https://", 8) ||
		    !strncasecmp(tok[i], "ftp://", 6)) {
			add_finding(s, "FERRY-DF-002", "MEDIUM", line,
				    "ADD downloads %.200s at build time without a checksum: download with "
				    "a verified checksum in RUN, or COPY a file from the repository",
				    tok[i]);
			break;
		}
	}
	strbuf_release(&plain);
	strbuf_release(&storage);
}

static void on_run(struct dscan *s, const char *args, int line)
{
	for (const char *p = args; (p = strstr(p, "sudo")); p += 4) {
		char before = p == args ? ' ' : p[-1];
		char after = p[4];
		if (strchr(" \t;&|(`\"'[,", before) && (!after || strchr(" \t;&|)\"',", after))) {
			add_finding(s, "FERRY-DF-005", "HIGH", line,
				    "RUN uses sudo: build steps already run as root until USER; "
				    "sudo in an image gives whoever runs it a way to root");
			return;
		}
	}
}

static void on_instruction(struct dscan *s, const char *kw, const char *args, int line)
{
	if (!strcmp(kw, "FROM"))
		on_from(s, args, line);
	else if (!strcmp(kw, "USER"))
		on_user(s, args, line);
	else if (!strcmp(kw, "ENV") || !strcmp(kw, "ARG"))
		on_env_arg(s, kw, args, line);
	else if (!strcmp(kw, "ADD"))
		on_add(s, args, line);
	else if (!strcmp(kw, "RUN"))
		on_run(s, args, line);
}

/* The USER the final stage runs as, following FROM <earlier stage>. */
static enum user_state final_user(const struct dscan *s, int *ret_line)
{
	int i = s->n_stages - 1, hops = 0;

	while (i >= 0 && hops++ <= MAX_STAGES) {
		if (s->stages[i].user != USER_UNSET) {
			*ret_line = s->stages[i].user_line;
			return s->stages[i].user;
		}
		i = s->stages[i].parent;
	}
	return USER_UNSET;
}

int dockerfile_scan(const char *text, size_t len, const char *file, json_t *findings,
		    struct ferr *e)
{
	struct dscan s = { .file = file ? file : "Dockerfile", .findings = findings };
	struct strbuf ins = STRBUF_INIT;
	size_t i = 0;
	int line = 0, start_line = 0, in_ins = 0;

	if (len > DOCKERFILE_SCAN_MAX)
		return ferr_invalid(e, "%s is larger than %u bytes", s.file, DOCKERFILE_SCAN_MAX);
	while (i < len) {
		size_t eol = i, end;
		int cont;

		while (eol < len && text[eol] != '\n')
			eol++;
		line++;
		end = eol;
		if (end > i && text[end - 1] == '\r')
			end--;
		{
			size_t b = i;
			while (b < end && isspace((unsigned char)text[b]))
				b++;
			/* Comment lines, also inside a continued instruction. */
			if (b < end && text[b] == '#') {
				i = eol + 1;
				continue;
			}
			if (b == end && !in_ins) {
				i = eol + 1;
				continue;
			}
			cont = end > b && text[end - 1] == '\\';
			if (!in_ins) {
				strbuf_reset(&ins);
				start_line = line;
				in_ins = 1;
			} else {
				strbuf_addch(&ins, ' ');
			}
			strbuf_add(&ins, text + b, (cont ? end - 1 : end) - b);
			if (memchr(ins.buf, '\0', ins.len)) {
				/* a NUL byte: not a text file; stop at it */
				strbuf_setlen(&ins, strlen(ins.buf));
			}
		}
		i = eol + 1;
		if (cont && i < len)
			continue;
		in_ins = 0;
		{
			char kw[16];
			size_t k = strcspn(ins.buf, " \t");
			const char *args = ins.buf + k;
			if (k && k < sizeof(kw)) {
				for (size_t j = 0; j < k; j++)
					kw[j] = (char)toupper((unsigned char)ins.buf[j]);
				kw[k] = '\0';
				on_instruction(&s, kw, args, start_line);
			}
		}
	}
	strbuf_release(&ins);
	if (!s.n_stages) {
		for (int j = 0; j < s.n_global_args; j++)
			free(s.global_args[j]);
		return ferr_invalid(e, "%s has no FROM instruction", s.file);
	}
	{
		int uline = 0;
		enum user_state u = final_user(&s, &uline);
		if (u == USER_UNSET)
			add_finding(&s, "FERRY-DF-001", "CRITICAL", s.stages[s.n_stages - 1].from_line,
				    "the final stage sets no USER, so it runs as root: add a non-root "
				    "USER (for example USER 65534)");
		else if (u == USER_ROOT)
			add_finding(&s, "FERRY-DF-001", "CRITICAL", uline,
				    "the final stage runs as root (USER root or 0): use a non-root USER "
				    "(for example USER 65534)");
	}
	for (int j = 0; j < s.n_stages; j++)
		free(s.stages[j].name);
	for (int j = 0; j < s.n_global_args; j++)
		free(s.global_args[j]);
	return s.added;
}
