/* libFuzzer target: webhook deliveries (core/webhook), GitHub and GitLab
 * push payloads from anyone who can reach the webhook URL. The delivery is
 * signed with the component's real secret (GitHub's X-Hub-Signature-256,
 * GitLab's X-Gitlab-Token), so the fuzzer gets past the signature into the
 * payload parser; one input in eight carries a wrong signature instead.
 * Checks, besides ASan/UBSan: an answer is 200 or 202, a refusal a 4xx,
 * never a 5xx.
 *
 * The first byte picks: bit 0 GitHub/GitLab, bits 1-2 the event header,
 * bits 3-5 == 0 a wrong signature. The rest is the body. */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "core/webhook.h"
#include "fuzz_world.h"

#include "lib/banned.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const github_events[] = { "push", "ping", "create", "pull_request" };
	static const char *const gitlab_events[] = { "Push Hook", "Tag Push Hook", "System Hook", "" };
	static unsigned long long n;
	const struct fuzz_world *w = fuzz_world();
	struct webhook_delivery d = { 0 };
	struct ferr e = FERR_INIT;
	char sig[72], id[32];
	json_t *ret = NULL;
	int status = 0, rc, good;

	if (size < 1)
		return 0;
	good = (data[0] >> 3) & 7;
	snprintf(id, sizeof(id), "fuzz-%llu", ++n); /* never a replay */
	d.key = w->hook_key;
	d.body = (const char *)data + 1;
	d.len = size - 1;
	if (!(data[0] & 1)) {
		d.github_event = github_events[(data[0] >> 1) & 3];
		d.github_delivery = id;
		webhook_github_signature(good ? w->hook_secret : "not-the-secret", d.body, d.len, sig);
		d.github_signature = sig;
	} else {
		d.gitlab_event = gitlab_events[(data[0] >> 1) & 3];
		d.gitlab_uuid = id;
		d.gitlab_token = good ? w->hook_secret : "not-the-secret";
	}
	rc = webhook_receive(&d, &status, &ret, &e);
	if (rc == 0 && status != 200 && status != 202)
		abort();
	if (rc < 0 && (e.status < 400 || e.status > 499)) {
		fprintf(stderr, "webhook_receive: %d %s\n", e.status, e.msg);
		abort();
	}
	if (!good && rc == 0)
		abort(); /* a wrong signature got through */
	json_decref(ret);
	return 0;
}
