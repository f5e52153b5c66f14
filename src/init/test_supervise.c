/* Unit tests for ferry-init's spawning, signal forwarding and reaping.
 * They run real processes (/bin/sh) as children of the test process, which
 * makes itself a subreaper the way ferry-init does when it is not PID 1. */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "init/supervise.h"
#include "lib/error.h"

#include "lib/banned.h"

static sigset_t oldmask;

static int setup(void **state)
{
	struct ferr e = FERR_INIT;
	(void)state;

	if (init_signals_block(&oldmask, &e) < 0 || init_become_subreaper(&e) < 0) {
		fprintf(stderr, "setup: %s\n", e.msg);
		return -1;
	}
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	sigprocmask(SIG_SETMASK, &oldmask, NULL);
	return 0;
}

static char *default_env[] = { "PATH=/usr/bin:/bin", NULL };

/* Runs argv under init_spawn + init_supervise; returns the exit code. */
static int run(char **argv, char **envp)
{
	struct ferr e = FERR_INIT;
	pid_t pid;

	assert_int_equal(init_spawn(argv, envp ? envp : default_env, &oldmask, &pid, &e), 0);
	return init_supervise(pid);
}

static void assert_no_children(void)
{
	int st;

	assert_int_equal(waitpid(-1, &st, WNOHANG), -1);
	assert_int_equal(errno, ECHILD);
}

static void test_exit_code(void **state)
{
	char *a3[] = { "sh", "-c", "exit 3", NULL };
	char *a0[] = { "true", NULL };
	char *akill[] = { "sh", "-c", "kill -KILL $$", NULL };
	(void)state;

	assert_int_equal(run(a3, NULL), 3);
	assert_int_equal(run(a0, NULL), 0);
	assert_int_equal(run(akill, NULL), 128 + SIGKILL);
	assert_no_children();
}

static void test_exit_code_decoding(void **state)
{
	(void)state;
	assert_int_equal(init_exit_code(0), 0);
	assert_int_equal(init_exit_code(3 << 8), 3);
	assert_int_equal(init_exit_code(255 << 8), 255);
	assert_int_equal(init_exit_code(SIGTERM), 128 + SIGTERM);
}

static void test_exec_failures(void **state)
{
	char tmpl[] = "/tmp/ferry-init-test-XXXXXX";
	char *dir = mkdtemp(tmpl);
	char path[512];
	char *missing[] = { "/nonexistent/ferry-prog", NULL };
	char *missing_path[] = { "ferry-no-such-program", NULL };
	char *noexec[] = { path, NULL };
	int fd;
	(void)state;

	assert_non_null(dir);
	snprintf(path, sizeof(path), "%s/not-executable", dir);
	fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
	assert_true(fd >= 0);
	close(fd);

	assert_int_equal(run(missing, NULL), INIT_EXIT_NOT_FOUND);
	assert_int_equal(run(missing_path, NULL), INIT_EXIT_NOT_FOUND);
	assert_int_equal(run(noexec, NULL), INIT_EXIT_NOT_EXECUTABLE);

	unlink(path);
	rmdir(dir);
}

static void test_env_and_path(void **state)
{
	char tmpl[] = "/tmp/ferry-init-test-XXXXXX";
	char *dir = mkdtemp(tmpl);
	char path[512], pathvar[600];
	char *envp[] = { pathvar, "VAL=a=b\nc", NULL };
	char *check[] = { "sh", "-c", "[ \"$VAL\" = \"$(printf 'a=b\\nc')\" ]", NULL };
	char *own[] = { "ferry-own-prog", NULL };
	FILE *f;
	(void)state;

	assert_non_null(dir);
	snprintf(pathvar, sizeof(pathvar), "PATH=%s:/usr/bin:/bin", dir);
	assert_int_equal(run(check, envp), 0);

	/* PATH lookup uses the new environment's PATH. */
	snprintf(path, sizeof(path), "%s/ferry-own-prog", dir);
	f = fopen(path, "we");
	assert_non_null(f);
	fputs("#!/bin/sh\nexit 7\n", f);
	fclose(f);
	assert_int_equal(chmod(path, 0755), 0);
	assert_int_equal(run(own, envp), 7);
	assert_int_equal(run(own, NULL), INIT_EXIT_NOT_FOUND);

	unlink(path);
	rmdir(dir);
}

static int wait_for_file(const char *path)
{
	int i;

	for (i = 0; i < 500; i++) {
		struct timespec ts = { 0, 10 * 1000 * 1000 };

		if (access(path, F_OK) == 0)
			return 0;
		nanosleep(&ts, NULL);
	}
	return -1;
}

/* Sends sig to the test process itself; it is blocked, so init_supervise
 * picks it up and must pass it on. */
static int forward_one(int sig)
{
	char tmpl[] = "/tmp/ferry-init-test-XXXXXX";
	char *dir = mkdtemp(tmpl);
	char ready[512], script[1024];
	char *argv[] = { "sh", "-c", script, NULL };
	struct ferr e = FERR_INIT;
	pid_t pid;
	int code;

	assert_non_null(dir);
	snprintf(ready, sizeof(ready), "%s/ready", dir);
	snprintf(script, sizeof(script),
		 "trap 'exit 42' %d; : > %s; while :; do sleep 0.02; done", sig, ready);
	assert_int_equal(init_spawn(argv, default_env, &oldmask, &pid, &e), 0);
	assert_int_equal(wait_for_file(ready), 0);
	kill(getpid(), sig);
	code = init_supervise(pid);
	unlink(ready);
	rmdir(dir);
	return code;
}

static void test_forward_signals(void **state)
{
	const int sigs[] = { SIGTERM, SIGINT, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2,
			     SIGWINCH, SIGPWR, SIGALRM, SIGRTMIN + 3, SIGRTMAX };
	size_t i;
	(void)state;

	for (i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++) {
		assert_true(init_signal_forwarded(sigs[i]));
		if (forward_one(sigs[i]) != 42)
			fail_msg("signal %d was not forwarded", sigs[i]);
	}
	assert_no_children();
}

static void test_not_forwarded(void **state)
{
	const int sigs[] = { SIGKILL, SIGSTOP, SIGCHLD, SIGSEGV, SIGBUS, SIGFPE,
			     SIGILL, SIGABRT, SIGPIPE, SIGTSTP, SIGTTIN, SIGTTOU,
			     0, 32, SIGRTMIN - 1, SIGRTMAX + 1 };
	size_t i;
	(void)state;

	for (i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
		if (init_signal_forwarded(sigs[i]))
			fail_msg("signal %d must not be forwarded", sigs[i]);
}

static void test_signal_kills_child(void **state)
{
	char *argv[] = { "sleep", "30", NULL };
	struct ferr e = FERR_INIT;
	pid_t pid;
	(void)state;

	assert_int_equal(init_spawn(argv, default_env, &oldmask, &pid, &e), 0);
	/* Even before the child runs: the signal stays pending until
	 * init_supervise forwards it. */
	kill(getpid(), SIGTERM);
	assert_int_equal(init_supervise(pid), 128 + SIGTERM);
}

static void test_reaps_orphans(void **state)
{
	/* The subshells exit at once, orphaning their sleep-0 children to us
	 * (the subreaper); the main child outlives them so init_supervise
	 * sees their SIGCHLDs and must reap them. */
	char *argv[] = { "sh", "-c",
			 "for i in 1 2 3 4 5; do (sleep 0 &); done; sleep 0.3; exit 5", NULL };
	(void)state;

	assert_int_equal(run(argv, NULL), 5);
	assert_no_children();
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_exit_code_decoding),
		cmocka_unit_test(test_exit_code),
		cmocka_unit_test(test_exec_failures),
		cmocka_unit_test(test_env_and_path),
		cmocka_unit_test(test_forward_signals),
		cmocka_unit_test(test_not_forwarded),
		cmocka_unit_test(test_signal_kills_child),
		cmocka_unit_test(test_reaps_orphans),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
