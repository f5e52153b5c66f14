#include "pipeline/baseimage.h"

#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/spawn.h"

#include "lib/banned.h"

/* Bump when the image's recipe (tree, config) changes, so that the stamp of
 * an older recipe no longer matches and the image is rebuilt. */
#define RECIPE_VERSION 1

static const char passwd[] =
	"root:x:0:0:root:/root:/bin/sh\n"
	"nobody:x:65534:65534:nobody:/nonexistent:/bin/false\n";
static const char group[] =
	"root:x:0:\n"
	"nogroup:x:65534:\n";

/* A static ELF has no PT_INTERP program header: copied into an empty image
 * it runs without a dynamic loader. */
static int check_static(const char *path, struct ferr *e)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC), ret = -1;
	Elf64_Ehdr eh;

	if (fd < 0)
		return ferr_internal(e, "%s: %s (install Debian's busybox-static)", path,
				     strerror(errno));
	if (pread(fd, &eh, sizeof(eh), 0) != (ssize_t)sizeof(eh) ||
	    memcmp(eh.e_ident, ELFMAG, SELFMAG) || eh.e_ident[EI_CLASS] != ELFCLASS64 ||
	    eh.e_phentsize != sizeof(Elf64_Phdr)) {
		ferr_internal(e, "%s is not a 64-bit ELF program", path);
		goto out;
	}
	for (unsigned i = 0; i < eh.e_phnum; i++) {
		Elf64_Phdr ph;
		if (pread(fd, &ph, sizeof(ph), (off_t)(eh.e_phoff + i * sizeof(ph))) !=
		    (ssize_t)sizeof(ph)) {
			ferr_internal(e, "%s: truncated ELF program headers", path);
			goto out;
		}
		if (ph.p_type == PT_INTERP) {
			ferr_internal(e, "%s is dynamically linked; the base image needs a static "
				      "busybox (apt-get install busybox-static)", path);
			goto out;
		}
	}
	ret = 0;
out:
	close(fd);
	return ret;
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)ftw;
	return (flag == FTW_DP ? rmdir(path) : unlink(path)) < 0 && errno != ENOENT ? -1 : 0;
}

int baseimage_remove_tree(const char *path, struct ferr *e)
{
	struct stat st;

	if (lstat(path, &st) < 0 && errno == ENOENT)
		return 0;
	if (nftw(path, rm_entry, 16, FTW_DEPTH | FTW_PHYS) < 0)
		return ferr_internal(e, "cannot remove %s: %s", path, strerror(errno));
	return 0;
}

/* mtime 0 everywhere, so the layer does not depend on when it was staged.
 * buildah commit --timestamp clamps too; this keeps the tree itself
 * repeatable whatever the buildah version. */
static int zero_time(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	static const struct timespec t[2] = { { 0, 0 }, { 0, 0 } };
	(void)st;
	(void)flag;
	(void)ftw;
	return utimensat(AT_FDCWD, path, t, AT_SYMLINK_NOFOLLOW);
}

static int put_file(const char *path, const void *data, size_t len, mode_t mode,
		    struct ferr *e)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
	const char *p = data;

	if (fd < 0)
		return ferr_internal(e, "cannot create %s: %s", path, strerror(errno));
	while (len) {
		ssize_t n = write(fd, p, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			close(fd);
			return ferr_internal(e, "cannot write %s: %s", path, strerror(errno));
		}
		p += n;
		len -= (size_t)n;
	}
	if (fchmod(fd, mode) < 0 || close(fd) < 0)
		return ferr_internal(e, "cannot write %s: %s", path, strerror(errno));
	return 0;
}

static int copy_file(const char *from, const char *to, mode_t mode, struct ferr *e)
{
	int in = open(from, O_RDONLY | O_CLOEXEC), out, ret = -1;
	char buf[65536];
	ssize_t n;

	if (in < 0)
		return ferr_internal(e, "cannot read %s: %s", from, strerror(errno));
	out = open(to, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
	if (out < 0) {
		ferr_internal(e, "cannot create %s: %s", to, strerror(errno));
		close(in);
		return -1;
	}
	while ((n = read(in, buf, sizeof(buf))) != 0) {
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			ferr_internal(e, "cannot read %s: %s", from, strerror(errno));
			goto out;
		}
		for (ssize_t off = 0; off < n;) {
			ssize_t w = write(out, buf + off, (size_t)(n - off));
			if (w < 0 && errno == EINTR)
				continue;
			if (w < 0) {
				ferr_internal(e, "cannot write %s: %s", to, strerror(errno));
				goto out;
			}
			off += w;
		}
	}
	if (fchmod(out, mode) < 0) {
		ferr_internal(e, "chmod %s: %s", to, strerror(errno));
		goto out;
	}
	ret = 0;
out:
	if (close(out) < 0 && ret == 0)
		ret = ferr_internal(e, "cannot write %s: %s", to, strerror(errno));
	close(in);
	return ret;
}

static int make_dir(struct strbuf *path, size_t base, const char *rel, mode_t mode,
		    struct ferr *e)
{
	int ret = 0;

	strbuf_setlen(path, base);
	strbuf_addf(path, "/%s", rel);
	if (mkdir(path->buf, mode) < 0 || chmod(path->buf, mode) < 0)
		ret = ferr_internal(e, "cannot create %s: %s", path->buf, strerror(errno));
	strbuf_setlen(path, base);
	return ret;
}

/* busybox --list: one applet name per line. */
static int stage_tree(const char *root, const char *busybox, const char *applets,
		      struct ferr *e)
{
	struct strbuf p = STRBUF_INIT;
	size_t base;
	int ret = -1;

	if (baseimage_remove_tree(root, e) < 0)
		return -1;
	strbuf_addstr(&p, root);
	base = p.len;
	if (mkdir(root, 0755) < 0 || chmod(root, 0755) < 0) {
		ferr_internal(e, "cannot create %s: %s", root, strerror(errno));
		goto out;
	}
	if (make_dir(&p, base, "bin", 0755, e) < 0 || make_dir(&p, base, "etc", 0755, e) < 0 ||
	    make_dir(&p, base, "tmp", 01777, e) < 0 || make_dir(&p, base, "root", 0700, e) < 0 ||
	    make_dir(&p, base, "usr", 0755, e) < 0 || make_dir(&p, base, "usr/bin", 0755, e) < 0)
		goto out;
	strbuf_addstr(&p, "/bin/busybox");
	if (copy_file(busybox, p.buf, 0755, e) < 0)
		goto out;
	for (const char *a = applets; *a;) {
		size_t n = strcspn(a, "\n");
		/* an applet name is a plain file name */
		if (n && n < 64 && !memchr(a, '/', n) && !(n == 7 && !memcmp(a, "busybox", 7)) &&
		    a[0] != '.') {
			strbuf_setlen(&p, base);
			strbuf_addstr(&p, "/bin/");
			strbuf_add(&p, a, n);
			if (symlink("busybox", p.buf) < 0 && errno != EEXIST) {
				ferr_internal(e, "cannot link %s: %s", p.buf, strerror(errno));
				goto out;
			}
		}
		a += n;
		while (*a == '\n' || *a == '\r')
			a++;
	}
	strbuf_setlen(&p, base);
	strbuf_addstr(&p, "/usr/bin/env");
	if (symlink("../../bin/busybox", p.buf) < 0) {
		ferr_internal(e, "cannot link %s: %s", p.buf, strerror(errno));
		goto out;
	}
	strbuf_setlen(&p, base);
	strbuf_addstr(&p, "/etc/passwd");
	if (put_file(p.buf, passwd, sizeof(passwd) - 1, 0644, e) < 0)
		goto out;
	strbuf_setlen(&p, base);
	strbuf_addstr(&p, "/etc/group");
	if (put_file(p.buf, group, sizeof(group) - 1, 0644, e) < 0)
		goto out;
	if (nftw(root, zero_time, 16, FTW_DEPTH | FTW_PHYS) < 0) {
		ferr_internal(e, "cannot set times under %s: %s", root, strerror(errno));
		goto out;
	}
	ret = 0;
out:
	strbuf_release(&p);
	return ret;
}

/* "BusyBox v1.35.0 (Debian 1:1.35.0-4+deb12u1+b1) multi-call binary." */
static int busybox_version(const char *help, char *ver, size_t size)
{
	const char *v = strstr(help, "BusyBox v");
	size_t n = 0;

	if (!v)
		return -1;
	v += 9;
	while (n + 1 < size && ((v[n] >= '0' && v[n] <= '9') || v[n] == '.'))
		n++;
	if (!n || (v[n] >= '0' && v[n] <= '9'))
		return -1;
	memcpy(ver, v, n);
	ver[n] = '\0';
	return 0;
}

static void stamp_line(struct strbuf *sb, const struct stat *st, const char *digest)
{
	strbuf_addf(sb, "recipe=%d size=%lld mtime=%lld.%09ld ino=%llu digest=%s\n",
		    RECIPE_VERSION, (long long)st->st_size, (long long)st->st_mtim.tv_sec,
		    st->st_mtim.tv_nsec, (unsigned long long)st->st_ino, digest);
}

/* The digest recorded for this very binary and recipe, or "" . */
static void read_stamp(const char *path, const struct stat *st, char digest[72])
{
	struct strbuf want = STRBUF_INIT;
	char buf[512];
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	digest[0] = '\0';
	if (fd < 0)
		return;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return;
	buf[n] = '\0';
	stamp_line(&want, st, "");
	/* everything up to "digest=" must match */
	if (!strncmp(buf, want.buf, want.len - 1)) {
		const char *d = buf + want.len - 1;
		size_t dl = strcspn(d, "\n");
		if (dl == 71) {
			memcpy(digest, d, 71);
			digest[71] = '\0';
			if (!registry_valid_digest(digest))
				digest[0] = '\0';
		}
	}
	strbuf_release(&want);
}

static int write_stamp(const char *path, const struct stat *st, const char *digest,
		       struct ferr *e)
{
	struct strbuf sb = STRBUF_INIT, tmp = STRBUF_INIT;
	int ret;

	stamp_line(&sb, st, digest);
	strbuf_addf(&tmp, "%s.tmp", path);
	unlink(tmp.buf);
	ret = put_file(tmp.buf, sb.buf, sb.len, 0644, e);
	if (ret == 0 && rename(tmp.buf, path) < 0)
		ret = ferr_internal(e, "cannot rename %s: %s", tmp.buf, strerror(errno));
	strbuf_release(&sb);
	strbuf_release(&tmp);
	return ret;
}

static void trim(struct strbuf *sb)
{
	while (sb->len && (sb->buf[sb->len - 1] == '\n' || sb->buf[sb->len - 1] == ' '))
		strbuf_setlen(sb, sb->len - 1);
}

static int push(struct registry *r, const char *image, const char *tag,
		const struct image_watch *w, const char *dfile, char digest[72],
		struct ferr *e)
{
	struct strbuf dest = STRBUF_INIT;
	const char *argv[8];
	size_t argc = 0;
	int ret = -1, fd;
	ssize_t n;

	strbuf_addf(&dest, "docker://%s/%s:%s", registry_host(r), BASEIMAGE_BUSYBOX_REPO, tag);
	argv[argc++] = "buildah";
	argv[argc++] = "push";
	if (registry_insecure(r))
		argv[argc++] = "--tls-verify=false";
	argv[argc++] = "--digestfile";
	argv[argc++] = dfile;
	argv[argc++] = image;
	argv[argc++] = dest.buf;
	argv[argc] = NULL;
	if (image_tool_ok(r, argv, w, NULL, e) < 0)
		goto out;
	fd = open(dfile, O_RDONLY | O_CLOEXEC);
	n = fd >= 0 ? read(fd, digest, 71) : -1;
	if (fd >= 0)
		close(fd);
	digest[n == 71 ? 71 : 0] = '\0';
	if (!registry_valid_digest(digest)) {
		ferr_internal(e, "buildah push of %s wrote no digest", dest.buf);
		goto out;
	}
	ret = 0;
out:
	strbuf_release(&dest);
	return ret;
}

int baseimage_scratch(struct registry *r, const struct image_watch *w, struct strbuf *ctr,
		      struct ferr *e)
{
	const char *argv[] = { "buildah", "from", "--quiet", "scratch", NULL };

	if (image_tool_ok(r, argv, w, ctr, e) < 0)
		return -1;
	trim(ctr);
	if (!ctr->len || strchr(ctr->buf, '\n')) {
		strbuf_reset(ctr);
		return ferr_internal(e, "buildah from scratch printed no container id");
	}
	return 0;
}

void baseimage_discard(struct registry *r, const char *ctr, const char *image)
{
	if (ctr) {
		const char *argv[] = { "buildah", "rm", ctr, NULL };
		image_tool_run(r, argv, NULL, NULL, NULL, NULL);
	}
	if (image) {
		const char *argv[] = { "buildah", "rmi", image, NULL };
		image_tool_run(r, argv, NULL, NULL, NULL, NULL);
	}
}

int baseimage_ensure_busybox(struct registry *r, const struct baseimage_opts *o,
			     const struct image_watch *w, char ret_digest[72], struct ferr *e)
{
	static atomic_uint seq;
	const char *bb = o->busybox ? o->busybox : BASEIMAGE_BUSYBOX_PATH;
	struct strbuf stamp = STRBUF_INIT, root = STRBUF_INIT, out = STRBUF_INIT;
	struct strbuf applets = STRBUF_INIT, ctr = STRBUF_INIT, name = STRBUF_INIT;
	struct strbuf created = STRBUF_INIT, label = STRBUF_INIT, dfile = STRBUF_INIT;
	char recorded[72], current[72], version[32], digest2[72];
	struct stat st;
	int ret = -1, rc, named = 0;

	ret_digest[0] = '\0';
	if (!o->state_dir)
		return ferr_invalid(e, "base image: no state directory given");
	if (stat(bb, &st) < 0)
		return ferr_internal(e, "%s: %s (apt-get install busybox-static)", bb, strerror(errno));
	if (check_static(bb, e) < 0)
		return -1;
	if (mkdir(o->state_dir, 0700) < 0 && errno != EEXIST)
		return ferr_internal(e, "cannot create %s: %s", o->state_dir, strerror(errno));
	strbuf_addf(&stamp, "%s/busybox.stamp", o->state_dir);

	read_stamp(stamp.buf, &st, recorded);
	if (recorded[0] && !o->force) {
		rc = registry_manifest_digest(r, BASEIMAGE_BUSYBOX_REPO, "latest", current, e);
		if (rc < 0)
			goto out;
		if (rc == 1 && !strcmp(current, recorded)) {
			memcpy(ret_digest, current, 72);
			ret = 0;
			goto out;
		}
	}

	{
		const char *help[] = { bb, "--help", NULL };
		const char *list[] = { bb, "--list", NULL };
		struct strbuf h = STRBUF_INIT;
		int s1 = spawn_capture(help, NULL, NULL, &h, 4096, 10000, e);
		int ok = s1 >= 0 && busybox_version(h.buf, version, sizeof(version)) == 0;
		strbuf_release(&h);
		if (!ok) {
			ferr_internal(e, "%s --help does not say which BusyBox version it is", bb);
			goto out;
		}
		if (spawn_capture(list, NULL, NULL, &applets, 65536, 10000, e) != 0) {
			ferr_internal(e, "%s --list failed", bb);
			goto out;
		}
	}
	strbuf_addf(&root, "%s/busybox-root", o->state_dir);
	if (stage_tree(root.buf, bb, applets.buf, e) < 0)
		goto out;

	if (baseimage_scratch(r, w, &ctr, e) < 0)
		goto out;
	{
		struct strbuf src = STRBUF_INIT;
		strbuf_addf(&src, "%s/", root.buf);
		const char *argv[] = { "buildah", "add", "--quiet", "--chown", "0:0", ctr.buf,
				       src.buf, "/", NULL };
		rc = image_tool_ok(r, argv, w, NULL, e);
		strbuf_release(&src);
		if (rc < 0)
			goto out_rm;
	}
	strbuf_addf(&created, "ferry: busybox-static %s as /bin, recipe %d", version,
		    RECIPE_VERSION);
	strbuf_addf(&label, "org.opencontainers.image.version=%s", version);
	{
		const char *argv[] = { "buildah", "config", "--env", "PATH=/usr/bin:/bin",
				       "--workingdir", "/", "--cmd", "[\"/bin/sh\"]",
				       "--created-by", created.buf,
				       "--label", "org.opencontainers.image.title=ferry/busybox",
				       "--label", label.buf, ctr.buf, NULL };
		if (image_tool_ok(r, argv, w, NULL, e) < 0)
			goto out_rm;
	}
	/* A private name: rmi by name never removes an image that a build
	 * pulled as HOST/ferry/busybox (same id). */
	strbuf_addf(&name, "localhost/ferry-base/busybox:%ld-%u", (long)getpid(),
		    atomic_fetch_add(&seq, 1));
	{
		const char *argv[] = { "buildah", "commit", "--quiet", "--rm", "--format", "oci",
				       "--timestamp", "0", ctr.buf, name.buf, NULL };
		if (image_tool_ok(r, argv, w, NULL, e) < 0)
			goto out_rm;
		strbuf_setlen(&ctr, 0); /* --rm removed it */
		named = 1;
	}
	{
		const char *tmp = getenv("TMPDIR");
		int fd;
		strbuf_addf(&dfile, "%s/ferry-digest-XXXXXX", tmp && *tmp == '/' ? tmp : "/tmp");
		fd = mkostemp(dfile.buf, O_CLOEXEC);
		if (fd < 0) {
			ferr_internal(e, "cannot create %s: %s", dfile.buf, strerror(errno));
			strbuf_reset(&dfile);
			goto out_rm;
		}
		close(fd);
	}
	if (push(r, name.buf, "latest", w, dfile.buf, ret_digest, e) < 0 ||
	    push(r, name.buf, version, w, dfile.buf, digest2, e) < 0)
		goto out_rm;
	if (strcmp(ret_digest, digest2)) {
		ferr_internal(e, "ferry/busybox pushed as two different digests (%s, %s)",
			      ret_digest, digest2);
		goto out_rm;
	}
	if (write_stamp(stamp.buf, &st, ret_digest, e) < 0)
		goto out_rm;
	ret = 1;
out_rm:
	baseimage_discard(r, ctr.len ? ctr.buf : NULL, named ? name.buf : NULL);
	if (dfile.len)
		unlink(dfile.buf);
	baseimage_remove_tree(root.buf, NULL);
out:
	if (ret < 0)
		ret_digest[0] = '\0';
	strbuf_release(&stamp);
	strbuf_release(&root);
	strbuf_release(&out);
	strbuf_release(&applets);
	strbuf_release(&ctr);
	strbuf_release(&name);
	strbuf_release(&created);
	strbuf_release(&label);
	strbuf_release(&dfile);
	return ret;
}
