/* registry_wait: a bounded wait until the image registry answers, for work
 * that needs it next: a build's image step (buildah's FROM asks it for the
 * base image) and each push. A dead managed registry is started again by
 * ferryd's supervisor meanwhile; a frozen or unreachable one is waited for
 * only as long as the bound (ferryd --registry-wait, docs/ferryd.md).
 * A leaf of core: it knows no module above.
 */
#ifndef FERRY_CORE_REGISTRY_WAIT_H
#define FERRY_CORE_REGISTRY_WAIT_H

#include <stdatomic.h>
#include <stddef.h>
#include <sys/types.h>

#include "lib/error.h"

struct registry;

struct registry_wait {
	struct registry *registry;  /* the one to ask (GET /v2/, registry_ping) */
	int wait_s;                 /* the bound */
	const atomic_int *stop;     /* the caller's stop flag; NULL: none */
	long long deadline_ms;      /* CLOCK_MONOTONIC; 0: none */
	/* One line for the caller's log ("... is down ...: waiting up to N s",
	 * "... answers again"); NULL: none. */
	void (*note)(void *ctx, const char *line, size_t len);
	void *note_ctx;
};

/* Asks w->registry every 500 ms until it answers, at most w->wait_s and not
 * past w->deadline_ms, giving up when *w->stop is set. pid_before: the
 * managed registry's pid (registry_pid) before the work (0: external).
 * Returns 0 if it answered at once and was not restarted meanwhile, 1 if it
 * was down or restarted and answers now, or -1 with e set: 499 "cancelled"
 * when stopped, 503 "registry_down" naming the registry and its last error
 * when it stayed down. */
int registry_wait(const struct registry_wait *w, pid_t pid_before, struct ferr *e);

#endif
