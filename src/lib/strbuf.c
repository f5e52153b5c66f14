#include "strbuf.h"

#include <stdio.h>
#include <stdlib.h>
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "banned.h"

char strbuf_slopbuf[1];

static void *xrealloc(void *p, size_t n)
{
	void *r = realloc(p, n);
	if (!r)
		abort();
	return r;
}

void strbuf_init(struct strbuf *sb, size_t hint)
{
	sb->buf = strbuf_slopbuf;
	sb->len = 0;
	sb->alloc = 0;
	if (hint)
		strbuf_grow(sb, hint);
}

void strbuf_release(struct strbuf *sb)
{
	if (sb->alloc)
		free(sb->buf);
	strbuf_init(sb, 0);
}

char *strbuf_detach(struct strbuf *sb, size_t *ret_len)
{
	char *r;

	if (!sb->alloc)
		strbuf_grow(sb, 0);
	r = sb->buf;
	if (ret_len)
		*ret_len = sb->len;
	strbuf_init(sb, 0);
	return r;
}

void strbuf_grow(struct strbuf *sb, size_t extra)
{
	size_t need = sb->len + extra + 1;
	size_t n;

	if (need < sb->len)
		abort(); /* overflow */
	if (sb->alloc >= need)
		return;
	n = sb->alloc ? sb->alloc : 64;
	while (n < need)
		n = n * 3 / 2 + 16;
	if (!sb->alloc) {
		sb->buf = xrealloc(NULL, n);
		sb->buf[0] = '\0';
	} else {
		sb->buf = xrealloc(sb->buf, n);
	}
	sb->alloc = n;
}

void strbuf_add(struct strbuf *sb, const void *data, size_t len)
{
	strbuf_grow(sb, len);
	memcpy(sb->buf + sb->len, data, len);
	sb->len += len;
	sb->buf[sb->len] = '\0';
}

void strbuf_addstr(struct strbuf *sb, const char *s)
{
	strbuf_add(sb, s, strlen(s));
}

void strbuf_addch(struct strbuf *sb, char c)
{
	strbuf_add(sb, &c, 1);
}

void strbuf_vaddf(struct strbuf *sb, const char *fmt, va_list ap)
{
	va_list cp;
	int n;

	strbuf_grow(sb, 64);
	va_copy(cp, ap);
	n = vsnprintf(sb->buf + sb->len, sb->alloc - sb->len, fmt, cp);
	va_end(cp);
	if (n < 0)
		abort();
	if ((size_t)n >= sb->alloc - sb->len) {
		strbuf_grow(sb, (size_t)n);
		n = vsnprintf(sb->buf + sb->len, sb->alloc - sb->len, fmt, ap);
	}
	sb->len += (size_t)n;
}

void strbuf_addf(struct strbuf *sb, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	strbuf_vaddf(sb, fmt, ap);
	va_end(ap);
}

void strbuf_reset(struct strbuf *sb)
{
	strbuf_setlen(sb, 0);
}

void strbuf_setlen(struct strbuf *sb, size_t len)
{
	if (!sb->alloc) {
		if (len)
			abort();
		return;
	}
	if (len > sb->len)
		abort();
	sb->len = len;
	sb->buf[len] = '\0';
}

void strbuf_add_base64(struct strbuf *sb, const void *data, size_t n)
{
	const unsigned char *s = data;
	static const char tbl[] =
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	size_t i;

	for (i = 0; i + 2 < n; i += 3) {
		strbuf_addch(sb, tbl[s[i] >> 2]);
		strbuf_addch(sb, tbl[((s[i] & 3) << 4) | (s[i + 1] >> 4)]);
		strbuf_addch(sb, tbl[((s[i + 1] & 15) << 2) | (s[i + 2] >> 6)]);
		strbuf_addch(sb, tbl[s[i + 2] & 63]);
	}
	if (n - i == 1) {
		strbuf_addch(sb, tbl[s[i] >> 2]);
		strbuf_addch(sb, tbl[(s[i] & 3) << 4]);
		strbuf_addstr(sb, "==");
	} else if (n - i == 2) {
		strbuf_addch(sb, tbl[s[i] >> 2]);
		strbuf_addch(sb, tbl[((s[i] & 3) << 4) | (s[i + 1] >> 4)]);
		strbuf_addch(sb, tbl[(s[i + 1] & 15) << 2]);
		strbuf_addch(sb, '=');
	}
}

int strbuf_read_fd(struct strbuf *sb, int fd, size_t cap)
{
	for (;;) {
		size_t room;
		ssize_t n;
		char probe;

		if (sb->len >= cap) {
			/* full: one byte more tells a file that fits from one that does not */
			do
				n = read(fd, &probe, 1);
			while (n < 0 && errno == EINTR);
			return n < 0 ? -1 : n > 0;
		}
		room = cap - sb->len < 65536 ? cap - sb->len : 65536;
		strbuf_grow(sb, room);
		n = read(fd, sb->buf + sb->len, room);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		if (n == 0)
			return 0;
		sb->len += (size_t)n;
		sb->buf[sb->len] = '\0';
	}
}
