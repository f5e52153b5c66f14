/* Logging in logfmt, one line per event, to stderr.
 *
 * Callers write key=value fields: log_info("event=build_start build=%lld", id).
 * Values that may hold spaces go through log_quote(). No secret value may
 * ever be passed here. Library code returns errors and does not log; the
 * caller that decides what to do logs once.
 */
#ifndef FERRY_LOG_H
#define FERRY_LOG_H

#include <stddef.h>

enum log_level { LOG_DEBUG, LOG_INFO, LOG_WARN, LOG_ERROR };

void log_set_level(enum log_level min);
void log_msg(enum log_level lvl, int with_errno, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

#define log_debug(...) log_msg(LOG_DEBUG, 0, __VA_ARGS__)
#define log_info(...)  log_msg(LOG_INFO, 0, __VA_ARGS__)
#define log_warnx(...) log_msg(LOG_WARN, 0, __VA_ARGS__)
/* log_warn adds errno's text as err="...". */
#define log_warn(...)  log_msg(LOG_WARN, 1, __VA_ARGS__)
#define log_error(...) log_msg(LOG_ERROR, 0, __VA_ARGS__)

/* Writes s as a logfmt value (quoted and escaped when needed) into buf.
 * Returns buf. Truncates to size. */
const char *log_quote(char *buf, size_t size, const char *s);

#endif
