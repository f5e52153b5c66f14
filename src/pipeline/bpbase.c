#include "pipeline/bpbase.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <git2.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/strbuf.h"
#include "pipeline/baseimage.h"

#include "lib/banned.h"

/* Bump when what is done with the package list changes (options, config),
 * so that every tag changes. */
#define RECIPE_VERSION 2
#define SUITE "bookworm"

#define DEBIAN_PATH "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

static const struct bpbase recipes[] = {
	{ "node", "nodejs,npm,ca-certificates", DEBIAN_PATH,
	  "Node.js 18 and npm 9: builds and runs the node buildpack" },
	{ "python", "python3,python3-venv,ca-certificates", DEBIAN_PATH,
	  "Python 3.11 with venv and pip: builds and runs the python buildpack" },
	{ "golang", "golang-go,ca-certificates,git", DEBIAN_PATH,
	  "Go 1.19: builds the go buildpack (it runs on ferry/busybox)" },
	{ "maven", "maven,openjdk-17-jdk-headless,ca-certificates-java", DEBIAN_PATH,
	  "Maven 3.8 and OpenJDK 17: builds the java buildpack" },
	{ "java", "openjdk-17-jre-headless,ca-certificates-java", DEBIAN_PATH,
	  "OpenJDK 17 runtime: runs the java buildpack" },
};

static char *cache_dir;
static char *mirror;

const struct bpbase *bpbase_find(const char *name)
{
	for (size_t i = 0; i < sizeof(recipes) / sizeof(recipes[0]); i++)
		if (name && !strcmp(recipes[i].name, name))
			return &recipes[i];
	return NULL;
}

void bpbase_configure(const char *dir, const char *url)
{
	char *d = dir ? strdup(dir) : NULL, *m = url ? strdup(url) : NULL;

	free(cache_dir);
	free(mirror);
	cache_dir = d;
	mirror = m;
}

const char *bpbase_cache_dir(void)
{
	return cache_dir;
}

const char *bpbase_mirror(void)
{
	return mirror;
}

static const char *cache_root(void)
{
	return cache_dir ? cache_dir : BPBASE_CACHE_DIR;
}

/* The apt sources mmdebstrap gets: the mirror given, or Debian's own with
 * its updates and security suites. */
static void sources(struct strbuf *a, struct strbuf *b, struct strbuf *c)
{
	if (mirror) {
		strbuf_addf(a, "deb %s " SUITE " main", mirror);
		return;
	}
	strbuf_addstr(a, "deb http://deb.debian.org/debian " SUITE " main");
	strbuf_addstr(b, "deb http://deb.debian.org/debian " SUITE "-updates main");
	strbuf_addstr(c, "deb http://deb.debian.org/debian-security " SUITE "-security main");
}

/* The machine's own trusted CAs (Debian's place for them), in name order:
 * the base images trust them as the host does, so that dependency
 * downloads work behind a TLS-inspecting proxy. Their contents go into
 * the recipe's hash. Returns how many there are. */
#define LOCAL_CA_DIR "/usr/local/share/ca-certificates"

static int local_cas(struct strbuf *contents)
{
	struct dirent **names = NULL;
	int n = scandir(LOCAL_CA_DIR, &names, NULL, alphasort), found = 0;

	for (int i = 0; i < n; i++) {
		size_t len = strlen(names[i]->d_name);
		if (len > 4 && !strcmp(names[i]->d_name + len - 4, ".crt")) {
			struct strbuf path = STRBUF_INIT;
			int fd;
			strbuf_addf(&path, LOCAL_CA_DIR "/%s", names[i]->d_name);
			fd = open(path.buf, O_RDONLY | O_CLOEXEC);
			strbuf_addf(contents, "%s\n", names[i]->d_name);
			if (fd >= 0) {
				/* a certificate is a few KiB: 1 MiB each is plenty */
				strbuf_read_fd(contents, fd, contents->len + (1u << 20));
				close(fd);
			}
			strbuf_release(&path);
			found++;
		}
		free(names[i]);
	}
	free(names);
	return found;
}

void bpbase_tag(const struct bpbase *b, char *tag, size_t size)
{
	struct strbuf recipe = STRBUF_INIT, s1 = STRBUF_INIT, s2 = STRBUF_INIT, s3 = STRBUF_INIT;
	char hex[GIT_OID_HEXSZ + 1];
	git_oid oid;

	sources(&s1, &s2, &s3);
	strbuf_addf(&recipe, "%d\n%s\n%s\n%s\n%s\n%s\n%s\n", RECIPE_VERSION, b->name,
		    b->packages, b->env_path, s1.buf, s2.buf, s3.buf);
	local_cas(&recipe);
	git_odb_hash(&oid, recipe.buf, recipe.len, GIT_OBJECT_BLOB);
	git_oid_tostr(hex, sizeof(hex), &oid);
	snprintf(tag, size, SUITE "-%.12s", hex);
	strbuf_release(&recipe);
	strbuf_release(&s1);
	strbuf_release(&s2);
	strbuf_release(&s3);
}

/* mmdebstrap into tmp/rootfs.tar, imported and committed, pushed as an OCI
 * layout to tmp/oci. */
static int make_layout(struct registry *r, const struct bpbase *b, const char *tag,
		       const char *tmp, const struct image_watch *w, struct ferr *e)
{
	static atomic_uint seq;
	struct strbuf tar = STRBUF_INIT, inc = STRBUF_INIT, s1 = STRBUF_INIT, s2 = STRBUF_INIT;
	struct strbuf s3 = STRBUF_INIT, ctr = STRBUF_INIT, name = STRBUF_INIT, oci = STRBUF_INIT;
	struct strbuf env = STRBUF_INIT, by = STRBUF_INIT, title = STRBUF_INIT, ver = STRBUF_INIT;
	int ret = -1, named = 0;

	strbuf_addf(&tar, "%s/rootfs.tar", tmp);
	strbuf_addf(&inc, "--include=%s", b->packages);
	sources(&s1, &s2, &s3);
	{
		/* SOURCE_DATE_EPOCH: mmdebstrap clamps file times and leaves out
		 * machine-specific random files; the tar depends on the packages
		 * only. No documentation, manual pages or translations. */
		const char *argv[] = {
			"env", "SOURCE_DATE_EPOCH=0", "mmdebstrap", "--variant=minbase",
			"--mode=root", "--format=tar", "--skip=output/dev",
			/* no fsync per file: only the tar that comes out counts */
			"--dpkgopt=force-unsafe-io", "--aptopt=Acquire::Languages \"none\"",
			"--dpkgopt=path-exclude=/usr/share/doc/*",
			"--dpkgopt=path-include=/usr/share/doc/*/copyright",
			"--dpkgopt=path-exclude=/usr/share/man/*",
			"--dpkgopt=path-exclude=/usr/share/info/*",
			"--dpkgopt=path-exclude=/usr/share/locale/*",
			/* openjdk's postinst links its manual page: the directory must exist */
			"--setup-hook=mkdir -p \"$1\"/usr/share/man/man1",
			inc.buf, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL };
		size_t argc = 0;
		struct strbuf cas = STRBUF_INIT;

		while (argv[argc])
			argc++;
		if (local_cas(&cas)) {
			argv[argc++] = "--customize-hook=mkdir -p \"$1\"" LOCAL_CA_DIR
				       " && cp " LOCAL_CA_DIR "/*.crt \"$1\"" LOCAL_CA_DIR "/";
			argv[argc++] = "--customize-hook=chroot \"$1\" update-ca-certificates --fresh";
		}
		strbuf_release(&cas);
		argv[argc++] = SUITE;
		argv[argc++] = tar.buf;
		argv[argc++] = s1.buf;
		if (s2.len)
			argv[argc++] = s2.buf;
		if (s3.len)
			argv[argc++] = s3.buf;
		if (geteuid() != 0) {
			ferr_internal(e, "making ferry/%s needs root (mmdebstrap --mode=root)", b->name);
			goto out;
		}
		if (image_tool_ok(r, argv, w, NULL, e) < 0) {
			const char *why = strstr(e->msg, "): ");
			struct strbuf msg = STRBUF_INIT;
			strbuf_addf(&msg, "mmdebstrap (making ferry/%s from %s) failed: %s", b->name,
				    b->packages, why ? why + 3 : e->msg);
			snprintf(e->msg, sizeof(e->msg), "%s", msg.buf);
			strbuf_release(&msg);
			goto out;
		}
	}
	if (baseimage_scratch(r, w, &ctr, e) < 0)
		goto out;
	{
		const char *argv[] = { "buildah", "add", "--quiet", ctr.buf, tar.buf, "/", NULL };
		if (image_tool_ok(r, argv, w, NULL, e) < 0)
			goto out;
	}
	unlink(tar.buf);
	strbuf_addf(&env, "PATH=%s", b->env_path);
	strbuf_addf(&by, "ferry: mmdebstrap minbase " SUITE " %s, recipe %d", b->packages,
		    RECIPE_VERSION);
	strbuf_addf(&title, "org.opencontainers.image.title=ferry/%s", b->name);
	strbuf_addf(&ver, "org.opencontainers.image.version=%s", tag);
	{
		const char *argv[] = { "buildah", "config", "--env", env.buf, "--env", "LANG=C.UTF-8",
				       "--env", "NODE_EXTRA_CA_CERTS=/etc/ssl/certs/ca-certificates.crt",
				       "--env", "PIP_CERT=/etc/ssl/certs/ca-certificates.crt",
				       "--workingdir", "/", "--cmd", "[\"/bin/bash\"]",
				       "--created-by", by.buf, "--label", title.buf,
				       "--label", ver.buf, ctr.buf, NULL };
		if (image_tool_ok(r, argv, w, NULL, e) < 0)
			goto out;
	}
	strbuf_addf(&name, "localhost/ferry-base/%s:%ld-%u", b->name, (long)getpid(),
		    atomic_fetch_add(&seq, 1));
	{
		const char *argv[] = { "buildah", "commit", "--quiet", "--rm", "--format", "oci",
				       "--timestamp", "0", ctr.buf, name.buf, NULL };
		if (image_tool_ok(r, argv, w, NULL, e) < 0)
			goto out;
		strbuf_reset(&ctr); /* --rm removed it */
		named = 1;
	}
	strbuf_addf(&oci, "oci:%s/oci:latest", tmp);
	{
		const char *argv[] = { "buildah", "push", "--quiet", name.buf, oci.buf, NULL };
		if (image_tool_ok(r, argv, w, NULL, e) < 0)
			goto out;
	}
	ret = 0;
out:
	baseimage_discard(r, ctr.len ? ctr.buf : NULL, named ? name.buf : NULL);
	unlink(tar.buf);
	strbuf_release(&tar);
	strbuf_release(&inc);
	strbuf_release(&s1);
	strbuf_release(&s2);
	strbuf_release(&s3);
	strbuf_release(&ctr);
	strbuf_release(&name);
	strbuf_release(&oci);
	strbuf_release(&env);
	strbuf_release(&by);
	strbuf_release(&title);
	strbuf_release(&ver);
	return ret;
}

/* Makes the cache entry dir (an OCI layout) unless it exists; serialised
 * with other ferryds by an flock on dir.lock. */
static int cache_entry(struct registry *r, const struct bpbase *b, const char *tag,
		       const char *dir, const struct image_watch *w, struct ferr *e)
{
	struct strbuf lock = STRBUF_INIT, tmp = STRBUF_INIT, index = STRBUF_INIT;
	int fd = -1, ret = -1;

	strbuf_addf(&index, "%s/index.json", dir);
	if (access(index.buf, R_OK) == 0) {
		ret = 0;
		goto out;
	}
	if (mkdir(cache_root(), 0755) < 0 && errno != EEXIST) {
		ferr_internal(e, "cannot create %s: %s", cache_root(), strerror(errno));
		goto out;
	}
	strbuf_addf(&lock, "%s.lock", dir);
	fd = open(lock.buf, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0) {
		ferr_internal(e, "cannot open %s: %s", lock.buf, strerror(errno));
		goto out;
	}
	image_say(w, "base image ferry/%s:%s: waiting for the cache lock %s", b->name, tag, lock.buf);
	while (flock(fd, LOCK_EX) < 0) {
		if (errno != EINTR) {
			ferr_internal(e, "cannot lock %s: %s", lock.buf, strerror(errno));
			goto out;
		}
	}
	if (access(index.buf, R_OK) == 0) { /* another ferryd made it meanwhile */
		ret = 0;
		goto out;
	}
	image_say(w, "base image ferry/%s:%s: making it from Debian packages %s (mmdebstrap, once per "
	    "machine; cached in %s)", b->name, tag, b->packages, dir);
	strbuf_addf(&tmp, "%s.tmp", dir);
	baseimage_remove_tree(tmp.buf, NULL);
	if (mkdir(tmp.buf, 0755) < 0) {
		ferr_internal(e, "cannot create %s: %s", tmp.buf, strerror(errno));
		goto out;
	}
	if (make_layout(r, b, tag, tmp.buf, w, e) < 0)
		goto out_tmp;
	{
		struct strbuf oci = STRBUF_INIT;
		int rc;
		strbuf_addf(&oci, "%s/oci", tmp.buf);
		rc = rename(oci.buf, dir);
		if (rc < 0)
			ferr_internal(e, "cannot rename %s to %s: %s", oci.buf, dir, strerror(errno));
		strbuf_release(&oci);
		if (rc < 0)
			goto out_tmp;
	}
	ret = 0;
out_tmp:
	baseimage_remove_tree(tmp.buf, NULL);
out:
	if (fd >= 0)
		close(fd); /* drops the lock */
	strbuf_release(&lock);
	strbuf_release(&tmp);
	strbuf_release(&index);
	return ret;
}

int bpbase_ensure(struct registry *r, const struct bpbase *b, const struct image_watch *w,
		  char ret_digest[72], struct ferr *e)
{
	struct strbuf repo = STRBUF_INIT, dir = STRBUF_INIT, src = STRBUF_INIT, dst = STRBUF_INIT;
	char tag[40];
	int rc, ret = -1;

	ret_digest[0] = '\0';
	bpbase_tag(b, tag, sizeof(tag));
	strbuf_addf(&repo, "ferry/%s", b->name);
	rc = registry_manifest_digest(r, repo.buf, tag, ret_digest, e);
	if (rc < 0)
		goto out;
	if (rc == 1) {
		ret = 0;
		goto out;
	}
	strbuf_addf(&dir, "%s/%s-%s", cache_root(), b->name, tag);
	if (cache_entry(r, b, tag, dir.buf, w, e) < 0)
		goto out;
	image_say(w, "base image ferry/%s:%s: copying it from %s into the registry", b->name, tag, dir.buf);
	strbuf_addf(&src, "oci:%s:latest", dir.buf);
	strbuf_addf(&dst, "docker://%s/%s:%s", registry_host(r), repo.buf, tag);
	{
		const char *argv[] = { "skopeo", "copy", "--quiet",
				       registry_insecure(r) ? "--dest-tls-verify=false" : "--dest-tls-verify=true",
				       src.buf, dst.buf, NULL };
		if (image_tool_ok(r, argv, w, NULL, e) < 0)
			goto out;
	}
	rc = registry_manifest_digest(r, repo.buf, tag, ret_digest, e);
	if (rc < 0)
		goto out;
	if (rc == 0) {
		ferr_internal(e, "skopeo copied %s but the registry does not have %s:%s", dir.buf,
			      repo.buf, tag);
		goto out;
	}
	ret = 0;
out:
	if (ret < 0)
		ret_digest[0] = '\0';
	strbuf_release(&repo);
	strbuf_release(&dir);
	strbuf_release(&src);
	strbuf_release(&dst);
	return ret;
}
