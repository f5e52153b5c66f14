#include "pipeline/buildpack_build.h"

#include <errno.h>
#include <fcntl.h>
#include <git2.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pipeline/baseimage.h"
#include "pipeline/bpbase.h"

#include "lib/banned.h"

#define DEPS_PREFIX "localhost/ferry-deps/"

static int ensure_base(struct registry *r, const char *name, const struct image_watch *w,
		       char tag[40], char digest[72], struct ferr *e)
{
	const struct bpbase *b = bpbase_find(name);

	if (!b)
		return ferr_internal(e, "no base image recipe %s", name);
	bpbase_tag(b, tag, 40);
	if (bpbase_ensure(r, b, w, digest, e) < 0)
		return -1;
	image_say(w, "base image ferry/%s:%s is %s (Debian packages: %s)", name, tag, digest, b->packages);
	return 0;
}

static int write_file(const char *path, const struct strbuf *data, struct ferr *e)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	size_t off = 0;

	if (fd < 0)
		return ferr_internal(e, "cannot create %s: %s", path, strerror(errno));
	while (off < data->len) {
		ssize_t n = write(fd, data->buf + off, data->len - off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			close(fd);
			return ferr_internal(e, "cannot write %s: %s", path, strerror(errno));
		}
		off += (size_t)n;
	}
	close(fd);
	return 0;
}

/* The manifests' contents, for the key and for the dependency context. */
static int read_manifests(const struct buildpack_build *b, const struct buildpack_plan *p,
			  struct strbuf *contents, size_t n, struct ferr *e)
{
	for (size_t i = 0; i < n; i++)
		if (buildpack_read_file(b->context_dir, p->deps_files[i], &contents[i]) < 0)
			return ferr_set(e, 422, "build_failed", "cannot read %s: %s", p->deps_files[i],
					strerror(errno));
	return 0;
}

/* 1 if the local image store has name, 0 if not. */
static int have_image(struct registry *r, const char *name)
{
	const char *argv[] = { "buildah", "inspect", "--type", "image", "--format", "{{.FromImageID}}",
			       name, NULL };
	return image_tool_run(r, argv, NULL, NULL, NULL, NULL) == 0;
}

/* Removes the component's dependency images other than keep. */
static void drop_older(struct registry *r, const char *repo, const char *keep)
{
	struct strbuf out = STRBUF_INIT, filter = STRBUF_INIT;
	const char *argv[] = { "buildah", "images", "--noheading", "--format",
			       "{{.Name}}:{{.Tag}}", "--filter", NULL, NULL };

	strbuf_addf(&filter, "reference=" DEPS_PREFIX "%s", repo);
	argv[6] = filter.buf;
	if (image_tool_run(r, argv, NULL, &out, NULL, NULL) == 0) {
		for (char *l = out.buf, *nl; l && *l; l = nl) {
			nl = strchr(l, '\n');
			if (nl)
				*nl++ = '\0';
			if (strncmp(l, DEPS_PREFIX, strlen(DEPS_PREFIX)) || !strcmp(l, keep))
				continue;
			const char *rm[] = { "buildah", "rmi", l, NULL };
			image_tool_run(r, rm, NULL, NULL, NULL, NULL);
		}
	}
	strbuf_release(&out);
	strbuf_release(&filter);
}

static int build_deps(struct registry *r, const struct buildpack_build *b,
		      const struct buildpack_plan *p, const struct strbuf *contents, size_t n,
		      const char *dockerfile, const char *name, const struct image_watch *w,
		      struct ferr *e)
{
	const char *tmp = getenv("TMPDIR");
	struct strbuf dir = STRBUF_INIT, path = STRBUF_INIT;
	struct image_local img = IMAGE_LOCAL_INIT;
	struct image_build ib = {
		.dockerfile_text = dockerfile,
		.repo = b->repo,
		.timestamp = 0, /* the same dependencies: the same layer, whatever the commit */
		.sandbox = b->sandbox,
	};
	int ret = -1;

	strbuf_addf(&dir, "%s/ferry-deps-XXXXXX", tmp && *tmp == '/' ? tmp : "/tmp");
	if (!mkdtemp(dir.buf)) {
		ferr_internal(e, "cannot create %s: %s", dir.buf, strerror(errno));
		strbuf_reset(&dir);
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		strbuf_reset(&path);
		strbuf_addf(&path, "%s/%s", dir.buf, p->deps_files[i]);
		if (write_file(path.buf, &contents[i], e) < 0)
			goto out;
	}
	ib.context_dir = dir.buf;
	if (image_build(r, &ib, w, &img, e) < 0)
		goto out;
	{
		const char *argv[] = { "buildah", "tag", img.name, name, NULL };
		if (image_tool_ok(r, argv, w, NULL, e) < 0)
			goto out;
	}
	ret = 0;
out:
	if (img.name)
		image_remove_local(r, &img, NULL);
	image_local_release(&img);
	if (dir.len)
		baseimage_remove_tree(dir.buf, NULL);
	strbuf_release(&dir);
	strbuf_release(&path);
	return ret;
}

int buildpack_prepare(struct registry *r, const struct buildpack_build *b,
		      const struct image_watch *w, struct strbuf *dockerfile, struct ferr *e)
{
	struct buildpack_plan p = BUILDPACK_PLAN_INIT;
	struct strbuf deps_df = STRBUF_INIT, keytext = STRBUF_INIT, name = STRBUF_INIT;
	struct strbuf files = STRBUF_INIT;
	struct strbuf contents[3] = { STRBUF_INIT, STRBUF_INIT, STRBUF_INIT };
	char build_tag[40], build_digest[72], run_tag[40] = "", run_digest[72];
	char hex[GIT_OID_HEXSZ + 1];
	git_oid oid;
	size_t n = 0;
	int ret = -1;

	if (buildpack_plan(b->bp, b->context_dir, b->port, &p, e) < 0)
		goto out;
	while (n < 3 && p.deps_files[n])
		n++;
	for (size_t i = 0; i < n; i++)
		strbuf_addf(&files, "%s%s", i ? ", " : "", p.deps_files[i]);
	image_say(w, "buildpack %s: dependencies from %s; start command from %s: %s", b->bp->name,
	    files.buf, p.start_from.buf, p.start.buf);
	if (ensure_base(r, b->bp->build_base, w, build_tag, build_digest, e) < 0)
		goto out;
	if (b->bp->run_base && strcmp(b->bp->run_base, "busybox") &&
	    ensure_base(r, b->bp->run_base, w, run_tag, run_digest, e) < 0)
		goto out;
	if (read_manifests(b, &p, contents, n, e) < 0)
		goto out;
	buildpack_deps_dockerfile(&p, build_tag, &deps_df);

	/* The key: everything the dependency image is made of. */
	strbuf_addf(&keytext, "ferry-deps 1\n%s\n%s\n%zu\n%s", b->bp->name, build_digest,
		    deps_df.len, deps_df.buf);
	for (size_t i = 0; i < n; i++) {
		strbuf_addf(&keytext, "%s\n%zu\n", p.deps_files[i], contents[i].len);
		strbuf_add(&keytext, contents[i].buf, contents[i].len);
	}
	git_odb_hash(&oid, keytext.buf, keytext.len, GIT_OBJECT_BLOB);
	git_oid_tostr(hex, sizeof(hex), &oid);
	strbuf_addf(&name, DEPS_PREFIX "%s:%.24s", b->repo, hex);

	if (have_image(r, name.buf)) {
		image_say(w, "dependency image %s: reused (%s unchanged)", name.buf, files.buf);
	} else {
		image_say(w, "dependency image %s: building it (%s changed or never built)", name.buf,
		    files.buf);
		if (build_deps(r, b, &p, contents, n, deps_df.buf, name.buf, w, e) < 0)
			goto out;
		image_say(w, "dependency image %s: built", name.buf);
		drop_older(r, b->repo, name.buf);
	}
	buildpack_app_dockerfile(&p, name.buf, run_tag, b->timestamp, dockerfile);
	ret = 0;
out:
	buildpack_plan_release(&p);
	strbuf_release(&deps_df);
	strbuf_release(&keytext);
	strbuf_release(&name);
	strbuf_release(&files);
	for (size_t i = 0; i < 3; i++)
		strbuf_release(&contents[i]);
	return ret;
}
