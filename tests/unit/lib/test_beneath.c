/* lib/beneath against a real directory tree: files and directories inside
 * open; "..", absolute paths and links that lead out do not; links that
 * stay inside open unless BENEATH_NO_LINKS. Built twice: as is (openat2)
 * and with OPEN_BENEATH_TEST_NO_OPENAT2 (the walk that follows no link). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/openat2.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "lib/beneath.h"
#include "lib/fstree.h"
#include "testfs.h"

static char dir[64];

static void link_at(const char *target, const char *rel)
{
	char path[256];

	snprintf(path, sizeof(path), "%s/%s", dir, rel);
	assert_int_equal(symlink(target, path), 0);
}

static int setup(void **state)
{
	(void)state;
	testfs_tmpdir(dir, sizeof(dir), "beneath");
	testfs_dir(dir, "sub");
	testfs_put(dir, "sub/spec.yaml", "openapi: 3.0.0\n");
	testfs_put(dir, "top.txt", "top\n");
	link_at("spec.yaml", "sub/inside");       /* stays inside */
	link_at("../top.txt", "sub/up");          /* inside, through .. */
	link_at("/etc/hostname", "sub/abs");      /* leads out */
	link_at("../../../../../../etc", "out");  /* leads out */
	link_at("sub", "subdir");                 /* a directory, inside */
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	assert_int_equal(fstree_remove(dir), 0);
	return 0;
}

static void expect_text(int fd, const char *want)
{
	char buf[64];
	ssize_t n;

	assert_true(fd >= 0);
	n = read(fd, buf, sizeof(buf) - 1);
	assert_true(n >= 0);
	buf[n] = '\0';
	assert_string_equal(buf, want);
	close(fd);
}

static void expect_refused(const char *rel, unsigned how)
{
	int fd = open_beneath_path(dir, rel, O_RDONLY, how);

	if (fd >= 0)
		close(fd);
	assert_int_equal(fd, -1);
	assert_true(errno == EXDEV || errno == ELOOP || errno == EINVAL || errno == ENOTDIR);
}

static void test_inside_opens(void **state)
{
	(void)state;
	expect_text(open_beneath_path(dir, "sub/spec.yaml", O_RDONLY, 0), "openapi: 3.0.0\n");
	expect_text(open_beneath_path(dir, "top.txt", O_RDONLY, BENEATH_NO_LINKS), "top\n");
	assert_int_equal(open_beneath_path(dir, "sub/none.yaml", O_RDONLY, 0), -1);
	assert_int_equal(errno, ENOENT);
	{
		int fd = open_beneath_path(dir, "sub", O_RDONLY | O_DIRECTORY, BENEATH_NO_LINKS);
		assert_true(fd >= 0);
		close(fd);
	}
}

static void test_malformed_paths_refused(void **state)
{
	(void)state;
	expect_refused("../top.txt", 0);
	expect_refused("sub/../top.txt", 0);
	expect_refused("/etc/hostname", 0);
	expect_refused("sub//spec.yaml", 0);
	expect_refused("sub/", 0);
	expect_refused("", 0);
}

static void test_links_out_refused(void **state)
{
	(void)state;
	expect_refused("sub/abs", 0);
	expect_refused("out/hostname", 0);
	expect_refused("sub/abs", BENEATH_NO_LINKS);
	expect_refused("sub/inside", BENEATH_NO_LINKS);
	expect_refused("subdir/spec.yaml", BENEATH_NO_LINKS);
}

/* Whether this kernel (or what runs the test: valgrind has no openat2)
 * gives openat2, as open_beneath decides it. */
static int have_openat2(void)
{
#ifdef OPEN_BENEATH_TEST_NO_OPENAT2
	return 0;
#else
	struct open_how oh = { .flags = O_RDONLY | O_DIRECTORY | O_CLOEXEC };
	int fd = (int)syscall(SYS_openat2, AT_FDCWD, ".", &oh, sizeof(oh));

	if (fd >= 0)
		close(fd);
	return fd >= 0 || (errno != ENOSYS && errno != EPERM);
#endif
}

/* A link that stays inside: followed by openat2, never by the walk. */
static void test_links_inside(void **state)
{
	(void)state;
	if (have_openat2()) {
		expect_text(open_beneath_path(dir, "sub/inside", O_RDONLY, 0), "openapi: 3.0.0\n");
		expect_text(open_beneath_path(dir, "sub/up", O_RDONLY, 0), "top\n");
		expect_text(open_beneath_path(dir, "subdir/spec.yaml", O_RDONLY, 0), "openapi: 3.0.0\n");
	} else {
		expect_refused("sub/inside", 0);
		expect_refused("sub/up", 0);
		expect_refused("subdir/spec.yaml", 0);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_inside_opens),
		cmocka_unit_test(test_malformed_paths_refused),
		cmocka_unit_test(test_links_out_refused),
		cmocka_unit_test(test_links_inside),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
