#include "spawn.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "banned.h"

extern char **environ;

static char *find_in_path(const char *prog)
{
	const char *path = getenv("PATH");
	struct strbuf sb = STRBUF_INIT;

	if (strchr(prog, '/'))
		return strdup(prog);
	if (!path)
		path = "/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin";
	while (*path) {
		const char *end = strchrnul(path, ':');
		strbuf_reset(&sb);
		if (end == path)
			strbuf_addch(&sb, '.');
		else
			strbuf_add(&sb, path, (size_t)(end - path));
		strbuf_addch(&sb, '/');
		strbuf_addstr(&sb, prog);
		if (access(sb.buf, X_OK) == 0)
			return strbuf_detach(&sb, NULL);
		path = *end ? end + 1 : end;
	}
	strbuf_release(&sb);
	return NULL;
}

static size_t keylen(const char *kv)
{
	const char *eq = strchr(kv, '=');
	return eq ? (size_t)(eq - kv) : strlen(kv);
}

/* environ with the entries of extra replacing those of the same key. */
static char **build_env(const char *const *extra)
{
	size_t n = 0, m = 0, o = 0;
	char **out;

	while (environ[n])
		n++;
	while (extra && extra[m])
		m++;
	out = calloc(n + m + 1, sizeof(*out));
	if (!out)
		abort();
	for (size_t i = 0; i < n; i++) {
		int replaced = 0;
		for (size_t j = 0; j < m; j++)
			if (keylen(environ[i]) == keylen(extra[j]) &&
			    !strncmp(environ[i], extra[j], keylen(extra[j])))
				replaced = 1;
		if (!replaced)
			out[o++] = environ[i];
	}
	for (size_t j = 0; j < m; j++)
		out[o++] = (char *)extra[j];
	out[o] = NULL;
	return out;
}

static void child_fail(int fd, int err)
{
	ssize_t r = write(fd, &err, sizeof(err));
	(void)r;
	_exit(127);
}

int spawn_start(struct spawn *s, struct ferr *e)
{
	char *prog = find_in_path(s->argv[0]);
	char **env;
	int pfd[2], devnull, err = 0;
	pid_t pid, parent;
	ssize_t r;

	if (!prog)
		return ferr_internal(e, "%s: command not found in PATH", s->argv[0]);
	devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (devnull < 0 || pipe2(pfd, O_CLOEXEC) < 0) {
		if (devnull >= 0)
			close(devnull);
		free(prog);
		return ferr_internal(e, "spawn %s: %s", s->argv[0], strerror(errno));
	}
	env = build_env(s->env);
	parent = getpid();
	pid = fork();
	if (pid == 0) {
		int in = s->in_fd >= 0 ? s->in_fd : devnull;
		int out = s->out_fd >= 0 ? s->out_fd : devnull;
		int er = s->err_fd == -2 ? out : (s->err_fd >= 0 ? s->err_fd : devnull);
		sigset_t all;

		setpgid(0, 0);
		if (s->die_with_parent) {
			prctl(PR_SET_PDEATHSIG, SIGTERM);
			if (getppid() != parent) /* it died before prctl */
				_exit(127);
		}
		sigemptyset(&all);
		sigprocmask(SIG_SETMASK, &all, NULL);
		signal(SIGPIPE, SIG_DFL);
		if (dup2(in, 0) < 0 || dup2(out, 1) < 0 || dup2(er, 2) < 0)
			child_fail(pfd[1], errno);
		if (s->dir && chdir(s->dir) < 0)
			child_fail(pfd[1], errno);
		execve(prog, (char *const *)s->argv, env);
		child_fail(pfd[1], errno);
	}
	free(env);
	free(prog);
	close(pfd[1]);
	close(devnull);
	if (pid < 0) {
		close(pfd[0]);
		return ferr_internal(e, "fork: %s", strerror(errno));
	}
	setpgid(pid, pid); /* also in the parent: no race with spawn_kill */
	do
		r = read(pfd[0], &err, sizeof(err));
	while (r < 0 && errno == EINTR);
	close(pfd[0]);
	if (r == sizeof(err)) {
		waitpid(pid, NULL, 0);
		return ferr_internal(e, "cannot run %s: %s", s->argv[0], strerror(err));
	}
	s->pid = pid;
	return 0;
}

int spawn_wait(struct spawn *s)
{
	int st;

	while (waitpid(s->pid, &st, 0) < 0)
		if (errno != EINTR)
			return -1;
	s->pid = 0;
	if (WIFSIGNALED(st))
		return 128 + WTERMSIG(st);
	return WEXITSTATUS(st);
}

void spawn_kill(struct spawn *s, int sig)
{
	if (s->pid > 0)
		kill(-s->pid, sig);
}

/* poll()'s timeout until deadline (0: none, -1); -2 once it has passed. */
static int poll_wait_ms(long long deadline)
{
	long long left;

	if (!deadline)
		return -1;
	left = deadline - mono_ms();
	if (left <= 0)
		return -2;
	return (int)(left > INT_MAX ? INT_MAX : left);
}

int spawn_capture(const char *const *argv, const char *const *env, const char *dir,
		  struct strbuf *out, size_t cap, int timeout_ms, struct ferr *e)
{
	struct spawn s = SPAWN_INIT;
	long long deadline = timeout_ms > 0 ? mono_ms() + timeout_ms : 0;
	int pfd[2], timed_out = 0, status;
	char buf[8192];

	if (pipe2(pfd, O_CLOEXEC) < 0)
		return ferr_internal(e, "pipe: %s", strerror(errno));
	s.argv = argv;
	s.env = env;
	s.dir = dir;
	s.out_fd = pfd[1];
	s.err_fd = -2;
	if (spawn_start(&s, e) < 0) {
		close(pfd[0]);
		close(pfd[1]);
		return -1;
	}
	close(pfd[1]);
	for (;;) {
		struct pollfd p = { .fd = pfd[0], .events = POLLIN };
		int wait = poll_wait_ms(deadline);
		ssize_t n;

		if (wait == -2) {
			timed_out = 1;
			spawn_kill(&s, SIGKILL);
			break;
		}
		if (poll(&p, 1, wait) < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (!p.revents)
			continue;
		n = read(pfd[0], buf, sizeof(buf));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		if (out && out->len < cap)
			strbuf_add(out, buf, (size_t)n > cap - out->len ? cap - out->len : (size_t)n);
	}
	close(pfd[0]);
	status = spawn_wait(&s);
	if (timed_out)
		return ferr_set(e, 504, "timeout", "%s timed out after %d ms", argv[0], timeout_ms);
	return status;
}

/* Hands the complete lines of pending to on_line (all of it at_eof, or a
 * line that reached SPAWN_LINE_MAX); keeps the rest. Returns on_line's
 * first non-zero answer, else 0. */
static int emit_lines(const struct spawn_io *io, struct strbuf *pending, int at_eof)
{
	size_t start = 0;
	int stop = 0;

	while (!stop && start < pending->len) {
		char *nl = memchr(pending->buf + start, '\n', pending->len - start);
		size_t n = nl ? (size_t)(nl - (pending->buf + start)) : pending->len - start;

		if (!nl && !at_eof && n < SPAWN_LINE_MAX)
			break;
		if (n > SPAWN_LINE_MAX)
			n = SPAWN_LINE_MAX;
		stop = io->on_line(pending->buf + start, n, io->arg);
		start += n + (nl && pending->buf + start + n == nl);
	}
	memmove(pending->buf, pending->buf + start, pending->len - start);
	strbuf_setlen(pending, pending->len - start);
	return stop;
}

int spawn_pipe(const struct spawn_io *io, struct ferr *e)
{
	struct spawn s = SPAWN_INIT;
	long long deadline = io->timeout_ms > 0 ? mono_ms() + io->timeout_ms : 0;
	int ipipe[2] = { -1, -1 }, opipe[2], epipe[2], timed_out = 0, stopped = 0, status;
	struct strbuf pending = STRBUF_INIT;
	size_t written = 0;
	struct pollfd pf[3];
	char buf[8192];

	if (pipe2(ipipe, O_CLOEXEC) < 0)
		return ferr_internal(e, "pipe: %s", strerror(errno));
	if (pipe2(opipe, O_CLOEXEC) < 0) {
		close(ipipe[0]);
		close(ipipe[1]);
		return ferr_internal(e, "pipe: %s", strerror(errno));
	}
	if (pipe2(epipe, O_CLOEXEC) < 0) {
		close(ipipe[0]);
		close(ipipe[1]);
		close(opipe[0]);
		close(opipe[1]);
		return ferr_internal(e, "pipe: %s", strerror(errno));
	}
	s.argv = io->argv;
	s.env = io->env;
	s.in_fd = ipipe[0];
	s.out_fd = opipe[1];
	s.err_fd = epipe[1];
	if (spawn_start(&s, e) < 0) {
		close(ipipe[0]);
		close(ipipe[1]);
		close(opipe[0]);
		close(opipe[1]);
		close(epipe[0]);
		close(epipe[1]);
		return -1;
	}
	close(ipipe[0]);
	close(opipe[1]);
	close(epipe[1]);
	/* the child's stdin may fill while it writes: never block on it */
	fcntl(ipipe[1], F_SETFL, fcntl(ipipe[1], F_GETFL) | O_NONBLOCK);
	pf[0] = (struct pollfd){ .fd = opipe[0], .events = POLLIN };
	pf[1] = (struct pollfd){ .fd = epipe[0], .events = POLLIN };
	pf[2] = (struct pollfd){ .fd = ipipe[1], .events = POLLOUT };
	if (!io->in_len) {
		close(ipipe[1]);
		pf[2].fd = -1;
	}
	while (!stopped && (pf[0].fd >= 0 || pf[1].fd >= 0)) {
		int wait = poll_wait_ms(deadline), ready;

		if (wait == -2) {
			timed_out = 1;
			spawn_kill(&s, SIGKILL);
			break;
		}
		if (io->on_line && (wait < 0 || wait > 1000))
			wait = 1000;
		ready = poll(pf, 3, wait);
		if (ready < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (ready == 0 && io->on_line && io->on_line(NULL, 0, io->arg)) {
			stopped = 1;
			break;
		}
		if (pf[2].fd >= 0 && pf[2].revents) {
			ssize_t n = (pf[2].revents & POLLOUT) ?
				    write(pf[2].fd, io->in + written, io->in_len - written) : -1;
			if (n > 0)
				written += (size_t)n;
			if ((n < 0 && errno != EAGAIN && errno != EINTR) || written == io->in_len) {
				close(pf[2].fd);
				pf[2].fd = -1;
			}
		}
		for (int i = 0; i < 2; i++) {
			struct strbuf *sb = i ? io->err : io->out;
			size_t cap = i ? io->err_cap : io->out_cap;
			ssize_t n;

			if (pf[i].fd < 0 || !pf[i].revents)
				continue;
			n = read(pf[i].fd, buf, sizeof(buf));
			if (n < 0 && errno == EINTR)
				continue;
			if (n <= 0) {
				close(pf[i].fd);
				pf[i].fd = -1;
				if (!i && io->on_line && emit_lines(io, &pending, 1))
					stopped = 1;
				continue;
			}
			if (!i && io->on_line) {
				strbuf_add(&pending, buf, (size_t)n);
				if (emit_lines(io, &pending, 0))
					stopped = 1;
			} else if (sb && sb->len < cap) {
				strbuf_add(sb, buf, (size_t)n > cap - sb->len ? cap - sb->len : (size_t)n);
			}
		}
	}
	if (stopped)
		spawn_kill(&s, SIGKILL);
	for (int i = 0; i < 3; i++)
		if (pf[i].fd >= 0)
			close(pf[i].fd);
	strbuf_release(&pending);
	status = spawn_wait(&s);
	if (timed_out)
		return ferr_set(e, 504, "timeout", "%s timed out after %d ms", io->argv[0], io->timeout_ms);
	return status;
}
