/* Reading values that may be secret: from files or standard input, without
 * leaving copies behind. */
#include "cli/cli.h"

#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "lib/banned.h"

static const char *size_text(size_t n, char *buf, size_t size)
{
	if (n && n % (1u << 20) == 0)
		snprintf(buf, size, "%zu MiB", n >> 20);
	else if (n && n % 1024 == 0)
		snprintf(buf, size, "%zu KiB", n >> 10);
	else
		snprintf(buf, size, "%zu bytes", n);
	return buf;
}

int input_read_fd(int fd, const char *what, size_t max, struct strbuf *sb, struct ferr *e)
{
	char limit[32];
	int rc;

	/* Grown once to the cap and read into it (no copy on the stack), so a
	 * secret is never left behind in a block realloc gave back. */
	if (sb->alloc < max + 1)
		strbuf_grow(sb, max + 1 - sb->len);
	rc = strbuf_read_fd(sb, fd, max);
	if (rc < 0)
		return ferr_invalid(e, "cannot read %s: %s", what, strerror(errno));
	if (rc > 0)
		return ferr_set(e, 413, "too_large", "%s is larger than %s, the most ferry takes",
				what, size_text(max, limit, sizeof(limit)));
	return 0;
}

int input_read_file(const char *path, size_t max, struct strbuf *sb, struct ferr *e)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC), rc;

	if (fd < 0)
		return ferr_invalid(e, "cannot open %s: %s", path, strerror(errno));
	rc = input_read_fd(fd, path, max, sb, e);
	close(fd);
	return rc;
}

void input_wipe(struct strbuf *sb)
{
	if (sb->alloc)
		sodium_memzero(sb->buf, sb->alloc);
	strbuf_release(sb);
}

int input_file_member(json_t *body, const char *member, const char *path, size_t max, int trim,
		      struct ferr *e)
{
	struct strbuf sb = STRBUF_INIT;

	if (input_read_file(path, max, &sb, e) < 0) {
		input_wipe(&sb);
		return -1;
	}
	while (trim && sb.len && (sb.buf[sb.len - 1] == '\n' || sb.buf[sb.len - 1] == '\r'))
		sb.buf[--sb.len] = '\0';
	if (strlen(sb.buf) != sb.len) {
		input_wipe(&sb);
		return ferr_invalid(e, "%s has a NUL byte", path);
	}
	json_object_set_new(body, member, json_stringn(sb.buf, sb.len));
	input_wipe(&sb);
	return 0;
}
