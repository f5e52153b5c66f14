/* xalloc: allocation that cannot fail. Out of memory is not reportable in
 * a useful way for the small allocations ferry makes (as in git's
 * wrapper.c and strbuf), so these abort instead of returning NULL. Sizes
 * from outside input are capped before they get here. */
#ifndef FERRY_XALLOC_H
#define FERRY_XALLOC_H

#include <stddef.h>

/* malloc(n), at least one byte. Never NULL. */
void *xmalloc(size_t n);
/* calloc(n, size), at least one byte; aborts on overflow. Never NULL. */
void *xcalloc(size_t n, size_t size);
/* realloc(p, n), at least one byte. Never NULL. */
void *xrealloc(void *p, size_t n);
/* A copy of s; NULL for NULL. Free with free(). */
char *xstrdup(const char *s);

#endif
