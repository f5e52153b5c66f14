/* pipeline/registry against the real docker-registry on loopback: start,
 * answer, restart after a kill, stop, keep its port, fail with the
 * registry's own message, external mode. Everything started is stopped by
 * pid (registry_close). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <crypt.h>
#include <fcntl.h>

#include "lib/fstree.h"
#include "lib/strbuf.h"
#include "pipeline/registry.h"
#include "pipeline/registry_auth.h"
#include "testfs.h"

static char datadir[64];

static int setup(void **state)
{
	(void)state;
	testfs_tmpdir(datadir, sizeof(datadir), "test-registry");
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	return fstree_remove(datadir);
}

static void sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
	nanosleep(&ts, NULL);
}

static int alive(pid_t pid)
{
	return kill(pid, 0) == 0;
}

static void test_start_answer_restart_stop(void **state)
{
	struct registry_config cfg = { .data_dir = datadir };
	struct registry *r = NULL;
	struct ferr e = FERR_INIT;
	char digest[72];
	pid_t pid, pid2;
	int port, restarted = 0;
	struct strbuf want = STRBUF_INIT;

	(void)state;
	assert_int_equal(registry_open(&r, &cfg, &e), 0);
	pid = registry_pid(r);
	assert_true(pid > 0);
	assert_true(registry_insecure(r));
	assert_int_equal(strncmp(registry_host(r), "127.0.0.1:", 10), 0);
	port = atoi(registry_host(r) + 10);
	assert_true(port > 0);

	/* It answers the v2 API: an unknown manifest is "not there", not an error. */
	assert_int_equal(registry_manifest_digest(r, "ferry/none", "latest", digest, &e), 0);
	assert_false(ferr_isset(&e));
	/* Nothing to supervise while it runs. */
	assert_int_equal(registry_supervise(r, &e), 0);

	/* The containers configuration points at it. */
	strbuf_addf(&want, "CONTAINERS_REGISTRIES_CONF=%s/containers/registries.conf", datadir);
	assert_string_equal(registry_env(r)[1], want.buf);

	/* Killed: the supervisor brings it back on the same port. */
	assert_int_equal(kill(pid, SIGKILL), 0);
	for (int i = 0; i < 100 && !restarted; i++) {
		int rc = registry_supervise(r, &e);
		assert_int_not_equal(rc, -1);
		restarted = rc == 1;
		if (!restarted)
			sleep_ms(50);
	}
	assert_true(restarted);
	pid2 = registry_pid(r);
	assert_true(pid2 > 0);
	assert_int_not_equal(pid2, pid);
	assert_int_equal(atoi(registry_host(r) + 10), port);
	assert_int_equal(registry_manifest_digest(r, "ferry/none", "latest", digest, &e), 0);

	/* The previous run's log is kept. */
	strbuf_reset(&want);
	strbuf_addf(&want, "%s/registry/registry.log.1", datadir);
	assert_int_equal(access(want.buf, F_OK), 0);

	registry_close(r);
	sleep_ms(50);
	assert_false(alive(pid2));

	/* Reopened: same port (image references stay valid). */
	assert_int_equal(registry_open(&r, &cfg, &e), 0);
	assert_int_equal(atoi(registry_host(r) + 10), port);
	pid = registry_pid(r);
	registry_close(r);
	sleep_ms(50);
	assert_false(alive(pid));
	strbuf_release(&want);
}

static void test_port_in_use_reports_registry_message(void **state)
{
	struct sockaddr_in sa = { .sin_family = AF_INET };
	socklen_t len = sizeof(sa);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct registry_config cfg = { .data_dir = datadir };
	struct registry *r = NULL;
	struct ferr e = FERR_INIT;

	(void)state;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(listen(fd, 1), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&sa, &len), 0);
	cfg.port = ntohs(sa.sin_port);

	assert_int_equal(registry_open(&r, &cfg, &e), -1);
	assert_null(r);
	assert_string_equal(e.code, "registry_failed");
	assert_non_null(strstr(e.msg, "address already in use"));
	close(fd);
}

static void test_external_mode(void **state)
{
	struct registry_config cfg = { .data_dir = datadir, .port = 0 };
	struct registry_config ext = { .data_dir = datadir };
	struct registry *managed = NULL, *r = NULL;
	struct ferr e = FERR_INIT;
	struct strbuf url = STRBUF_INIT;
	char digest[72];

	(void)state;
	/* The "external" registry is a managed one in another data dir. */
	char other[96];
	snprintf(other, sizeof(other), "%s/other", datadir);
	assert_int_equal(mkdir(other, 0700), 0);
	cfg.data_dir = other;
	assert_int_equal(registry_open(&managed, &cfg, &e), 0);

	strbuf_addf(&url, "http://%s", registry_host(managed));
	ext.external_url = url.buf;
	/* It answers /v2/ with 401 to anyone without its credentials ... */
	assert_int_equal(registry_open(&r, &ext, &e), 0);
	assert_int_equal(registry_manifest_digest(r, "p/c", "latest", digest, &e), -1);
	assert_non_null(strstr(e.msg, "401"));
	ferr_clear(&e);
	registry_close(r);
	/* ... and serves the holder of DATA/registry/password */
	{
		struct registry_auth ra;
		struct strbuf dir = STRBUF_INIT;
		strbuf_addf(&dir, "%s/registry", other);
		assert_int_equal(registry_auth_load(&ra, dir.buf, &e), 0);
		ext.username = REGISTRY_AUTH_USER;
		ext.password = ra.password;
		assert_int_equal(registry_open(&r, &ext, &e), 0);
		registry_auth_release(&ra);
		strbuf_release(&dir);
	}
	assert_string_equal(registry_host(r), registry_host(managed));
	assert_int_equal(registry_pid(r), 0);
	assert_int_equal(registry_supervise(r, &e), 0);
	assert_int_equal(registry_gc(r, NULL, &e), 0);
	assert_int_equal(registry_manifest_digest(r, "p/c", "latest", digest, &e), 0);
	registry_close(r);
	ext.username = ext.password = NULL;

	/* Not a URL, and a URL nothing answers on. */
	ext.external_url = "registry.example.com";
	assert_int_equal(registry_open(&r, &ext, &e), -1);
	assert_int_equal(e.status, 400);
	ferr_clear(&e);
	ext.external_url = "http://127.0.0.1:1";
	assert_int_equal(registry_open(&r, &ext, &e), -1);
	assert_string_equal(e.code, "registry_unreachable");
	ferr_clear(&e);
	/* Bad names never reach the network. */
	assert_int_equal(registry_delete_manifest(managed, "P/C", "sha256:x", &e), -1);
	assert_int_equal(e.status, 400);

	registry_close(managed);
	strbuf_release(&url);
}

static mode_t mode_of(const char *dir, const char *name)
{
	struct strbuf p = STRBUF_INIT;
	struct stat st;

	strbuf_addf(&p, "%s/%s", dir, name);
	assert_int_equal(stat(p.buf, &st), 0);
	strbuf_release(&p);
	return st.st_mode & 07777;
}

static void test_auth_files(void **state)
{
	struct registry_auth a, b;
	struct ferr e = FERR_INIT;
	char dir[96], line[256], path[160], hash[200];
	struct crypt_data cd;
	FILE *f;

	(void)state;
	snprintf(dir, sizeof(dir), "%s/auth", datadir);
	assert_int_equal(mkdir(dir, 0700), 0);
	assert_int_equal(registry_auth_load(&a, dir, &e), 0);
	assert_string_equal(a.user, "ferry");
	assert_int_equal(strlen(a.password), 64);
	assert_int_equal(strspn(a.password, "0123456789abcdef"), 64);
	assert_int_equal(mode_of(dir, "password"), 0600);
	assert_int_equal(mode_of(dir, "htpasswd"), 0600);
	/* the same password at the next start, a new salt in the htpasswd */
	assert_int_equal(registry_auth_load(&b, dir, &e), 0);
	assert_string_equal(a.password, b.password);
	/* the htpasswd holds a bcrypt hash of it, not the password */
	snprintf(path, sizeof(path), "%s/htpasswd", dir);
	f = fopen(path, "r");
	assert_non_null(f);
	assert_non_null(fgets(line, sizeof(line), f));
	fclose(f);
	assert_int_equal(strncmp(line, "ferry:$2b$04$", 13), 0);
	assert_null(strstr(line, a.password));
	snprintf(hash, sizeof(hash), "%.*s", (int)strcspn(line + 6, "\n"), line + 6);
	memset(&cd, 0, sizeof(cd));
	assert_string_equal(crypt_rn(a.password, hash, &cd, sizeof(cd)), hash);
	memset(&cd, 0, sizeof(cd));
	assert_string_not_equal(crypt_rn("wrong", hash, &cd, sizeof(cd)), hash);
	registry_auth_release(&a);
	registry_auth_release(&b);

	/* a password file others may read, or one that holds garbage, is refused */
	snprintf(path, sizeof(path), "%s/password", dir);
	assert_int_equal(chmod(path, 0644), 0);
	assert_int_equal(registry_auth_load(&a, dir, &e), -1);
	assert_non_null(strstr(e.msg, "mode 0600"));
	ferr_clear(&e);
	assert_int_equal(chmod(path, 0600), 0);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs("hunter2\n", f);
	fclose(f);
	assert_int_equal(registry_auth_load(&a, dir, &e), -1);
	assert_non_null(strstr(e.msg, "64 hex digits"));
	ferr_clear(&e);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_start_answer_restart_stop),
		cmocka_unit_test(test_port_in_use_reports_registry_message),
		cmocka_unit_test(test_external_mode),
		cmocka_unit_test(test_auth_files),
	};
	if (access("/usr/bin/docker-registry", X_OK) != 0) {
		fprintf(stderr, "docker-registry is not installed: run scripts/install-deps\n");
		return 77; /* meson: skipped */
	}
	return cmocka_run_group_tests(tests, setup, teardown);
}
