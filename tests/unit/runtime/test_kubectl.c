/* runtime/kubectl against a stand-in `kubectl` (a shell script): the
 * command lines ferry gives kubectl, how it reads kubectl's answers (JSON,
 * NotFound, refusals, noise on stderr), the watch's splitting of
 * kubectl's indented JSON stream, its stop and its deadline. The real
 * kubectl against a real API server: tests/e2e/test_kube_*.py. The script
 * logs its arguments to $FAKE_LOG and its stdin to $FAKE_LOG.in, and
 * answers as $FAKE_MODE says. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "runtime/kubectl.h"

static const char SCRIPT[] =
"#!/bin/sh\n"
"echo \"$*\" >> \"$FAKE_LOG\"\n"
"case \"$FAKE_MODE\" in\n"
"get) echo '{\"kind\":\"Deployment\",\"metadata\":{\"name\":\"web\"}}' ;;\n"
"notfound) echo 'Error from server (NotFound): deployments.apps \"web\" not found' >&2; exit 1 ;;\n"
"forbidden) echo 'Error from server (Forbidden): deployments.apps \"web\" is forbidden: User \"u\" cannot get' >&2;"
" exit 1 ;;\n"
"broken) echo 'I1204 12:00:00 noise before the error' >&2;"
" echo 'error: You must be logged in to the server (Unauthorized)' >&2;"
" echo 'I1204 12:00:01 noise after it' >&2; exit 1 ;;\n"
"notjson) echo 'this is not json' ;;\n"
"apply) cat > \"$FAKE_LOG.in\" ;;\n"
"version) echo '{\"clientVersion\":{},\"serverVersion\":{\"gitVersion\":\"v1.37.2\"}}' ;;\n"
"watch) printf '{\\n  \"metadata\": {\\n    \"name\": \"one\"\\n  }\\n}\\n';"
" printf '{\\n  \"metadata\": {\\n    \"name\": \"two\"\\n  }\\n}\\n'; exec sleep 30 ;;\n"
"badwatch) printf '{\\n  garbage\\n}\\n'; exec sleep 30 ;;\n"
"ended) printf '{\\n  \"metadata\": {}\\n}\\n' ;;\n"
"esac\n";

struct fake {
	char dir[64], script[128], log[128], in[136];
	struct kubectl *k;
};

static int setup(void **state)
{
	struct fake *f = calloc(1, sizeof(*f));
	struct kubectl_config cfg = { 0 };
	struct ferr e = FERR_INIT;
	FILE *fp;

	snprintf(f->dir, sizeof(f->dir), "/dev/shm/ferry-test-kubectl-XXXXXX");
	if (!mkdtemp(f->dir))
		return -1;
	snprintf(f->script, sizeof(f->script), "%s/kubectl", f->dir);
	snprintf(f->log, sizeof(f->log), "%s/log", f->dir);
	snprintf(f->in, sizeof(f->in), "%s/log.in", f->dir);
	fp = fopen(f->script, "w");
	fputs(SCRIPT, fp);
	fclose(fp);
	chmod(f->script, 0755);
	setenv("FAKE_LOG", f->log, 1);
	cfg.kubectl = f->script;
	cfg.kubeconfig = "/etc/ferry/kc";
	cfg.context = "prod";
	assert_int_equal(kubectl_new(&f->k, &cfg, &e), 0);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fake *f = *state;

	kubectl_free(f->k);
	unlink(f->script);
	unlink(f->log);
	unlink(f->in);
	assert_int_equal(rmdir(f->dir), 0);
	free(f);
	return 0;
}

/* The last command line the script was given; the log is emptied. */
static char *last_args(struct fake *f, char *buf, size_t size)
{
	FILE *fp = fopen(f->log, "r");
	char line[1024];

	buf[0] = '\0';
	assert_non_null(fp);
	while (fgets(line, sizeof(line), fp))
		snprintf(buf, size, "%s", line);
	fclose(fp);
	buf[strcspn(buf, "\n")] = '\0';
	unlink(f->log);
	return buf;
}

static void test_get_builds_the_command_and_parses(void **state)
{
	struct fake *f = *state;
	struct ferr e = FERR_INIT;
	json_t *o = NULL;
	char args[1024];

	setenv("FAKE_MODE", "get", 1);
	assert_int_equal(kubectl_get(f->k, "shop-prod", "deployment/web", "a=b", &o, &e), 0);
	assert_string_equal(json_string_value(json_object_get(json_object_get(o, "metadata"), "name")), "web");
	json_decref(o);
	assert_string_equal(last_args(f, args, sizeof(args)),
			    "--kubeconfig /etc/ferry/kc --context prod --request-timeout=30s get deployment/web"
			    " -n shop-prod -l a=b -o json");
	/* a list without a namespace is from all of them; one named object is not */
	assert_int_equal(kubectl_get(f->k, NULL, "jobs", NULL, &o, &e), 0);
	json_decref(o);
	assert_non_null(strstr(last_args(f, args, sizeof(args)), "get jobs --all-namespaces -o json"));
	assert_int_equal(kubectl_get(f->k, NULL, "namespace/shop-prod", NULL, &o, &e), 0);
	json_decref(o);
	assert_null(strstr(last_args(f, args, sizeof(args)), "--all-namespaces"));
	assert_int_equal(kubectl_calls(f->k), 3);
}

static void test_get_answers(void **state)
{
	struct fake *f = *state;
	struct ferr e = FERR_INIT;
	json_t *o = NULL;

	setenv("FAKE_MODE", "notfound", 1);
	assert_int_equal(kubectl_get(f->k, "ns", "deployment/web", NULL, &o, &e), 1);
	assert_null(o);
	assert_false(ferr_isset(&e));

	setenv("FAKE_MODE", "forbidden", 1);
	assert_int_equal(kubectl_get(f->k, "ns", "deployment/web", NULL, &o, &e), -1);
	assert_int_equal(e.status, 422);
	assert_non_null(strstr(e.msg, "is forbidden"));
	ferr_clear(&e);

	/* kubectl's own error line, not the log noise around it */
	setenv("FAKE_MODE", "broken", 1);
	assert_int_equal(kubectl_get(f->k, "ns", "pods", NULL, &o, &e), -1);
	assert_int_equal(e.status, 502);
	assert_non_null(strstr(e.msg, "pods: error: You must be logged in to the server (Unauthorized)"));
	assert_null(strstr(e.msg, "noise"));
	ferr_clear(&e);

	setenv("FAKE_MODE", "notjson", 1);
	assert_int_equal(kubectl_get(f->k, "ns", "pods", NULL, &o, &e), -1);
	assert_int_equal(e.status, 502);
	assert_non_null(strstr(e.msg, "not JSON"));
	ferr_clear(&e);
	unlink(f->log);
}

static void test_apply_sends_a_list_on_stdin(void **state)
{
	struct fake *f = *state;
	struct ferr e = FERR_INIT;
	json_t *objs = json_pack("[{s:s, s:s, s:{s:s}, s:{s:s}}]", "apiVersion", "v1", "kind", "Secret",
				 "metadata", "name", "web-d1", "stringData", "TOKEN", "s3cret");
	json_t *sent;
	char args[1024];

	setenv("FAKE_MODE", "apply", 1);
	assert_int_equal(kubectl_apply(f->k, objs, 0, &e), 0);
	assert_string_equal(last_args(f, args, sizeof(args)),
			    "--kubeconfig /etc/ferry/kc --context prod --request-timeout=30s apply --server-side"
			    " --field-manager=ferry --force-conflicts -f -");
	sent = json_load_file(f->in, 0, NULL);
	assert_non_null(sent);
	assert_string_equal(json_string_value(json_object_get(sent, "kind")), "List");
	assert_true(json_equal(json_object_get(sent, "items"), objs));
	json_decref(sent);
	assert_int_equal(kubectl_apply(f->k, objs, 1, &e), 0);
	assert_non_null(strstr(last_args(f, args, sizeof(args)), " --dry-run=server -f -"));
	/* a refusal by the API server's validation is 422 */
	setenv("FAKE_MODE", "forbidden", 1);
	assert_int_equal(kubectl_apply(f->k, objs, 0, &e), -1);
	assert_int_equal(e.status, 422);
	assert_non_null(strstr(e.msg, "server-side apply: Error from server (Forbidden)"));
	json_decref(objs);
	unlink(f->log);
}

struct seen {
	char names[4][16];
	int n, stop_at, ticks;
};

static int on_obj(json_t *obj, void *arg)
{
	struct seen *s = arg;

	if (!obj) {
		s->ticks++;
		return 0;
	}
	if (s->n < 4)
		snprintf(s->names[s->n], sizeof(s->names[0]), "%s",
			 json_string_value(json_object_get(json_object_get(obj, "metadata"), "name")) ?: "");
	s->n++;
	return s->stop_at && s->n >= s->stop_at;
}

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void test_watch_splits_objects_and_stops(void **state)
{
	struct fake *f = *state;
	struct ferr e = FERR_INIT;
	struct seen s = { .stop_at = 2 };
	char args[1024];
	long long t0;

	setenv("FAKE_MODE", "watch", 1);
	t0 = now_ms();
	/* fn stops it after the second object: kubectl (sleeping on) is killed */
	assert_int_equal(kubectl_watch(f->k, "ns", "deployment/web", 20000, on_obj, &s, &e), 0);
	assert_true(now_ms() - t0 < 10000);
	assert_int_equal(s.n, 2);
	assert_string_equal(s.names[0], "one");
	assert_string_equal(s.names[1], "two");
	assert_string_equal(last_args(f, args, sizeof(args)),
			    "--kubeconfig /etc/ferry/kc --context prod --request-timeout=0 get deployment/web"
			    " -n ns --watch -o json");

	/* nothing stops it: the deadline does (1), ticking meanwhile */
	memset(&s, 0, sizeof(s));
	t0 = now_ms();
	assert_int_equal(kubectl_watch(f->k, "ns", "deployment/web", 1500, on_obj, &s, &e), 1);
	assert_true(now_ms() - t0 >= 1500 && now_ms() - t0 < 10000);
	assert_int_equal(s.n, 2);
	assert_true(s.ticks >= 1);

	/* the server ended the watch: 1, the caller looks again */
	setenv("FAKE_MODE", "ended", 1);
	memset(&s, 0, sizeof(s));
	assert_int_equal(kubectl_watch(f->k, "ns", "deployment/web", 0, on_obj, &s, &e), 1);
	assert_int_equal(s.n, 1);

	setenv("FAKE_MODE", "badwatch", 1);
	assert_int_equal(kubectl_watch(f->k, "ns", "deployment/web", 5000, on_obj, &s, &e), -1);
	assert_int_equal(e.status, 502);
	assert_non_null(strstr(e.msg, "not JSON"));
	ferr_clear(&e);

	setenv("FAKE_MODE", "notfound", 1);
	assert_int_equal(kubectl_watch(f->k, "ns", "deployment/web", 5000, on_obj, &s, &e), -1);
	assert_int_equal(e.status, 404);
	ferr_clear(&e);
	unlink(f->log);
}

static void test_delete_and_check(void **state)
{
	struct fake *f = *state;
	struct ferr e = FERR_INIT;
	char args[1024];

	setenv("FAKE_MODE", "apply", 1);
	assert_int_equal(kubectl_delete(f->k, "ns", "deployments,services", "ferry.dev/component-id=3", &e), 0);
	assert_non_null(strstr(last_args(f, args, sizeof(args)),
			       " delete deployments,services -n ns -l ferry.dev/component-id=3 --ignore-not-found"
			       " --wait=false --cascade=background"));
	setenv("FAKE_MODE", "version", 1);
	assert_int_equal(kubectl_check(f->k, &e), 0);
	assert_non_null(strstr(last_args(f, args, sizeof(args)), " version -o json"));
	/* an answer without the server's version: the API did not answer */
	setenv("FAKE_MODE", "get", 1);
	assert_int_equal(kubectl_check(f->k, &e), -1);
	assert_non_null(strstr(e.msg, "the Kubernetes API does not answer"));
	ferr_clear(&e);
	setenv("FAKE_MODE", "broken", 1);
	assert_int_equal(kubectl_check(f->k, &e), -1);
	assert_non_null(strstr(e.msg, "Unauthorized"));
	ferr_clear(&e);
	unlink(f->log);
}

int main(void)
{
	/* as in ferryd: a stand-in that exits before reading its stdin is an
	 * EPIPE for kubectl.c to report, not a signal that ends the test */
	signal(SIGPIPE, SIG_IGN);
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_get_builds_the_command_and_parses, setup, teardown),
		cmocka_unit_test_setup_teardown(test_get_answers, setup, teardown),
		cmocka_unit_test_setup_teardown(test_apply_sends_a_list_on_stdin, setup, teardown),
		cmocka_unit_test_setup_teardown(test_watch_splits_objects_and_stops, setup, teardown),
		cmocka_unit_test_setup_teardown(test_delete_and_check, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
