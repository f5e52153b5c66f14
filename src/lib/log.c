#include "log.h"

#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "banned.h"

static enum log_level min_level = LOG_INFO;
static const char *names[] = { "debug", "info", "warn", "error" };

void log_set_level(enum log_level min)
{
	min_level = min;
}

void log_msg(enum log_level lvl, int with_errno, const char *fmt, ...)
{
	int saved = errno;
	char line[4096], ts[40];
	struct timespec now;
	struct tm tm;
	size_t n;
	va_list ap;

	if (lvl < min_level)
		return;
	clock_gettime(CLOCK_REALTIME, &now);
	gmtime_r(&now.tv_sec, &tm);
	strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%S", &tm);
	n = (size_t)snprintf(line, sizeof(line), "ts=%s.%03ldZ level=%s ", ts,
			     now.tv_nsec / 1000000, names[lvl]);
	va_start(ap, fmt);
	if (n < sizeof(line))
		vsnprintf(line + n, sizeof(line) - n, fmt, ap);
	va_end(ap);
	if (with_errno) {
		char q[300];
		n = strlen(line);
		snprintf(line + n, sizeof(line) - n, " err=%s",
			 log_quote(q, sizeof(q), strerror(saved)));
	}
	/* One fputs per line keeps lines whole across threads. */
	n = strlen(line);
	if (n + 1 < sizeof(line)) {
		line[n] = '\n';
		line[n + 1] = '\0';
	}
	fputs(line, stderr);
	errno = saved;
}

const char *log_quote(char *buf, size_t size, const char *s)
{
	size_t o = 0;
	int need = (*s == '\0');

	for (const char *p = s; *p; p++)
		if (*p == ' ' || *p == '"' || *p == '=' || *p == '\\' || (unsigned char)*p < 0x20)
			need = 1;
	if (!need) {
		snprintf(buf, size, "%s", s);
		return buf;
	}
	if (size < 3) {
		if (size)
			buf[0] = '\0';
		return buf;
	}
	buf[o++] = '"';
	for (const char *p = s; *p && o + 3 < size; p++) {
		unsigned char c = (unsigned char)*p;
		if (c == '"' || c == '\\') {
			buf[o++] = '\\';
			buf[o++] = (char)c;
		} else if (c == '\n') {
			buf[o++] = '\\';
			buf[o++] = 'n';
		} else if (c < 0x20) {
			buf[o++] = ' ';
		} else {
			buf[o++] = (char)c;
		}
	}
	buf[o++] = '"';
	buf[o] = '\0';
	return buf;
}
