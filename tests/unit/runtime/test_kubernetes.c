/* runtime/kubernetes (the driver) against a stand-in `kubectl` (a shell
 * script answering by its arguments): a service's pod as a replica and
 * its log, whatever its uid starts with. A pod's uid is hex: one in
 * sixteen starts with 'e', which the driver once took for a task run
 * ("e<execution id>"), so that `ferry logs runtime` printed nothing
 * (rc 0) for that pod. A container still starting is asked again. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "runtime/kubernetes.h"

static const char SCRIPT[] =
"#!/bin/sh\n"
"case \"$*\" in\n"
"*' version '*) echo '{\"clientVersion\":{},\"serverVersion\":{\"gitVersion\":\"v1.37.2\"}}' ;;\n"
"*' get jobs,pods '*|*' get pods '*) cat <<EOF\n"
"{\"kind\":\"List\",\"items\":[{\"kind\":\"Pod\",\"metadata\":{\"name\":\"hello-7d9f-x2\",\"namespace\":\"demo-dev\","
"\"uid\":\"$FAKE_UID\",\"labels\":{\"ferry.dev/project\":\"demo\",\"ferry.dev/environment\":\"dev\","
"\"ferry.dev/component\":\"hello\",\"ferry.dev/deployment-id\":\"4\"}},\"status\":{\"phase\":\"Running\"}}]}\n"
"EOF\n"
";;\n"
"*' logs pod/hello-7d9f-x2 -n demo-dev '*)\n"
"  n=$(cat \"$FAKE_DIR/tries\" 2>/dev/null || echo 0); echo $((n + 1)) > \"$FAKE_DIR/tries\"\n"
"  if [ \"$n\" -lt \"${FAKE_STARTING:-0}\" ]; then\n"
"    echo 'Error from server (BadRequest): container \"hello\" in pod \"hello-7d9f-x2\" is waiting to start: "
"ContainerCreating' >&2; exit 1\n"
"  fi\n"
"  echo 'first line'; echo 'second line' ;;\n"
"*) echo \"unexpected: $*\" >&2; exit 1 ;;\n"
"esac\n";

struct fake {
	char dir[64], script[128], tries[128];
	struct runtime *rt;
};

static int setup(void **state)
{
	struct fake *f = calloc(1, sizeof(*f));
	FILE *fp;

	snprintf(f->dir, sizeof(f->dir), "/dev/shm/ferry-test-kubernetes-XXXXXX");
	if (!mkdtemp(f->dir))
		return -1;
	snprintf(f->script, sizeof(f->script), "%s/kubectl", f->dir);
	snprintf(f->tries, sizeof(f->tries), "%s/tries", f->dir);
	fp = fopen(f->script, "w");
	fputs(SCRIPT, fp);
	fclose(fp);
	chmod(f->script, 0755);
	setenv("FAKE_DIR", f->dir, 1);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fake *f = *state;

	runtime_free(f->rt);
	unlink(f->script);
	unlink(f->tries);
	assert_int_equal(rmdir(f->dir), 0);
	free(f);
	return 0;
}

struct lines {
	char text[256];
	int n;
};

static int on_line(const char *line, size_t len, void *arg)
{
	struct lines *l = arg;
	size_t have = strlen(l->text);

	if (!line)
		return 0;
	snprintf(l->text + have, sizeof(l->text) - have, "%.*s|", (int)len, line);
	l->n++;
	return 0;
}

/* The one pod's log, read as rollout_logs does: list, then logs by id. */
static void read_log(struct fake *f, const char *uid, struct lines *out)
{
	struct kubernetes_config kc = { .kubectl = f->script, .instance = "ferry" };
	struct runtime_replica_list l = RUNTIME_REPLICA_LIST_INIT;
	struct runtime_filter filter = { "demo", "dev", "hello", 0 };
	struct ferr e = FERR_INIT;

	setenv("FAKE_UID", uid, 1);
	if (!f->rt)
		assert_int_equal(kubernetes_runtime_new(&f->rt, &kc, &e), 0);
	assert_int_equal(runtime_list(f->rt, &filter, &l, &e), 0);
	assert_int_equal(l.n, 1);
	assert_string_equal(l.items[0].id, uid);
	memset(out, 0, sizeof(*out));
	assert_int_equal(runtime_logs(f->rt, l.items[0].id, 0, on_line, out, &e), 0);
	runtime_replica_list_release(&l);
}

static void test_pod_logs_whatever_the_uid(void **state)
{
	struct fake *f = *state;
	const char *uids[] = { "3f1c0b7a-2d4e-4a8b-9c1d-0e2f3a4b5c6d", "e3f1c0b7-2d4e-4a8b-9c1d-0e2f3a4b5c6d",
			       "e0000000-0000-4000-8000-000000000000" };
	struct lines out;

	setenv("FAKE_STARTING", "0", 1);
	for (size_t i = 0; i < sizeof(uids) / sizeof(uids[0]); i++) {
		read_log(f, uids[i], &out);
		assert_string_equal(out.text, "first line|second line|");
	}
}

static void test_a_container_still_starting_is_asked_again(void **state)
{
	struct fake *f = *state;
	struct lines out;

	unlink(f->tries);
	setenv("FAKE_STARTING", "2", 1);
	read_log(f, "ab12cd34-2d4e-4a8b-9c1d-0e2f3a4b5c6d", &out);
	assert_string_equal(out.text, "first line|second line|");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_pod_logs_whatever_the_uid, setup, teardown),
		cmocka_unit_test_setup_teardown(test_a_container_still_starting_is_asked_again, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
