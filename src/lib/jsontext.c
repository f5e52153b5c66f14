#include "jsontext.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "strbuf.h"
#include "banned.h"

/* Length of the valid UTF-8 sequence at s (at most n bytes), or 0. */
static size_t utf8_seq(const unsigned char *s, size_t n)
{
	uint32_t cp;
	size_t len;

	if (s[0] < 0x80)
		return s[0] ? 1 : 0;
	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		len = 2, cp = s[0] & 0x1f;
	else if (s[0] >= 0xe0 && s[0] <= 0xef)
		len = 3, cp = s[0] & 0x0f;
	else if (s[0] >= 0xf0 && s[0] <= 0xf4)
		len = 4, cp = s[0] & 0x07;
	else
		return 0;
	if (len > n)
		return 0;
	for (size_t i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (s[i] & 0x3f);
	}
	/* Overlong forms, surrogates and code points past U+10FFFF. */
	if ((len == 3 && cp < 0x800) || (len == 4 && (cp < 0x10000 || cp > 0x10ffff)) ||
	    (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return len;
}

json_t *json_text(const char *s, size_t len)
{
	const unsigned char *u = (const unsigned char *)s;
	struct strbuf sb = STRBUF_INIT;
	json_t *j;
	size_t i = 0;

	if (len == 0)
		return json_string("");
	j = json_stringn(s, len);
	if (j && !memchr(s, '\0', len))
		return j;
	json_decref(j);
	strbuf_grow(&sb, len + 16);
	while (i < len) {
		size_t n = utf8_seq(u + i, len - i);
		if (n) {
			strbuf_add(&sb, u + i, n);
			i += n;
		} else {
			strbuf_addstr(&sb, "\xef\xbf\xbd"); /* U+FFFD */
			i++;
		}
	}
	j = json_stringn(sb.buf, sb.len);
	strbuf_release(&sb);
	if (!j)
		abort(); /* cannot happen: the text is valid UTF-8 now */
	return j;
}

json_t *json_text0(const char *s)
{
	return s ? json_text(s, strlen(s)) : json_null();
}
