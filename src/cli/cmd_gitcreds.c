/* ferry component credentials P/C: git credentials of a private repository. */
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/commands.h"
#include "lib/banned.h"

#define MAX_KEY (64 * 1024)

static void show_creds(json_t *j)
{
	static const char *const keys[] = { "kind", "username", "host_fingerprint", "passphrase",
					    "updated_by", "updated_at", NULL };
	if (json_is_null(json_object_get(j, "kind")))
		printf("no git credentials: the repository is fetched anonymously\n");
	else
		print_fields(j, keys);
}

int cmd_component_credentials(int argc, char **argv, struct ferr *e)
{
	struct opt opts[] = {
		{ "https-token-file", 1, NULL }, { "username", 1, NULL }, { "ssh-key-file", 1, NULL },
		{ "ssh-passphrase-file", 1, NULL }, { "ssh-host-fingerprint", 1, NULL },
		{ "remove", 0, NULL }, { NULL, 0, NULL },
	};
	const char *token = NULL, *key = NULL;
	char path[512];
	json_t *body = NULL, *ret;
	const char *method = "GET";
	struct args a;
	int rc;

	if (args_parse(argc, argv, opts, &a, e) < 0)
		return -1;
	if (a.npos != 1)
		return usage_error(e, "give the component as PROJECT/COMPONENT");
	token = opt_get(opts, "https-token-file");
	key = opt_get(opts, "ssh-key-file");
	if (!!token + !!key + !!opt_get(opts, "remove") > 1)
		return usage_error(e, "give one of --https-token-file, --ssh-key-file or --remove");
	if (!key && (opt_get(opts, "ssh-passphrase-file") || opt_get(opts, "ssh-host-fingerprint")))
		return usage_error(e, "--ssh-passphrase-file and --ssh-host-fingerprint go with --ssh-key-file");
	if (component_api_path(a.pos[0], "/git-credentials", path, sizeof(path), e) < 0 ||
	    cli_resolve(e) < 0)
		return -1;
	if (opt_get(opts, "remove")) {
		method = "DELETE";
	} else if (token || key) {
		method = "PUT";
		body = json_pack("{s:s, s:s*, s:s*}", "kind", token ? "https" : "ssh",
				 "username", opt_get(opts, "username"),
				 "host_fingerprint", opt_get(opts, "ssh-host-fingerprint"));
		if ((token && input_file_member(body, "token", token, MAX_KEY, 1, e) < 0) ||
		    (key && input_file_member(body, "private_key", key, MAX_KEY, 0, e) < 0) ||
		    (opt_get(opts, "ssh-passphrase-file") &&
		     input_file_member(body, "passphrase", opt_get(opts, "ssh-passphrase-file"), MAX_KEY, 1, e) < 0)) {
			json_decref(body);
			return -1;
		}
	}
	rc = api_call(method, path, body, &ret, e);
	json_decref(body);
	if (rc < 0)
		return -1;
	if (!strcmp(method, "DELETE") && !cli.json)
		printf("git credentials removed\n");
	else
		print_result(ret, show_creds);
	json_decref(ret);
	return 0;
}
