#include "error.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "banned.h"

int ferr_set(struct ferr *e, int status, const char *code, const char *fmt, ...)
{
	va_list ap;

	if (!e || e->status)
		return -1;
	e->status = status;
	snprintf(e->code, sizeof(e->code), "%s", code);
	va_start(ap, fmt);
	vsnprintf(e->msg, sizeof(e->msg), fmt, ap);
	va_end(ap);
	return -1;
}

int ferr_prefix(struct ferr *e, const char *fmt, ...)
{
	char pre[256], old[sizeof(e->msg)];
	va_list ap;

	if (!e || !e->status)
		return -1;
	va_start(ap, fmt);
	vsnprintf(pre, sizeof(pre), fmt, ap);
	va_end(ap);
	memcpy(old, e->msg, sizeof(old));
	if (snprintf(e->msg, sizeof(e->msg), "%s: %s", pre, old) >= (int)sizeof(e->msg))
		e->msg[sizeof(e->msg) - 1] = '\0'; /* truncated: keep what fits */
	return -1;
}

void ferr_clear(struct ferr *e)
{
	if (!e)
		return;
	e->status = 0;
	e->code[0] = '\0';
	e->msg[0] = '\0';
	e->retry_after = 0;
}

int ferr_retry_after(struct ferr *e, int seconds)
{
	if (e && e->status && !e->retry_after)
		e->retry_after = seconds;
	return -1;
}
