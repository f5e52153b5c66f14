/* strbuf: a growable string buffer.
 *
 * Invariants (as git's strbuf.h): buf is never NULL, always NUL-terminated,
 * len is the length without the NUL. A strbuf initialised with STRBUF_INIT
 * points at a shared empty string and allocates on the first add.
 * Allocation failure aborts: a daemon that cannot allocate a few bytes
 * cannot report anything useful either.
 */
#ifndef FERRY_STRBUF_H
#define FERRY_STRBUF_H

#include <stdarg.h>
#include <stddef.h>

struct strbuf {
	char *buf;
	size_t len;
	size_t alloc;
};

extern char strbuf_slopbuf[];
#define STRBUF_INIT { strbuf_slopbuf, 0, 0 }

void strbuf_init(struct strbuf *sb, size_t hint);
/* Frees the contents; sb is left as STRBUF_INIT. */
void strbuf_release(struct strbuf *sb);
/* Hands the buffer to the caller (free() it); sb is left as STRBUF_INIT. */
char *strbuf_detach(struct strbuf *sb, size_t *ret_len);
void strbuf_grow(struct strbuf *sb, size_t extra);
void strbuf_add(struct strbuf *sb, const void *data, size_t len);
void strbuf_addstr(struct strbuf *sb, const char *s);
void strbuf_addch(struct strbuf *sb, char c);
void strbuf_addf(struct strbuf *sb, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void strbuf_vaddf(struct strbuf *sb, const char *fmt, va_list ap);
void strbuf_reset(struct strbuf *sb);
/* Appends n bytes of data as base64 (RFC 4648, with padding). */
void strbuf_add_base64(struct strbuf *sb, const void *data, size_t n);
void strbuf_setlen(struct strbuf *sb, size_t len);

/* Appends what fd gives from its offset to its end (a file, a pipe),
 * retrying on EINTR; fd stays open. sb holds at most cap bytes in all (its
 * earlier contents included). Returns 0 at end of file; 1 when cap was
 * reached with more to read (sb keeps the first cap bytes; callers that
 * refuse larger input say so, callers that want a prefix take it); -1 with
 * errno on a read error (sb keeps what was read). */
int strbuf_read_fd(struct strbuf *sb, int fd, size_t cap);

#endif
