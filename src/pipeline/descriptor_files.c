/* descriptor_files: finding the descriptor in a build context and opening
 * files below it without leaving it (schema files, the descriptor itself). */
#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "pipeline/descriptor_int.h"

#include "lib/banned.h"

/* Walks relpath one part at a time without following any symbolic link:
 * the fallback for kernels without openat2(). */
static int open_nofollow_walk(int dirfd, const char *relpath)
{
	char *copy = dsc_strdup(relpath), *c = copy;
	int fd = dup(dirfd);

	while (fd >= 0) {
		char *slash = strchr(c, '/');
		int next;

		if (slash)
			*slash = '\0';
		next = openat(fd, c, (slash ? O_DIRECTORY : 0) | O_RDONLY | O_NOFOLLOW |
					     O_CLOEXEC | O_NONBLOCK);
		close(fd);
		fd = next;
		if (!slash)
			break;
		c = slash + 1;
	}
	free(copy);
	return fd;
}

int descriptor_open_in_context(const char *context_dir, const char *relpath,
			       struct ferr *e)
{
	struct open_how how = {
		.flags = O_RDONLY | O_CLOEXEC | O_NONBLOCK,
		.resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS,
	};
	struct stat st;
	char *norm = rule_context_path(relpath);
	int dfd, fd, err;

	/* Only the parser's normalised form: no "..", ".", empty parts or
	 * leading '/', so that the fallback walk cannot climb out either. */
	if (!norm || strcmp(norm, relpath)) {
		free(norm);
		return ferr_invalid(e, "%s: must be a normalised path inside the build context",
				    relpath);
	}
	free(norm);
	dfd = open(context_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		return ferr_internal(e, "cannot open the build context %s: %s", context_dir,
				     strerror(errno));
#ifndef DESCRIPTOR_TEST_NO_OPENAT2
	fd = (int)syscall(SYS_openat2, dfd, relpath, &how, sizeof(how));
#else
	/* The unit tests build a second copy this way to cover the fallback. */
	(void)how;
	fd = -1;
	errno = ENOSYS;
#endif
	if (fd < 0 && (errno == ENOSYS || errno == EPERM))
		fd = open_nofollow_walk(dfd, relpath); /* EPERM: seccomp filters */
	err = errno;
	close(dfd);
	if (fd < 0) {
		if (err == ENOENT)
			return ferr_notfound(e, "%s does not exist in the build context", relpath);
		if (err == EXDEV || err == ELOOP)
			return ferr_invalid(e, "%s leads out of the build context through a symbolic link",
					    relpath);
		if (err == ENOTDIR)
			return ferr_invalid(e, "%s: a part of the path is not a directory",
					    relpath);
		return ferr_invalid(e, "cannot open %s: %s", relpath, strerror(err));
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		return ferr_invalid(e, "%s is not a regular file", relpath);
	}
	return fd;
}

/* Reads the descriptor at rel below dfd. Returns 1 with *ret_buf and *ret_len
 * set (caller frees), 0 when there is no such file, -1 on error. */
static int read_candidate(int dfd, const char *rel, char **ret_buf, size_t *ret_len,
			  struct ferr *e)
{
	const char *slash = strchr(rel, '/');
	char dir[64];
	struct stat st;
	struct strbuf sb = STRBUF_INIT;
	int sub, fd;

	*ret_buf = NULL;
	snprintf(dir, sizeof(dir), "%.*s", (int)(slash - rel), rel);
	sub = openat(dfd, dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (sub < 0) {
		if (errno == ENOENT)
			return 0;
		if (errno == ELOOP || errno == ENOTDIR)
			return ferr_invalid(e, "%s must be a directory, not a symbolic link or a file",
					    dir);
		return ferr_internal(e, "cannot open %s: %s", dir, strerror(errno));
	}
	fd = openat(sub, slash + 1, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
	close(sub);
	if (fd < 0) {
		if (errno == ENOENT)
			return 0;
		if (errno == ELOOP)
			return ferr_invalid(e, "%s must be a regular file, not a symbolic link", rel);
		return ferr_internal(e, "cannot open %s: %s", rel, strerror(errno));
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		return ferr_invalid(e, "%s must be a regular file", rel);
	}
	if (st.st_size > DESCRIPTOR_MAX_FILE_SIZE) {
		close(fd);
		return ferr_set(e, 413, "too_large", "%s is larger than %d KiB", rel,
				DESCRIPTOR_MAX_FILE_SIZE / 1024);
	}
	for (;;) {
		ssize_t n;

		strbuf_grow(&sb, 8192);
		n = read(fd, sb.buf + sb.len, sb.alloc - sb.len - 1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			int err = errno;

			close(fd);
			strbuf_release(&sb);
			return ferr_internal(e, "cannot read %s: %s", rel, strerror(err));
		}
		if (n == 0)
			break;
		/* strbuf_setlen() only shortens; we wrote into the grown space. */
		sb.len += (size_t)n;
		sb.buf[sb.len] = '\0';
		if (sb.len > DESCRIPTOR_MAX_FILE_SIZE) {
			close(fd);
			strbuf_release(&sb);
			return ferr_set(e, 413, "too_large", "%s is larger than %d KiB", rel,
					DESCRIPTOR_MAX_FILE_SIZE / 1024);
		}
	}
	close(fd);
	*ret_len = sb.len;
	*ret_buf = strbuf_detach(&sb, NULL);
	return 1;
}

int descriptor_load(struct descriptor **ret, const char *context_dir, struct ferr *e)
{
	static const enum descriptor_format order[] = {
		DESCRIPTOR_FERRY, DESCRIPTOR_CHOREO, DESCRIPTOR_CHOREO_COMPONENT_CONFIG,
		DESCRIPTOR_CHOREO_ENDPOINTS,
	};
	char *buf = NULL;
	size_t len = 0;
	int dfd, r = 0;

	*ret = NULL;
	dfd = open(context_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		return ferr_internal(e, "cannot open the build context %s: %s", context_dir,
				     strerror(errno));
	for (size_t i = 0; i < N_ELEMS(order); i++) {
		const char *rel = descriptor_format_path(order[i]);

		r = read_candidate(dfd, rel, &buf, &len, e);
		if (r < 0)
			break;
		if (r == 0 && order[i] == DESCRIPTOR_FERRY &&
		    faccessat(dfd, ".ferry/component.yml", F_OK, AT_SYMLINK_NOFOLLOW) == 0) {
			/* A silent fall-back to defaults would hide the user's file. */
			r = ferr_invalid(e, ".ferry/component.yml: ferry reads .ferry/component.yaml; rename the file");
			break;
		}
		if (r == 1) {
			r = descriptor_parse_in_context(ret, buf, len, rel, order[i], context_dir, e);
			break;
		}
	}
	close(dfd);
	free(buf);
	if (r < 0)
		return -1;
	if (!*ret)
		*ret = descriptor_new_default();
	return 0;
}

