/* Unit tests of pipeline/registry_storage's sweep: what garbage collection
 * leaves of deleted images (links to gone blobs, empty blob prefix
 * directories, repositories whose every image went) is removed, and what a
 * live image needs stays. The tree is written by hand in distribution's
 * filesystem layout. */
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

#include "lib/fstree.h"
#include "pipeline/registry_storage.h"

#define LIVE "aa11111111111111111111111111111111111111111111111111111111111111"
#define GONE "bb22222222222222222222222222222222222222222222222222222222222222"

static char root[64];

/* Makes every directory of path (below root) and, with content, the file. */
static void put(const char *rel, const char *content)
{
	char path[512];

	snprintf(path, sizeof(path), "%s/docker/registry/v2/%s", root, rel);
	for (char *p = path + strlen(root) + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		mkdir(path, 0755);
		*p = '/';
	}
	if (content) {
		FILE *f = fopen(path, "w");
		assert_non_null(f);
		fputs(content, f);
		fclose(f);
	} else {
		mkdir(path, 0755);
	}
}

static int there(const char *rel)
{
	char path[512];
	struct stat st;

	snprintf(path, sizeof(path), "%s/docker/registry/v2/%s", root, rel);
	return stat(path, &st) == 0;
}

static void test_sweep_removes_leftovers(void **state)
{
	(void)state;
	snprintf(root, sizeof(root), "/tmp/ferry-regsweep-XXXXXX");
	assert_non_null(mkdtemp(root));

	/* a live image: its blob, layer link, revision and tag */
	put("blobs/sha256/aa/" LIVE "/data", "{}");
	put("repositories/shop/web/_layers/sha256/" LIVE "/link", "sha256:" LIVE);
	put("repositories/shop/web/_manifests/revisions/sha256/" LIVE "/link", "sha256:" LIVE);
	put("repositories/shop/web/_manifests/tags/v1/current/link", "sha256:" LIVE);
	put("repositories/shop/web/_manifests/tags/v1/index/sha256/" LIVE "/link", "sha256:" LIVE);
	/* what GC left of a deleted image in the same repository */
	put("repositories/shop/web/_layers/sha256/" GONE "/link", "sha256:" GONE);
	/* a blob prefix directory GC emptied */
	put("blobs/sha256/bb", NULL);
	/* a repository whose every image went */
	put("repositories/shop/old/_manifests/revisions/sha256/" GONE "/link", "sha256:" GONE);
	put("repositories/shop/old/_manifests/tags", NULL);
	put("repositories/shop/old/_layers/sha256/" GONE "/link", "sha256:" GONE);
	put("repositories/gone/only/_uploads", NULL);

	assert_true(registry_storage_sweep(root) > 0);

	assert_true(there("blobs/sha256/aa/" LIVE "/data"));
	assert_true(there("repositories/shop/web/_layers/sha256/" LIVE "/link"));
	assert_true(there("repositories/shop/web/_manifests/revisions/sha256/" LIVE "/link"));
	assert_true(there("repositories/shop/web/_manifests/tags/v1/current/link"));
	assert_true(there("repositories/shop/web/_manifests/tags/v1/index/sha256/" LIVE "/link"));
	assert_false(there("repositories/shop/web/_layers/sha256/" GONE));
	assert_false(there("blobs/sha256/bb"));
	assert_false(there("repositories/shop/old"));
	assert_false(there("repositories/gone"));
	assert_true(there("repositories"));
	assert_true(there("blobs"));

	/* nothing more to do the second time */
	assert_int_equal(registry_storage_sweep(root), 0);
	assert_int_equal(fstree_remove(root), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sweep_removes_leftovers),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
