/* pipeline/layer_mount: an image of a containers/storage-shaped store
 * (overlay-images/images.json, overlay/<layer>/{diff,lower}, overlay/l/
 * links) mounted read-only from its layers: the top layer's files over the
 * lower ones', a whiteout hiding a lower file, nothing writable; a single
 * layer bound read-only; unknown images and odd lower files refused.
 * Needs root (mount); skipped otherwise. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "lib/fstree.h"
#include "pipeline/layer_mount.h"
#include "testfs.h"

#define TOP "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
#define BASE "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"
#define IMG "1111111111111111111111111111111111111111111111111111111111111111"
#define ONE "2222222222222222222222222222222222222222222222222222222222222222"
#define BAD "3333333333333333333333333333333333333333333333333333333333333333"

static char root[] = "/tmp/ferry-test-layer-mount-XXXXXX";

static int setup(void **state)
{
	char path[512];

	(void)state;
	if (geteuid() != 0)
		return 0;
	if (!mkdtemp(root))
		return -1;
	testfs_dir(root, "overlay-images");
	testfs_put(root, "overlay-images/images.json",
		   "[{\"id\":\"" IMG "\",\"layer\":\"" TOP "\"},{\"id\":\"" ONE "\",\"layer\":\"" BASE "\"},"
		   "{\"id\":\"" BAD "\",\"layer\":\"" TOP "x\"}]");
	testfs_dir(root, "overlay");
	testfs_dir(root, "overlay/l");
	testfs_dir(root, "overlay/" BASE);
	testfs_dir(root, "overlay/" BASE "/diff");
	testfs_dir(root, "overlay/" BASE "/diff/etc");
	testfs_put(root, "overlay/" BASE "/diff/etc/passwd", "root:x:0:0::/:/bin/sh\n");
	testfs_put(root, "overlay/" BASE "/diff/etc/old", "gone\n");
	snprintf(path, sizeof(path), "%s/overlay/l/BASELINK", root);
	assert_int_equal(symlink("../" BASE "/diff", path), 0);
	testfs_dir(root, "overlay/" TOP);
	testfs_dir(root, "overlay/" TOP "/diff");
	testfs_dir(root, "overlay/" TOP "/diff/etc");
	testfs_dir(root, "overlay/" TOP "/diff/srv");
	testfs_put(root, "overlay/" TOP "/diff/srv/index.html", "<h1>top</h1>\n");
	testfs_put(root, "overlay/" TOP "/lower", "l/BASELINK");
	snprintf(path, sizeof(path), "%s/overlay/" TOP "/diff/etc/old", root);
	assert_int_equal(mknod(path, S_IFCHR | 0600, makedev(0, 0)), 0); /* whiteout */
	testfs_dir(root, "mnt");
	return 0;
}

static char *at(const char *rel)
{
	static char buf[512];

	snprintf(buf, sizeof(buf), "%s/%s", root, rel);
	return buf;
}

static int teardown(void **state)
{
	(void)state;
	if (geteuid() != 0)
		return 0;
	layer_unmount(at("mnt")); /* a failed test's mount */
	return fstree_remove(root);
}

static void test_layers_stack_read_only(void **state)
{
	struct ferr e = FERR_INIT;
	char target[512];
	FILE *f;

	(void)state;
	if (geteuid() != 0)
		skip();
	snprintf(target, sizeof(target), "%s/mnt", root);
	assert_int_equal(layer_mount(root, IMG, target, &e), 0);
	assert_int_equal(access(at("mnt/srv/index.html"), R_OK), 0);   /* top layer */
	assert_int_equal(access(at("mnt/etc/passwd"), R_OK), 0);       /* lower layer */
	assert_int_equal(access(at("mnt/etc/old"), F_OK), -1);         /* whited out */
	f = fopen(at("mnt/srv/new"), "w");
	assert_null(f);
	assert_int_equal(errno, EROFS);
	layer_unmount(target);
	assert_int_equal(access(at("mnt/srv"), F_OK), -1);             /* gone */
}

static void test_one_layer_is_bound_read_only(void **state)
{
	struct ferr e = FERR_INIT;
	char target[512];

	(void)state;
	if (geteuid() != 0)
		skip();
	snprintf(target, sizeof(target), "%s/mnt", root);
	assert_int_equal(layer_mount(root, "sha256:" ONE, target, &e), -1); /* hex only */
	ferr_clear(&e);
	assert_int_equal(layer_mount(root, ONE, target, &e), 0);
	assert_int_equal(access(at("mnt/etc/old"), R_OK), 0);
	assert_null(fopen(at("mnt/etc/new"), "w"));
	assert_int_equal(errno, EROFS);
	layer_unmount(target);
	assert_int_equal(access(at("mnt/etc"), F_OK), -1);
}

static void test_refusals(void **state)
{
	struct ferr e = FERR_INIT;
	char target[512];

	(void)state;
	if (geteuid() != 0)
		skip();
	snprintf(target, sizeof(target), "%s/mnt", root);
	/* an image that is not in the store, a bad layer name, a bad id */
	assert_int_equal(layer_mount(root, "4444444444444444444444444444444444444444444444444444444444444444",
				     target, &e), -1);
	ferr_clear(&e);
	assert_int_equal(layer_mount(root, BAD, target, &e), -1);
	ferr_clear(&e);
	assert_int_equal(layer_mount(root, "../../etc", target, &e), -1);
	ferr_clear(&e);
	/* a store path that cannot go into mount options */
	assert_int_equal(layer_mount("/tmp/a,b", IMG, target, &e), -1);
	ferr_clear(&e);
	/* a lower file naming something else than overlay/l/ links */
	testfs_put(root, "overlay/" TOP "/lower", "l/../../../etc");
	assert_int_equal(layer_mount(root, IMG, target, &e), -1);
	testfs_put(root, "overlay/" TOP "/lower", "l/BASELINK");
	assert_int_equal(access(at("mnt/srv"), F_OK), -1); /* nothing left mounted */
}

static void test_stale_mounts_are_removed(void **state)
{
	struct ferr e = FERR_INIT;

	(void)state;
	if (geteuid() != 0)
		skip();
	testfs_dir(root, "work");
	testfs_dir(root, "work/7-root");
	testfs_dir(root, "work/7");
	assert_int_equal(layer_mount(root, IMG, at("work/7-root"), &e), 0);
	assert_int_equal(access(at("work/7-root/srv/index.html"), R_OK), 0);
	assert_int_equal(layer_unmount_stale(at("work")), 1);
	assert_int_equal(access(at("work/7-root"), F_OK), -1);
	assert_int_equal(access(at("work/7"), F_OK), 0); /* a checkout stays */
	assert_int_equal(layer_unmount_stale(at("work")), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_layers_stack_read_only),
		cmocka_unit_test(test_one_layer_is_bound_read_only),
		cmocka_unit_test(test_refusals),
		cmocka_unit_test(test_stale_mounts_are_removed),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
