/* pipeline/baseimage and pipeline/image against the real registry, buildah
 * and skopeo: the base image is repeatable, a Dockerfile FROM ferry/busybox
 * builds and pushes, the same context with --no-cache gives the same
 * digest, a failing RUN fails with buildah's message in the log, cancel and
 * timeout stop buildah, a rebuilt commit replaces the old manifest and GC
 * keeps the new one, the static buildpack serves files as nobody.
 * Cleanup: the registry is stopped by pid; local images lose the names this
 * test gave them (see untag). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "lib/fstree.h"
#include "lib/spawn.h"
#include "lib/strbuf.h"
#include "pipeline/baseimage.h"
#include "pipeline/image.h"
#include "pipeline/registry.h"
#include "pipeline/sandbox.h"
#include "testfs.h"

static char datadir[64];
static struct registry *reg;
static char base_digest[72];
/* RUN steps run in a build sandbox (no network: nothing here needs one) */
static struct sandbox sbx = SANDBOX_INIT;

/* A fresh build context under the data dir with a Dockerfile. */
static char *make_context(const char *name, const char *dockerfile)
{
	struct strbuf p = STRBUF_INIT;

	strbuf_addf(&p, "%s/%s", datadir, name);
	if (mkdir(p.buf, 0755) < 0 && errno != EEXIST)
		fail_msg("mkdir %s: %s", p.buf, strerror(errno));
	testfs_put(p.buf, "Dockerfile", dockerfile);
	testfs_put(p.buf, "hello.txt", "hello from ferry\n");
	return strbuf_detach(&p, NULL);
}

static void collect(void *ctx, const char *line, size_t len)
{
	struct strbuf *sb = ctx;
	strbuf_add(sb, line, len);
	strbuf_addch(sb, '\n');
}

/* Runs a tool with the registry's containers environment; returns status. */
static int run(const char *const *argv, struct strbuf *out)
{
	struct ferr e = FERR_INIT;
	int st = spawn_capture(argv, registry_build_env(reg), NULL, out, 1 << 20, 120000, &e);
	if (st < 0)
		fail_msg("%s: %s", argv[0], e.msg);
	return st;
}

/* Removes a name this test gave a local image. Not by id: the images are
 * repeatable, so another ferryd on this machine may hold the very same image
 * id under its own names, and removing by id would take it from under it.
 * The image goes when its last name does. */
static void untag(const char *name)
{
	const char *rmi[] = { "buildah", "rmi", name, NULL };
	run(rmi, NULL);
}

static int setup(void **state)
{
	struct registry_config cfg = { 0 };
	struct baseimage_opts bo = { 0 };
	struct strbuf sd = STRBUF_INIT;
	struct ferr e = FERR_INIT;
	int rc;

	(void)state;
	snprintf(datadir, sizeof(datadir), "/tmp/ferry-test-image-XXXXXX");
	if (!mkdtemp(datadir))
		return -1;
	cfg.data_dir = datadir;
	if (registry_open(&reg, &cfg, &e) < 0) {
		fprintf(stderr, "registry_open: %s\n", e.msg);
		return -1;
	}
	{
		struct sandbox_config sc = { .runtime = getenv("FERRY_BUILD_RUNTIME") };
		char key[32];
		strbuf_addf(&sd, "%s/sandbox", datadir);
		sc.state_dir = sd.buf;
		snprintf(key, sizeof(key), "u%ld", (long)getpid());
		if (sandbox_setup(&sc, &e) < 0 || sandbox_open(&sbx, key, 0, &e) < 0) {
			fprintf(stderr, "sandbox: %s\n", e.msg);
			return -1;
		}
		strbuf_reset(&sd);
	}
	strbuf_addf(&sd, "%s/baseimage", datadir);
	bo.state_dir = sd.buf;
	rc = baseimage_ensure_busybox(reg, &bo, NULL, base_digest, &e);
	strbuf_release(&sd);
	if (rc != 1) {
		fprintf(stderr, "baseimage_ensure_busybox: %d %s\n", rc, e.msg);
		return -1;
	}
	return 0;
}

static int teardown(void **state)
{
	struct strbuf name = STRBUF_INIT;

	(void)state;
	/* Builds pulled the base image into local storage under this test's
	 * registry address. */
	strbuf_addf(&name, "%s/ferry/busybox:latest", registry_host(reg));
	untag(name.buf);
	strbuf_release(&name);
	registry_close(reg);
	sandbox_close(&sbx);
	return fstree_remove(datadir);
}

static void test_baseimage_repeatable(void **state)
{
	struct baseimage_opts bo = { 0 };
	struct strbuf sd = STRBUF_INIT, out = STRBUF_INIT, ref = STRBUF_INIT;
	struct ferr e = FERR_INIT;
	char d[72];

	(void)state;
	assert_true(registry_valid_digest(base_digest));
	strbuf_addf(&sd, "%s/baseimage", datadir);
	bo.state_dir = sd.buf;
	/* Already there with that digest: nothing to do. */
	assert_int_equal(baseimage_ensure_busybox(reg, &bo, NULL, d, &e), 0);
	assert_string_equal(d, base_digest);
	/* Built again from scratch: the same digest. */
	bo.force = 1;
	assert_int_equal(baseimage_ensure_busybox(reg, &bo, NULL, d, &e), 1);
	assert_string_equal(d, base_digest);
	/* Also tagged with busybox's version. */
	const char *ver_argv[] = { "/bin/busybox", "--help", NULL };
	assert_true(spawn_capture(ver_argv, NULL, NULL, &out, 4096, 5000, &e) >= 0);
	const char *v = strstr(out.buf, "BusyBox v");
	assert_non_null(v);
	char ver[32];
	size_t n = strspn(v + 9, "0123456789.");
	assert_true(n > 0 && n < sizeof(ver));
	memcpy(ver, v + 9, n);
	ver[n] = '\0';
	assert_int_equal(registry_manifest_digest(reg, "ferry/busybox", ver, d, &e), 1);
	assert_string_equal(d, base_digest);

	/* Its config: PATH and sh, applets linked into /bin. */
	strbuf_reset(&out);
	strbuf_addf(&ref, "docker://%s/ferry/busybox@%s", registry_host(reg), base_digest);
	const char *insp[] = { "skopeo", "inspect", "--tls-verify=false", "--config", ref.buf, NULL };
	assert_int_equal(run(insp, &out), 0);
	assert_non_null(strstr(out.buf, "PATH=/usr/bin:/bin"));
	assert_non_null(strstr(out.buf, "\"/bin/sh\""));
	assert_non_null(strstr(out.buf, "\"created\": \"1970-01-01T00:00:00Z\""));
	strbuf_release(&sd);
	strbuf_release(&out);
	strbuf_release(&ref);
}

static const char dockerfile[] =
	"FROM ferry/busybox\n"
	"COPY hello.txt /srv/hello.txt\n"
	"RUN mkdir -p /srv/data && echo built > /srv/data/marker && ls /bin/httpd /bin/nc /bin/wget\n"
	"CMD [\"cat\", \"/srv/hello.txt\"]\n";

static void build_push(const char *ctx, const char *tag, int no_cache, struct strbuf *log,
		       struct image_pushed *out)
{
	struct image_build b = { .sandbox = &sbx };
	struct image_watch w = { collect, log, NULL, image_deadline(300000), NULL };
	struct image_local img = IMAGE_LOCAL_INIT;
	struct ferr e = FERR_INIT;

	b.context_dir = ctx;
	b.repo = "shop/cart";
	b.revision = tag;
	b.timestamp = 1700000000;
	b.no_cache = no_cache;
	if (image_build(reg, &b, &w, &img, &e) < 0)
		fail_msg("image_build: %s\nlog:\n%s", e.msg, log->buf);
	assert_true(registry_valid_digest(img.id));
	if (image_push(reg, &img, "shop/cart", tag, &w, out, &e) < 0)
		fail_msg("image_push: %s\nlog:\n%s", e.msg, log->buf);
	assert_int_equal(image_remove_local(reg, &img, &e), 0);
	/* Removed: a second removal is not an error either. */
	assert_int_equal(image_remove_local(reg, &img, &e), 0);
	image_local_release(&img);
}

static void test_build_push_repeatable(void **state)
{
	const char *sha = "3f786850e387550fdab836ed7e6dc881de23001b";
	char *ctx = make_context("ctx-ok", dockerfile);
	struct strbuf log = STRBUF_INIT, out = STRBUF_INIT, ref = STRBUF_INIT;
	struct image_pushed p1 = IMAGE_PUSHED_INIT, p2 = IMAGE_PUSHED_INIT;
	struct ferr e = FERR_INIT;
	char d[72];

	(void)state;
	build_push(ctx, sha, 1, &log, &p1);
	if (!strstr(log.buf, ": FROM ferry/busybox\n"))
		fail_msg("no STEP line in the log:\n%s", log.buf);
	assert_non_null(strstr(log.buf, "/bin/httpd"));

	/* Pullable by digest. */
	strbuf_addf(&ref, "%s/shop/cart@%s", registry_host(reg), p1.digest);
	assert_string_equal(p1.ref, ref.buf);
	strbuf_reset(&ref);
	strbuf_addf(&ref, "docker://%s", p1.ref);
	const char *insp[] = { "skopeo", "inspect", "--tls-verify=false", ref.buf, NULL };
	assert_int_equal(run(insp, &out), 0);
	assert_non_null(strstr(out.buf, p1.digest));
	assert_non_null(strstr(out.buf, sha)); /* revision label */
	assert_int_equal(registry_manifest_digest(reg, "shop/cart", sha, d, &e), 1);
	assert_string_equal(d, p1.digest);

	/* Same context, no cache, again: the same digest. */
	strbuf_reset(&log);
	build_push(ctx, sha, 1, &log, &p2);
	assert_string_equal(p2.digest, p1.digest);
	/* Nothing to replace then. */
	assert_int_equal(image_replace(reg, "shop/cart", p1.digest, p2.digest, &e), 0);

	image_pushed_release(&p1);
	image_pushed_release(&p2);
	strbuf_release(&log);
	strbuf_release(&out);
	strbuf_release(&ref);
	free(ctx);
}

/* The digest must not depend on the names the base image happens to have
 * in local storage. buildah 1.28 records one of them (in the history and in
 * the base.name annotation), and which one depends on the storage's past:
 * with repeatable base images another ferryd on the machine holds the very
 * same image id under its own names. Seen in practice as two digests for
 * one commit; here the annotation must be the Dockerfile's own FROM. */
static void test_digest_independent_of_base_image_names(void **state)
{
	char *ctx = make_context("ctx-names", "FROM ferry/testbase:a\nCOPY hello.txt /hello.txt\n");
	struct strbuf df = STRBUF_INIT, log = STRBUF_INIT, a = STRBUF_INIT;
	struct image_build bb = { .sandbox = &sbx };
	struct image_watch w = { collect, &log, NULL, image_deadline(300000), NULL };
	struct image_local img = IMAGE_LOCAL_INIT;
	struct image_pushed pa = IMAGE_PUSHED_INIT;
	struct image_pushed p1 = IMAGE_PUSHED_INIT, p2 = IMAGE_PUSHED_INIT;
	struct ferr e = FERR_INIT;

	(void)state;
	/* A base image with an id of its own (nobody else holds it). */
	strbuf_addf(&df, "FROM ferry/busybox\nLABEL test.nonce=%ld-%lld\n", (long)getpid(),
		    (long long)time(NULL));
	bb.context_dir = ctx;
	bb.dockerfile_text = df.buf;
	bb.repo = "ferry/testbase";
	bb.timestamp = 1;
	if (image_build(reg, &bb, &w, &img, &e) < 0)
		fail_msg("image_build: %s\n%s", e.msg, log.buf);
	assert_int_equal(image_push(reg, &img, "ferry/testbase", "a", &w, &pa, &e), 0);
	strbuf_addf(&a, "%s/ferry/testbase:a", registry_host(reg));

	/* While the image that was committed locally still has its first,
	 * private name (as when another ferryd on this machine has just made
	 * the same repeatable base image), the build pulls it as :a ... */
	build_push(ctx, "names", 1, &log, &p1);
	/* ... and once that name is gone, it is known as :a only. */
	assert_int_equal(image_remove_local(reg, &img, &e), 0);
	image_local_release(&img);
	build_push(ctx, "names", 1, &log, &p2);
	untag(a.buf);
	assert_string_equal(p1.digest, p2.digest);

	/* The annotation names the base as the Dockerfile does. */
	struct strbuf ref = STRBUF_INIT, out = STRBUF_INIT;
	strbuf_addf(&ref, "docker://%s", p1.ref);
	const char *raw[] = { "skopeo", "inspect", "--tls-verify=false", "--raw", ref.buf, NULL };
	assert_int_equal(run(raw, &out), 0);
	assert_non_null(strstr(out.buf, "\"org.opencontainers.image.base.name\":\"ferry/testbase:a\""));

	image_pushed_release(&pa);
	image_pushed_release(&p1);
	image_pushed_release(&p2);
	strbuf_release(&df);
	strbuf_release(&log);
	strbuf_release(&a);
	strbuf_release(&ref);
	strbuf_release(&out);
	free(ctx);
}

static void test_failing_run(void **state)
{
	char *ctx = make_context("ctx-fail",
		"FROM ferry/busybox\n"
		"RUN echo about-to-fail && ls /no/such/dir\n");
	struct image_build b = { .sandbox = &sbx };
	struct strbuf log = STRBUF_INIT;
	struct image_watch w = { collect, &log, NULL, 0, NULL };
	struct image_local img = IMAGE_LOCAL_INIT;
	struct ferr e = FERR_INIT;

	(void)state;
	b.context_dir = ctx;
	b.repo = "shop/cart";
	b.timestamp = 1700000000;
	assert_int_equal(image_build(reg, &b, &w, &img, &e), -1);
	assert_string_equal(e.code, "build_failed");
	assert_int_equal(e.status, 422);
	assert_non_null(strstr(log.buf, "about-to-fail"));
	assert_non_null(strstr(log.buf, "/no/such/dir"));
	/* The message is buildah's own error line. */
	assert_non_null(strstr(e.msg, "building at STEP \"RUN echo about-to-fail"));
	assert_null(img.name);

	/* A missing Dockerfile is named. */
	ferr_clear(&e);
	b.dockerfile = "docker/Dockerfile.prod";
	assert_int_equal(image_build(reg, &b, &w, &img, &e), -1);
	assert_non_null(strstr(e.msg, "docker/Dockerfile.prod"));
	ferr_clear(&e);
	b.dockerfile = "../Dockerfile";
	assert_int_equal(image_build(reg, &b, &w, &img, &e), -1);
	assert_int_equal(e.status, 400);
	strbuf_release(&log);
	free(ctx);
}

static atomic_int cancel_flag;

static void *cancel_later(void *arg)
{
	(void)arg;
	struct timespec ts = { 1, 500000000L };
	nanosleep(&ts, NULL);
	atomic_store(&cancel_flag, 1);
	return NULL;
}

static int free_port(void)
{
	struct sockaddr_in sa = { .sin_family = AF_INET };
	socklen_t len = sizeof(sa);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), port;

	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&sa, &len), 0);
	port = ntohs(sa.sin_port);
	close(fd);
	return port;
}

static long long mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static long long stall_quiet_max;

/* Stops the tool once it has been silent for 2 s. */
static int stall_after_2s(void *ctx, long long quiet_ms, struct ferr *e)
{
	(void)ctx;
	if (quiet_ms > stall_quiet_max)
		stall_quiet_max = quiet_ms;
	if (quiet_ms < 2000)
		return 0;
	return ferr_set(e, 507, "insufficient_storage", "silent for %lld ms", quiet_ms);
}

static void test_cancel_and_timeout(void **state)
{
	char *ctx = make_context("ctx-slow", "FROM ferry/busybox\nRUN echo sleeping && sleep 120\n");
	struct image_build b = { .sandbox = &sbx };
	struct strbuf log = STRBUF_INIT;
	struct image_watch w = { collect, &log, &cancel_flag, 0, NULL };
	struct image_local img = IMAGE_LOCAL_INIT;
	struct ferr e = FERR_INIT;
	pthread_t t;
	long long t0;

	(void)state;
	b.context_dir = ctx;
	b.repo = "shop/slow";
	b.timestamp = 1;
	t0 = mono_ms();
	assert_int_equal(pthread_create(&t, NULL, cancel_later, NULL), 0);
	assert_int_equal(image_build(reg, &b, &w, &img, &e), -1);
	pthread_join(t, NULL);
	assert_string_equal(e.code, "canceled");
	assert_true(mono_ms() - t0 < 20000);

	ferr_clear(&e);
	atomic_store(&cancel_flag, 0);
	w.deadline_ms = image_deadline(1500);
	t0 = mono_ms();
	assert_int_equal(image_build(reg, &b, &w, &img, &e), -1);
	assert_string_equal(e.code, "timeout");
	assert_int_equal(e.status, 504);
	assert_true(mono_ms() - t0 < 20000);

	/* the watchdog: a tool silent for a while is stopped with its error */
	ferr_clear(&e);
	w.deadline_ms = 0;
	w.stalled = stall_after_2s;
	stall_quiet_max = 0;
	t0 = mono_ms();
	assert_int_equal(image_build(reg, &b, &w, &img, &e), -1);
	assert_string_equal(e.code, "insufficient_storage");
	assert_int_equal(e.status, 507);
	assert_true(stall_quiet_max >= 2000);
	assert_true(mono_ms() - t0 < 30000);
	strbuf_release(&log);
	free(ctx);
}

/* Layer links in dir (a repository's _layers/sha256) whose blob is gone. */
static int dangling_links(const char *storage, const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	int n = 0;

	assert_non_null(d);
	while ((de = readdir(d))) {
		struct strbuf blob = STRBUF_INIT;
		struct stat st;
		if (de->d_name[0] == '.')
			continue;
		strbuf_addf(&blob, "%s/docker/registry/v2/blobs/sha256/%.2s/%s/data", storage, de->d_name,
			    de->d_name);
		n += stat(blob.buf, &st) < 0;
		strbuf_release(&blob);
	}
	closedir(d);
	return n;
}

static void test_rebuild_replaces_and_gc(void **state)
{
	const char *sha = "89e6c98d92887913cadf06b2adb97f26cde4849b";
	char *ctx = make_context("ctx-replace", dockerfile);
	struct strbuf log = STRBUF_INIT, gclog = STRBUF_INIT;
	struct image_pushed p1 = IMAGE_PUSHED_INIT, p2 = IMAGE_PUSHED_INIT;
	struct ferr e = FERR_INIT;
	char d[72];

	(void)state;
	build_push(ctx, sha, 0, &log, &p1);
	/* The "same commit" now builds differently (a RUN with changing
	 * output in real life). */
	testfs_put(ctx, "hello.txt", "hello again\n");
	build_push(ctx, sha, 0, &log, &p2);
	assert_string_not_equal(p1.digest, p2.digest);

	assert_int_equal(image_replace(reg, "shop/cart", p1.digest, p2.digest, &e), 1);
	assert_int_equal(registry_manifest_digest(reg, "shop/cart", p1.digest, d, &e), 0);
	assert_int_equal(registry_manifest_digest(reg, "shop/cart", sha, d, &e), 1);
	assert_string_equal(d, p2.digest);
	/* Deleting again is fine. */
	assert_int_equal(registry_delete_manifest(reg, "shop/cart", p1.digest, &e), 0);

	pid_t before = registry_pid(reg);
	if (registry_gc(reg, &gclog, &e) < 0)
		fail_msg("registry_gc: %s\n%s", e.msg, gclog.buf);
	assert_int_not_equal(registry_pid(reg), before); /* restarted read-write */
	assert_non_null(strstr(gclog.buf, "blob eligible for deletion"));
	/* and nothing of the deleted manifest is left in its repository:
	 * no revision, no link to a blob that is gone */
	assert_non_null(strstr(gclog.buf, "ferry: removed "));
	{
		struct strbuf rev = STRBUF_INIT, layers = STRBUF_INIT;
		struct stat st;
		strbuf_addf(&rev, "%s/docker/registry/v2/repositories/shop/cart/_manifests/revisions/%s",
			    registry_storage_dir(reg), p1.digest);
		*strchr(rev.buf + strlen(registry_storage_dir(reg)), ':') = '/';
		assert_int_equal(stat(rev.buf, &st), -1);
		strbuf_addf(&layers, "%s/docker/registry/v2/repositories/shop/cart/_layers/sha256",
			    registry_storage_dir(reg));
		assert_int_equal(dangling_links(registry_storage_dir(reg), layers.buf), 0);
		strbuf_release(&rev);
		strbuf_release(&layers);
	}
	/* The kept image is intact after GC: pull its manifest and config. */
	assert_int_equal(registry_manifest_digest(reg, "shop/cart", p2.digest, d, &e), 1);
	struct strbuf ref = STRBUF_INIT, out = STRBUF_INIT;
	strbuf_addf(&ref, "docker://%s", p2.ref);
	const char *insp[] = { "skopeo", "inspect", "--tls-verify=false", "--config", ref.buf, NULL };
	assert_int_equal(run(insp, &out), 0);
	/* And the registry takes pushes again. */
	image_pushed_release(&p1);
	build_push(ctx, "after-gc", 0, &log, &p1);

	image_pushed_release(&p1);
	image_pushed_release(&p2);
	strbuf_release(&log);
	strbuf_release(&gclog);
	strbuf_release(&ref);
	strbuf_release(&out);
	free(ctx);
}

static void test_static_buildpack(void **state)
{
	struct strbuf ctx = STRBUF_INIT, df = STRBUF_INIT, log = STRBUF_INIT;
	struct strbuf ref = STRBUF_INIT, out = STRBUF_INIT;
	struct image_build b = { .sandbox = &sbx };
	struct image_watch w = { collect, &log, NULL, image_deadline(300000), NULL };
	struct image_local img = IMAGE_LOCAL_INIT;
	struct image_pushed p = IMAGE_PUSHED_INIT;
	struct ferr e = FERR_INIT;

	(void)state;
	strbuf_addf(&ctx, "%s/ctx-static", datadir);
	assert_int_equal(mkdir(ctx.buf, 0755), 0);
	strbuf_addstr(&ctx, "/public");
	assert_int_equal(mkdir(ctx.buf, 0755), 0);
	testfs_put(ctx.buf, "index.html", "<h1>ferry static</h1>\n");
	strbuf_setlen(&ctx, ctx.len - 7);

	assert_int_equal(image_static_dockerfile("public", IMAGE_STATIC_PORT, &df, &e), 0);
	b.context_dir = ctx.buf;
	b.dockerfile_text = df.buf;
	b.repo = "shop/web";
	b.timestamp = 1700000000;
	if (image_build(reg, &b, &w, &img, &e) < 0)
		fail_msg("image_build: %s\n%s", e.msg, log.buf);
	assert_int_equal(image_push(reg, &img, "shop/web", "v1", &w, &p, &e), 0);

	strbuf_addf(&ref, "docker://%s", p.ref);
	const char *insp[] = { "skopeo", "inspect", "--tls-verify=false", "--config", ref.buf, NULL };
	assert_int_equal(run(insp, &out), 0);
	assert_non_null(strstr(out.buf, "\"User\": \"65534:65534\""));
	assert_non_null(strstr(out.buf, "/bin/httpd"));
	assert_non_null(strstr(out.buf, "\"8080/tcp\""));

	/* The files are in the image, owned by nobody, and httpd serves them:
	 * run it in a working container (chroot isolation shares the host's
	 * network and pid namespaces, hence a free loopback port, and the
	 * server is stopped by its pid) and fetch the page with busybox wget. */
	struct strbuf ctr = STRBUF_INIT, page = STRBUF_INIT, script = STRBUF_INIT;
	const char *from[] = { "buildah", "from", "--quiet", img.name, NULL };
	assert_int_equal(run(from, &ctr), 0);
	while (ctr.len && ctr.buf[ctr.len - 1] == '\n')
		strbuf_setlen(&ctr, ctr.len - 1);
	int port = free_port();
	strbuf_addf(&script,
		"ls -ln /site/index.html; "
		"httpd -f -p 127.0.0.1:%d -h /site & p=$!; "
		"for i in 1 2 3 4 5 6 7 8 9 10; do "
		"wget -q -O - http://127.0.0.1:%d/index.html && break; sleep 0.2; done; "
		"kill $p", port, port);
	const char *sh[] = { "buildah", "run", "--isolation", "chroot", "--user", "65534:65534",
			     ctr.buf, "--", "/bin/sh", "-c", script.buf, NULL };
	assert_int_equal(run(sh, &page), 0);
	assert_non_null(strstr(page.buf, "index.html"));
	{
		/* Owned by nobody in the pushed layer. (Local storage keeps the
		 * sandbox's mapped ids on disk: a container from the local image
		 * without that mapping sees host ids, so look at the registry's
		 * copy, which is what deployments pull.) */
		struct strbuf copy = STRBUF_INIT, dest = STRBUF_INIT, list = STRBUF_INIT;
		strbuf_addf(&dest, "dir:%s/pushed", datadir);
		const char *cp[] = { "skopeo", "copy", "--src-tls-verify=false", ref.buf, dest.buf, NULL };
		assert_int_equal(run(cp, NULL), 0);
		strbuf_addf(&copy, "for f in %s/pushed/*; do tar -tzvf \"$f\" 2>/dev/null; done", datadir);
		const char *tar[] = { "sh", "-c", copy.buf, NULL };
		run(tar, &list);
		if (!strstr(list.buf, "65534/65534") || !strstr(list.buf, "site/index.html"))
			fail_msg("pushed layers: %s", strstr(list.buf, "site") ? strstr(list.buf, "site") - 40 : "no site/");
		strbuf_release(&copy);
		strbuf_release(&dest);
		strbuf_release(&list);
	}
	assert_non_null(strstr(page.buf, "<h1>ferry static</h1>"));
	const char *rm[] = { "buildah", "rm", ctr.buf, NULL };
	assert_int_equal(run(rm, NULL), 0);

	assert_int_equal(image_remove_local(reg, &img, &e), 0);
	image_local_release(&img);
	image_pushed_release(&p);
	strbuf_release(&ctx);
	strbuf_release(&df);
	strbuf_release(&log);
	strbuf_release(&ref);
	strbuf_release(&out);
	strbuf_release(&ctr);
	strbuf_release(&page);
	strbuf_release(&script);
}

/* The message a failed tool leaves: a full disk is named even when buildah
 * reports it as one item of a list under another error. */
static void test_error_line(void **state)
{
	struct strbuf m = STRBUF_INIT;

	(void)state;
	image_error_line("STEP 2/3: RUN dd if=/dev/zero of=/big\n"
			 "error: deleting build container \"8a54\": 2 errors occurred:\n"
			 "\t* removing overlay: device or resource busy\n"
			 "\t* writing layer: write /var/x: no space left on device\n", &m);
	assert_string_equal(m.buf, "writing layer: write /var/x: no space left on device");
	strbuf_reset(&m);
	image_error_line("STEP 1/2: FROM ferry/busybox\n"
			 "Error: building at STEP \"RUN x\": 2 errors occurred:\n"
			 "\t* one\n\t* two\n"
			 "trailing\n", &m);
	assert_string_equal(m.buf, "Error: building at STEP \"RUN x\": 2 errors occurred: one; two");
	strbuf_reset(&m);
	image_error_line("just a line\nthe last line\n", &m);
	assert_string_equal(m.buf, "the last line");
	strbuf_reset(&m);
	image_error_line("", &m);
	assert_string_equal(m.buf, "no output");
	strbuf_release(&m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_error_line),
		cmocka_unit_test(test_baseimage_repeatable),
		cmocka_unit_test(test_build_push_repeatable),
		cmocka_unit_test(test_digest_independent_of_base_image_names),
		cmocka_unit_test(test_failing_run),
		cmocka_unit_test(test_cancel_and_timeout),
		cmocka_unit_test(test_rebuild_replaces_and_gc),
		cmocka_unit_test(test_static_buildpack),
	};
	if (geteuid() != 0 || access("/usr/bin/buildah", X_OK) != 0 ||
	    access("/usr/bin/skopeo", X_OK) != 0 || access("/usr/bin/docker-registry", X_OK) != 0) {
		fprintf(stderr, "needs root, buildah, skopeo and docker-registry\n");
		return 77; /* meson: skipped */
	}
	return cmocka_run_group_tests(tests, setup, teardown);
}
