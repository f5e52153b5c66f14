/* notify: a project's outgoing webhooks (notifications).
 *
 * A hook is a name, an http(s) URL, the events it wants (events.h), a body
 * format ("json", or "slack": a Slack-compatible {"text": ...}) and a secret
 * (sealed in the vault, write-only; generated and shown once when none is
 * given). Each event a hook wants becomes a delivery row in the store at
 * once, on the publisher's thread; notify's own sender threads POST it,
 * signed with X-Ferry-Signature-256: sha256=HMAC-SHA256(secret, body), and
 * retry with backoff (1 s, 4 s, 16 s ... at most 1 h apart, NOTIFY_MAX_ATTEMPTS
 * tries) on a network error, a timeout, 408, 429 or a 5xx answer. A build or
 * a rollout never waits for a receiver. Every try is in the delivery log;
 * finished deliveries are kept NOTIFY_KEEP_DAYS days.
 */
#ifndef FERRY_CORE_NOTIFY_H
#define FERRY_CORE_NOTIFY_H

#include <jansson.h>
#include <stdint.h>

#include "core/auth.h"
#include "core/events.h"
#include "lib/error.h"

#define NOTIFY_MAX_ATTEMPTS 8
#define NOTIFY_KEEP_DAYS 30
#define NOTIFY_MAX_HOOKS 20        /* per project */
#define NOTIFY_TIMEOUT_S 10        /* one try, connecting included */

struct notify_hook_input {
	const char *name;          /* ^[a-z][a-z0-9-]*$, at most 50 */
	const char *url;           /* http:// or https:// */
	json_t *events;            /* array of event names, or ["all"] */
	const char *format;        /* "json" (default) or "slack" */
	const char *secret;        /* NULL: generated, returned once */
};

/* Creates a hook of project (developers and admins). A URL on a loopback or
 * link-local address needs an admin token or ferryd --allow-local-repos,
 * as for repositories (repo_policy.h). *ret describes it; "secret" is in
 * it only when ferry generated one. */
int notify_hook_create(const struct principal *who, const char *project,
		       const struct notify_hook_input *in, json_t **ret, struct ferr *e);
/* The project's hooks (no secrets). */
int notify_hook_list(const struct principal *who, const char *project, json_t **ret, struct ferr *e);
/* Deletes a hook and its delivery log. */
int notify_hook_delete(const struct principal *who, const char *project, const char *name,
		       struct ferr *e);
/* Queues a "ping" delivery to the hook; *ret is the delivery. */
int notify_hook_test(const struct principal *who, const char *project, const char *name,
		     json_t **ret, struct ferr *e);
/* The delivery log of project, newest first: hook may be NULL (all),
 * limit 1..500. Each delivery has its tries. */
int notify_deliveries(const struct principal *who, const char *project, const char *hook, int limit,
		      json_t **ret, struct ferr *e);

/* The event subscriber (events.h): queues one delivery per hook of the
 * event's project that wants it, and wakes a sender. */
void notify_on_event(enum event_type type, int64_t id);

/* Starts the sender threads (deliveries a stop left half-sent are tried
 * again). Returns 0 or -1 with e set. */
int notify_start(struct ferr *e);
/* Stops them; a try in progress ends within NOTIFY_TIMEOUT_S. */
void notify_stop(void);

#endif
