/* POST /api/v1/hooks/<key>: push webhooks from GitHub and GitLab. Public:
 * the delivery proves itself with the component's secret (core/webhook.h). */
#include "api/handlers.h"

#include "api/ratelimit.h"
#include "core/webhook.h"
#include "lib/banned.h"

int h_hook(struct api_req *r, json_t **ret, struct ferr *e)
{
	struct webhook_delivery d = {
		.key = r->params[0],
		.github_event = api_header(r, "X-GitHub-Event"),
		.github_delivery = api_header(r, "X-GitHub-Delivery"),
		.github_signature = api_header(r, "X-Hub-Signature-256"),
		.gitlab_event = api_header(r, "X-Gitlab-Event"),
		.gitlab_token = api_header(r, "X-Gitlab-Token"),
		.gitlab_uuid = api_header(r, "X-Gitlab-Event-UUID"),
		.body = r->raw_body ? r->raw_body : "",
		.len = r->raw_body ? r->raw_len : 0,
	};
	int status = 200;
	unsigned wait = ratelimit_take(r->params[0]);

	/* Before the signature is checked: a flood costs no HMAC work. */
	if (wait) {
		ferr_set(e, 429, "too_many_requests", "too many webhook deliveries for this "
			 "component (at most %u a minute): try again in %u s",
			 ratelimit_per_minute(), wait);
		return ferr_retry_after(e, (int)wait);
	}
	if (webhook_receive(&d, &status, ret, e) < 0)
		return -1;
	r->status = status;
	return 0;
}
