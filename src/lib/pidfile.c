#include "lib/pidfile.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/strbuf.h"
#include "lib/banned.h"

void pidfile_path(struct strbuf *sb, const char *data_dir, enum pidfile_part part)
{
	static const char *const rel[] = {
		[PIDFILE_REGISTRY] = "registry/ferryd.pid",
		[PIDFILE_GATEWAY] = "gateway/haproxy.pid",
	};

	strbuf_addf(sb, "%s/%s", data_dir, rel[part]);
}

int pidfile_write(const char *path, pid_t pid)
{
	struct strbuf tmp = STRBUF_INIT;
	char text[32];
	int fd, len, ret = -1, err;

	len = snprintf(text, sizeof(text), "%d\n", (int)pid);
	strbuf_addf(&tmp, "%s.tmp", path);
	fd = open(tmp.buf, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0644);
	if (fd < 0)
		goto out;
	if (write(fd, text, (size_t)len) != len) {
		err = errno ? errno : EIO;
		close(fd);
		unlink(tmp.buf);
		errno = err;
		goto out;
	}
	if (close(fd) < 0 || rename(tmp.buf, path) < 0) {
		err = errno;
		unlink(tmp.buf);
		errno = err;
		goto out;
	}
	ret = 0;
out:
	strbuf_release(&tmp);
	return ret;
}

/* Reads at most cap-1 bytes of path into buf (NUL-terminated); the count,
 * or -1. */
static ssize_t read_small(const char *path, char *buf, size_t cap)
{
	struct strbuf sb = STRBUF_INIT;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n = -1;

	if (fd < 0)
		return -1;
	if (strbuf_read_fd(&sb, fd, cap - 1) >= 0) {
		memcpy(buf, sb.buf, sb.len + 1);
		n = (ssize_t)sb.len;
	}
	close(fd);
	strbuf_release(&sb);
	return n;
}

pid_t pidfile_read(const char *path)
{
	char buf[32], *end;
	long v;

	if (read_small(path, buf, sizeof(buf)) <= 0)
		return 0;
	errno = 0;
	v = strtol(buf, &end, 10);
	if (errno || end == buf || v <= 0 || v > 0x7fffffff || (*end && *end != '\n'))
		return 0;
	return (pid_t)v;
}

int pid_running(pid_t pid)
{
	char path[64], buf[256], *p;

	if (pid <= 0 || (kill(pid, 0) < 0 && errno != EPERM))
		return 0;
	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	if (read_small(path, buf, sizeof(buf)) <= 0)
		return 0;
	p = strrchr(buf, ')'); /* "pid (comm) S ..." */
	return p && p[1] == ' ' && p[2] != 'Z' && p[2] != 'X';
}

int pid_command_is(pid_t pid, const char *prog, const char *const *args, int n)
{
	char path[64], buf[8192];
	const char *argv[256], *base;
	ssize_t len;
	int argc = 0;

	if (!pid_running(pid))
		return 0;
	snprintf(path, sizeof(path), "/proc/%d/cmdline", (int)pid);
	len = read_small(path, buf, sizeof(buf));
	if (len <= 0)
		return 0;
	for (const char *p = buf; p < buf + len && argc < 256; p += strlen(p) + 1)
		argv[argc++] = p;
	base = strrchr(argv[0], '/');
	if (prog && strcmp(base ? base + 1 : argv[0], prog))
		return 0;
	for (int i = 1; i + n <= argc; i++) {
		int k = 0;
		while (k < n && !strcmp(argv[i + k], args[k]))
			k++;
		if (k == n)
			return 1;
	}
	return 0;
}
