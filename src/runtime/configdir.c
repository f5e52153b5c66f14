#include "configdir.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#include "lib/banned.h"

#ifndef TMPFS_MAGIC
#define TMPFS_MAGIC 0x01021994
#endif
#ifndef RAMFS_MAGIC
#define RAMFS_MAGIC 0x858458f6
#endif

int configdir_on_tmpfs(const char *path, struct ferr *e)
{
	struct statfs sf;

	if (statfs(path, &sf) < 0)
		return ferr_internal(e, "statfs %s: %s", path, strerror(errno));
	return (unsigned long)sf.f_type == (unsigned long)TMPFS_MAGIC ||
	       (unsigned long)sf.f_type == (unsigned long)RAMFS_MAGIC;
}

/* mkdir path 0700 unless it exists as a directory we own that nobody else
 * can enter (it may sit in a world-writable place such as /dev/shm). An
 * existing directory is never chmod'ed: it may be the wrong one. */
static int make_private_dir(const char *path, struct ferr *e)
{
	struct stat st;

	if (mkdir(path, 0700) < 0 && errno != EEXIST)
		return ferr_internal(e, "cannot create %s: %s", path, strerror(errno));
	if (lstat(path, &st) < 0)
		return ferr_internal(e, "stat %s: %s", path, strerror(errno));
	if (!S_ISDIR(st.st_mode))
		return ferr_internal(e, "%s exists and is not a directory", path);
	if (st.st_uid != geteuid())
		return ferr_internal(e, "%s belongs to uid %u, not to ferry's uid %u",
				     path, (unsigned)st.st_uid, (unsigned)geteuid());
	if (st.st_mode & 0077)
		return ferr_internal(e, "%s is open to other users (mode %04o): "
				     "chmod 700 it", path, (unsigned)(st.st_mode & 07777));
	return 0;
}

static int require_tmpfs(const char *path, struct ferr *e)
{
	int r = configdir_on_tmpfs(path, e);

	if (r < 0)
		return -1;
	if (!r)
		return ferr_internal(e, "%s is not on a tmpfs: configuration (secrets) "
				     "must never be written to disk; mount a tmpfs there "
				     "or choose another run directory", path);
	return 0;
}

int configdir_prepare_root(char **ret, const char *data_dir, const char *run_dir,
			   const char *tag, struct ferr *e)
{
	struct strbuf path = STRBUF_INIT;
	int r;

	*ret = NULL;
	if (run_dir) {
		strbuf_addstr(&path, run_dir);
	} else if (geteuid() == 0) {
		if (!data_dir)
			return ferr_invalid(e, "runtime: no data directory given");
		strbuf_addf(&path, "%s/run", data_dir);
	} else {
		strbuf_addf(&path, "/dev/shm/ferry-%u-%s", (unsigned)geteuid(), tag);
	}
	if (make_private_dir(path.buf, e) < 0)
		goto fail;
	if (!run_dir && geteuid() == 0) {
		r = configdir_on_tmpfs(path.buf, e);
		if (r < 0)
			goto fail;
		if (!r && mount("tmpfs", path.buf, "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC,
				"mode=0700,size=256m") < 0) {
			ferr_internal(e, "cannot mount a tmpfs on %s: %s", path.buf,
				      strerror(errno));
			goto fail;
		}
	}
	if (require_tmpfs(path.buf, e) < 0)
		goto fail;
	*ret = strbuf_detach(&path, NULL);
	return 0;
fail:
	strbuf_release(&path);
	return -1;
}

int configdir_check_env_key(const char *key, size_t len, struct ferr *e)
{
	if (len == 0 || len > 255)
		return ferr_invalid(e, "environment variable name of %zu bytes: "
				    "must be 1-255", len);
	for (size_t i = 0; i < len; i++) {
		char c = key[i];
		int ok = c == '_' || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
			 (i > 0 && c >= '0' && c <= '9');
		if (!ok)
			return ferr_invalid(e, "environment variable name \"%.*s\": use "
					    "letters, digits and '_', not starting with a digit",
					    (int)(len > 64 ? 64 : len), key);
	}
	return 0;
}

int configdir_env_serialize(struct strbuf *out, const char *const *env,
			    struct ferr *e)
{
	for (size_t i = 0; env && env[i]; i++) {
		const char *eq = strchr(env[i], '=');
		size_t n = strlen(env[i]);

		if (!eq)
			return ferr_invalid(e, "environment entry %zu has no '=' "
					    "(expected KEY=VALUE)", i + 1);
		if (configdir_check_env_key(env[i], (size_t)(eq - env[i]), e) < 0)
			return -1;
		if (out->len + n + 1 > RUNTIME_ENV_MAX)
			return ferr_set(e, 413, "too_large", "the configuration's environment "
					"exceeds %u bytes", RUNTIME_ENV_MAX);
		strbuf_add(out, env[i], n + 1); /* with its NUL */
	}
	return 0;
}

void configdir_file_path(struct strbuf *out, const char *root, const char *name,
			 size_t i)
{
	strbuf_addf(out, "%s/%s/files/%zu", root, name, i);
}

static int write_secret_file(const char *path, const void *data, size_t len,
			     uid_t uid, gid_t gid, struct ferr *e)
{
	const char *p = data;
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0400);

	if (fd < 0)
		return ferr_internal(e, "cannot create %s: %s", path, strerror(errno));
	while (len > 0) {
		ssize_t w = write(fd, p, len);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0) {
			ferr_internal(e, "write %s: %s", path, strerror(errno));
			close(fd);
			return -1;
		}
		p += w;
		len -= (size_t)w;
	}
	if (geteuid() == 0 && fchown(fd, uid, gid) < 0) {
		ferr_internal(e, "chown %s: %s", path, strerror(errno));
		close(fd);
		return -1;
	}
	close(fd);
	return 0;
}

int configdir_write(const char *root, const char *name, const char *const *env,
		    const struct runtime_file *files, size_t nfiles,
		    uid_t uid, gid_t gid, struct ferr *e)
{
	struct strbuf dir = STRBUF_INIT, path = STRBUF_INIT, envbuf = STRBUF_INIT;
	int rc = -1, made = 0;

	if (!*name || strchr(name, '/') || !strcmp(name, ".") || !strcmp(name, ".."))
		return ferr_invalid(e, "bad replica name \"%s\"", name);
	if (configdir_env_serialize(&envbuf, env, e) < 0)
		goto out;
	strbuf_addf(&dir, "%s/%s", root, name);
	if (mkdir(dir.buf, 0700) < 0) {
		if (errno == EEXIST)
			ferr_conflict(e, "configuration directory %s already exists: "
				      "a replica of that name is still there", dir.buf);
		else
			ferr_internal(e, "cannot create %s: %s", dir.buf, strerror(errno));
		goto out;
	}
	made = 1;
	strbuf_addf(&path, "%s/env", dir.buf);
	if (write_secret_file(path.buf, envbuf.buf, envbuf.len, uid, gid, e) < 0)
		goto out;
	if (nfiles) {
		strbuf_reset(&path);
		strbuf_addf(&path, "%s/files", dir.buf);
		if (mkdir(path.buf, 0700) < 0) {
			ferr_internal(e, "cannot create %s: %s", path.buf, strerror(errno));
			goto out;
		}
		if (geteuid() == 0 && chown(path.buf, uid, gid) < 0) {
			ferr_internal(e, "chown %s: %s", path.buf, strerror(errno));
			goto out;
		}
	}
	for (size_t i = 0; i < nfiles; i++) {
		strbuf_reset(&path);
		configdir_file_path(&path, root, name, i);
		if (write_secret_file(path.buf, files[i].data, files[i].len, uid, gid, e) < 0)
			goto out;
	}
	if (geteuid() == 0 && chown(dir.buf, uid, gid) < 0) {
		ferr_internal(e, "chown %s: %s", dir.buf, strerror(errno));
		goto out;
	}
	rc = 0;
out:
	if (rc < 0 && made)
		configdir_remove(root, name, NULL);
	explicit_bzero(envbuf.buf, envbuf.len);
	strbuf_release(&envbuf);
	strbuf_release(&dir);
	strbuf_release(&path);
	return rc;
}

/* Overwrites the regular file at dirfd/name with zeros, then unlinks it. */
static int wipe_file(int dirfd, const char *name, struct ferr *e)
{
	static const char zeros[4096];
	struct stat st;
	int fd = openat(dirfd, name, O_WRONLY | O_NOFOLLOW | O_CLOEXEC);

	if (fd >= 0) {
		if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode)) {
			off_t left = st.st_size;
			while (left > 0) {
				size_t n = left > (off_t)sizeof(zeros) ? sizeof(zeros) : (size_t)left;
				ssize_t w = write(fd, zeros, n);
				if (w < 0 && errno == EINTR)
					continue;
				if (w <= 0)
					break;
				left -= w;
			}
		}
		close(fd);
	}
	if (unlinkat(dirfd, name, 0) < 0 && errno != ENOENT)
		return ferr_internal(e, "cannot remove %s: %s", name, strerror(errno));
	return 0;
}

/* Wipes and removes everything in the directory path (one level deep plus
 * its files/ subdirectory), then path itself. */
static int remove_tree(const char *path, int depth, struct ferr *e)
{
	DIR *d = opendir(path);
	struct dirent *de;
	int rc = 0;

	if (!d) {
		if (errno == ENOENT)
			return 0;
		return ferr_internal(e, "cannot open %s: %s", path, strerror(errno));
	}
	while ((de = readdir(d))) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		if (de->d_type == DT_DIR && depth == 0) {
			struct strbuf sub = STRBUF_INIT;
			strbuf_addf(&sub, "%s/%s", path, de->d_name);
			if (remove_tree(sub.buf, depth + 1, e) < 0)
				rc = -1;
			strbuf_release(&sub);
		} else if (wipe_file(dirfd(d), de->d_name, e) < 0) {
			rc = -1;
		}
	}
	closedir(d);
	if (rmdir(path) < 0 && errno != ENOENT)
		rc = ferr_internal(e, "cannot remove %s: %s", path, strerror(errno));
	return rc;
}

int configdir_remove(const char *root, const char *name, struct ferr *e)
{
	struct strbuf dir = STRBUF_INIT;
	int rc;

	if (!*name || strchr(name, '/') || !strcmp(name, ".") || !strcmp(name, ".."))
		return ferr_invalid(e, "bad replica name \"%s\"", name);
	strbuf_addf(&dir, "%s/%s", root, name);
	rc = remove_tree(dir.buf, 0, e);
	strbuf_release(&dir);
	return rc;
}
