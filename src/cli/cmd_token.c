#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli/cli.h"
#include "cli/commands.h"
#include "lib/banned.h"

static void show_token(json_t *t)
{
	static const char *const keys[] = { "id", "name", "role", "project", "created_at", NULL };

	print_fields(t, keys);
	printf("\ntoken (shown once; keep it secret):\n  %s\n", json_string_value(json_object_get(t, "token")));
}

int cmd_token_create(int argc, char **argv, struct ferr *e)
{
	struct opt opts[] = { { "role", 1, NULL }, { "project", 1, NULL }, { "name", 1, NULL },
			      { NULL, 0, NULL } };
	json_t *body, *ret;
	struct args a;
	int rc;

	if (args_parse(argc, argv, opts, &a, e) < 0)
		return -1;
	if (a.npos)
		return usage_error(e, "token create takes no positional arguments");
	if (!opt_get(opts, "role"))
		return usage_error(e, "give a role: --role admin|developer|viewer");
	if (cli_resolve(e) < 0)
		return -1;
	body = json_pack("{s:s, s:s*, s:s*}", "role", opt_get(opts, "role"),
			 "project", opt_get(opts, "project"), "name", opt_get(opts, "name"));
	rc = api_call("POST", "/api/v1/tokens", body, &ret, e);
	json_decref(body);
	if (rc < 0)
		return -1;
	print_result(ret, show_token);
	json_decref(ret);
	return 0;
}

static void list_tokens(json_t *rows)
{
	static const struct column cols[] = {
		{ "ID", "id" }, { "NAME", "name" }, { "ROLE", "role" }, { "PROJECT", "project" },
		{ "CREATED", "created_at" }, { "REVOKED", "revoked_at" }, { NULL, NULL },
	};
	print_table(rows, cols);
}

int cmd_token_list(int argc, char **argv, struct ferr *e)
{
	struct opt opts[] = { { NULL, 0, NULL } };
	struct args a;
	json_t *ret;

	if (args_parse(argc, argv, opts, &a, e) < 0)
		return -1;
	if (a.npos)
		return usage_error(e, "token list takes no arguments");
	if (cli_resolve(e) < 0 || api_call("GET", "/api/v1/tokens", NULL, &ret, e) < 0)
		return -1;
	print_result(ret, list_tokens);
	json_decref(ret);
	return 0;
}

static void say_revoked(json_t *j)
{
	printf("token %lld revoked\n", (long long)json_integer_value(json_object_get(j, "id")));
}

int cmd_token_revoke(int argc, char **argv, struct ferr *e)
{
	struct opt opts[] = { { NULL, 0, NULL } };
	char path[128], esc[64];
	struct args a;
	json_t *ret;

	if (args_parse(argc, argv, opts, &a, e) < 0)
		return -1;
	if (a.npos != 1)
		return usage_error(e, "give the token id (ferry token list shows them)");
	snprintf(path, sizeof(path), "/api/v1/tokens/%s", url_escape(a.pos[0], esc, sizeof(esc)));
	if (cli_resolve(e) < 0 || api_call("DELETE", path, NULL, &ret, e) < 0)
		return -1;
	print_result(ret, say_revoked);
	json_decref(ret);
	return 0;
}

static void show_whoami(json_t *j)
{
	static const char *const keys[] = { "name", "role", "scoped", NULL };
	print_fields(j, keys);
}

int cmd_whoami(int argc, char **argv, struct ferr *e)
{
	struct opt opts[] = { { NULL, 0, NULL } };
	struct args a;
	json_t *ret;

	if (args_parse(argc, argv, opts, &a, e) < 0)
		return -1;
	if (cli_resolve(e) < 0 || api_call("GET", "/api/v1/whoami", NULL, &ret, e) < 0)
		return -1;
	json_object_set_new(ret, "server", json_string(cli.server));
	print_result(ret, show_whoami);
	json_decref(ret);
	return 0;
}

static int read_token_file(const char *path, char *out, size_t size, struct ferr *e)
{
	FILE *f = fopen(path, "re");
	size_t n;

	if (!f)
		return ferr_invalid(e, "cannot read token file %s: %s", path, strerror(errno));
	n = fread(out, 1, size - 1, f);
	fclose(f);
	out[n] = '\0';
	while (n && (out[n - 1] == '\n' || out[n - 1] == '\r' || out[n - 1] == ' '))
		out[--n] = '\0';
	if (!n)
		return ferr_invalid(e, "token file %s is empty", path);
	return 0;
}

static int mkdir_parent(const char *file, struct ferr *e)
{
	char dir[1024];
	char *slash;

	snprintf(dir, sizeof(dir), "%s", file);
	slash = strrchr(dir, '/');
	if (!slash)
		return 0;
	*slash = '\0';
	for (char *p = dir + 1; *p; p++)
		if (*p == '/') {
			*p = '\0';
			mkdir(dir, 0700);
			*p = '/';
		}
	if (mkdir(dir, 0700) < 0 && errno != EEXIST)
		return ferr_invalid(e, "cannot create %s: %s", dir, strerror(errno));
	return 0;
}

int cmd_login(int argc, char **argv, struct ferr *e)
{
	struct opt opts[] = { { "token-file", 1, NULL }, { NULL, 0, NULL } };
	char token[256], path[1024], tmp[1100];
	json_t *ret, *saved;
	struct args a;
	int fd;

	if (args_parse(argc, argv, opts, &a, e) < 0)
		return -1;
	if (!cli.server || !opt_get(opts, "token-file"))
		return usage_error(e, "give --server URL and --token-file FILE");
	if (read_token_file(opt_get(opts, "token-file"), token, sizeof(token), e) < 0)
		return -1;
	cli.token = token;
	/* Check the pair works before saving it. */
	if (api_call("GET", "/api/v1/whoami", NULL, &ret, e) < 0)
		return -1;
	if (config_path(path, sizeof(path), e) < 0 || mkdir_parent(path, e) < 0) {
		json_decref(ret);
		return -1;
	}
	saved = json_pack("{s:s, s:s, s:s*}", "server", cli.server, "token", token, "ca_file", cli.ca_file);
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	unlink(tmp);
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0 || json_dumpfd(saved, fd, JSON_INDENT(2)) < 0 || fsync(fd) < 0 ||
	    close(fd) < 0 || rename(tmp, path) < 0) {
		ferr_invalid(e, "cannot save the login to %s: %s", path, strerror(errno));
		unlink(tmp);
		json_decref(saved);
		json_decref(ret);
		return -1;
	}
	json_decref(saved);
	json_object_set_new(ret, "server", json_string(cli.server));
	json_object_set_new(ret, "saved_to", json_string(path));
	if (cli.json)
		print_json(ret);
	else
		printf("logged in to %s as %s (%s); saved to %s\n", cli.server,
		       json_string_value(json_object_get(ret, "name")),
		       json_string_value(json_object_get(ret, "role")), path);
	json_decref(ret);
	return 0;
}
