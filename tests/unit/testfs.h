/* testfs: files in a unit test's temporary tree, shared by the tests of
 * every area (tests/unit/meson.build: testfs_dep).
 *
 * Every helper fails the running cmocka test on error (an assertion), so a
 * test reads as the tree it makes. Paths are root/rel; rel may name
 * directories that do not exist yet where said. Include after <cmocka.h>.
 */
#ifndef FERRY_TEST_TESTFS_H
#define FERRY_TEST_TESTFS_H

#include <stddef.h>
#include <sys/types.h>

/* Makes a fresh directory "/tmp/ferry-<tag>-XXXXXX" into dir (size bytes,
 * at least 64) and returns dir. */
char *testfs_tmpdir(char *dir, size_t size, const char *tag);

/* Writes len bytes of data to root/rel (created or truncated), making
 * rel's missing parent directories (0755); the file gets mode exactly. */
void testfs_write_mode(const char *root, const char *rel, const void *data, size_t len, mode_t mode);
/* testfs_write_mode with mode 0644. */
void testfs_write(const char *root, const char *rel, const void *data, size_t len);
/* testfs_write of a string (without its NUL). */
void testfs_put(const char *root, const char *rel, const char *text);

/* Makes the directory root/rel (0755), which must not exist yet; its
 * parent must. */
void testfs_dir(const char *root, const char *rel);

/* The whole of root/rel (a file of the test's data, or one a test made),
 * NUL-terminated, in a malloc'd buffer the caller frees; its length
 * without the NUL in *len if len is not NULL. */
char *testfs_read(const char *root, const char *rel, size_t *len);

/* Copies src_root/src_rel (e.g. a file of the test's data) to root/rel as
 * testfs_write does. */
void testfs_copy(const char *root, const char *rel, const char *src_root, const char *src_rel);

#endif
