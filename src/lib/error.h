/* ferr: the error object passed last to fallible functions.
 *
 * A function that fails returns a negative int and fills the ferr it was
 * given (if not NULL) with an HTTP-like status, a short machine code and a
 * human message. The first error set wins: lower-level detail is never
 * overwritten by a vaguer message from a caller (use ferr_prefix to add
 * context instead).
 */
#ifndef FERRY_ERROR_H
#define FERRY_ERROR_H

struct ferr {
	int status;       /* 400, 401, 403, 404, 409, 413, 422, 500, 502 ... */
	char code[32];    /* "invalid", "not_found", "conflict" ... */
	char msg[1024];   /* for people; never holds a secret value */
	int retry_after;  /* > 0: seconds a client should wait before trying
			   * again (429: the API's Retry-After header) */
};

#define FERR_INIT { 0, "", "", 0 }

/* Fills e (unless already set or NULL). Always returns -1. */
int ferr_set(struct ferr *e, int status, const char *code, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
/* Puts "context: " in front of an already set message. Returns -1. */
int ferr_prefix(struct ferr *e, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void ferr_clear(struct ferr *e);
/* Sets e's retry_after to seconds when e holds an error that has none yet
 * (a refusal the client may try again: 429). Returns -1. */
int ferr_retry_after(struct ferr *e, int seconds);
static inline int ferr_isset(const struct ferr *e) { return e && e->status; }

/* Shorthands for the common classes. */
#define ferr_invalid(e, ...)   ferr_set((e), 400, "invalid", __VA_ARGS__)
#define ferr_notfound(e, ...)  ferr_set((e), 404, "not_found", __VA_ARGS__)
#define ferr_conflict(e, ...)  ferr_set((e), 409, "conflict", __VA_ARGS__)
#define ferr_forbidden(e, ...) ferr_set((e), 403, "forbidden", __VA_ARGS__)
#define ferr_internal(e, ...)  ferr_set((e), 500, "internal", __VA_ARGS__)

#endif
