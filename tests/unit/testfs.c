/* Files in a unit test's temporary tree; see testfs.h. */
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
#include <unistd.h>

#include "testfs.h"

static void join(char *path, size_t size, const char *root, const char *rel)
{
	int n = snprintf(path, size, "%s/%s", root, rel);

	assert_true(n > 0 && (size_t)n < size);
}

char *testfs_tmpdir(char *dir, size_t size, const char *tag)
{
	int n = snprintf(dir, size, "/tmp/ferry-%s-XXXXXX", tag);

	assert_true(n > 0 && (size_t)n < size);
	assert_non_null(mkdtemp(dir));
	return dir;
}

void testfs_write_mode(const char *root, const char *rel, const void *data, size_t len, mode_t mode)
{
	char path[1024];
	const char *p = data;
	int fd;

	join(path, sizeof(path), root, rel);
	for (char *s = path + strlen(root) + 1; (s = strchr(s, '/')); s++) {
		*s = '\0';
		assert_true(mkdir(path, 0755) == 0 || errno == EEXIST);
		*s = '/';
	}
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
	assert_true(fd >= 0);
	assert_int_equal(fchmod(fd, mode), 0);
	while (len) {
		ssize_t n = write(fd, p, len);
		assert_true(n > 0);
		p += n;
		len -= (size_t)n;
	}
	assert_int_equal(close(fd), 0);
}

void testfs_write(const char *root, const char *rel, const void *data, size_t len)
{
	testfs_write_mode(root, rel, data, len, 0644);
}

void testfs_put(const char *root, const char *rel, const char *text)
{
	testfs_write(root, rel, text, strlen(text));
}

void testfs_dir(const char *root, const char *rel)
{
	char path[1024];

	join(path, sizeof(path), root, rel);
	assert_int_equal(mkdir(path, 0755), 0);
}

char *testfs_read(const char *root, const char *rel, size_t *len)
{
	char path[1024], *buf;
	struct stat st;
	size_t got = 0;
	int fd;

	join(path, sizeof(path), root, rel);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st) < 0)
		fail_msg("cannot read %s: %s", path, strerror(errno));
	buf = malloc((size_t)st.st_size + 1);
	assert_non_null(buf);
	while (got < (size_t)st.st_size) {
		ssize_t n = read(fd, buf + got, (size_t)st.st_size - got);
		assert_true(n > 0);
		got += (size_t)n;
	}
	close(fd);
	buf[got] = '\0';
	if (len)
		*len = got;
	return buf;
}

void testfs_copy(const char *root, const char *rel, const char *src_root, const char *src_rel)
{
	size_t len;
	char *data = testfs_read(src_root, src_rel, &len);

	testfs_write(root, rel, data, len);
	free(data);
}
