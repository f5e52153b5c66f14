/* ferry connection create|list|delete and ferry config-group set|list|delete:
 * a project's connections to outside resources and its configuration
 * groups, one value per environment (core/named_values.h).
 *
 *   ferry connection create P NAME --env E KEY=VALUE... [--secret KEY]...
 *   ferry config-group set P NAME --env E KEY=VALUE... [--secret KEY]...
 *
 * VALUE is read as by ferry config set (@FILE, - for standard input).
 * Each --secret KEY marks one of the keys write-only. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/commands.h"
#include "lib/banned.h"

#define MAX_PAIRS 100

static int named_path(const char *project, const char *what, const char *name, const char *env,
		      char *out, size_t size, struct ferr *e)
{
	char pe[200], ne[400], ee[200];
	int n;

	if (!project || !*project)
		return usage_error(e, "give the project");
	n = snprintf(out, size, "/api/v1/projects/%s/%s%s%s%s%s",
		     url_escape(project, pe, sizeof(pe)), what, name ? "/" : "",
		     name ? url_escape(name, ne, sizeof(ne)) : "", env ? "?env=" : "",
		     env ? url_escape(env, ee, sizeof(ee)) : "");
	if (n < 0 || (size_t)n >= size)
		return ferr_invalid(e, "names are too long");
	return 0;
}

static void shown(json_t *rows)
{
	static const struct column cols[] = {
		{ "NAME", "name" }, { "ENV", "env" }, { "KEY", "key" }, { "VALUE", "shown" },
		{ "UPDATED", "updated_at" }, { NULL, NULL },
	};
	size_t i;
	json_t *o;

	json_array_foreach(rows, i, o)
		json_object_set_new(o, "shown", json_is_true(json_object_get(o, "secret")) ?
				    json_string("(secret)") : json_incref(json_object_get(o, "value")));
	print_table(rows, cols);
}

static int is_secret(const char *key, const char *const *secrets, int n)
{
	for (int i = 0; i < n; i++)
		if (!strcmp(secrets[i], key))
			return 1;
	return 0;
}

static int named_set_cmd(const char *what, int argc, char **argv, struct ferr *e)
{
	struct opt opts[] = { { "env", 1, NULL }, { NULL, 0, NULL } };
	char **rest = calloc((size_t)argc + 1, sizeof(char *));
	const char *pairs[MAX_PAIRS], *secrets[MAX_PAIRS];
	json_t *values = NULL, *body = NULL, *ret = NULL;
	int nrest = 0, npairs = 0, nsecrets = 0, stdin_used = 0, rc = -1;
	char path[1024];
	struct args a;

	if (!rest)
		abort();
	/* KEY=VALUE words and --secret KEY are taken out first: there may be
	 * more of them than positional slots, and --secret repeats. */
	for (int i = 0; i < argc; i++) {
		if (!strcmp(argv[i], "--secret")) {
			if (i + 1 >= argc || nsecrets == MAX_PAIRS) {
				usage_error(e, "--secret names one KEY");
				goto out;
			}
			secrets[nsecrets++] = argv[++i];
		} else if (!strcmp(argv[i], "--env") && i + 1 < argc) {
			rest[nrest++] = argv[i++];
			rest[nrest++] = argv[i];
		} else if (argv[i][0] != '-' && strchr(argv[i], '=') && npairs < MAX_PAIRS) {
			pairs[npairs++] = argv[i];
		} else {
			rest[nrest++] = argv[i];
		}
	}
	if (args_parse(nrest, rest, opts, &a, e) < 0)
		goto out;
	if (a.npos != 2 || npairs == 0) {
		usage_error(e, "give the project, the name and at least one KEY=VALUE");
		goto out;
	}
	if (!opt_get(opts, "env")) {
		usage_error(e, "say which environment the values are for: --env ENV");
		goto out;
	}
	if (named_path(a.pos[0], what, NULL, NULL, path, sizeof(path), e) < 0 || cli_resolve(e) < 0)
		goto out;
	values = json_array();
	for (int i = 0; i < npairs; i++) {
		json_t *o = NULL;

		if (cli_pair_json(pairs[i], &stdin_used, &o, e) < 0)
			goto out;
		if (is_secret(json_string_value(json_object_get(o, "key")), secrets, nsecrets))
			json_object_set_new(o, "secret", json_true());
		json_array_append_new(values, o);
	}
	for (int i = 0; i < nsecrets; i++) {
		size_t k;
		json_t *o;
		int found = 0;

		json_array_foreach(values, k, o)
			found |= !strcmp(json_string_value(json_object_get(o, "key")), secrets[i]);
		if (!found) {
			usage_error(e, "--secret %s: no %s=VALUE is given", secrets[i], secrets[i]);
			goto out;
		}
	}
	body = json_pack("{s:s, s:s, s:O}", "name", a.pos[1], "env", opt_get(opts, "env"),
			 "values", values);
	if (api_call("POST", path, body, &ret, e) < 0)
		goto out;
	print_result(ret, shown);
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

static int named_list_cmd(const char *what, int argc, char **argv, struct ferr *e)
{
	struct opt opts[] = { { "env", 1, NULL }, { NULL, 0, NULL } };
	char path[1024];
	struct args a;
	json_t *ret;

	if (args_parse(argc, argv, opts, &a, e) < 0)
		return -1;
	if (a.npos != 1)
		return usage_error(e, "give the project");
	if (named_path(a.pos[0], what, NULL, opt_get(opts, "env"), path, sizeof(path), e) < 0 ||
	    cli_resolve(e) < 0 || api_call("GET", path, NULL, &ret, e) < 0)
		return -1;
	print_result(ret, shown);
	json_decref(ret);
	return 0;
}

static int named_delete_cmd(const char *what, int argc, char **argv, struct ferr *e)
{
	struct opt opts[] = { { "env", 1, NULL }, { NULL, 0, NULL } };
	char path[1024];
	struct args a;
	json_t *ret;

	if (args_parse(argc, argv, opts, &a, e) < 0)
		return -1;
	if (a.npos != 2)
		return usage_error(e, "give the project and the name");
	if (named_path(a.pos[0], what, a.pos[1], opt_get(opts, "env"), path, sizeof(path), e) < 0 ||
	    cli_resolve(e) < 0 || api_call("DELETE", path, NULL, &ret, e) < 0)
		return -1;
	if (cli.json)
		print_json(ret);
	else
		printf("deleted %lld key(s) of %s\n",
		       (long long)json_integer_value(json_object_get(ret, "deleted")), a.pos[1]);
	json_decref(ret);
	return 0;
}

int cmd_connection_create(int argc, char **argv, struct ferr *e)
{
	return named_set_cmd("connections", argc, argv, e);
}

int cmd_connection_list(int argc, char **argv, struct ferr *e)
{
	return named_list_cmd("connections", argc, argv, e);
}

int cmd_connection_delete(int argc, char **argv, struct ferr *e)
{
	return named_delete_cmd("connections", argc, argv, e);
}

int cmd_config_group_set(int argc, char **argv, struct ferr *e)
{
	return named_set_cmd("config-groups", argc, argv, e);
}

int cmd_config_group_list(int argc, char **argv, struct ferr *e)
{
	return named_list_cmd("config-groups", argc, argv, e);
}

int cmd_config_group_delete(int argc, char **argv, struct ferr *e)
{
	return named_delete_cmd("config-groups", argc, argv, e);
}
