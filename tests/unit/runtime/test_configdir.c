#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "runtime/configdir.h"

/* A fresh directory on /dev/shm (a tmpfs on Linux). */
static int setup_root(void **state)
{
	char *dir = strdup("/dev/shm/ferry-test-configdir-XXXXXX");

	if (!dir || !mkdtemp(dir))
		return -1;
	*state = dir;
	return 0;
}

static int teardown_root(void **state)
{
	char *dir = *state;

	/* the tests remove what they create; a leftover is a failure */
	assert_int_equal(rmdir(dir), 0);
	free(dir);
	return 0;
}

static char *read_all(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *buf = calloc(1, 1 << 16);

	assert_non_null(f);
	*len = fread(buf, 1, (1 << 16) - 1, f);
	fclose(f);
	return buf;
}

static void test_env_serialize_records(void **state)
{
	const char *env[] = { "A=1", "MULTI=line1\nline2", "EQ=a=b", "EMPTY=", NULL };
	static const char want[] = "A=1\0MULTI=line1\nline2\0EQ=a=b\0EMPTY=";
	struct strbuf sb = STRBUF_INIT;
	struct ferr e = FERR_INIT;

	(void)state;
	assert_int_equal(configdir_env_serialize(&sb, env, &e), 0);
	assert_int_equal(sb.len, sizeof(want));
	assert_memory_equal(sb.buf, want, sizeof(want));
	strbuf_release(&sb);
}

static void test_env_serialize_rejects_bad_keys_without_leaking_values(void **state)
{
	const char *bad_key[] = { "1A=secret-value", NULL };
	const char *no_eq[] = { "secret-value-no-eq", NULL };
	const char *dash[] = { "MY-KEY=secret-value", NULL };
	struct strbuf sb = STRBUF_INIT;
	struct ferr e = FERR_INIT;

	(void)state;
	assert_int_equal(configdir_env_serialize(&sb, bad_key, &e), -1);
	assert_int_equal(e.status, 400);
	assert_null(strstr(e.msg, "secret-value"));
	ferr_clear(&e);
	assert_int_equal(configdir_env_serialize(&sb, no_eq, &e), -1);
	assert_null(strstr(e.msg, "secret-value"));
	ferr_clear(&e);
	assert_int_equal(configdir_env_serialize(&sb, dash, &e), -1);
	assert_non_null(strstr(e.msg, "MY-KEY"));
	assert_null(strstr(e.msg, "secret-value"));
	strbuf_release(&sb);
}

static void test_env_serialize_caps_size(void **state)
{
	size_t big = RUNTIME_ENV_MAX / 2 + 10;
	char *v1 = malloc(big + 3), *v2 = malloc(big + 3);
	const char *env[] = { v1, v2, NULL };
	struct strbuf sb = STRBUF_INIT;
	struct ferr e = FERR_INIT;

	(void)state;
	memcpy(v1, "A=", 2);
	memset(v1 + 2, 'x', big);
	v1[big + 2] = '\0';
	memcpy(v2, "B=", 2);
	memset(v2 + 2, 'y', big);
	v2[big + 2] = '\0';
	assert_int_equal(configdir_env_serialize(&sb, env, &e), -1);
	assert_int_equal(e.status, 413);
	strbuf_release(&sb);
	free(v1);
	free(v2);
}

static void test_write_layout_modes_and_remove(void **state)
{
	const char *root = *state;
	const char *env[] = { "K=v", "S=top secret", NULL };
	struct runtime_file files[] = {
		{ "/etc/app.conf", "file-one", 8 },
		{ "/srv/key.pem", "PEM\0bin", 7 },
	};
	struct strbuf p = STRBUF_INIT;
	struct ferr e = FERR_INIT;
	struct stat st;
	size_t len;
	char *data;

	assert_int_equal(configdir_write(root, "rep-1", env, files, 2, geteuid(),
					 getegid(), &e), 0);
	strbuf_addf(&p, "%s/rep-1", root);
	assert_int_equal(stat(p.buf, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0700);
	strbuf_addstr(&p, "/env");
	assert_int_equal(stat(p.buf, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0400);
	data = read_all(p.buf, &len);
	assert_int_equal(len, sizeof("K=v\0S=top secret"));
	assert_memory_equal(data, "K=v\0S=top secret", len);
	free(data);

	strbuf_reset(&p);
	configdir_file_path(&p, root, "rep-1", 1);
	assert_int_equal(stat(p.buf, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0400);
	data = read_all(p.buf, &len);
	assert_int_equal(len, 7);
	assert_memory_equal(data, "PEM\0bin", 7);
	free(data);

	/* a second replica of the same name is a conflict, and the first
	 * one's files are untouched by the failed attempt */
	assert_int_equal(configdir_write(root, "rep-1", env, NULL, 0, geteuid(),
					 getegid(), &e), -1);
	assert_int_equal(e.status, 409);
	assert_int_equal(stat(p.buf, &st), 0);

	/* removal overwrites the plaintext first: a descriptor opened before
	 * sees zeros afterwards */
	strbuf_reset(&p);
	strbuf_addf(&p, "%s/rep-1/env", root);
	{
		int fd = open(p.buf, O_RDONLY | O_CLOEXEC);
		char buf[64];
		static const char zeros[64];
		assert_true(fd >= 0);
		assert_int_equal(configdir_remove(root, "rep-1", &e), 0);
		assert_int_equal(pread(fd, buf, sizeof(buf), 0),
				 (ssize_t)sizeof("K=v\0S=top secret"));
		assert_memory_equal(buf, zeros, sizeof("K=v\0S=top secret"));
		close(fd);
	}
	strbuf_reset(&p);
	strbuf_addf(&p, "%s/rep-1", root);
	assert_int_equal(stat(p.buf, &st), -1);
	/* idempotent */
	assert_int_equal(configdir_remove(root, "rep-1", &e), 0);
	strbuf_release(&p);
}

static void test_write_failure_leaves_nothing(void **state)
{
	const char *root = *state;
	const char *env[] = { "BAD KEY=x", NULL };
	struct strbuf p = STRBUF_INIT;
	struct ferr e = FERR_INIT;
	struct stat st;

	assert_int_equal(configdir_write(root, "rep-2", env, NULL, 0, geteuid(),
					 getegid(), &e), -1);
	strbuf_addf(&p, "%s/rep-2", root);
	assert_int_equal(stat(p.buf, &st), -1);
	assert_int_equal(configdir_write(root, "../escape", NULL, NULL, 0, geteuid(),
					 getegid(), &e), -1);
	strbuf_release(&p);
}

/* A new private directory on a disk (not a tmpfs): under /var/tmp, or the
 * test's working directory (the build dir) if /var/tmp is a tmpfs. */
static char *disk_dir(void)
{
	const char *bases[] = { "/var/tmp", "." };

	for (size_t i = 0; i < 2; i++) {
		struct strbuf sb = STRBUF_INIT;
		strbuf_addf(&sb, "%s/ferry-test-disk-XXXXXX", bases[i]);
		if (mkdtemp(sb.buf) && configdir_on_tmpfs(sb.buf, NULL) == 0)
			return strbuf_detach(&sb, NULL);
		rmdir(sb.buf);
		strbuf_release(&sb);
	}
	fail_msg("no directory on a disk found for the test");
	return NULL;
}

static void test_tmpfs_detection(void **state)
{
	struct ferr e = FERR_INIT;
	char *dir = NULL, *disk = disk_dir();
	struct strbuf open_dir = STRBUF_INIT;

	assert_int_equal(configdir_on_tmpfs(*state, &e), 1);
	assert_int_equal(configdir_on_tmpfs(disk, &e), 0);
	assert_int_equal(configdir_on_tmpfs("/no/such/dir", &e), -1);
	ferr_clear(&e);
	/* a directory on a disk is refused as a run directory */
	assert_int_equal(configdir_prepare_root(&dir, NULL, disk, "t", &e), -1);
	assert_non_null(strstr(e.msg, "not on a tmpfs"));
	assert_null(dir);
	ferr_clear(&e);
	assert_int_equal(rmdir(disk), 0);
	free(disk);
	/* so is one other users can enter, and it is left as it was */
	strbuf_addf(&open_dir, "%s/open", (char *)*state);
	assert_int_equal(mkdir(open_dir.buf, 0755), 0);
	assert_int_equal(chmod(open_dir.buf, 0755), 0);
	assert_int_equal(configdir_prepare_root(&dir, NULL, open_dir.buf, "t", &e), -1);
	assert_non_null(strstr(e.msg, "chmod 700"));
	ferr_clear(&e);
	assert_int_equal(rmdir(open_dir.buf), 0);
	strbuf_release(&open_dir);

	assert_int_equal(configdir_prepare_root(&dir, NULL, *state, "t", &e), 0);
	assert_string_equal(dir, *state);
	free(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_env_serialize_records),
		cmocka_unit_test(test_env_serialize_rejects_bad_keys_without_leaking_values),
		cmocka_unit_test(test_env_serialize_caps_size),
		cmocka_unit_test_setup_teardown(test_write_layout_modes_and_remove,
						setup_root, teardown_root),
		cmocka_unit_test_setup_teardown(test_write_failure_leaves_nothing,
						setup_root, teardown_root),
		cmocka_unit_test_setup_teardown(test_tmpfs_detection,
						setup_root, teardown_root),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
