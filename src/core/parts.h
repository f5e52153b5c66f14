/* parts: what ferryd knows of the processes around it that it supervises
 * (the registry, HAProxy, the runtime's network helpers), for
 * /healthz?verbose=1, and the record of every restart.
 *
 * Supervisors report what each check found (parts_seen) and every restart
 * they made (parts_restarted: logged, recorded in the audit log with actor
 * "ferryd" and action "part.restarted", counted). The network helpers have
 * their own watcher here (parts_watch_start): every 2 s it asks the runtime
 * to check them and start again one that died.
 */
#ifndef FERRY_CORE_PARTS_H
#define FERRY_CORE_PARTS_H

#include <jansson.h>

#include "lib/error.h"

/* name: "registry", "gateway", "dns NETWORK". state: "up", "down", "idle".
 * detail may be NULL (else: why it is down). */
void parts_seen(const char *name, const char *state, int pid, const char *detail);

/* The supervisor started name again (why: what it found, e.g. "exited"). */
void parts_restarted(const char *name, int pid, const char *why);

/* {"NAME": {"state", "pid", "restarts", "last_restart", "detail"?}, ...}
 * for the names starting with prefix (NULL: all). New reference. */
json_t *parts_json(const char *prefix);

/* Starts / stops the network helpers' watcher. */
int parts_watch_start(struct ferr *e);
void parts_watch_stop(void);

#endif
