/* registry_wait: a bounded wait until the image registry answers, for work
 * that needs it next: a build's image step (buildah's FROM asks it for the
 * base image) and each push. A dead managed registry is started again by
 * ferryd's supervisor meanwhile; a frozen or unreachable one is waited for
 * only as long as the bound (ferryd --registry-wait, docs/ferryd.md).
 * A leaf of core: it knows no module above.
 */
#ifndef FERRY_CORE_REGISTRY_WAIT_H
#define FERRY_CORE_REGISTRY_WAIT_H

#include <sys/types.h>

#include "lib/error.h"

struct registry;
struct image_watch;

/* Asks r (GET /v2/, registry_ping) every 500 ms until it answers, at most
 * wait_s and within what watches the work that waits (w: its cancel flag
 * and deadline; its log gets "the registry ... is down (...): waiting up to
 * N s for it", then "the registry answers again"; w may be NULL).
 * pid_before: the managed registry's pid (registry_pid) before the work (0:
 * external). Returns 0 if it answered at once and was not restarted
 * meanwhile, 1 if it was down or restarted and answers now, or -1 with e
 * set: 499 "cancelled" when cancelled, 503 "registry_down" naming the
 * registry and its last error when it stayed down. */
int registry_wait(struct registry *r, int wait_s, const struct image_watch *w, pid_t pid_before,
		  struct ferr *e);

#endif
