/* ferry logs runtime P/C --env ENV [--follow]: the component's own output. */
#include <stdio.h>
#include <string.h>

#include <jansson.h>

#include "cli/cli.h"
#include "cli/commands.h"
#include "lib/banned.h"

struct seen {
	char first[40];
	int multi;
};

static int print_line(const char *text, size_t len, void *arg)
{
	struct seen *seen = arg;
	json_t *j;
	const char *line, *replica;

	if (!len)
		return 0;
	if (cli.json) {
		fwrite(text, 1, len, stdout);
		fputc('\n', stdout);
		fflush(stdout);
		return 0;
	}
	j = json_loadb(text, len, 0, NULL);
	line = json_string_value(json_object_get(j, "line"));
	replica = json_string_value(json_object_get(j, "replica"));
	if (line) {
		/* lines of one replica print as they are; with several (e.g.
		 * during a rollout) each says whose it is */
		if (replica && !seen->first[0])
			snprintf(seen->first, sizeof(seen->first), "%s", replica);
		if (replica && strcmp(replica, seen->first))
			seen->multi = 1;
		if (seen->multi && replica)
			printf("[%s] %s\n", replica, line);
		else
			printf("%s\n", line);
		fflush(stdout);
	}
	json_decref(j);
	return 0;
}

int cmd_logs_runtime(int argc, char **argv, struct ferr *e)
{
	struct opt opts[] = { { "env", 1, NULL }, { "follow", 0, NULL }, { NULL, 0, NULL } };
	char project[64], component[64], p[200], c[200], en[200], path[800];
	const char *env;
	struct args a;
	struct seen seen = { "", 0 };

	if (args_parse(argc, argv, opts, &a, e) < 0)
		return -1;
	if (a.npos != 1)
		return usage_error(e, "give the component as PROJECT/COMPONENT");
	env = opt_get(opts, "env");
	if (!env)
		return usage_error(e, "give the environment with --env ENV");
	if (split_pc(a.pos[0], project, component, e) < 0 || cli_resolve(e) < 0)
		return -1;
	snprintf(path, sizeof(path), "/api/v1/projects/%s/components/%s/environments/%s/logs?follow=%d",
		 url_escape(project, p, sizeof(p)), url_escape(component, c, sizeof(c)),
		 url_escape(env, en, sizeof(en)), opt_get(opts, "follow") ? 1 : 0);
	return api_stream(path, print_line, &seen, e);
}
