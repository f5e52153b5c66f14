/* lib/pidfile: a pid file written is read back whole; a missing or
 * garbled one reads as 0; the parts' pid file paths; a running child is ours only with its program
 * and arguments, and is no longer running once it is a zombie or reaped. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "lib/fstree.h"
#include "lib/pidfile.h"
#include "lib/strbuf.h"

/* The paths of the registry's and HAProxy's pid files, spelled in one
 * place: operators and the e2e tests read them there. */
static void test_paths(void **state)
{
	struct strbuf sb = STRBUF_INIT;

	(void)state;
	pidfile_path(&sb, "/var/lib/ferry", PIDFILE_GATEWAY);
	assert_string_equal(sb.buf, "/var/lib/ferry/gateway/haproxy.pid");
	strbuf_reset(&sb);
	pidfile_path(&sb, "data", PIDFILE_REGISTRY);
	assert_string_equal(sb.buf, "data/registry/ferryd.pid");
	strbuf_release(&sb);
}

static void test_write_and_read(void **state)
{
	char dir[] = "/tmp/ferry-pidfile-XXXXXX", path[128], tmp[160];
	FILE *f;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/x.pid", dir);
	assert_int_equal(pidfile_read(path), 0);           /* missing */
	assert_int_equal(pidfile_write(path, 4242), 0);
	assert_int_equal(pidfile_read(path), 4242);
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	assert_int_equal(access(tmp, F_OK), -1);           /* renamed over, not left */
	assert_int_equal(pidfile_write(path, 17), 0);
	assert_int_equal(pidfile_read(path), 17);
	f = fopen(path, "w");
	fputs("12ab\n", f);
	fclose(f);
	assert_int_equal(pidfile_read(path), 0);           /* garbled */
	f = fopen(path, "w");
	fputs("-5\n", f);
	fclose(f);
	assert_int_equal(pidfile_read(path), 0);
	snprintf(path, sizeof(path), "%s/no/such/dir.pid", dir);
	assert_int_equal(pidfile_write(path, 1), -1);
	assert_int_equal(fstree_remove(dir), 0);
}

static void test_running_and_ours(void **state)
{
	const char *const thirty[] = { "30" }, *const other[] = { "31" };
	struct timespec ts = { 0, 20 * 1000000L };
	pid_t child;
	int status;

	(void)state;
	assert_true(pid_running(getpid()));
	assert_false(pid_running(0));
	assert_false(pid_running(-1));
	child = fork();
	assert_true(child >= 0);
	if (child == 0) {
		execl("/bin/sleep", "sleep", "30", (char *)NULL);
		_exit(127);
	}
	/* until the exec happened */
	for (int i = 0; i < 250 && !pid_command_is(child, "sleep", NULL, 0); i++)
		nanosleep(&ts, NULL);
	assert_true(pid_running(child));
	assert_true(pid_command_is(child, "sleep", thirty, 1));
	assert_true(pid_command_is(child, NULL, thirty, 1));
	assert_false(pid_command_is(child, "sleep", other, 1));
	assert_false(pid_command_is(child, "haproxy", thirty, 1));
	kill(child, SIGKILL);
	/* a zombie until reaped: not running, not ours */
	for (int i = 0; i < 250 && pid_running(child); i++)
		nanosleep(&ts, NULL);
	assert_false(pid_running(child));
	assert_false(pid_command_is(child, "sleep", thirty, 1));
	assert_int_equal(waitpid(child, &status, 0), child);
	assert_false(pid_running(child));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_paths),
		cmocka_unit_test(test_write_and_read),
		cmocka_unit_test(test_running_and_ours),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
