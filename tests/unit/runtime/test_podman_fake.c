/* The podman driver against a fake `podman` (a shell script), so that its
 * handling of podman's answers, failures and timeouts is tested without
 * podman. The script logs its arguments to $FAKE_LOG and answers by
 * subcommand; FAKE_MODE (given through the driver's env vector, as
 * CONTAINERS_CONF is in production) selects misbehaviour. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "runtime/configdir.h"
#include "runtime/podman.h"

static const char SCRIPT[] =
"#!/bin/sh\n"
"echo \"$*\" >> \"$FAKE_LOG\"\n"
"case \"$FAKE_MODE:$1:$2\" in\n"
"broken:*) echo 'time=x level=warning msg=noise' >&2;"
" echo 'Error: something broke in podman' >&2; exit 125 ;;\n"
"slow:*) exec sleep 30 ;;\n"
"*:ps:*) cat <<'EOF'\n"
"[{\"Id\":\"c1\",\"Names\":[\"fx-p-dev-web-d1-r0\"],\"State\":\"running\",\"ExitCode\":0,\n"
" \"Labels\":{\"ferry.instance\":\"fx\",\"ferry.project\":\"p\",\"ferry.environment\":\"dev\",\n"
" \"ferry.component\":\"web\",\"ferry.deployment\":\"1\",\"ferry.replica\":\"0\"}}]\n"
"EOF\n"
"  ;;\n"
"gone:container:inspect) echo 'Error: no such container fx-p-dev-web-d1-r0' >&2;"
" exit 125 ;;\n"
"*:container:inspect) cat <<'EOF'\n"
"[{\"Id\":\"c1\",\"Name\":\"fx-p-dev-web-d1-r0\",\"RestartCount\":0,\n"
" \"State\":{\"Status\":\"running\",\"ExitCode\":0},\n"
" \"Config\":{\"Labels\":{\"ferry.instance\":\"fx\",\"ferry.project\":\"p\",\n"
" \"ferry.environment\":\"dev\",\"ferry.component\":\"web\",\n"
" \"ferry.deployment\":\"1\",\"ferry.replica\":\"0\"}}}]\n"
"EOF\n"
"  ;;\n"
"*:logs:*) echo one; echo two >&2; printf 'three'; [ \"$2\" = --follow ] && exec sleep 30 ;;\n"
"*:wait:*) echo 42 ;;\n"
"*:image:inspect) echo '[{\"Config\":{\"Entrypoint\":[\"/app\"],\"User\":\"app\"}}]' ;;\n"
"*:image:mount) echo \"$FAKE_IMG\" ;;\n"
"*:run:*) echo c1 ;;\n"
"*:exec:*) shift 2; \"$@\" ;;\n"
"*) ;;\n"
"esac\n";

struct fake {
	char dir[64];
	char script[128];
	char log[128];
	char run[128];
	char init[128];
	char img[128];
};

static int setup(void **state)
{
	struct fake *f = calloc(1, sizeof(*f));
	FILE *fp;

	snprintf(f->dir, sizeof(f->dir), "/dev/shm/ferry-test-fake-XXXXXX");
	if (!mkdtemp(f->dir))
		return -1;
	snprintf(f->script, sizeof(f->script), "%s/podman", f->dir);
	snprintf(f->log, sizeof(f->log), "%s/log", f->dir);
	snprintf(f->run, sizeof(f->run), "%s/run", f->dir);
	snprintf(f->init, sizeof(f->init), "%s/init", f->dir);
	fp = fopen(f->script, "w");
	fputs(SCRIPT, fp);
	fclose(fp);
	chmod(f->script, 0755);
	fp = fopen(f->init, "w");
	fclose(fp);
	chmod(f->init, 0755);
	/* an image's root file system, as `podman image mount` shows it */
	snprintf(f->img, sizeof(f->img), "%s/img", f->dir);
	mkdir(f->img, 0755);
	{
		char etc[160], passwd[192];
		snprintf(etc, sizeof(etc), "%s/etc", f->img);
		mkdir(etc, 0755);
		snprintf(passwd, sizeof(passwd), "%s/passwd", etc);
		fp = fopen(passwd, "w");
		fputs("root:x:0:0::/:/bin/sh\napp:x:1234:2345::/:/bin/sh\n", fp);
		fclose(fp);
	}
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fake *f = *state;

	unlink(f->script);
	unlink(f->log);
	unlink(f->init);
	{
		char path[192];
		snprintf(path, sizeof(path), "%s/etc/passwd", f->img);
		unlink(path);
		snprintf(path, sizeof(path), "%s/etc", f->img);
		rmdir(path);
		rmdir(f->img);
	}
	rmdir(f->run);
	assert_int_equal(rmdir(f->dir), 0);
	free(f);
	return 0;
}

static struct runtime *new_driver(struct fake *f, const char *mode)
{
	struct strbuf m = STRBUF_INIT, l = STRBUF_INIT, im = STRBUF_INIT;
	const char *env[4];
	struct podman_config cfg = { 0 };
	struct runtime *rt;
	struct ferr e = FERR_INIT;

	strbuf_addf(&m, "FAKE_MODE=%s", mode);
	strbuf_addf(&l, "FAKE_LOG=%s", f->log);
	strbuf_addf(&im, "FAKE_IMG=%s", f->img);
	env[0] = m.buf;
	env[1] = l.buf;
	env[2] = im.buf;
	env[3] = NULL;
	cfg.instance = "fx";
	cfg.run_dir = f->run;
	cfg.init_path = f->init;
	cfg.env = env;
	cfg.podman = f->script;
	assert_int_equal(podman_runtime_new(&rt, &cfg, &e), 0);
	strbuf_release(&m);
	strbuf_release(&l);
	strbuf_release(&im);
	unlink(f->log);
	return rt;
}

static char *read_log(struct fake *f)
{
	FILE *fp = fopen(f->log, "r");
	char *buf = calloc(1, 8192);

	if (fp) {
		size_t n = fread(buf, 1, 8191, fp);
		buf[n] = '\0';
		fclose(fp);
	}
	return buf;
}

static void test_list_filters_by_instance_label(void **state)
{
	struct runtime *rt = new_driver(*state, "ok");
	struct runtime_replica_list l = RUNTIME_REPLICA_LIST_INIT;
	struct ferr e = FERR_INIT;
	char *log;

	assert_int_equal(runtime_list(rt, NULL, &l, &e), 0);
	assert_int_equal(l.n, 1);
	assert_string_equal(l.items[0].id, "c1");
	runtime_replica_list_release(&l);
	log = read_log(*state);
	assert_non_null(strstr(log, "ps --all --format=json --filter=label=ferry.instance=fx"));
	free(log);
	runtime_free(rt);
}

static void test_podman_error_is_quoted(void **state)
{
	struct runtime *rt = new_driver(*state, "broken");
	struct runtime_replica_list l = RUNTIME_REPLICA_LIST_INIT;
	struct runtime_replica r;
	struct ferr e = FERR_INIT;

	assert_int_equal(runtime_list(rt, NULL, &l, &e), -1);
	assert_int_equal(e.status, 502);
	assert_non_null(strstr(e.msg, "something broke in podman"));
	assert_null(strstr(e.msg, "level=warning"));
	ferr_clear(&e);
	assert_int_equal(runtime_inspect(rt, "c1", &r, &e), -1);
	assert_non_null(strstr(e.msg, "something broke"));
	ferr_clear(&e);
	assert_int_equal(runtime_ensure_network(rt, "p", "dev", &e), -1);
	assert_non_null(strstr(e.msg, "fx-p-dev"));
	runtime_free(rt);
}

static void test_stop_of_a_gone_replica_succeeds(void **state)
{
	struct fake *f = *state;
	struct runtime *rt = new_driver(f, "gone");
	struct runtime_replica r;
	struct ferr e = FERR_INIT;
	struct strbuf dir = STRBUF_INIT;
	struct stat st;
	char *log;

	/* a leftover configuration directory of that name is removed */
	strbuf_addf(&dir, "%s/fx-p-dev-web-d1-r0", f->run);
	assert_int_equal(mkdir(dir.buf, 0700), 0);
	assert_int_equal(runtime_stop_replica(rt, "fx-p-dev-web-d1-r0", 5, &e), 0);
	assert_int_equal(stat(dir.buf, &st), -1);
	log = read_log(f);
	assert_null(strstr(log, "stop"));
	free(log);
	assert_int_equal(runtime_inspect(rt, "fx-p-dev-web-d1-r0", &r, &e), -1);
	assert_int_equal(e.status, 404);
	strbuf_release(&dir);
	runtime_free(rt);
}

static void test_stop_runs_stop_with_grace_then_rm(void **state)
{
	struct runtime *rt = new_driver(*state, "ok");
	struct ferr e = FERR_INIT;
	char *log;

	assert_int_equal(runtime_stop_replica(rt, "c1", 7, &e), 0);
	log = read_log(*state);
	assert_non_null(strstr(log, "stop --time=7 c1\n"));
	assert_non_null(strstr(log, "rm --force --time=0 c1\n"));
	assert_true(strstr(log, "stop --time=7") < strstr(log, "rm --force"));
	free(log);
	runtime_free(rt);
}

struct lines {
	char got[8][32];
	int n;
	int stop_after;
};

static int collect(const char *line, size_t len, void *arg)
{
	struct lines *l = arg;

	if (!line)
		return 0;
	if (l->n < 8)
		snprintf(l->got[l->n], sizeof(l->got[0]), "%.*s", (int)len, line);
	l->n++;
	return l->stop_after && l->n >= l->stop_after;
}

static void test_logs_lines_and_follow_stop(void **state)
{
	struct runtime *rt = new_driver(*state, "ok");
	struct ferr e = FERR_INIT;
	struct lines l = { .n = 0 };
	struct timespec t0, t1;

	assert_int_equal(runtime_logs(rt, "c1", 0, collect, &l, &e), 0);
	assert_int_equal(l.n, 3);
	assert_string_equal(l.got[0], "one");
	assert_string_equal(l.got[1], "two");
	assert_string_equal(l.got[2], "three"); /* last line without newline */

	/* following: the callback ends it although podman would go on */
	memset(&l, 0, sizeof(l));
	l.stop_after = 2;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	assert_int_equal(runtime_logs(rt, "c1", 1, collect, &l, &e), 0);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	assert_int_equal(l.n, 2);
	assert_true(t1.tv_sec - t0.tv_sec < 10);
	runtime_free(rt);
}

static void test_wait_and_exec(void **state)
{
	struct runtime *rt = new_driver(*state, "ok");
	const char *ok[] = { "sh", "-c", "echo probe-out; exit 3", NULL };
	struct strbuf out = STRBUF_INIT;
	struct ferr e = FERR_INIT;

	assert_int_equal(runtime_wait(rt, "c1", 5000, &e), 42);
	assert_int_equal(runtime_exec_probe(rt, "c1", ok, 5000, &out, &e), 3);
	assert_string_equal(out.buf, "probe-out\n");
	strbuf_release(&out);
	runtime_free(rt);
}

static void test_timeouts(void **state)
{
	struct runtime *rt = new_driver(*state, "slow");
	const char *argv[] = { "true", NULL };
	struct ferr e = FERR_INIT;

	assert_int_equal(runtime_exec_probe(rt, "c1", argv, 300, NULL, &e), -1);
	assert_string_equal(e.code, "timeout");
	runtime_free(rt);
}

static int count(const char *hay, const char *needle)
{
	int n = 0;

	for (const char *p = hay; (p = strstr(p, needle)); p++)
		n++;
	return n;
}

static void test_start_owns_config_by_image_user_and_caches_it(void **state)
{
	struct fake *f = *state;
	struct runtime *rt = new_driver(f, "ok");
	const char *env[] = { "TOKEN=fake-canary", NULL };
	struct runtime_spec spec = {
		.project = "p", .environment = "dev", .component = "web",
		.deployment = 1, .image = "reg/p/web@sha256:abcd", .env = env,
	};
	struct runtime_replica r;
	struct ferr e = FERR_INIT;
	struct strbuf path = STRBUF_INIT;
	struct stat st;
	char *log;

	for (int i = 0; i < 2; i++) {
		spec.replica = i;
		assert_int_equal(runtime_start_replica(rt, &spec, &r, &e), 0);
		assert_string_equal(r.id, "c1");
		strbuf_reset(&path);
		strbuf_addf(&path, "%s/fx-p-dev-web-d1-r%d/env", f->run, i);
		assert_int_equal(stat(path.buf, &st), 0);
		assert_true(st.st_uid == 1234 && st.st_gid == 2345);
	}
	log = read_log(f);
	assert_int_equal(count(log, "image mount"), 1);
	assert_int_equal(count(log, "image unmount"), 1);
	assert_int_equal(count(log, "run --detach"), 2);
	assert_null(strstr(log, "fake-canary"));
	assert_non_null(strstr(log, "-- /app\n"));
	free(log);
	/* a replica of that name is still there: its directory says so */
	spec.replica = 0;
	assert_int_equal(runtime_start_replica(rt, &spec, &r, &e), -1);
	for (int i = 0; i < 2; i++) {
		char name[64];
		snprintf(name, sizeof(name), "fx-p-dev-web-d1-r%d", i);
		assert_int_equal(configdir_remove(f->run, name, &e), 0);
	}
	strbuf_release(&path);
	runtime_free(rt);
}

static void test_new_checks_its_config(void **state)
{
	struct fake *f = *state;
	struct podman_config cfg = { 0 };
	struct runtime *rt;
	struct ferr e = FERR_INIT;

	cfg.run_dir = f->run;
	cfg.init_path = "/no/such/ferry-init";
	assert_int_equal(podman_runtime_new(&rt, &cfg, &e), -1);
	assert_non_null(strstr(e.msg, "ferry-init"));
	ferr_clear(&e);
	cfg.init_path = f->init;
	cfg.instance = "Bad Instance";
	assert_int_equal(podman_runtime_new(&rt, &cfg, &e), -1);
	ferr_clear(&e);
	cfg.instance = NULL;
	cfg.restart_max = -1;
	assert_int_equal(podman_runtime_new(&rt, &cfg, &e), -1);
	assert_non_null(strstr(e.msg, "restart_max"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_list_filters_by_instance_label),
		cmocka_unit_test(test_podman_error_is_quoted),
		cmocka_unit_test(test_stop_of_a_gone_replica_succeeds),
		cmocka_unit_test(test_stop_runs_stop_with_grace_then_rm),
		cmocka_unit_test(test_logs_lines_and_follow_stop),
		cmocka_unit_test(test_wait_and_exec),
		cmocka_unit_test(test_timeouts),
		cmocka_unit_test(test_start_owns_config_by_image_user_and_caches_it),
		cmocka_unit_test(test_new_checks_its_config),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
