/* runtime/layerfile: a file read from the first layer that has it; no
 * symbolic link followed; whiteouts, opaque directories and odd files
 * answer "unknown" (the driver then mounts the image). */
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
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "lib/fstree.h"
#include "runtime/layerfile.h"
#include "testfs.h"

static char root[] = "/tmp/ferry-test-layerfile-XXXXXX";

static int setup(void **state)
{
	(void)state;
	if (!mkdtemp(root))
		return -1;
	/* top: etc without passwd; middle: etc/passwd; bottom: another one */
	testfs_dir(root, "top");
	testfs_dir(root, "top/etc");
	testfs_put(root, "top/etc/hostname", "x\n");
	testfs_dir(root, "mid");
	testfs_dir(root, "mid/etc");
	testfs_put(root, "mid/etc/passwd", "app:x:1000:50::/:/bin/sh\n");
	testfs_dir(root, "bottom");
	testfs_dir(root, "bottom/etc");
	testfs_put(root, "bottom/etc/passwd", "root:x:0:0::/:/bin/sh\n");
	testfs_put(root, "bottom/etc/group", "staff:x:50:\n");
	testfs_dir(root, "linked");
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	return fstree_remove(root);
}

static char *layers(const char *a, const char *b, const char *c)
{
	static char buf[1024];

	snprintf(buf, sizeof(buf), "%s/%s%s%s/%s%s%s%s%s", root, a, b ? ":" : "", b ? root : "",
		 b ? b : "", c ? ":" : "", c ? root : "", c ? "/" : "", c ? c : "");
	return buf;
}

static void test_first_layer_that_has_it(void **state)
{
	char *text;

	(void)state;
	assert_int_equal(layerfile_read(layers("top", "mid", "bottom"), "etc/passwd", 4096, &text), 1);
	assert_string_equal(text, "app:x:1000:50::/:/bin/sh\n");
	free(text);
	assert_int_equal(layerfile_read(layers("top", "mid", "bottom"), "etc/group", 4096, &text), 1);
	assert_string_equal(text, "staff:x:50:\n");
	free(text);
	/* capped */
	assert_int_equal(layerfile_read(layers("mid", NULL, NULL), "etc/passwd", 3, &text), 1);
	assert_string_equal(text, "app");
	free(text);
}

static void test_absent_everywhere(void **state)
{
	char *text = (char *)1;

	(void)state;
	assert_int_equal(layerfile_read(layers("top", "mid", NULL), "etc/shadow", 4096, &text), 0);
	assert_null(text);
}

static void test_links_are_not_followed(void **state)
{
	char path[512], *text;

	(void)state;
	/* etc as a link to a host directory, and passwd as a link to a host file */
	snprintf(path, sizeof(path), "%s/linked/etc", root);
	assert_int_equal(symlink("/etc", path), 0);
	assert_int_equal(layerfile_read(layers("linked", "bottom", NULL), "etc/passwd", 4096, &text), -1);
	assert_null(text);
	assert_int_equal(unlink(path), 0);
	testfs_dir(root, "linked/etc");
	snprintf(path, sizeof(path), "%s/linked/etc/passwd", root);
	assert_int_equal(symlink("/etc/passwd", path), 0);
	assert_int_equal(layerfile_read(layers("linked", "bottom", NULL), "etc/passwd", 4096, &text), -1);
	assert_int_equal(unlink(path), 0);
}

static void test_whiteout_and_opaque_are_unknown(void **state)
{
	char path[512], *text;

	(void)state;
	testfs_dir(root, "wh");
	testfs_dir(root, "wh/etc");
	snprintf(path, sizeof(path), "%s/wh/etc/passwd", root);
	if (mknod(path, S_IFCHR | 0600, makedev(0, 0)) == 0)
		assert_int_equal(layerfile_read(layers("wh", "bottom", NULL), "etc/passwd", 4096, &text), -1);
	else
		assert_true(errno == EPERM); /* not root: no device node */
	testfs_dir(root, "op");
	testfs_dir(root, "op/etc");
	snprintf(path, sizeof(path), "%s/op/etc", root);
	if (setxattr(path, "trusted.overlay.opaque", "y", 1, 0) == 0)
		assert_int_equal(layerfile_read(layers("op", "bottom", NULL), "etc/passwd", 4096, &text), -1);
}

static void test_bad_arguments(void **state)
{
	char *text;

	(void)state;
	assert_int_equal(layerfile_read("", "etc/passwd", 4096, &text), -1);
	assert_int_equal(layerfile_read(NULL, "etc/passwd", 4096, &text), -1);
	assert_int_equal(layerfile_read(layers("bottom", NULL, NULL), "/etc/passwd", 4096, &text), -1);
	assert_int_equal(layerfile_read(layers("bottom", NULL, NULL), "etc/../etc/passwd", 4096, &text), -1);
	assert_int_equal(layerfile_read("/no/such/layer", "etc/passwd", 4096, &text), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_first_layer_that_has_it),
		cmocka_unit_test(test_absent_everywhere),
		cmocka_unit_test(test_links_are_not_followed),
		cmocka_unit_test(test_whiteout_and_opaque_are_unknown),
		cmocka_unit_test(test_bad_arguments),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
