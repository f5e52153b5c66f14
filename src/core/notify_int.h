/* Internals shared by notify.c (hooks, queueing, the log), notify_describe.c
 * (what an event says) and notify_send.c (the sender threads). */
#ifndef FERRY_CORE_NOTIFY_INT_H
#define FERRY_CORE_NOTIFY_INT_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "core/events.h"
#include "lib/error.h"

/* What event type says about object id: its project (id and name), the
 * object as JSON (new reference) and one line for people (malloc'd).
 * Returns 0, or -1 with e set (404 when the object is gone). */
int notify_describe(enum event_type type, int64_t id, int64_t *ret_project_id, char ret_project[64],
		    json_t **ret_data, char **ret_text, struct ferr *e);

/* The hook's secret, unsealed (wipe and free with vault_plain_free). */
int notify_secret_open(int64_t project_id, const char *hook, const void *blob, size_t len,
		       char **ret, size_t *ret_len, struct ferr *e);

/* Wakes a sender thread: a delivery was queued. */
void notify_wake(void);

#endif
