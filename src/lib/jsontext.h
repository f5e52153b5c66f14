/* jsontext: JSON strings from text that may not be UTF-8.
 *
 * jansson refuses strings that are not valid UTF-8 (json_string returns
 * NULL, json_pack fails), so output from programs, services and
 * repositories — which may hold any bytes — would silently vanish from an
 * answer. json_text never fails: each byte that does not start a valid
 * UTF-8 sequence becomes U+FFFD, and NUL becomes U+FFFD too.
 */
#ifndef FERRY_JSONTEXT_H
#define FERRY_JSONTEXT_H

#include <jansson.h>
#include <stddef.h>

/* A new JSON string for len bytes of s (s may be NULL when len is 0). */
json_t *json_text(const char *s, size_t len);
/* The same for a NUL-terminated string; NULL gives JSON null. */
json_t *json_text0(const char *s);

#endif
