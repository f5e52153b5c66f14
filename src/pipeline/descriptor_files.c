/* descriptor_files: finding the descriptor in a build context and opening
 * files below it without leaving it (schema files, the descriptor itself). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/beneath.h"
#include "pipeline/descriptor_int.h"

#include "lib/banned.h"

int descriptor_open_in_context(const char *context_dir, const char *relpath,
			       struct ferr *e)
{
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
	fd = open_beneath(dfd, relpath, O_RDONLY | O_NONBLOCK, 0);
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
	int sub, fd, rc, err;

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
	rc = strbuf_read_fd(&sb, fd, DESCRIPTOR_MAX_FILE_SIZE);
	err = errno;
	close(fd);
	if (rc != 0) {
		strbuf_release(&sb);
		if (rc < 0)
			return ferr_internal(e, "cannot read %s: %s", rel, strerror(err));
		return ferr_set(e, 413, "too_large", "%s is larger than %d KiB", rel,
				DESCRIPTOR_MAX_FILE_SIZE / 1024);
	}
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

