/* ferry config set/list/unset: configuration values of a component.
 *
 * A VALUE is taken literally, except "@FILE" (the file's bytes), "-" (all
 * of standard input) and "@@..." (a literal value starting with "@"). The
 * file and stdin forms keep a secret out of the process list: the value is
 * read by this process and sent in the request body only. */
#include <errno.h>
#include <stdint.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "cli/commands.h"
#include "lib/strbuf.h"
#include "lib/banned.h"

#define MAX_VALUE (1024 * 1024)
#define MAX_PAIRS 100

static int config_path_for(const char *pc, const char *suffix, const char *env, char *out,
			   size_t size, struct ferr *e)
{
	char p[64], c[64], pe[200], ce[200], ee[200];
	int n;

	if (split_pc(pc, p, c, e) < 0)
		return -1;
	n = snprintf(out, size, "/api/v1/projects/%s/components/%s/configs%s%s%s",
		     url_escape(p, pe, sizeof(pe)), url_escape(c, ce, sizeof(ce)), suffix,
		     env ? "?env=" : "", env ? url_escape(env, ee, sizeof(ee)) : "");
	if (n < 0 || (size_t)n >= size)
		return ferr_invalid(e, "names too long");
	return 0;
}

int cli_pair_json(const char *word, int *stdin_used, json_t **ret, struct ferr *e)
{
	const char *eq = strchr(word, '='), *v;
	struct strbuf sb = STRBUF_INIT;
	char key[300];
	json_t *o, *s;

	if (!eq || eq == word)
		return usage_error(e, "\"%.64s\" is not KEY=VALUE", word);
	if ((size_t)(eq - word) >= sizeof(key))
		return ferr_invalid(e, "key is too long (at most 255 characters)");
	snprintf(key, sizeof(key), "%.*s", (int)(eq - word), word);
	v = eq + 1;
	if (!strcmp(v, "-")) {
		if ((*stdin_used)++)
			return usage_error(e, "only one value can come from standard input (-)");
		if (input_read_fd(STDIN_FILENO, "standard input", MAX_VALUE, &sb, e) < 0)
			goto fail;
	} else if (v[0] == '@' && v[1] != '@') {
		int fd = open(v + 1, O_RDONLY | O_CLOEXEC);

		if (fd < 0) {
			ferr_invalid(e, "cannot open %s (value of %s): %s", v + 1, key, strerror(errno));
			goto fail;
		}
		if (input_read_fd(fd, v + 1, MAX_VALUE, &sb, e) < 0) {
			close(fd);
			goto fail;
		}
		close(fd);
	} else {
		strbuf_addstr(&sb, v[0] == '@' ? v + 1 : v);
	}
	o = json_pack("{s:s}", "key", key);
	s = memchr(sb.buf, 0, sb.len) ? NULL : json_stringn(sb.buf, sb.len);
	if (s && sb.len > 4096) {
		/* Text full of control characters grows up to six times when
		 * JSON-escaped: send whichever form is smaller, so that a value
		 * within the limit fits in the request body. */
		char *dumped = json_dumps(s, JSON_ENCODE_ANY);
		size_t dlen = dumped ? strlen(dumped) : SIZE_MAX;

		if (dumped) {
			sodium_memzero(dumped, dlen);
			free(dumped);
		}
		if (dlen > sodium_base64_ENCODED_LEN(sb.len, sodium_base64_VARIANT_ORIGINAL)) {
			sodium_memzero((char *)json_string_value(s), json_string_length(s));
			json_decref(s);
			s = NULL;
		}
	}
	if (s) {
		json_object_set_new(o, "value", s);
	} else {
		size_t n = sodium_base64_ENCODED_LEN(sb.len, sodium_base64_VARIANT_ORIGINAL);
		char *b = malloc(n);

		if (!b)
			abort();
		sodium_bin2base64(b, n, (unsigned char *)sb.buf, sb.len, sodium_base64_VARIANT_ORIGINAL);
		json_object_set_new(o, "value_base64", json_string(b));
		sodium_memzero(b, n);
		free(b);
	}
	input_wipe(&sb);
	*ret = o;
	return 0;
fail:
	input_wipe(&sb);
	return -1;
}

/* Options of config set that take a value (so the word after them is not
 * a KEY=VALUE), global ones included. */
static int takes_value(const char *w)
{
	static const char *const names[] = { "--env", "--file-mount", "--server", "--token",
		"--ca-file", NULL };

	for (const char *const *n = names; *n; n++)
		if (!strcmp(w, *n))
			return 1;
	return 0;
}

void cli_wipe_values(json_t *values)
{
	size_t i;
	json_t *o;

	json_array_foreach(values, i, o) {
		json_t *v = json_object_get(o, "value");
		if (!v)
			v = json_object_get(o, "value_base64");
		if (json_is_string(v))
			sodium_memzero((char *)json_string_value(v), json_string_length(v));
	}
}

/* What a change did to the deployments: the answer's "redeploy". */
static void say_redeploy(json_t *r)
{
	json_t *dep = json_object_get(r, "deployment");
	const char *why = json_string_value(json_object_get(r, "reason"));

	if (cli.json || !r)
		return;
	if (json_is_integer(dep))
		printf("redeployed: deployment %lld\n", (long long)json_integer_value(dep));
	else if (why)
		printf("not redeployed: %s\n", why);
}

static void list_set(json_t *rows)
{
	static const struct column cols[] = {
		{ "KEY", "key" }, { "SCOPE", "scope" }, { "KIND", "kind" }, { "SECRET", "secret" },
		{ "MOUNT", "mount_path" }, { "VERSION", "version" }, { NULL, NULL },
	};
	print_table(rows, cols);
}

int cmd_config_set(int argc, char **argv, struct ferr *e)
{
	struct opt opts[] = {
		{ "env", 1, NULL }, { "secret", 0, NULL }, { "file-mount", 1, NULL }, { NULL, 0, NULL },
	};
	char **rest = calloc((size_t)argc + 1, sizeof(char *));
	const char *pairs[MAX_PAIRS];
	json_t *values = NULL, *body = NULL, *ret = NULL;
	int nrest = 0, npairs = 0, stdin_used = 0, rc = -1;
	const char *mount;
	char path[1024];
	struct args a;

	if (!rest)
		abort();
	/* KEY=VALUE words are taken out before the options are parsed, so
	 * there can be more of them than positional slots. */
	for (int i = 0; i < argc; i++) {
		if (!strcmp(argv[i], "--")) {
			while (i < argc)
				rest[nrest++] = argv[i++];
			break;
		}
		if (takes_value(argv[i]) && i + 1 < argc) {
			rest[nrest++] = argv[i++];
			rest[nrest++] = argv[i];
		} else if (argv[i][0] != '-' && strchr(argv[i], '=')) {
			if (npairs == MAX_PAIRS) {
				usage_error(e, "at most %d KEY=VALUE in one change", MAX_PAIRS);
				goto out;
			}
			pairs[npairs++] = argv[i];
		} else {
			rest[nrest++] = argv[i];
		}
	}
	if (args_parse(nrest, rest, opts, &a, e) < 0)
		goto out;
	if (a.npos != 1 || npairs == 0) {
		usage_error(e, "give the component as PROJECT/COMPONENT and at least one KEY=VALUE");
		goto out;
	}
	mount = opt_get(opts, "file-mount");
	if (mount && npairs != 1) {
		usage_error(e, "--file-mount names one file: give exactly one KEY=VALUE with it");
		goto out;
	}
	if (config_path_for(a.pos[0], "", NULL, path, sizeof(path), e) < 0 || cli_resolve(e) < 0)
		goto out;
	values = json_array();
	for (int i = 0; i < npairs; i++) {
		json_t *o = NULL;

		if (cli_pair_json(pairs[i], &stdin_used, &o, e) < 0)
			goto out;
		if (opt_get(opts, "secret"))
			json_object_set_new(o, "secret", json_true());
		if (mount) {
			json_object_set_new(o, "kind", json_string("file"));
			json_object_set_new(o, "mount_path", json_string(mount));
		}
		json_array_append_new(values, o);
	}
	body = json_pack("{s:O}", "values", values);
	if (opt_get(opts, "env"))
		json_object_set_new(body, "env", json_string(opt_get(opts, "env")));
	if (api_call("POST", path, body, &ret, e) < 0)
		goto out;
	if (cli_say_held(ret)) {
		if (cli.json)
			print_json(ret);
	} else {
		print_result(ret, list_set);
		say_redeploy(json_object_get(json_array_get(ret, 0), "redeploy"));
	}
	rc = 0;
out:
	if (values)
		cli_wipe_values(values);
	json_decref(body);
	json_decref(values);
	json_decref(ret);
	free(rest);
	return rc;
}

/* What people see in the VALUE column. */
static void add_shown(json_t *rows)
{
	size_t i;
	json_t *o;

	json_array_foreach(rows, i, o) {
		const char *v = json_string_value(json_object_get(o, "value"));
		struct strbuf sb = STRBUF_INIT;

		if (json_is_true(json_object_get(o, "deleted"))) {
			strbuf_addstr(&sb, "(unset)");
		} else if (json_is_true(json_object_get(o, "secret"))) {
			strbuf_addstr(&sb, "(secret)");
		} else if (json_object_get(o, "value_base64")) {
			strbuf_addstr(&sb, "(binary)");
		} else if (v) {
			size_t n = 0;
			for (const char *p = v; *p && n < 60; p++, n++) {
				if (*p == '\n')
					strbuf_addstr(&sb, "\\n");
				else if ((unsigned char)*p < ' ')
					strbuf_addch(&sb, '?');
				else
					strbuf_addch(&sb, *p);
			}
			if (strlen(v) > 60)
				strbuf_addstr(&sb, "...");
		}
		json_object_set_new(o, "shown", json_string(sb.buf));
		strbuf_release(&sb);
	}
}

static void list_current(json_t *rows)
{
	static const struct column cols[] = {
		{ "KEY", "key" }, { "SCOPE", "scope" }, { "KIND", "kind" }, { "MOUNT", "mount_path" },
		{ "VALUE", "shown" }, { "VERSION", "version" }, { "UPDATED", "updated_at" },
		{ "BY", "updated_by" }, { NULL, NULL },
	};
	add_shown(rows);
	print_table(rows, cols);
}

static void list_history(json_t *rows)
{
	static const struct column cols[] = {
		{ "VERSION", "version" }, { "KEY", "key" }, { "SCOPE", "scope" }, { "KIND", "kind" },
		{ "MOUNT", "mount_path" }, { "VALUE", "shown" }, { "UPDATED", "updated_at" },
		{ "BY", "updated_by" }, { NULL, NULL },
	};
	add_shown(rows);
	print_table(rows, cols);
}

int cmd_config_list(int argc, char **argv, struct ferr *e)
{
	struct opt opts[] = { { "env", 1, NULL }, { "history", 0, NULL }, { NULL, 0, NULL } };
	int history;
	char path[1024];
	struct args a;
	json_t *ret;

	if (args_parse(argc, argv, opts, &a, e) < 0)
		return -1;
	if (a.npos != 1)
		return usage_error(e, "give the component as PROJECT/COMPONENT");
	history = opt_get(opts, "history") != NULL;
	if (config_path_for(a.pos[0], "", opt_get(opts, "env"), path, sizeof(path), e) < 0)
		return -1;
	if (history && strlen(path) + 12 < sizeof(path))
		snprintf(path + strlen(path), sizeof(path) - strlen(path), "%shistory=1",
			 strchr(path, '?') ? "&" : "?");
	if (cli_resolve(e) < 0 || api_call("GET", path, NULL, &ret, e) < 0)
		return -1;
	print_result(ret, history ? list_history : list_current);
	json_decref(ret);
	return 0;
}

static void say_unset(json_t *j)
{
	const char *scope = json_string_value(json_object_get(j, "scope"));

	printf("unset %s (%s); configuration version %lld\n",
	       json_string_value(json_object_get(j, "key")),
	       scope && !strcmp(scope, "component") ? "component-wide" : scope,
	       (long long)json_integer_value(json_object_get(j, "version")));
}

int cmd_config_unset(int argc, char **argv, struct ferr *e)
{
	struct opt opts[] = { { "env", 1, NULL }, { NULL, 0, NULL } };
	char path[1024], suffix[800], ke[700];
	struct args a;
	json_t *ret;

	if (args_parse(argc, argv, opts, &a, e) < 0)
		return -1;
	if (a.npos != 2)
		return usage_error(e, "give the component as PROJECT/COMPONENT and one KEY");
	if (strlen(a.pos[1]) > 255)
		return ferr_invalid(e, "key is too long (at most 255 characters)");
	snprintf(suffix, sizeof(suffix), "/%s", url_escape(a.pos[1], ke, sizeof(ke)));
	if (config_path_for(a.pos[0], suffix, opt_get(opts, "env"), path, sizeof(path), e) < 0 ||
	    cli_resolve(e) < 0 || api_call("DELETE", path, NULL, &ret, e) < 0)
		return -1;
	if (cli_say_held(ret)) {
		if (cli.json)
			print_json(ret);
	} else {
		print_result(ret, say_unset);
		say_redeploy(json_object_get(ret, "redeploy"));
	}
	json_decref(ret);
	return 0;
}
