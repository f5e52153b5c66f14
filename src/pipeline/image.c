#include "pipeline/image.h"

#include <errno.h>
#include <stdarg.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "lib/spawn.h"

#include "lib/clock.h"
#include "lib/banned.h"

#define OUT_CAP (1u << 20)
#define TAIL_KEEP 4096
#define KILL_GRACE_MS 5000
#define POLL_SLICE_MS 100
#define STALL_ASK_MS 1000

long long image_deadline(int timeout_ms)
{
	return timeout_ms > 0 ? mono_ms() + timeout_ms : 0;
}

void image_local_release(struct image_local *img)
{
	if (!img)
		return;
	free(img->name);
	img->name = NULL;
	img->id[0] = '\0';
}

void image_pushed_release(struct image_pushed *p)
{
	if (!p)
		return;
	free(p->ref);
	p->ref = NULL;
	p->digest[0] = '\0';
}

/* ------------------------------------------------------------------ */
/* Running a tool with live output                                      */

struct line_buf {
	struct strbuf cur;           /* the unfinished line */
	int cut;                     /* cur was cut at IMAGE_LOG_LINE_MAX */
};

static void emit_line(const struct image_watch *w, struct strbuf *tail,
		      const char *line, size_t len)
{
	if (w && w->log)
		w->log(w->log_ctx, line, len);
	if (tail) {
		strbuf_add(tail, line, len);
		strbuf_addch(tail, '\n');
		if (tail->len > 2 * TAIL_KEEP) {
			/* keep the last TAIL_KEEP bytes, from a line start */
			const char *keep = tail->buf + tail->len - TAIL_KEEP;
			const char *nl = memchr(keep, '\n', TAIL_KEEP);
			size_t off = (size_t)((nl ? nl + 1 : keep) - tail->buf);
			memmove(tail->buf, tail->buf + off, tail->len - off);
			strbuf_setlen(tail, tail->len - off);
		}
	}
}

static void feed(struct line_buf *lb, const char *data, size_t n,
		 const struct image_watch *w, struct strbuf *tail)
{
	for (size_t i = 0; i < n; i++) {
		char c = data[i];
		if (c == '\n') {
			if (!lb->cut)
				emit_line(w, tail, lb->cur.buf, lb->cur.len);
			strbuf_reset(&lb->cur);
			lb->cut = 0;
			continue;
		}
		if (lb->cut)
			continue;
		/* buildah redraws progress with \r: keep the last state only */
		if (c == '\r') {
			strbuf_reset(&lb->cur);
			continue;
		}
		strbuf_addch(&lb->cur, c);
		if (lb->cur.len >= IMAGE_LOG_LINE_MAX) {
			emit_line(w, tail, lb->cur.buf, lb->cur.len);
			lb->cut = 1;
		}
	}
}

static void flush_line(struct line_buf *lb, const struct image_watch *w, struct strbuf *tail)
{
	if (lb->cur.len && !lb->cut)
		emit_line(w, tail, lb->cur.buf, lb->cur.len);
	strbuf_release(&lb->cur);
}

/* Ends the tool: SIGTERM to the process group so buildah can remove its
 * working container and release storage locks, SIGKILL after a grace. */
static int stop_tool(struct spawn *s)
{
	long long deadline = mono_ms() + KILL_GRACE_MS;
	int st;

	spawn_kill(s, SIGTERM);
	for (;;) {
		pid_t p = waitpid(s->pid, &st, WNOHANG);
		if (p == s->pid || (p < 0 && errno != EINTR))
			break;
		if (mono_ms() >= deadline) {
			spawn_kill(s, SIGKILL);
			while (waitpid(s->pid, &st, 0) < 0 && errno == EINTR)
				;
			break;
		}
		struct timespec ts = { 0, 20 * 1000000L };
		nanosleep(&ts, NULL);
	}
	/* Children that outlived their parent still hold the group. */
	spawn_kill(s, SIGKILL);
	s->pid = 0;
	return 0;
}

/* Runs argv with env (NULL-terminated "KEY=VALUE" entries over ferryd's
 * environment), watching sb's limits if sb is not NULL; see image_tool_run. */
static int tool_run(const char *const *env, const char *const *argv, const struct image_watch *w,
		    struct sandbox *sb, struct strbuf *out, struct strbuf *tail, struct ferr *e)
{
	struct spawn s = SPAWN_INIT;
	struct line_buf lo = { STRBUF_INIT, 0 }, le = { STRBUF_INIT, 0 };
	int po[2] = { -1, -1 }, pe[2] = { -1, -1 }, open_fds = 2, stopped = 0, status;
	long long last_out, last_ask;
	char buf[8192];

	if (pipe2(po, O_CLOEXEC) < 0 || pipe2(pe, O_CLOEXEC) < 0) {
		ferr_internal(e, "pipe: %s", strerror(errno));
		if (po[0] >= 0) {
			close(po[0]);
			close(po[1]);
		}
		return -1;
	}
	s.argv = argv;
	s.env = env;
	s.out_fd = po[1];
	s.err_fd = pe[1];
	if (spawn_start(&s, e) < 0) {
		close(po[0]);
		close(po[1]);
		close(pe[0]);
		close(pe[1]);
		return -1;
	}
	close(po[1]);
	close(pe[1]);
	last_out = last_ask = mono_ms();

	while (open_fds) {
		struct pollfd p[2] = { { .fd = po[0], .events = POLLIN },
				       { .fd = pe[0], .events = POLLIN } };
		int n;

		if (w && w->cancel && atomic_load(w->cancel)) {
			stopped = 1;
			break;
		}
		if (w && w->deadline_ms && mono_ms() >= w->deadline_ms) {
			stopped = 2;
			break;
		}
		if (sb && sandbox_poll(sb, e) < 0) {
			stopped = 3;
			break;
		}
		if (w && w->stalled && mono_ms() - last_ask >= STALL_ASK_MS) {
			last_ask = mono_ms();
			if (w->stalled(w->log_ctx, last_ask - last_out, e) < 0) {
				stopped = 3;
				break;
			}
		}
		n = poll(p, 2, POLL_SLICE_MS);
		if (n < 0 && errno != EINTR)
			break;
		for (int i = 0; n > 0 && i < 2; i++) {
			ssize_t got;
			if (p[i].fd < 0 || !p[i].revents)
				continue;
			got = read(p[i].fd, buf, sizeof(buf));
			if (got < 0 && errno == EINTR)
				continue;
			if (got <= 0) {
				close(i ? pe[0] : po[0]);
				if (i)
					pe[0] = -1;
				else
					po[0] = -1;
				open_fds--;
				continue;
			}
			last_out = mono_ms();
			if (!i && out && out->len < OUT_CAP)
				strbuf_add(out, buf, (size_t)got > OUT_CAP - out->len ?
					   OUT_CAP - out->len : (size_t)got);
			feed(i ? &le : &lo, buf, (size_t)got, w, tail);
		}
	}
	if (stopped) {
		stop_tool(&s);
		status = -1;
	} else {
		status = spawn_wait(&s);
	}
	flush_line(&lo, w, tail);
	flush_line(&le, w, tail);
	if (po[0] >= 0)
		close(po[0]);
	if (pe[0] >= 0)
		close(pe[0]);
	if (stopped == 1)
		return ferr_set(e, 409, "canceled", "%s was cancelled", argv[0]);
	if (stopped == 2)
		return ferr_set(e, 504, "timeout", "%s did not finish before the build's time limit",
				argv[0]);
	if (stopped == 3)
		return -1; /* the sandbox's or the watchdog's error */
	if (status < 0)
		return ferr_internal(e, "waiting for %s failed", argv[0]);
	return status;
}

int image_tool_run(struct registry *r, const char *const *argv, const struct image_watch *w,
		   struct strbuf *out, struct strbuf *tail, struct ferr *e)
{
	return tool_run(registry_build_env(r), argv, w, NULL, out, tail, e);
}

/* The line of tail most likely to say what went wrong: one that says the
 * disk is full (whatever else failed because of it), else the last one that
 * mentions an error, else the last non-empty one. A line that announces a
 * list ("2 errors occurred:") brings the list's items with it. */
void image_error_line(const char *tail, struct strbuf *out)
{
	static const char *const full[] = { "no space left on device", "disk quota exceeded" };
	const char *p = tail, *best = NULL, *last = NULL;
	size_t best_len = 0, last_len = 0;
	int best_full = 0;

	while (*p) {
		const char *nl = strchrnul(p, '\n');
		size_t len = (size_t)(nl - p);
		if (len) {
			int is_full = 0;
			for (size_t i = 0; i < sizeof(full) / sizeof(full[0]); i++)
				is_full |= memmem(p, len, full[i], strlen(full[i])) != NULL;
			last = p;
			last_len = len;
			if (is_full ? !best_full : (!best_full && memmem(p, len, "rror", 4))) {
				best = p;
				best_len = len;
				best_full = is_full;
			}
		}
		p = *nl ? nl + 1 : nl;
	}
	if (!best) {
		best = last;
		best_len = last_len;
	}
	if (!best) {
		strbuf_addstr(out, "no output");
		return;
	}
	while (best_len && (*best == ' ' || *best == '\t' || *best == '*')) {
		best++;
		best_len--;
	}
	strbuf_add(out, best, best_len > 900 ? 900 : best_len);
	if (best_len > 1 && best[best_len - 1] == ':') {
		/* the list's items: the indented lines that follow */
		p = best + best_len;
		while (*p == '\n' && out->len < 900) {
			const char *line = p + 1, *nl = strchrnul(line, '\n');
			size_t len = (size_t)(nl - line);
			while (len && (*line == ' ' || *line == '\t' || *line == '*')) {
				line++;
				len--;
			}
			if (line == p + 1 || !len)
				break;
			strbuf_addstr(out, out->buf[out->len - 1] == ':' ? " " : "; ");
			strbuf_add(out, line, len > 300 ? 300 : len);
			p = nl;
		}
	}
}

static int read_small_file(const char *path, char *buf, size_t size)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -1;
	n = read(fd, buf, size - 1);
	close(fd);
	if (n < 0)
		return -1;
	while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == ' '))
		n--;
	buf[n] = '\0';
	return 0;
}

/* A private scratch file for buildah's --iidfile/--digestfile or a generated
 * Dockerfile. Returns the open fd and the path in path. */
static int scratch_file(struct strbuf *path, const char *what, struct ferr *e)
{
	const char *tmp = getenv("TMPDIR");
	int fd;

	strbuf_reset(path);
	strbuf_addf(path, "%s/ferry-%s-XXXXXX", tmp && *tmp == '/' ? tmp : "/tmp", what);
	fd = mkostemp(path->buf, O_CLOEXEC);
	if (fd < 0)
		return ferr_internal(e, "cannot create %s: %s", path->buf, strerror(errno));
	return fd;
}

/* Line continuations are not followed: a FROM line never needs one. */
int image_dockerfile_base(const char *text, struct strbuf *out)
{
	const char *p = text;
	int found = 0;

	while (*p) {
		const char *eol = strchrnul(p, '\n'), *q = p;
		while (q < eol && (*q == ' ' || *q == '\t'))
			q++;
		if (eol - q > 5 && !strncasecmp(q, "FROM", 4) && (q[4] == ' ' || q[4] == '\t')) {
			q += 4;
			for (;;) {
				const char *tok;
				while (q < eol && (*q == ' ' || *q == '\t' || *q == '\r'))
					q++;
				tok = q;
				while (q < eol && *q != ' ' && *q != '\t' && *q != '\r')
					q++;
				if (q == tok)
					break;
				if (q - tok > 2 && tok[0] == '-' && tok[1] == '-')
					continue; /* --platform=... */
				strbuf_reset(out);
				strbuf_add(out, tok, (size_t)(q - tok) > 255 ? 255 : (size_t)(q - tok));
				found = 1;
				break;
			}
		}
		p = *eol ? eol + 1 : eol;
	}
	return found ? 0 : -1;
}

static int read_text_file(const char *path, size_t cap, struct strbuf *out)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return -1;
	strbuf_read_fd(out, fd, cap); /* at most cap: what was read */
	close(fd);
	return 0;
}

static int valid_build_arg(const char *kv)
{
	const char *eq = kv ? strchr(kv, '=') : NULL;

	if (!eq || eq == kv)
		return 0;
	for (const char *p = kv; p < eq; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		      (*p >= '0' && *p <= '9') || *p == '_'))
			return 0;
	return 1;
}

/* Safe inside a path: no "..", not absolute, no control characters. */
static int valid_rel_path(const char *p)
{
	if (!p || !*p || *p == '/')
		return 0;
	for (const char *s = p; *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return 0;
	for (const char *s = p; *s;) {
		size_t n = strcspn(s, "/");
		if (n == 2 && s[0] == '.' && s[1] == '.')
			return 0;
		s += n;
		while (*s == '/')
			s++;
	}
	return 1;
}

static int valid_tag(const char *t)
{
	size_t n = t ? strlen(t) : 0;

	if (n == 0 || n > 128 || t[0] == '.' || t[0] == '-')
		return 0;
	for (size_t i = 0; i < n; i++)
		if (!((t[i] >= 'a' && t[i] <= 'z') || (t[i] >= 'A' && t[i] <= 'Z') ||
		      (t[i] >= '0' && t[i] <= '9') || t[i] == '_' || t[i] == '.' || t[i] == '-'))
			return 0;
	return 1;
}

/* Checks what image_build is given; the number of its build arguments
 * into *ret_nargs. 0, or -1 with e set. */
static int build_check(const struct image_build *b, size_t *ret_nargs, struct ferr *e)
{
	size_t nargs = 0;

	if (!b->sandbox)
		return ferr_internal(e, "image_build without a sandbox: RUN steps never run unsandboxed");
	if (!b->context_dir || !*b->context_dir)
		return ferr_invalid(e, "no build context directory given");
	if (!registry_valid_repo(b->repo))
		return ferr_invalid(e, "\"%s\" is not a valid image repository name",
				    b->repo ? b->repo : "");
	if (b->dockerfile && !valid_rel_path(b->dockerfile))
		return ferr_invalid(e, "Dockerfile path \"%s\" must be relative to the build "
				    "context and stay inside it", b->dockerfile);
	if (b->timestamp < 0)
		return ferr_invalid(e, "image timestamp %lld is before 1970", b->timestamp);
	if (b->revision && (!valid_tag(b->revision) || strlen(b->revision) > 64))
		return ferr_invalid(e, "revision \"%s\" is not a commit id", b->revision);
	for (size_t i = 0; b->build_args && b->build_args[i]; i++) {
		if (!valid_build_arg(b->build_args[i]))
			return ferr_invalid(e, "build argument \"%.64s\" is not NAME=VALUE",
					    b->build_args[i]);
		nargs++;
	}
	*ret_nargs = nargs;
	return 0;
}

/* The Dockerfile buildah reads into dfile: b's text written to a scratch
 * file (the caller removes it), or the checkout's, which must exist; the
 * base of its final stage into from. 0, or -1 with e set (dfile then
 * names only a scratch file, or nothing). */
static int build_dockerfile(const struct image_build *b, struct strbuf *dfile, struct strbuf *from,
			    struct ferr *e)
{
	struct strbuf text = STRBUF_INIT;
	int fd, ret = -1;

	if (b->dockerfile_text) {
		size_t left = strlen(b->dockerfile_text);
		const char *p = b->dockerfile_text;
		fd = scratch_file(dfile, "Dockerfile", e);
		if (fd < 0)
			goto out;
		while (left) {
			ssize_t n = write(fd, p, left);
			if (n < 0 && errno == EINTR)
				continue;
			if (n < 0) {
				ferr_internal(e, "cannot write %s: %s", dfile->buf, strerror(errno));
				close(fd);
				goto out;
			}
			p += n;
			left -= (size_t)n;
		}
		close(fd);
	} else {
		strbuf_addf(dfile, "%s/%s", b->context_dir, b->dockerfile ? b->dockerfile : "Dockerfile");
		if (access(dfile->buf, R_OK) < 0) {
			ferr_set(e, 422, "build_failed", "no Dockerfile at %s in the repository",
				 b->dockerfile ? b->dockerfile : "Dockerfile");
			strbuf_reset(dfile); /* not ours to delete */
			goto out;
		}
	}

	if (b->dockerfile_text)
		strbuf_addstr(&text, b->dockerfile_text);
	else if (read_text_file(dfile->buf, 1 << 20, &text) < 0) {
		ferr_set(e, 422, "build_failed", "cannot read %s: %s",
			 b->dockerfile ? b->dockerfile : "Dockerfile", strerror(errno));
		strbuf_reset(dfile);
		goto out;
	}
	if (image_dockerfile_base(text.buf, from) < 0) {
		ferr_set(e, 422, "build_failed", "%s has no FROM instruction",
			 b->dockerfile_text ? "the generated Dockerfile" :
			 b->dockerfile ? b->dockerfile : "Dockerfile");
		if (!b->dockerfile_text)
			strbuf_reset(dfile);
		goto out;
	}
	ret = 0;
out:
	strbuf_release(&text);
	return ret;
}

/* What buildah bud is run with besides the image_build: strings the
 * caller owns. */
struct bud_args {
	size_t nargs;           /* b->build_args */
	const char *timestamp;  /* seconds, as text */
	const char *label;      /* "org.opencontainers.image.revision=..." or NULL */
	const char *base_name;  /* "org.opencontainers.image.base.name=..." */
	const char *iidfile;
	const char *name;       /* the image's local name */
	const char *dockerfile; /* the file buildah reads */
};

/* buildah bud's argv, NULL-terminated (calloc'd; the strings stay b's,
 * a's and r's). */
static const char **bud_argv(struct registry *r, const struct image_build *b,
			     const struct bud_args *a)
{
	const char **argv = calloc(40 + SANDBOX_ARGS_MAX + 2 * a->nargs, sizeof(*argv));
	size_t argc = 0;

	if (!argv)
		abort();
	argv[argc++] = "buildah";
	/* FROM short names: ferry's registries.conf alone (no system drop-ins) */
	argv[argc++] = "--registries-conf-dir";
	argv[argc++] = registry_confdir(r);
	argv[argc++] = "bud";
	sandbox_buildah_args(b->sandbox, argv, &argc);
	argv[argc++] = "--layers=false";
	argv[argc++] = "--force-rm";
	argv[argc++] = "--format";
	argv[argc++] = "oci";
	argv[argc++] = "--timestamp";
	argv[argc++] = a->timestamp;
	/* buildah records the base image under the first name that image has
	 * in local storage (in the history's last comment and in the
	 * org.opencontainers.image.base.name annotation). That name depends on
	 * what else pulled the same image earlier, even another ferryd on the
	 * machine, so it would make digests of the same commit differ. Keep
	 * the history out and name the base as the Dockerfile writes it; the
	 * base.digest annotation still pins the exact base image. */
	argv[argc++] = "--omit-history";
	argv[argc++] = "--annotation";
	argv[argc++] = a->base_name;
	if (b->no_cache)
		argv[argc++] = "--no-cache";
	if (registry_insecure(r))
		argv[argc++] = "--tls-verify=false";
	if (a->label) {
		argv[argc++] = "--label";
		argv[argc++] = a->label;
	}
	for (size_t i = 0; i < a->nargs; i++) {
		argv[argc++] = "--build-arg";
		argv[argc++] = b->build_args[i];
	}
	argv[argc++] = "--iidfile";
	argv[argc++] = a->iidfile;
	argv[argc++] = "-t";
	argv[argc++] = a->name;
	argv[argc++] = "-f";
	argv[argc++] = a->dockerfile;
	argv[argc++] = b->context_dir;
	argv[argc] = NULL;
	return argv;
}

/* buildah bud's environment: the registry's, then the sandbox's
 * (calloc'd, NULL-terminated; the strings stay theirs). */
static const char **bud_env(struct registry *r, const struct sandbox *sb)
{
	const char **env;
	size_t nenv = 0;

	for (const char *const *p = registry_build_env(r); p && *p; p++)
		nenv++;
	for (const char *const *p = sandbox_env(sb); *p; p++)
		nenv++;
	env = calloc(nenv + 1, sizeof(*env));
	if (!env)
		abort();
	nenv = 0;
	for (const char *const *p = registry_build_env(r); p && *p; p++)
		env[nenv++] = *p;
	for (const char *const *p = sandbox_env(sb); *p; p++)
		env[nenv++] = *p;
	return env;
}

/* The image id buildah wrote to iidfile, as "sha256:HEX", into id (size
 * bytes). 0, or -1 with e set. */
static int read_image_id(const char *iidfile, char *id, size_t size, struct ferr *e)
{
	if (read_small_file(iidfile, id, size) < 0 || !id[0])
		return ferr_internal(e, "buildah bud succeeded but wrote no image id");
	if (strncmp(id, "sha256:", 7)) {
		/* older buildah writes the bare hex id */
		char tmp[72];
		int n = snprintf(tmp, sizeof(tmp), "sha256:%s", id);
		if (n < 0 || (size_t)n >= sizeof(tmp) || (size_t)n >= size)
			return ferr_internal(e, "buildah wrote an unexpected image id");
		memcpy(id, tmp, (size_t)n + 1);
	}
	return 0;
}

int image_build(struct registry *r, const struct image_build *b, const struct image_watch *w,
		struct image_local *out, struct ferr *e)
{
	static atomic_uint seq;
	struct strbuf name = STRBUF_INIT, iidfile = STRBUF_INIT, dfile = STRBUF_INIT;
	struct strbuf ts = STRBUF_INIT, label = STRBUF_INIT, tail = STRBUF_INIT;
	struct strbuf msg = STRBUF_INIT, from = STRBUF_INIT, base_name = STRBUF_INIT;
	struct bud_args a = { 0 };
	const char **argv = NULL, **env = NULL;
	int fd, status, ret = -1;

	*out = (struct image_local)IMAGE_LOCAL_INIT;
	if (build_check(b, &a.nargs, e) < 0)
		return -1;
	fd = scratch_file(&iidfile, "iid", e);
	if (fd < 0)
		goto out;
	close(fd);
	if (build_dockerfile(b, &dfile, &from, e) < 0)
		goto out;
	strbuf_addf(&base_name, "org.opencontainers.image.base.name=%s", from.buf);

	/* Unique per build, so that removing it never takes another build's
	 * image (two builds of one commit give the same image id). */
	strbuf_addf(&name, "localhost/ferry-build/%s:%s-%ld-%u",
		    b->repo, b->revision ? b->revision : "build",
		    (long)getpid(), atomic_fetch_add(&seq, 1));
	strbuf_addf(&ts, "%lld", b->timestamp);
	if (b->revision)
		strbuf_addf(&label, "org.opencontainers.image.revision=%s", b->revision);
	a.timestamp = ts.buf;
	a.label = b->revision ? label.buf : NULL;
	a.base_name = base_name.buf;
	a.iidfile = iidfile.buf;
	a.name = name.buf;
	a.dockerfile = dfile.buf;
	argv = bud_argv(r, b, &a);
	env = bud_env(r, b->sandbox);
	status = tool_run(env, argv, w, b->sandbox, NULL, &tail, e);
	if (status < 0)
		goto out;
	if (status != 0) {
		if (sandbox_explain(b->sandbox, tail.buf, e))
			goto out;
		image_error_line(tail.buf, &msg);
		ferr_set(e, 422, "build_failed", "buildah bud failed (exit %d): %s", status, msg.buf);
		goto out;
	}
	if (read_image_id(iidfile.buf, out->id, sizeof(out->id), e) < 0)
		goto out;
	out->name = strbuf_detach(&name, NULL);
	ret = 0;
out:
	if (iidfile.len)
		unlink(iidfile.buf);
	if (b->dockerfile_text && dfile.len)
		unlink(dfile.buf);
	free(argv);
	free(env);
	strbuf_release(&name);
	strbuf_release(&iidfile);
	strbuf_release(&dfile);
	strbuf_release(&ts);
	strbuf_release(&label);
	strbuf_release(&tail);
	strbuf_release(&msg);
	strbuf_release(&from);
	strbuf_release(&base_name);
	return ret;
}

int image_push(struct registry *r, const struct image_local *img, const char *repo,
	       const char *tag, const struct image_watch *w, struct image_pushed *out,
	       struct ferr *e)
{
	struct strbuf dest = STRBUF_INIT, dfile = STRBUF_INIT, tail = STRBUF_INIT;
	struct strbuf msg = STRBUF_INIT;
	const char *argv[12];
	size_t argc = 0;
	int fd, status, ret = -1;

	*out = (struct image_pushed)IMAGE_PUSHED_INIT;
	if (!img->name)
		return ferr_invalid(e, "no built image to push");
	if (!registry_valid_repo(repo))
		return ferr_invalid(e, "\"%s\" is not a valid image repository name", repo ? repo : "");
	if (!valid_tag(tag))
		return ferr_invalid(e, "\"%s\" is not a valid image tag", tag ? tag : "");
	fd = scratch_file(&dfile, "digest", e);
	if (fd < 0)
		goto out;
	close(fd);
	strbuf_addf(&dest, "docker://%s/%s:%s", registry_host(r), repo, tag);
	argv[argc++] = "buildah";
	argv[argc++] = "push";
	if (registry_insecure(r))
		argv[argc++] = "--tls-verify=false";
	argv[argc++] = "--digestfile";
	argv[argc++] = dfile.buf;
	argv[argc++] = img->name;
	argv[argc++] = dest.buf;
	argv[argc] = NULL;
	status = image_tool_run(r, argv, w, NULL, &tail, e);
	if (status < 0)
		goto out;
	if (status != 0) {
		image_error_line(tail.buf, &msg);
		ferr_set(e, 502, "push_failed", "buildah push to %s failed (exit %d): %s",
			 registry_host(r), status, msg.buf);
		goto out;
	}
	if (read_small_file(dfile.buf, out->digest, sizeof(out->digest)) < 0 ||
	    !registry_valid_digest(out->digest)) {
		out->digest[0] = '\0';
		ferr_internal(e, "buildah push succeeded but wrote no sha256 digest");
		goto out;
	}
	out->ref = registry_ref(r, repo, out->digest);
	ret = 0;
out:
	if (dfile.len)
		unlink(dfile.buf);
	strbuf_release(&dest);
	strbuf_release(&dfile);
	strbuf_release(&tail);
	strbuf_release(&msg);
	return ret;
}

int image_remove_local(struct registry *r, const struct image_local *img, struct ferr *e)
{
	const char *argv[] = { "buildah", "rmi", img->name, NULL };
	struct strbuf tail = STRBUF_INIT, msg = STRBUF_INIT;
	int status, ret = 0;

	if (!img->name)
		return 0;
	status = image_tool_run(r, argv, NULL, NULL, &tail, e);
	if (status < 0) {
		ret = -1;
	} else if (status != 0 && !strstr(tail.buf, "image not known") &&
		   !strstr(tail.buf, "no such image")) {
		image_error_line(tail.buf, &msg);
		ret = ferr_internal(e, "buildah rmi %s failed (exit %d): %s", img->name, status,
				    msg.buf);
	}
	strbuf_release(&tail);
	strbuf_release(&msg);
	return ret;
}

int image_remove_working_containers(struct registry *r, size_t *ret_removed, struct ferr *e)
{
	const char *list[] = { "buildah", "containers", "--json", NULL };
	struct strbuf out = STRBUF_INIT, tail = STRBUF_INIT, msg = STRBUF_INIT;
	json_t *arr = NULL, *c;
	size_t i;
	int status, ret = -1;

	*ret_removed = 0;
	status = image_tool_run(r, list, NULL, &out, &tail, e);
	if (status < 0)
		goto out;
	if (status != 0) {
		image_error_line(tail.buf, &msg);
		ferr_internal(e, "buildah containers failed (exit %d): %s", status, msg.buf);
		goto out;
	}
	arr = json_loads(out.len ? out.buf : "[]", JSON_DECODE_ANY, NULL);
	if (!json_is_array(arr)) {
		/* buildah prints "null" when there is none */
		ret = json_is_null(arr) ? 0 : ferr_internal(e, "buildah containers: not a JSON array");
		goto out;
	}
	ret = 0;
	json_array_foreach(arr, i, c) {
		const char *id = json_string_value(json_object_get(c, "id"));
		const char *rm[] = { "buildah", "rm", id, NULL };
		if (!id || strspn(id, "0123456789abcdef") != strlen(id) || !*id)
			continue;
		strbuf_reset(&tail);
		status = image_tool_run(r, rm, NULL, NULL, &tail, e);
		if (status == 0) {
			(*ret_removed)++;
		} else if (status > 0) {
			strbuf_reset(&msg);
			image_error_line(tail.buf, &msg);
			ret = ferr_internal(e, "buildah rm %.12s failed (exit %d): %s", id, status, msg.buf);
		} else {
			ret = -1;
		}
	}
out:
	json_decref(arr);
	strbuf_release(&out);
	strbuf_release(&tail);
	strbuf_release(&msg);
	return ret;
}

int image_replace(struct registry *r, const char *repo, const char *old_digest,
		  const char *new_digest, struct ferr *e)
{
	if (!old_digest || !*old_digest)
		return 0;
	if (!registry_valid_digest(new_digest))
		return ferr_invalid(e, "\"%s\" is not a sha256 digest", new_digest ? new_digest : "");
	if (!strcmp(old_digest, new_digest))
		return 0;
	if (registry_delete_manifest(r, repo, old_digest, e) < 0)
		return -1;
	return 1;
}

static void json_str(struct strbuf *sb, const char *s)
{
	strbuf_addch(sb, '"');
	for (; *s; s++) {
		if (*s == '"' || *s == '\\')
			strbuf_addch(sb, '\\');
		strbuf_addch(sb, *s);
	}
	strbuf_addch(sb, '"');
}

int image_static_dockerfile(const char *site_dir, int port, struct strbuf *out, struct ferr *e)
{
	struct strbuf src = STRBUF_INIT;

	if (!site_dir || !*site_dir)
		site_dir = ".";
	if (!valid_rel_path(site_dir))
		return ferr_invalid(e, "static site folder \"%s\" must be a path inside the "
				    "repository (relative, without \"..\")", site_dir);
	if (port < 1024 || port > 65535)
		return ferr_invalid(e, "static site port %d must be within 1024-65535 (the "
				    "server does not run as root)", port);
	strbuf_addstr(&src, site_dir);
	while (src.len > 1 && src.buf[src.len - 1] == '/')
		strbuf_setlen(&src, src.len - 1);
	strbuf_addch(&src, '/');
	strbuf_addstr(out,
		"# Generated by ferry: the built-in \"static\" buildpack.\n"
		"FROM ferry/busybox\n"
		"COPY --chown=65534:65534 [");
	json_str(out, src.buf);
	strbuf_addstr(out, ", \"/site/\"]\n"
		"USER 65534:65534\n"
		"WORKDIR /site\n");
	strbuf_addf(out, "EXPOSE %d\n", port);
	strbuf_addf(out, "ENTRYPOINT [\"/bin/httpd\", \"-f\", \"-v\", \"-p\", \"%d\", "
		    "\"-h\", \"/site\"]\n", port);
	strbuf_release(&src);
	return 0;
}

int image_tool_ok(struct registry *r, const char *const *argv, const struct image_watch *w,
		  struct strbuf *out, struct ferr *e)
{
	struct strbuf tail = STRBUF_INIT;
	int st = image_tool_run(r, argv, w, out, &tail, e);

	if (st > 0) {
		const char *last;
		while (tail.len && (tail.buf[tail.len - 1] == '\n' || tail.buf[tail.len - 1] == ' '))
			strbuf_setlen(&tail, tail.len - 1);
		last = strrchr(tail.buf, '\n');
		ferr_internal(e, "%s %s failed (exit %d): %s", argv[0], argv[1], st,
			      last ? last + 1 : tail.buf);
	}
	strbuf_release(&tail);
	return st == 0 ? 0 : -1;
}

void image_say(const struct image_watch *w, const char *fmt, ...)
{
	struct strbuf sb = STRBUF_INIT;
	va_list ap;

	va_start(ap, fmt);
	strbuf_vaddf(&sb, fmt, ap);
	va_end(ap);
	if (w && w->log)
		w->log(w->log_ctx, sb.buf, sb.len);
	strbuf_release(&sb);
}
