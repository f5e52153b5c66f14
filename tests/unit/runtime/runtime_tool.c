/* runtime-tool: drives the podman runtime driver from the command line, for
 * tests/e2e/test_runtime_podman.py. Not installed.
 *
 *   runtime-tool OPTIONS COMMAND ARGS...
 *   options:  --instance I  --prefix P  --init PATH  (--run-dir D | --data D)
 *   commands: net-ensure P E | net-remove P E | run-dir
 *             start --project P --env E --component C --deployment N
 *                   --replica R --image REF [--cpu MILLI] [--memory BYTES]
 *                   [--port N]... [--setenv K=V]... [--file /PATH=CONTENT]...
 *                   [--task] [--arg A]...           prints the replica (JSON)
 *             inspect ID | stop ID GRACE | restart ID GRACE
 *             list [--project P] [--env E] [--component C] [--deployment N]
 *             logs ID [--follow] | exec ID TIMEOUT_MS ARGV... | wait ID TIMEOUT_MS
 * Errors: "error: CODE: MESSAGE" on stderr and exit status 1 (2: usage).
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/podman.h"
#include "lib/banned.h"

#define MAXV 64

static void usage(void)
{
	fprintf(stderr, "usage: runtime-tool [--instance I] [--prefix P] --init PATH "
		"(--run-dir D | --data D) COMMAND ARGS...\n");
	exit(2);
}

static json_t *replica_json(const struct runtime_replica *r)
{
	json_t *ports = json_array();

	for (int i = 0; i < r->nports; i++)
		json_array_append_new(ports, json_pack("{s:i,s:i}",
			"container_port", r->ports[i].container_port,
			"host_port", r->ports[i].host_port));
	return json_pack("{s:s,s:s,s:s,s:s,s:s,s:I,s:i,s:b,s:s,s:i,s:i,s:o}",
		"id", r->id, "name", r->name, "project", r->project,
		"environment", r->environment, "component", r->component,
		"deployment", (json_int_t)r->deployment, "replica", r->replica,
		"task", r->task, "state", runtime_state_name(r->state),
		"exit_code", r->exit_code, "restarts", r->restarts, "ports", ports);
}

static void print_json(json_t *j)
{
	char *s = json_dumps(j, JSON_INDENT(1) | JSON_SORT_KEYS);

	puts(s);
	free(s);
	json_decref(j);
}

static int print_line(const char *line, size_t len, void *arg)
{
	(void)arg;
	if (line) {
		fwrite(line, 1, len, stdout);
		putchar('\n');
		fflush(stdout);
	}
	return 0;
}

static int cmd_start(struct runtime *rt, int argc, char **argv, struct ferr *e)
{
	struct runtime_spec spec = { 0 };
	const char *env[MAXV + 1] = { 0 }, *args[MAXV + 1] = { 0 };
	struct runtime_file files[MAXV];
	struct runtime_replica r;
	size_t nenv = 0, nargs = 0;
	int have_args = 0, rc;

	for (int i = 0; i < argc; i++) {
		const char *o = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
		if (!strcmp(o, "--task")) {
			spec.task = 1;
			continue;
		}
		if (!v)
			usage();
		i++;
		if (!strcmp(o, "--project"))
			spec.project = v;
		else if (!strcmp(o, "--env"))
			spec.environment = v;
		else if (!strcmp(o, "--component"))
			spec.component = v;
		else if (!strcmp(o, "--deployment"))
			spec.deployment = atoll(v);
		else if (!strcmp(o, "--replica"))
			spec.replica = atoi(v);
		else if (!strcmp(o, "--image"))
			spec.image = v;
		else if (!strcmp(o, "--cpu"))
			spec.cpu_millicores = atoi(v);
		else if (!strcmp(o, "--memory"))
			spec.memory_bytes = atoll(v);
		else if (!strcmp(o, "--port") && spec.nports < RUNTIME_MAX_PORTS)
			spec.ports[spec.nports++] = atoi(v);
		else if (!strcmp(o, "--setenv") && nenv < MAXV)
			env[nenv++] = v;
		else if (!strcmp(o, "--arg") && nargs < MAXV) {
			args[nargs++] = v;
			have_args = 1;
		} else if (!strcmp(o, "--file") && spec.nfiles < MAXV) {
			const char *eq = strchr(v, '=');
			if (!eq)
				usage();
			files[spec.nfiles].path = strndup(v, (size_t)(eq - v));
			files[spec.nfiles].data = eq + 1;
			files[spec.nfiles].len = strlen(eq + 1);
			spec.nfiles++;
		} else
			usage();
	}
	spec.env = env;
	spec.files = files;
	spec.args = have_args ? args : NULL;
	rc = runtime_start_replica(rt, &spec, &r, e);
	for (size_t i = 0; i < spec.nfiles; i++)
		free((char *)files[i].path);
	if (rc < 0)
		return -1;
	print_json(replica_json(&r));
	return 0;
}

static int cmd_list(struct runtime *rt, int argc, char **argv, struct ferr *e)
{
	struct runtime_filter f = { 0 };
	struct runtime_replica_list l = RUNTIME_REPLICA_LIST_INIT;
	json_t *arr;

	for (int i = 0; i + 1 < argc; i += 2) {
		if (!strcmp(argv[i], "--project"))
			f.project = argv[i + 1];
		else if (!strcmp(argv[i], "--env"))
			f.environment = argv[i + 1];
		else if (!strcmp(argv[i], "--component"))
			f.component = argv[i + 1];
		else if (!strcmp(argv[i], "--deployment"))
			f.deployment = atoll(argv[i + 1]);
		else
			usage();
	}
	if (runtime_list(rt, &f, &l, e) < 0)
		return -1;
	arr = json_array();
	for (size_t i = 0; i < l.n; i++)
		json_array_append_new(arr, replica_json(&l.items[i]));
	print_json(arr);
	runtime_replica_list_release(&l);
	return 0;
}

static int run(struct runtime *rt, int argc, char **argv, struct ferr *e)
{
	const char *cmd = argv[0];

	if (!strcmp(cmd, "net-ensure") && argc == 3)
		return runtime_ensure_network(rt, argv[1], argv[2], e);
	if (!strcmp(cmd, "net-remove") && argc == 3)
		return runtime_remove_network(rt, argv[1], argv[2], e);
	if (!strcmp(cmd, "run-dir")) {
		puts(podman_runtime_run_dir(rt));
		return 0;
	}
	if (!strcmp(cmd, "start"))
		return cmd_start(rt, argc - 1, argv + 1, e);
	if (!strcmp(cmd, "list"))
		return cmd_list(rt, argc - 1, argv + 1, e);
	if (!strcmp(cmd, "inspect") && argc == 2) {
		struct runtime_replica r;
		if (runtime_inspect(rt, argv[1], &r, e) < 0)
			return -1;
		print_json(replica_json(&r));
		return 0;
	}
	if (!strcmp(cmd, "stop") && argc == 3)
		return runtime_stop_replica(rt, argv[1], atoi(argv[2]), e);
	if (!strcmp(cmd, "restart") && argc == 3)
		return runtime_restart_replica(rt, argv[1], atoi(argv[2]), e);
	if (!strcmp(cmd, "logs") && (argc == 2 || argc == 3))
		return runtime_logs(rt, argv[1], argc == 3 && !strcmp(argv[2], "--follow"),
				    print_line, NULL, e);
	if (!strcmp(cmd, "exec") && argc >= 4) {
		struct strbuf out = STRBUF_INIT;
		int st = runtime_exec_probe(rt, argv[1], (const char *const *)argv + 3,
					    atoi(argv[2]), &out, e);
		if (st < 0)
			return -1;
		fwrite(out.buf, 1, out.len, stdout);
		strbuf_release(&out);
		exit(st);
	}
	if (!strcmp(cmd, "wait") && argc == 3) {
		int st = runtime_wait(rt, argv[1], atoi(argv[2]), e);
		if (st < 0)
			return -1;
		printf("%d\n", st);
		return 0;
	}
	usage();
	return -1;
}

int main(int argc, char **argv)
{
	struct podman_config cfg = { 0 };
	struct runtime *rt;
	struct ferr e = FERR_INIT;
	int i, rc;

	for (i = 1; i + 1 < argc && !strncmp(argv[i], "--", 2); i += 2) {
		if (!strcmp(argv[i], "--instance"))
			cfg.instance = argv[i + 1];
		else if (!strcmp(argv[i], "--prefix"))
			cfg.prefix = argv[i + 1];
		else if (!strcmp(argv[i], "--init"))
			cfg.init_path = argv[i + 1];
		else if (!strcmp(argv[i], "--run-dir"))
			cfg.run_dir = argv[i + 1];
		else if (!strcmp(argv[i], "--data"))
			cfg.data_dir = argv[i + 1];
		else
			usage();
	}
	if (i >= argc)
		usage();
	if (podman_runtime_new(&rt, &cfg, &e) < 0) {
		fprintf(stderr, "error: %s: %s\n", e.code, e.msg);
		return 1;
	}
	rc = run(rt, argc - i, argv + i, &e);
	runtime_free(rt);
	if (rc < 0) {
		fprintf(stderr, "error: %s: %s\n", e.code, e.msg);
		return 1;
	}
	return 0;
}
