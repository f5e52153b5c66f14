#include "lib/beneath.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "lib/banned.h"

/* Whether relpath is relative, with no empty part and no "..". */
static int well_formed(const char *relpath)
{
	const char *p = relpath;

	if (!*p || *p == '/')
		return 0;
	while (*p) {
		const char *slash = strchr(p, '/');
		size_t n = slash ? (size_t)(slash - p) : strlen(p);

		if (n == 0 || (n == 2 && !memcmp(p, "..", 2)))
			return 0;
		p += n;
		if (*p == '/')
			p++;
	}
	return relpath[strlen(relpath) - 1] != '/';
}

/* One part at a time without following any symbolic link: the fallback
 * for kernels without openat2(). */
static int walk_nofollow(int dirfd, const char *relpath, int flags)
{
	char part[256];
	const char *p = relpath;
	int fd = dup(dirfd);

	while (fd >= 0 && *p) {
		const char *slash = strchr(p, '/');
		size_t n = slash ? (size_t)(slash - p) : strlen(p);
		int next;

		if (n >= sizeof(part)) {
			close(fd);
			errno = ENAMETOOLONG;
			return -1;
		}
		memcpy(part, p, n);
		part[n] = '\0';
		next = openat(fd, part, slash ? O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK
					      : flags | O_NOFOLLOW | O_CLOEXEC);
		close(fd);
		fd = next;
		p = slash ? slash + 1 : p + n;
	}
	return fd;
}

int open_beneath(int dirfd, const char *relpath, int flags, unsigned how)
{
	if (!relpath || !well_formed(relpath)) {
		errno = EINVAL;
		return -1;
	}
#ifndef OPEN_BENEATH_TEST_NO_OPENAT2
	{
		struct open_how oh = {
			.flags = (unsigned)(flags | O_CLOEXEC),
			.resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS |
				   ((how & BENEATH_NO_LINKS) ? RESOLVE_NO_SYMLINKS : 0),
		};
		int fd = (int)syscall(SYS_openat2, dirfd, relpath, &oh, sizeof(oh));

		/* EPERM: a seccomp filter; ENOSYS: an older kernel */
		if (fd >= 0 || (errno != ENOSYS && errno != EPERM))
			return fd;
	}
#else
	/* The unit tests build a second copy this way to cover the fallback. */
	(void)how;
#endif
	return walk_nofollow(dirfd, relpath, flags);
}

int open_beneath_path(const char *dir, const char *relpath, int flags, unsigned how)
{
	int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC), fd, err;

	if (dfd < 0)
		return -1;
	fd = open_beneath(dfd, relpath, flags, how);
	err = errno;
	close(dfd);
	errno = err;
	return fd;
}
