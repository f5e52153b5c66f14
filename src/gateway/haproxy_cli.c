/* HAProxy's runtime API: one command per connection on the admin socket
 * (non-interactive mode: HAProxy answers and closes), and parsers for the
 * few answers the driver reads. */
#include "haproxy_int.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "lib/clock.h"
#include "lib/banned.h"

#define CLI_CAP (16u << 20)

/* Waits for ev on fd until deadline. 1 ready, 0 timeout, -1 error. */
static int wait_fd(int fd, short ev, long long deadline)
{
	for (;;) {
		struct pollfd p = { .fd = fd, .events = ev };
		long long left = deadline - mono_ms();
		int r;

		if (left <= 0)
			return 0;
		r = poll(&p, 1, (int)left);
		if (r < 0 && errno == EINTR)
			continue;
		return r < 0 ? -1 : r;
	}
}

int hap_cli(const char *sock, const char *cmd, struct strbuf *out, int timeout_ms,
	    struct ferr *e)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	long long deadline = mono_ms() + timeout_ms;
	size_t len = strlen(cmd), off = 0;
	char buf[16384];
	int fd, ret = -1;

	if (snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", sock) >= (int)sizeof(sa.sun_path))
		return ferr_internal(e, "gateway: socket path %s is too long for a unix socket",
				     sock);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return ferr_internal(e, "gateway: socket: %s", strerror(errno));
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 && errno != EINPROGRESS &&
	    errno != EAGAIN) {
		ferr_set(e, 502, "gateway_down", "gateway: cannot reach HAProxy at %s: %s",
			 sock, strerror(errno));
		goto out;
	}
	while (off < len + 1) {
		ssize_t n;

		if (wait_fd(fd, POLLOUT, deadline) <= 0)
			goto timeout;
		/* the command, then the newline that ends it */
		n = off < len ? send(fd, cmd + off, len - off, MSG_NOSIGNAL)
			      : send(fd, "\n", 1, MSG_NOSIGNAL);
		if (n < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (n < 0) {
			ferr_set(e, 502, "gateway_down", "gateway: writing to HAProxy at %s: %s",
				 sock, strerror(errno));
			goto out;
		}
		off += (size_t)n;
	}
	for (;;) {
		ssize_t n;

		if (wait_fd(fd, POLLIN, deadline) <= 0)
			goto timeout;
		n = recv(fd, buf, sizeof(buf), 0);
		if (n < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (n < 0) {
			ferr_set(e, 502, "gateway_down", "gateway: reading from HAProxy at %s: %s",
				 sock, strerror(errno));
			goto out;
		}
		if (n == 0)
			break;
		if (out->len + (size_t)n > CLI_CAP) {
			ferr_set(e, 502, "gateway_error", "gateway: HAProxy answer to \"%.40s\" "
				 "exceeds %u bytes", cmd, CLI_CAP);
			goto out;
		}
		strbuf_add(out, buf, (size_t)n);
	}
	ret = 0;
	goto out;
timeout:
	ferr_set(e, 502, "gateway_down", "gateway: HAProxy at %s did not answer \"%.40s\" "
		 "within %d ms", sock, cmd, timeout_ms);
out:
	close(fd);
	return ret;
}

static void rtrim(struct strbuf *sb)
{
	while (sb->len && (sb->buf[sb->len - 1] == '\n' || sb->buf[sb->len - 1] == ' ' ||
			   sb->buf[sb->len - 1] == '\r'))
		strbuf_setlen(sb, sb->len - 1);
}

int hap_cli_expect(const char *sock, const char *cmd, const char *const *ok, struct ferr *e)
{
	struct strbuf out = STRBUF_INIT;
	int ret = 0;

	if (hap_cli(sock, cmd, &out, 5000, e) < 0) {
		ret = -1;
		goto out;
	}
	rtrim(&out);
	if (!out.len)
		goto out;
	for (; ok && *ok; ok++)
		if (!strncmp(out.buf, *ok, strlen(*ok)))
			goto out;
	ret = ferr_set(e, 502, "gateway_error", "gateway: HAProxy refused \"%s\": %.300s",
		       cmd, out.buf);
out:
	strbuf_release(&out);
	return ret;
}

/* Splits line at sep into at most max fields (in place). Returns the count. */
static int split(char *line, char sep, char **f, int max)
{
	int n = 0;

	f[n++] = line;
	for (char *p = line; *p && n < max; p++)
		if (*p == sep) {
			*p = '\0';
			f[n++] = p + 1;
		}
	return n;
}

int hap_parse_stat_sessions(const char *csv, const char *srv)
{
	char *copy = strdup(csv), *line, *next, *f[128];
	int isv = -1, iscur = -1, iqcur = -1, ret = -1, n;

	if (!copy)
		abort();
	for (line = copy; line && *line; line = next) {
		next = strchr(line, '\n');
		if (next)
			*next++ = '\0';
		if (line[0] == '#') {
			/* "# pxname,svname,qcur,qmax,scur,...": find by name, as
			 * the column order is HAProxy's business */
			n = split(line + 2, ',', f, 128);
			for (int i = 0; i < n; i++) {
				if (!strcmp(f[i], "svname"))
					isv = i;
				else if (!strcmp(f[i], "scur"))
					iscur = i;
				else if (!strcmp(f[i], "qcur"))
					iqcur = i;
			}
			continue;
		}
		if (isv < 0 || iscur < 0 || iqcur < 0)
			break;
		n = split(line, ',', f, 128);
		if (n > isv && n > iscur && n > iqcur && !strcmp(f[isv], srv)) {
			ret = atoi(f[iscur]) + atoi(f[iqcur]);
			break;
		}
	}
	free(copy);
	return ret;
}

/* srv_admin_state bits (HAProxy's SRV_ADMF_*): forced/inherited/config/
 * resolver maintenance, forced/inherited drain. */
#define ADMF_MAINT (0x01 | 0x02 | 0x04 | 0x20)
#define ADMF_DRAIN (0x08 | 0x10)

int hap_parse_servers_state(const char *text, struct hap_server_line *out, size_t max)
{
	char *copy = strdup(text), *line, *next, *f[32];
	int count = 0, seen_header = 0;

	if (!copy)
		abort();
	for (line = copy; line && *line; line = next) {
		int n, admin;

		next = strchr(line, '\n');
		if (next)
			*next++ = '\0';
		if (line[0] == '#') {
			seen_header = 1;
			continue;
		}
		/* "1" (format version) comes first; a line of fields follows
		 * per server: be_id be_name srv_id srv_name srv_addr
		 * srv_op_state srv_admin_state ... srv_port (19th) ... */
		n = split(line, ' ', f, 32);
		if (n == 1)
			continue;
		if (!seen_header || n < 19) {
			count = -1;
			break;
		}
		admin = atoi(f[6]);
		if ((size_t)count < max) {
			struct hap_server_line *s = &out[count];
			snprintf(s->name, sizeof(s->name), "%s", f[3]);
			snprintf(s->addr, sizeof(s->addr), strchr(f[4], ':') ? "[%s]:%s" : "%s:%s",
				 f[4], f[18]);
			s->state = (admin & ADMF_MAINT) ? GATEWAY_SERVER_MAINT :
				   (admin & ADMF_DRAIN) ? GATEWAY_SERVER_DRAIN :
				   GATEWAY_SERVER_READY;
		}
		count++;
	}
	free(copy);
	return count;
}

void hap_parse_map(const char *text, void (*fn)(const char *key, const char *value, void *arg),
		   void *arg)
{
	char *copy = strdup(text), *line, *next, *f[3];

	if (!copy)
		abort();
	for (line = copy; line && *line; line = next) {
		next = strchr(line, '\n');
		if (next)
			*next++ = '\0';
		/* "0x55905a6f8b70 key value" */
		if (strncmp(line, "0x", 2) || split(line, ' ', f, 3) != 3)
			continue;
		fn(f[1], f[2], arg);
	}
	free(copy);
}

int hap_parse_max_slot(const char *text)
{
	const char *p = text;
	int max = -1;

	while (p && *p) {
		char *end;
		long v;

		if (p[0] == 'r' && p[1] >= '0' && p[1] <= '9') {
			v = strtol(p + 1, &end, 10);
			if ((*end == '\n' || !*end) && v < (long)HAP_MAX_SLOTS && v > max)
				max = (int)v;
		}
		p = strchr(p, '\n');
		if (p)
			p++;
	}
	return max;
}
