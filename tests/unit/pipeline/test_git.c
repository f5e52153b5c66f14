/* Unit tests of pipeline/git against real repositories made with the git CLI,
 * served over file://, git daemon (git://) and git http-backend (http://). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "lib/spawn.h"
#include "lib/strbuf.h"
#include "pipeline/git.h"
#include "testfs.h"

#ifdef TEST_GIT_SSH
/* The SSH build of this file runs one test; the others are compiled, unused. */
#pragma GCC diagnostic ignored "-Wunused-function"
#endif

struct fx {
	char root[64];      /* temp dir holding everything below */
	char data[128];     /* ferry's DATA dir */
	char up[128];       /* upstream work tree (branch main) */
	char url[192];      /* file:// URL of up */
};

/* Checks that a call failed with the given status, showing its message if not. */
#define expect_fail(call, e, want_status)                                                   \
	do {                                                                                \
		int rc_ = (call);                                                           \
		if (rc_ != -1 || (e)->status != (want_status))                              \
			fail_msg("%s: rc=%d status=%d (want %d) msg=%s", #call, rc_,        \
				 (e)->status, (want_status), (e)->msg);                     \
	} while (0)

/* ---- helpers ------------------------------------------------------------ */

static const char *git_env_base[] = {
	"GIT_CONFIG_NOSYSTEM=1", "GIT_CONFIG_GLOBAL=/dev/null",
	"GIT_AUTHOR_NAME=Ada Lovelace", "GIT_AUTHOR_EMAIL=ada@example.com",
	"GIT_COMMITTER_NAME=Charles Babbage", "GIT_COMMITTER_EMAIL=cb@example.com",
};

/* Runs git with args (NULL-terminated) in dir; date, if not NULL, is used
 * as both author and committer date. Fails the test unless it exits 0.
 * Returns stdout+stderr with the trailing newline removed (caller frees). */
static char *run_git(const char *dir, const char *date, ...)
{
	const char *argv[32], *env[16];
	char ad[64], cd[64];
	struct strbuf out = STRBUF_INIT;
	struct ferr e = FERR_INIT;
	size_t n = 0, ne = 0;
	va_list ap;
	int rc;

	argv[n++] = "git";
	va_start(ap, date);
	while (n < 31 && (argv[n] = va_arg(ap, const char *)))
		n++;
	va_end(ap);
	argv[n] = NULL;
	for (size_t i = 0; i < sizeof(git_env_base) / sizeof(git_env_base[0]); i++)
		env[ne++] = git_env_base[i];
	if (date) {
		snprintf(ad, sizeof(ad), "GIT_AUTHOR_DATE=%s", date);
		snprintf(cd, sizeof(cd), "GIT_COMMITTER_DATE=%s", date);
		env[ne++] = ad;
		env[ne++] = cd;
	}
	env[ne] = NULL;
	rc = spawn_capture(argv, env, dir, &out, 1 << 20, 30000, &e);
	if (rc != 0)
		fail_msg("git %s in %s: rc=%d %s %s", argv[1], dir, rc, e.msg, out.buf);
	while (out.len && out.buf[out.len - 1] == '\n')
		strbuf_setlen(&out, out.len - 1);
	return strbuf_detach(&out, NULL);
}

static char *read_text(const char *path)
{
	struct strbuf sb = STRBUF_INIT;
	char buf[4096];
	size_t n;
	FILE *f = fopen(path, "r");

	if (!f)
		return NULL;
	while ((n = fread(buf, 1, sizeof(buf), f)) > 0)
		strbuf_add(&sb, buf, n);
	fclose(f);
	return strbuf_detach(&sb, NULL);
}

/* Commits everything in the upstream work tree; returns the new sha. */
static char *commit_all(struct fx *f, const char *msg, const char *date)
{
	free(run_git(f->up, date, "add", "-A", NULL));
	free(run_git(f->up, date, "commit", "-q", "--allow-empty", "-m", msg, NULL));
	return run_git(f->up, NULL, "rev-parse", "HEAD", NULL);
}

static void rm_tree(const char *path)
{
	const char *argv[] = { "rm", "-rf", path, NULL };
	struct ferr e = FERR_INIT;

	assert_int_equal(spawn_capture(argv, NULL, NULL, NULL, 0, 30000, &e), 0);
}

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));

	snprintf(f->root, sizeof(f->root), "/tmp/ferry-test-git-XXXXXX");
	if (!mkdtemp(f->root))
		return -1;
	snprintf(f->data, sizeof(f->data), "%s/data", f->root);
	snprintf(f->up, sizeof(f->up), "%s/up", f->root);
	snprintf(f->url, sizeof(f->url), "file://%s", f->up);
	mkdir(f->data, 0700);
	mkdir(f->up, 0755);
	free(run_git(f->up, NULL, "init", "-q", "-b", "main", NULL));
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;

	rm_tree(f->root);
	free(f);
	return 0;
}

/* A port nothing listens on (bound, then released). */
static int free_port(void)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof(a);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), port;

	assert_true(fd >= 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &len), 0);
	port = ntohs(a.sin_port);
	close(fd);
	return port;
}

static void wait_listening(int port)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port),
				 .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };

	for (int i = 0; i < 200; i++) {
		int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), ok;

		ok = connect(fd, (struct sockaddr *)&a, sizeof(a)) == 0;
		close(fd);
		if (ok)
			return;
		nanosleep(&(struct timespec){ 0, 50 * 1000 * 1000 }, NULL);
	}
	fail_msg("nothing listens on 127.0.0.1:%d after 10s", port);
}

/* Stops a server we started: SIGTERM to it alone, so that it reaps its own
 * finished connection children, and the whole group only if it is still
 * there after 2 s. */
static void stop_server(struct spawn *sp)
{
	kill(sp->pid, SIGTERM);
	for (int i = 0; i < 100; i++) {
		if (waitpid(sp->pid, NULL, WNOHANG) == sp->pid)
			return;
		nanosleep(&(struct timespec){ 0, 20 * 1000 * 1000 }, NULL);
	}
	spawn_kill(sp, SIGKILL);
	spawn_wait(sp);
}

static void progress_collect(void *ctx, const char *text, size_t len)
{
	strbuf_add(ctx, text, len);
}

/* ---- tests ---------------------------------------------------------------- */

static void test_url_check(void **state)
{
	static const char *const good[] = {
		"file:///srv/repo", "git://127.0.0.1:9418/x.git", "http://h/x", "https://h:8443/a/b.git",
		"https://user@h/x", "ssh://git@h:22/x.git", "git@github.com:org/repo.git",
	};
	static const char *const bad[] = {
		"", "/srv/repo", "file://relative", "https://u:secret@h/x", "ftp://h/x", "https:///x",
		"ext::sh -c x", "-uhttps://h/x", "https://h/x y", "ssh:///x",
	};
	struct ferr e = FERR_INIT;

	(void)state;
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		ferr_clear(&e);
		if (git_url_check(good[i], &e) != 0)
			fail_msg("refused %s: %s", good[i], e.msg);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		ferr_clear(&e);
		if (git_url_check(bad[i], &e) != -1)
			fail_msg("accepted %s", bad[i]);
		assert_int_equal(e.status, 400);
	}
	ferr_clear(&e);
	git_url_check("https://u:secret@h/x", &e);
	assert_null(strstr(e.msg, "secret"));
}

static void test_mirror_path_is_blob_hash_of_url(void **state)
{
	struct fx *f = *state;
	const char *argv[] = { "sh", "-c", "printf %s \"$1\" | git hash-object --stdin", "sh", f->url,
			       NULL };
	struct strbuf out = STRBUF_INIT, want = STRBUF_INIT;
	struct ferr e = FERR_INIT;
	char *path = NULL;

	assert_int_equal(spawn_capture(argv, NULL, NULL, &out, 4096, 10000, &e), 0);
	strbuf_setlen(&out, out.len - 1);
	strbuf_addf(&want, "%s/git/%s.git", f->data, out.buf);
	assert_int_equal(git_mirror_path(f->data, f->url, &path, &e), 0);
	assert_string_equal(path, want.buf);
	free(path);
	strbuf_release(&out);
	strbuf_release(&want);
}

static void test_fetch_file_new_commits_and_pruning(void **state)
{
	struct fx *f = *state;
	struct strbuf prog = STRBUF_INIT;
	struct git_fetch_opts o = { .progress = progress_collect, .progress_ctx = &prog };
	struct ferr e = FERR_INIT;
	char sha[GIT_SHA_SIZE], *path = NULL, *c1, *c2;
	struct stat st;

	testfs_put(f->up, "README", "one\n");
	c1 = commit_all(f, "first", "2026-01-01T10:00:00Z");
	free(run_git(f->up, NULL, "branch", "feature", NULL));
	free(run_git(f->up, NULL, "tag", "v1", NULL));

	assert_int_equal(git_mirror_fetch(f->data, f->url, &o, &path, &e), 0);
	assert_non_null(strstr(prog.buf, "fetched file://"));
	assert_int_equal(stat(path, &st), 0);
	assert_true(S_ISDIR(st.st_mode));
	assert_int_equal(git_resolve(path, "main", sha, &e), 0);
	assert_string_equal(sha, c1);
	assert_int_equal(git_resolve(path, "feature", sha, &e), 0);
	assert_int_equal(git_resolve(path, "v1", sha, &e), 0);
	assert_string_equal(sha, c1);

	/* A new commit is invisible until the next fetch. */
	testfs_put(f->up, "README", "two\n");
	c2 = commit_all(f, "second", "2026-01-02T10:00:00Z");
	assert_int_equal(git_resolve(path, "main", sha, &e), 0);
	assert_string_equal(sha, c1);
	free(path);
	path = NULL;
	assert_int_equal(git_mirror_fetch(f->data, f->url, NULL, &path, &e), 0);
	assert_int_equal(git_resolve(path, "main", sha, &e), 0);
	assert_string_equal(sha, c2);

	/* A branch and a tag deleted upstream are pruned from the mirror. */
	free(run_git(f->up, NULL, "branch", "-D", "feature", NULL));
	free(run_git(f->up, NULL, "tag", "-d", "v1", NULL));
	assert_int_equal(git_mirror_fetch(f->data, f->url, NULL, NULL, &e), 0);
	expect_fail(git_resolve(path, "feature", sha, &e), &e, 404);
	ferr_clear(&e);
	expect_fail(git_resolve(path, "v1", sha, &e), &e, 404);

	free(c1);
	free(c2);
	free(path);
	strbuf_release(&prog);
}

static void test_log_order_and_fields(void **state)
{
	struct fx *f = *state;
	struct git_log_list log = GIT_LOG_LIST_INIT;
	struct ferr e = FERR_INIT;
	char *c[3], *path = NULL;

	testfs_put(f->up, "a", "1\n");
	c[0] = commit_all(f, "first commit", "2026-03-01T08:00:00Z");
	testfs_put(f->up, "a", "2\n");
	c[1] = commit_all(f, "second commit\n\nwith a body\nover lines", "2026-03-02T09:30:00+02:00");
	testfs_put(f->up, "a", "3\n");
	c[2] = commit_all(f, "third:\nwrapped subject", "2026-03-03T23:59:59Z");
	assert_int_equal(git_mirror_fetch(f->data, f->url, NULL, &path, &e), 0);

	assert_int_equal(git_log(path, "main", 0, &log, &e), 0);
	assert_int_equal(log.n, 3);
	assert_string_equal(log.v[0].sha, c[2]);
	assert_string_equal(log.v[1].sha, c[1]);
	assert_string_equal(log.v[2].sha, c[0]);
	assert_string_equal(log.v[0].subject, "third: wrapped subject");
	assert_string_equal(log.v[1].subject, "second commit");
	assert_string_equal(log.v[2].subject, "first commit");
	assert_string_equal(log.v[1].author_name, "Ada Lovelace");
	assert_string_equal(log.v[1].author_email, "ada@example.com");
	assert_string_equal(log.v[1].time, "2026-03-02T07:30:00Z");
	assert_string_equal(log.v[0].time, "2026-03-03T23:59:59Z");
	assert_int_equal(log.v[2].author_time, 1772352000); /* 2026-03-01T08:00:00Z */
	assert_int_equal(log.v[2].commit_time, 1772352000);
	git_log_list_release(&log);

	assert_int_equal(git_log(path, "main", 2, &log, &e), 0);
	assert_int_equal(log.n, 2);
	assert_string_equal(log.v[1].sha, c[1]);
	git_log_list_release(&log);

	expect_fail(git_log(path, "nosuchbranch", 5, &log, &e), &e, 404);
	git_log_list_release(&log);

	for (int i = 0; i < 3; i++)
		free(c[i]);
	free(path);
}

static void test_resolve_short_sha_tags_and_errors(void **state)
{
	struct fx *f = *state;
	struct ferr e = FERR_INIT;
	char sha[GIT_SHA_SIZE], shortsha[8], *c1, *tree, *path = NULL;

	testfs_put(f->up, "x", "x\n");
	c1 = commit_all(f, "only", "2026-01-01T00:00:00Z");
	free(run_git(f->up, "2026-01-01T00:00:00Z", "tag", "-a", "-m", "release", "v2", NULL));
	tree = run_git(f->up, NULL, "rev-parse", "HEAD^{tree}", NULL);
	assert_int_equal(git_mirror_fetch(f->data, f->url, NULL, &path, &e), 0);

	snprintf(shortsha, sizeof(shortsha), "%.7s", c1);
	assert_int_equal(git_resolve(path, shortsha, sha, &e), 0);
	assert_string_equal(sha, c1);
	assert_int_equal(git_resolve(path, c1, sha, &e), 0);
	assert_string_equal(sha, c1);
	assert_int_equal(git_resolve(path, "v2", sha, &e), 0); /* annotated tag peeled */
	assert_string_equal(sha, c1);

	expect_fail(git_resolve(path, "0000000000000000000000000000000000000001", sha, &e), &e, 404);
	assert_non_null(strstr(e.msg, "0000000000000000000000000000000000000001"));
	ferr_clear(&e);
	expect_fail(git_resolve(path, "deadbee", sha, &e), &e, 404);
	ferr_clear(&e);
	expect_fail(git_resolve(path, tree, sha, &e), &e, 400);
	assert_non_null(strstr(e.msg, "tree"));
	ferr_clear(&e);
	expect_fail(git_resolve(path, "main branch", sha, &e), &e, 400);
	ferr_clear(&e);
	expect_fail(git_resolve("/nonexistent/mirror.git", "main", sha, &e), &e, 404);

	free(c1);
	free(tree);
	free(path);
}

static void assert_mode_and_time(const char *path, mode_t type, mode_t perm, time_t t)
{
	struct stat st;

	if (lstat(path, &st) != 0)
		fail_msg("%s: %s", path, strerror(errno));
	assert_int_equal(st.st_mode & S_IFMT, type);
	if (type != S_IFLNK)
		assert_int_equal(st.st_mode & 07777, perm);
	assert_int_equal(st.st_mtime, t);
}

static void test_export_tree_and_subpath(void **state)
{
	struct fx *f = *state;
	struct ferr e = FERR_INIT;
	static const char run_sh[] = "#!/bin/sh\necho run\n";
	char dest[256], p[512], link[64], *c1, *path = NULL, *txt;
	int64_t ctime = 0;
	const time_t t = 1767225600; /* 2026-01-01T00:00:00Z */
	ssize_t n;
	struct stat st;

	testfs_put(f->up, "README.md", "hello\n");
	testfs_write_mode(f->up, "bin/run.sh", run_sh, sizeof(run_sh) - 1, 0755);
	testfs_put(f->up, "web/index.html", "<h1>hi</h1>\n");
	testfs_put(f->up, "web/assets/app.js", "x=1\n");
	snprintf(p, sizeof(p), "%s/web/readme-link", f->up);
	assert_int_equal(symlink("../README.md", p), 0);
	c1 = commit_all(f, "tree", "2026-01-01T00:00:00Z");
	assert_int_equal(git_mirror_fetch(f->data, f->url, NULL, &path, &e), 0);

	/* Whole tree. */
	snprintf(dest, sizeof(dest), "%s/ws-all", f->root);
	assert_int_equal(git_export(path, c1, NULL, dest, &ctime, &e), 0);
	assert_int_equal(ctime, (int64_t)t);
	snprintf(p, sizeof(p), "%s/README.md", dest);
	txt = read_text(p);
	assert_string_equal(txt, "hello\n");
	free(txt);
	assert_mode_and_time(p, S_IFREG, 0644, t);
	snprintf(p, sizeof(p), "%s/bin/run.sh", dest);
	assert_mode_and_time(p, S_IFREG, 0755, t);
	snprintf(p, sizeof(p), "%s/bin", dest);
	assert_mode_and_time(p, S_IFDIR, 0755, t);
	snprintf(p, sizeof(p), "%s/web/readme-link", dest);
	assert_mode_and_time(p, S_IFLNK, 0, t);
	n = readlink(p, link, sizeof(link) - 1);
	assert_true(n > 0);
	link[n] = '\0';
	assert_string_equal(link, "../README.md");
	snprintf(p, sizeof(p), "%s/.git", dest);
	assert_int_equal(lstat(p, &st), -1);

	/* Subpath (monorepo --path), with slashes around it, becomes the root. */
	snprintf(dest, sizeof(dest), "%s/ws-web", f->root);
	assert_int_equal(git_export(path, "main", "/web/", dest, NULL, &e), 0);
	snprintf(p, sizeof(p), "%s/index.html", dest);
	txt = read_text(p);
	assert_string_equal(txt, "<h1>hi</h1>\n");
	free(txt);
	snprintf(p, sizeof(p), "%s/assets/app.js", dest);
	assert_mode_and_time(p, S_IFREG, 0644, t);
	snprintf(p, sizeof(p), "%s/README.md", dest);
	assert_int_equal(lstat(p, &st), -1);

	/* An existing empty directory is fine; a non-empty one is refused. */
	snprintf(dest, sizeof(dest), "%s/ws-empty", f->root);
	assert_int_equal(mkdir(dest, 0700), 0);
	assert_int_equal(git_export(path, c1, "web/assets", dest, NULL, &e), 0);
	expect_fail(git_export(path, c1, "web/assets", dest, NULL, &e), &e, 409);
	ferr_clear(&e);

	/* Errors leave no workspace behind. */
	snprintf(dest, sizeof(dest), "%s/ws-bad", f->root);
	expect_fail(git_export(path, c1, "services/api", dest, NULL, &e), &e, 404);
	assert_non_null(strstr(e.msg, "path 'services/api' does not exist at commit"));
	assert_int_equal(lstat(dest, &st), -1);
	ferr_clear(&e);
	expect_fail(git_export(path, c1, "README.md", dest, NULL, &e), &e, 400);
	assert_non_null(strstr(e.msg, "not a directory"));
	ferr_clear(&e);
	expect_fail(git_export(path, c1, "web/../..", dest, NULL, &e), &e, 400);
	ferr_clear(&e);
	expect_fail(git_export(path, "1234567890123456789012345678901234567890", NULL, dest,
				    NULL, &e), &e, 404);
	assert_int_equal(lstat(dest, &st), -1);

	free(c1);
	free(path);
}

/* A tree object holding an entry named ".." (which git itself would never
 * write) is refused and nothing is left in the workspace. */
static void test_export_refuses_escaping_entries(void **state)
{
	struct fx *f = *state;
	struct ferr e = FERR_INIT;
	const char *argv[] = { "sh", "-c",
		"set -e; b=$(printf 'pwned\\n' | git hash-object -w --stdin);"
		"t=$(printf '100644 blob %s\\t..\\n' $b | git mktree --missing);"
		"git commit-tree -m evil $t", NULL };
	const char *env[] = { "GIT_CONFIG_NOSYSTEM=1", "GIT_CONFIG_GLOBAL=/dev/null",
			      "GIT_AUTHOR_NAME=x", "GIT_AUTHOR_EMAIL=x@x", "GIT_COMMITTER_NAME=x",
			      "GIT_COMMITTER_EMAIL=x@x", NULL };
	struct strbuf out = STRBUF_INIT;
	char dest[256], *path = NULL;
	struct stat st;
	int rc;

	testfs_put(f->up, "a", "a\n");
	free(commit_all(f, "base", "2026-01-01T00:00:00Z"));
	rc = spawn_capture(argv, env, f->up, &out, 4096, 10000, &e);
	if (rc != 0) {
		/* git mktree refuses such names: then there is nothing to test. */
		skip();
	}
	strbuf_setlen(&out, out.len - 1);
	free(run_git(f->up, NULL, "update-ref", "refs/heads/evil", out.buf, NULL));
	assert_int_equal(git_mirror_fetch(f->data, f->url, NULL, &path, &e), 0);
	snprintf(dest, sizeof(dest), "%s/ws", f->root);
	expect_fail(git_export(path, "evil", NULL, dest, NULL, &e), &e, 400);
	assert_non_null(strstr(e.msg, "refusing tree entry"));
	assert_int_equal(lstat(dest, &st), -1);
	strbuf_release(&out);
	free(path);
}

static void test_unreachable_remote(void **state)
{
	struct fx *f = *state;
	struct ferr e = FERR_INIT;
	char url[128], want[160];
	int port = free_port();

	snprintf(url, sizeof(url), "git://127.0.0.1:%d/x", port);
	expect_fail(git_mirror_fetch(f->data, url, NULL, NULL, &e), &e, 502);
	assert_string_equal(e.code, "git_unreachable");
	snprintf(want, sizeof(want), "fetch %s: ", url);
	assert_non_null(strstr(e.msg, want));
	assert_non_null(strstr(e.msg, "connect"));

	/* A file:// repository that does not exist. */
	ferr_clear(&e);
	snprintf(url, sizeof(url), "file://%s/nope", f->root);
	expect_fail(git_mirror_fetch(f->data, url, NULL, NULL, &e), &e, 502);
	assert_non_null(strstr(e.msg, url));
}

struct daemon {
	struct spawn sp;
	int port;
	char url[128];
};

static void daemon_start(struct fx *f, struct daemon *d)
{
	static char port_arg[32], base_arg[160], prog[256];
	static const char *argv[16];
	char *exec_path;
	struct ferr e = FERR_INIT;
	int i = 0;

	/* A bare copy to serve, named repo.git. */
	free(run_git(f->root, NULL, "clone", "-q", "--bare", f->up, "srv/repo.git", NULL));
	d->port = free_port();
	snprintf(port_arg, sizeof(port_arg), "--port=%d", d->port);
	snprintf(base_arg, sizeof(base_arg), "--base-path=%s/srv", f->root);
	/* git-daemon itself, not the `git daemon` wrapper: stopping the
	 * wrapper would orphan the daemon, and we must reap what we start. */
	exec_path = run_git(f->root, NULL, "--exec-path", NULL);
	snprintf(prog, sizeof(prog), "%s/git-daemon", exec_path);
	free(exec_path);
	argv[i++] = prog;
	argv[i++] = "--reuseaddr";
	argv[i++] = "--listen=127.0.0.1";
	argv[i++] = port_arg;
	argv[i++] = base_arg;
	argv[i++] = "--export-all";
	argv[i++] = "--informative-errors";
	argv[i] = NULL;
	d->sp = (struct spawn)SPAWN_INIT;
	d->sp.argv = argv;
	d->sp.err_fd = -1;
	if (spawn_start(&d->sp, &e) != 0)
		fail_msg("git daemon: %s", e.msg);
	wait_listening(d->port);
	snprintf(d->url, sizeof(d->url), "git://127.0.0.1:%d/repo.git", d->port);
}

static void daemon_stop(struct daemon *d)
{
	stop_server(&d->sp);
}

static void test_fetch_over_git_daemon(void **state)
{
	struct fx *f = *state;
	struct daemon d;
	struct ferr e = FERR_INIT;
	struct git_log_list log = GIT_LOG_LIST_INIT;
	char sha[GIT_SHA_SIZE], *c1, *path = NULL;

	testfs_put(f->up, "f", "over git://\n");
	c1 = commit_all(f, "served by git daemon", "2026-02-01T12:00:00Z");
	daemon_start(f, &d);

	assert_int_equal(git_mirror_fetch(f->data, d.url, NULL, &path, &e), 0);
	assert_int_equal(git_resolve(path, "main", sha, &e), 0);
	assert_string_equal(sha, c1);
	assert_int_equal(git_log(path, "main", 10, &log, &e), 0);
	assert_int_equal(log.n, 1);
	assert_string_equal(log.v[0].subject, "served by git daemon");
	git_log_list_release(&log);

	/* A repository the daemon does not have: the remote's own message. */
	ferr_clear(&e);
	{
		char url[128];

		snprintf(url, sizeof(url), "git://127.0.0.1:%d/missing.git", d.port);
		expect_fail(git_mirror_fetch(f->data, url, NULL, NULL, &e), &e, 502);
		assert_non_null(strstr(e.msg, url));
		assert_non_null(strstr(e.msg, "no such repository"));
	}

	daemon_stop(&d);
	free(c1);
	free(path);
}

static void test_cancelled_fetch(void **state)
{
	struct fx *f = *state;
	struct daemon d;
	struct ferr e = FERR_INIT;
	atomic_int cancel = 1;
	struct git_fetch_opts o = { .cancel = &cancel };

	testfs_put(f->up, "f", "x\n");
	free(commit_all(f, "x", "2026-02-01T12:00:00Z"));
	daemon_start(f, &d);
	assert_int_equal(git_mirror_fetch(f->data, d.url, &o, NULL, &e), -1);
	assert_string_equal(e.code, "cancelled");
	daemon_stop(&d);
}

struct fetch_thread {
	const char *data, *url;
	int rc;
	struct ferr e;
};

static void *fetch_main(void *arg)
{
	struct fetch_thread *t = arg;

	t->rc = git_mirror_fetch(t->data, t->url, NULL, NULL, &t->e);
	return NULL;
}

static void test_concurrent_fetches_of_one_mirror(void **state)
{
	struct fx *f = *state;
	struct fetch_thread t[4];
	pthread_t th[4];
	char sha[GIT_SHA_SIZE], *c, *path = NULL;
	struct ferr e = FERR_INIT;

	for (int i = 0; i < 20; i++) {
		char name[16];

		snprintf(name, sizeof(name), "f%d", i);
		testfs_put(f->up, name, name);
	}
	c = commit_all(f, "many", "2026-02-01T12:00:00Z");
	for (int i = 0; i < 4; i++) {
		t[i] = (struct fetch_thread){ .data = f->data, .url = f->url, .e = FERR_INIT };
		assert_int_equal(pthread_create(&th[i], NULL, fetch_main, &t[i]), 0);
	}
	for (int i = 0; i < 4; i++) {
		pthread_join(th[i], NULL);
		if (t[i].rc != 0)
			fail_msg("fetch %d: %s", i, t[i].e.msg);
	}
	assert_int_equal(git_mirror_path(f->data, f->url, &path, &e), 0);
	assert_int_equal(git_resolve(path, "main", sha, &e), 0);
	assert_string_equal(sha, c);
	free(c);
	free(path);
}

/* git http-backend behind a tiny CGI host with HTTP basic auth. python's own
 * CGIHTTPRequestHandler answers HTTP/1.0 with close-delimited bodies, which
 * libgit2 1.5 rejects, so the host gives every response a Content-Length. */
static const char http_server_py[] =
	"import base64, http.server, os, subprocess\n"
	"WANT = 'Basic ' + base64.b64encode(os.environ['FERRY_TEST_AUTH'].encode()).decode()\n"
	"class H(http.server.BaseHTTPRequestHandler):\n"
	"    protocol_version = 'HTTP/1.1'\n"
	"    def log_message(self, *a): pass\n"
	"    def handle_git(self):\n"
	"        if self.headers.get('Authorization') != WANT:\n"
	"            self.send_response(401)\n"
	"            self.send_header('WWW-Authenticate', 'Basic realm=\"git\"')\n"
	"            self.send_header('Content-Length', '0')\n"
	"            self.end_headers()\n"
	"            return\n"
	"        path, _, query = self.path.partition('?')\n"
	"        body = b''\n"
	"        if self.headers.get('Transfer-Encoding', '').lower() == 'chunked':\n"
	"            while True:\n"
	"                n = int(self.rfile.readline().split(b';')[0], 16)\n"
	"                if n == 0:\n"
	"                    self.rfile.readline()\n"
	"                    break\n"
	"                body += self.rfile.read(n)\n"
	"                self.rfile.readline()\n"
	"        else:\n"
	"            body = self.rfile.read(int(self.headers.get('Content-Length') or 0))\n"
	"        env = dict(os.environ, REQUEST_METHOD=self.command, PATH_INFO=path, QUERY_STRING=query,\n"
	"                   CONTENT_TYPE=self.headers.get('Content-Type', ''), CONTENT_LENGTH=str(len(body)),\n"
	"                   HTTP_CONTENT_ENCODING=self.headers.get('Content-Encoding', ''),\n"
	"                   GIT_PROTOCOL=self.headers.get('Git-Protocol', ''),\n"
	"                   REMOTE_USER='ferry', REMOTE_ADDR='127.0.0.1')\n"
	"        out = subprocess.run(['git', 'http-backend'], input=body, env=env,\n"
	"                             stdout=subprocess.PIPE).stdout\n"
	"        sep = b'\\r\\n\\r\\n' if b'\\r\\n\\r\\n' in out else b'\\n\\n'\n"
	"        head, _, payload = out.partition(sep)\n"
	"        status, hdrs = 200, []\n"
	"        for line in head.decode().splitlines():\n"
	"            k, _, v = line.partition(':')\n"
	"            if k.lower() == 'status':\n"
	"                status = int(v.split()[0])\n"
	"            elif k:\n"
	"                hdrs.append((k, v.strip()))\n"
	"        self.send_response(status)\n"
	"        for k, v in hdrs:\n"
	"            self.send_header(k, v)\n"
	"        self.send_header('Content-Length', str(len(payload)))\n"
	"        self.end_headers()\n"
	"        self.wfile.write(payload)\n"
	"    do_GET = do_POST = handle_git\n"
	"srv = http.server.HTTPServer(('127.0.0.1', 0), H)\n"
	"print(srv.server_address[1], flush=True)\n"
	"srv.serve_forever()\n";

static void test_fetch_over_http_backend_with_basic_auth(void **state)
{
	struct fx *f = *state;
	char dir[256], env_root[300], url[128], buf[32], sha[GIT_SHA_SIZE], *c1, *path = NULL;
	const char *argv[] = { "/usr/bin/python3", "server.py", NULL };
	const char *env[] = { env_root, "GIT_HTTP_EXPORT_ALL=1", "FERRY_TEST_AUTH=ferry:s3cret-token",
			      NULL };
	struct git_creds good = { .username = "ferry", .password = "s3cret-token" };
	struct git_creds wrong = { .username = "ferry", .password = "wrong" };
	struct git_fetch_opts o = { 0 };
	struct spawn sp = SPAWN_INIT;
	struct ferr e = FERR_INIT;
	int pfd[2], port;
	ssize_t n;
	size_t len = 0;

	if (access("/usr/bin/python3", X_OK) != 0 || access("/usr/lib/git-core/git-http-backend", X_OK) != 0)
		skip();
	testfs_put(f->up, "f", "over http\n");
	c1 = commit_all(f, "served over http", "2026-02-01T12:00:00Z");
	free(run_git(f->root, NULL, "clone", "-q", "--bare", f->up, "srv/repo.git", NULL));

	snprintf(dir, sizeof(dir), "%s/www", f->root);
	assert_int_equal(mkdir(dir, 0755), 0);
	testfs_put(dir, "server.py", http_server_py);
	snprintf(env_root, sizeof(env_root), "GIT_PROJECT_ROOT=%s/srv", f->root);

	assert_int_equal(pipe2(pfd, O_CLOEXEC), 0);
	sp.argv = argv;
	sp.env = env;
	sp.dir = dir;
	sp.out_fd = pfd[1];
	sp.err_fd = -1;
	if (spawn_start(&sp, &e) != 0)
		fail_msg("python3: %s", e.msg);
	close(pfd[1]);
	while (len < sizeof(buf) - 1 && (n = read(pfd[0], buf + len, 1)) == 1 && buf[len] != '\n')
		len++;
	buf[len] = '\0';
	close(pfd[0]);
	port = atoi(buf);
	if (port <= 0) {
		stop_server(&sp);
		fail_msg("server did not print its port: '%s'", buf);
	}
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/repo.git", port);

	/* No credentials: says what to add. */
	assert_int_equal(git_mirror_fetch(f->data, url, NULL, NULL, &e), -1);
	assert_string_equal(e.code, "git_auth");
	assert_non_null(strstr(e.msg, "needs credentials"));

	/* Wrong token: rejected, and the token is not in the message. */
	ferr_clear(&e);
	o.creds = &wrong;
	assert_int_equal(git_mirror_fetch(f->data, url, &o, NULL, &e), -1);
	assert_string_equal(e.code, "git_auth");
	assert_non_null(strstr(e.msg, "rejected"));
	assert_null(strstr(e.msg, "wrong"));

	ferr_clear(&e);
	o.creds = &good;
	if (git_mirror_fetch(f->data, url, &o, &path, &e) != 0) {
		stop_server(&sp);
		fail_msg("fetch over http: %s", e.msg);
	}
	assert_int_equal(git_resolve(path, "main", sha, &e), 0);
	assert_string_equal(sha, c1);

	stop_server(&sp);
	free(c1);
	free(path);
}

#ifdef TEST_GIT_SSH
/* Runs a command (no shell) and returns its trimmed output, failing the test
 * unless it exits 0. */
static char *run_cmd(const char *const *argv, const char *dir)
{
	struct strbuf out = STRBUF_INIT;
	struct ferr e = FERR_INIT;
	int rc = spawn_capture(argv, NULL, dir, &out, 1 << 16, 30000, &e);

	if (rc != 0)
		fail_msg("%s: rc=%d %s %s", argv[0], rc, e.msg, out.buf);
	while (out.len && out.buf[out.len - 1] == '\n')
		strbuf_setlen(&out, out.len - 1);
	return strbuf_detach(&out, NULL);
}

/* An sshd of our own on loopback (skipped without openssh-server): the
 * private key goes in memory only, the host key is pinned by fingerprint. */
static void test_fetch_over_ssh_with_key(void **state)
{
	struct fx *f = *state;
	char cfg[256], hostkey[256], userkey[256], otherkey[256], keyline[300], url[256];
	char port_line[32], *fp_out, *fp, *sp_end, *key, *other, *c1, *path = NULL;
	char sha[GIT_SHA_SIZE];
	struct git_creds creds = { 0 };
	struct git_fetch_opts o = { .creds = &creds };
	struct spawn sp = SPAWN_INIT;
	struct ferr e = FERR_INIT;
	const char *sshd_argv[] = { "/usr/sbin/sshd", "-D", "-e", "-f", cfg, NULL };
	FILE *fc;
	int port;

	if (access("/usr/sbin/sshd", X_OK) != 0)
		skip();
	/* sshd insists on its privilege separation directory. */
	if (mkdir("/run/sshd", 0755) < 0 && errno != EEXIST)
		skip();
	snprintf(hostkey, sizeof(hostkey), "%s/hostkey", f->root);
	snprintf(userkey, sizeof(userkey), "%s/userkey", f->root);
	snprintf(otherkey, sizeof(otherkey), "%s/otherkey", f->root);
	{
		const char *a1[] = { "ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", hostkey, NULL };
		const char *a2[] = { "ssh-keygen", "-q", "-t", "ed25519", "-N", "pass phrase", "-f",
				     userkey, NULL };
		const char *a3[] = { "ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", otherkey,
				     NULL };
		char pub[300];
		const char *a4[] = { "ssh-keygen", "-l", "-E", "sha256", "-f", pub, NULL };

		free(run_cmd(a1, NULL));
		free(run_cmd(a2, NULL));
		free(run_cmd(a3, NULL));
		snprintf(pub, sizeof(pub), "%s.pub", hostkey);
		fp_out = run_cmd(a4, NULL);
	}
	fp = strchr(fp_out, ' ');
	assert_non_null(fp);
	fp++;
	sp_end = strchr(fp, ' ');
	assert_non_null(sp_end);
	*sp_end = '\0';
	assert_true(strncmp(fp, "SHA256:", 7) == 0);

	testfs_put(f->up, "f", "over ssh\n");
	c1 = commit_all(f, "served over ssh", "2026-02-01T12:00:00Z");
	free(run_git(f->root, NULL, "clone", "-q", "--bare", f->up, "srv/repo.git", NULL));

	port = free_port();
	snprintf(cfg, sizeof(cfg), "%s/sshd_config", f->root);
	snprintf(keyline, sizeof(keyline), "%s.pub", userkey);
	fc = fopen(cfg, "w");
	assert_non_null(fc);
	fprintf(fc, "Port %d\nListenAddress 127.0.0.1\nHostKey %s\nPidFile none\n"
		    "AuthorizedKeysFile %s\nStrictModes no\nPasswordAuthentication no\n"
		    "KbdInteractiveAuthentication no\nUsePAM no\nPermitRootLogin prohibit-password\n"
		    "UseDNS no\n",
		port, hostkey, keyline);
	assert_int_equal(fclose(fc), 0);
	sp.argv = sshd_argv;
	sp.err_fd = -1;
	if (spawn_start(&sp, &e) != 0)
		fail_msg("sshd: %s", e.msg);
	wait_listening(port);
	snprintf(port_line, sizeof(port_line), "%d", port);
	snprintf(url, sizeof(url), "ssh://root@127.0.0.1:%s%s/srv/repo.git", port_line, f->root);
	key = read_text(userkey);
	other = read_text(otherkey);
	assert_non_null(key);
	assert_non_null(other);

	creds.ssh_host_fingerprint = fp;

	/* No key: says what to add. */
	if (git_mirror_fetch(f->data, url, &o, NULL, &e) != -1 || strcmp(e.code, "git_auth") != 0 ||
	    !strstr(e.msg, "SSH private key"))
		fail_msg("without a key: %s", e.msg);

	/* A key the server does not know. */
	ferr_clear(&e);
	creds.ssh_private_key = other;
	if (git_mirror_fetch(f->data, url, &o, NULL, &e) != -1 || strcmp(e.code, "git_auth") != 0)
		fail_msg("with an unknown key: %s", e.msg);

	/* The right key, with its passphrase, and a wrong pinned host key. */
	ferr_clear(&e);
	creds.ssh_private_key = key;
	creds.ssh_passphrase = "pass phrase";
	creds.ssh_host_fingerprint = "SHA256:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";
	if (git_mirror_fetch(f->data, url, &o, NULL, &e) != -1 || !strstr(e.msg, "host key"))
		fail_msg("with a wrong host key: %s", e.msg);
	assert_non_null(strstr(e.msg, fp));

	/* All right. */
	ferr_clear(&e);
	creds.ssh_host_fingerprint = fp;
	if (git_mirror_fetch(f->data, url, &o, &path, &e) != 0) {
		stop_server(&sp);
		fail_msg("fetch over ssh: %s", e.msg);
	}
	assert_int_equal(git_resolve(path, "main", sha, &e), 0);
	assert_string_equal(sha, c1);

	stop_server(&sp);
	free(fp_out);
	free(key);
	free(other);
	free(c1);
	free(path);
}
#endif

#ifdef TEST_GIT_SSH
/* This build of the file (test_git_ssh) runs only the SSH test. libgit2
 * 1.5's SSH transport leaks a few bytes per connection inside libssh2 and
 * its own connect code; those stacks are suppressed here, in this binary
 * only, so that test_git keeps checking every other path for leaks. Slow
 * unwinding is needed to see past libgit2's frames, built without frame
 * pointers. */
const char *__asan_default_options(void);
const char *__asan_default_options(void)
{
	return "fast_unwind_on_malloc=0";
}

const char *__lsan_default_suppressions(void);
const char *__lsan_default_suppressions(void)
{
	return "leak:libssh2_userauth_list\n"
	       "leak:libssh2_knownhost_init\n"
	       "leak:git_remote_connect_ext\n";
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_fetch_over_ssh_with_key, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
#else
int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_url_check),
		cmocka_unit_test_setup_teardown(test_mirror_path_is_blob_hash_of_url, setup, teardown),
		cmocka_unit_test_setup_teardown(test_fetch_file_new_commits_and_pruning, setup, teardown),
		cmocka_unit_test_setup_teardown(test_log_order_and_fields, setup, teardown),
		cmocka_unit_test_setup_teardown(test_resolve_short_sha_tags_and_errors, setup, teardown),
		cmocka_unit_test_setup_teardown(test_export_tree_and_subpath, setup, teardown),
		cmocka_unit_test_setup_teardown(test_export_refuses_escaping_entries, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unreachable_remote, setup, teardown),
		cmocka_unit_test_setup_teardown(test_fetch_over_git_daemon, setup, teardown),
		cmocka_unit_test_setup_teardown(test_cancelled_fetch, setup, teardown),
		cmocka_unit_test_setup_teardown(test_concurrent_fetches_of_one_mirror, setup, teardown),
		cmocka_unit_test_setup_teardown(test_fetch_over_http_backend_with_basic_auth, setup,
						teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
#endif
