#include "layerfile.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "lib/strbuf.h"
#include "lib/xalloc.h"
#include "lib/banned.h"

enum { FOUND = 1, ABSENT = 0, UNKNOWN = -1 };

/* An overlay directory that hides the layers below it. */
static int opaque(int fd)
{
	char v[2];
	ssize_t n = fgetxattr(fd, "trusted.overlay.opaque", v, sizeof(v));

	if (n < 0)
		return errno == ENODATA || errno == ENOTSUP ? 0 : -1;
	return n >= 1 && v[0] == 'y';
}

/* One layer: FOUND (with *ret), ABSENT (not in this layer: look below) or
 * UNKNOWN. */
static int in_layer(const char *dir, const char *rel, size_t cap, char **ret)
{
	char *path = xstrdup(rel), *part = path;
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC), rc = UNKNOWN;

	if (fd < 0)
		goto out;
	for (;;) {
		char *slash = strchr(part, '/');
		struct stat st;
		int next;

		if (slash)
			*slash = '\0';
		if (!*part || !strcmp(part, ".") || !strcmp(part, ".."))
			goto out;
		if (fstatat(fd, part, &st, AT_SYMLINK_NOFOLLOW) < 0) {
			rc = errno == ENOENT ? ABSENT : UNKNOWN;
			goto out;
		}
		if (!slash) {
			struct strbuf sb = STRBUF_INIT;
			char buf[4096];
			ssize_t n;

			if (!S_ISREG(st.st_mode))
				goto out; /* a whiteout (0/0 device), a link, ... */
			next = openat(fd, part, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
			if (next < 0)
				goto out;
			while (sb.len < cap && (n = read(next, buf, sizeof(buf))) > 0)
				strbuf_add(&sb, buf, (size_t)n > cap - sb.len ? cap - sb.len : (size_t)n);
			close(next);
			*ret = strbuf_detach(&sb, NULL);
			rc = FOUND;
			goto out;
		}
		if (!S_ISDIR(st.st_mode))
			goto out;
		next = openat(fd, part, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (next < 0)
			goto out;
		close(fd);
		fd = next;
		if (opaque(fd))
			goto out; /* what is below is hidden: not followed here */
		part = slash + 1;
	}
out:
	if (fd >= 0)
		close(fd);
	free(path);
	return rc;
}

int layerfile_read(const char *layers, const char *rel, size_t cap, char **ret)
{
	char *list, *dir;
	int rc = ABSENT;

	*ret = NULL;
	if (!layers || !*layers || !rel || rel[0] == '/')
		return UNKNOWN;
	list = xstrdup(layers);
	for (dir = list; dir && rc == ABSENT;) {
		char *colon = strchr(dir, ':');
		if (colon)
			*colon = '\0';
		rc = *dir ? in_layer(dir, rel, cap, ret) : UNKNOWN;
		dir = colon ? colon + 1 : NULL;
	}
	free(list);
	return rc;
}
