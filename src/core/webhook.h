/* webhook: push deliveries from git hosts, and the branch poller.
 *
 * Every component has a webhook URL (/api/v1/hooks/<key>) and a secret
 * (component.h). A delivery is:
 *
 *   GitHub  X-GitHub-Event: push | ping, X-GitHub-Delivery: <uuid>,
 *           X-Hub-Signature-256: sha256=<hex HMAC-SHA256 of the raw body
 *           keyed with the secret>
 *   GitLab  X-Gitlab-Event: Push Hook, X-Gitlab-Token: <the secret>,
 *           X-Gitlab-Event-UUID: <uuid> (optional)
 *
 * Signatures and tokens are compared in constant time. A verified push to
 * the component's branch, with auto-build on, queues a build of the pushed
 * head commit ("after"). Pushes to other branches, tags, branch deletions
 * and pings queue nothing and say why. A delivery id seen before (GitHub's
 * delivery id, GitLab's event UUID or else the SHA-256 of the body) queues
 * nothing the second time. Every delivery is recorded, verified or not, with
 * what it caused, and audited with actor "webhook".
 *
 * The poller is for repositories that cannot send webhooks: a component
 * with poll_interval > 0 has its branch fetched every poll_interval seconds,
 * and a changed head queues a build as a push would (auto-build on).
 */
#ifndef FERRY_WEBHOOK_H
#define FERRY_WEBHOOK_H

#include <jansson.h>
#include <stddef.h>

#include "core/auth.h"
#include "lib/error.h"

/* Longest poll interval accepted, in seconds (a day). */
#define WEBHOOK_POLL_MAX 86400

/* One delivery as received: the URL key, the headers that matter (NULL when
 * absent) and the raw body. */
struct webhook_delivery {
	const char *key;
	const char *github_event;
	const char *github_delivery;
	const char *github_signature;   /* X-Hub-Signature-256 */
	const char *gitlab_event;
	const char *gitlab_token;
	const char *gitlab_uuid;
	const char *body;
	size_t len;
};

/* Handles a delivery. Returns 0 with *ret_status (200: nothing queued,
 * 202: a build was queued) and *ret {delivery, queued, build, reason}; or
 * -1 with e set: 404 unknown key, 401 missing or wrong signature/token, 400
 * a body or header that is not a GitHub/GitLab push. Nothing is queued on
 * failure. Recorded either way (except an unknown key, which names no
 * component). */
int webhook_receive(const struct webhook_delivery *d, int *ret_status, json_t **ret,
		    struct ferr *e);

/* The deliveries of a component, newest first, at most limit (1..500):
 * {id, received_at, provider, event, delivery_id, verified, status, result,
 * build}. */
int webhook_deliveries(const struct principal *who, const char *project, const char *component,
		       int limit, json_t **ret, struct ferr *e);

/* Computes sha256=<hex> of body keyed with secret into out (72 bytes): what
 * GitHub sends in X-Hub-Signature-256. For tests and tools. */
void webhook_github_signature(const char *secret, const char *body, size_t len, char out[72]);

/* Starts and stops the poller thread. */
int webhook_poller_start(struct ferr *e);
void webhook_poller_stop(void);

/* Polls every component that is due once (the poller thread's work). */
void webhook_poll_tick(void);

#endif
