#include "webhook.h"

#include <pthread.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/audit.h"
#include "core/build.h"
#include "core/component.h"
#include "core/gitcreds.h"
#include "core/core.h"
#include "lib/log.h"
#include "lib/strbuf.h"
#include "pipeline/git.h"
#include "store/store.h"
#include "lib/banned.h"

struct hook_target {
	int64_t id;
	int64_t project_id;
	char project[64];
	char name[64];
	char branch[256];
	int auto_build;
};

static int target_by_key(const char *key, struct hook_target *t, struct ferr *e)
{
	sqlite3_stmt *st;
	int rc;

	if (!key || strlen(key) != 32 || strspn(key, "0123456789abcdef") != 32)
		return ferr_notfound(e, "no such webhook");
	st = store_stmt("SELECT c.id, c.project_id, p.name, c.name, c.branch, c.auto_build FROM components c"
			" JOIN projects p ON p.id = c.project_id WHERE c.webhook_key = ?");
	sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		t->id = sqlite3_column_int64(st, 0);
		t->project_id = sqlite3_column_int64(st, 1);
		snprintf(t->project, sizeof(t->project), "%s", sqlite3_column_text(st, 2));
		snprintf(t->name, sizeof(t->name), "%s", sqlite3_column_text(st, 3));
		snprintf(t->branch, sizeof(t->branch), "%s", sqlite3_column_text(st, 4));
		t->auto_build = sqlite3_column_int(st, 5);
	}
	sqlite3_reset(st);
	if (rc == SQLITE_DONE)
		return ferr_notfound(e, "no such webhook");
	if (rc != SQLITE_ROW)
		return store_error(e, "find webhook");
	return 0;
}

void webhook_github_signature(const char *secret, const char *body, size_t len, char out[72])
{
	unsigned char mac[crypto_auth_hmacsha256_BYTES];
	crypto_auth_hmacsha256_state st;

	crypto_auth_hmacsha256_init(&st, (const unsigned char *)secret, strlen(secret));
	crypto_auth_hmacsha256_update(&st, (const unsigned char *)body, len);
	crypto_auth_hmacsha256_final(&st, mac);
	memcpy(out, "sha256=", 7);
	sodium_bin2hex(out + 7, 65, mac, sizeof(mac));
	sodium_memzero(&st, sizeof(st));
}

/* Constant-time check of X-Hub-Signature-256 against the body. */
static int github_verify(const char *secret, const struct webhook_delivery *d, struct ferr *e)
{
	unsigned char want[crypto_auth_hmacsha256_BYTES], got[crypto_auth_hmacsha256_BYTES];
	crypto_auth_hmacsha256_state st;
	size_t n = 0;
	int ok;

	if (!d->github_signature)
		return ferr_set(e, 401, "unauthorized",
				"missing X-Hub-Signature-256: set the webhook's secret in the git host");
	if (strncmp(d->github_signature, "sha256=", 7) || strlen(d->github_signature) != 71 ||
	    sodium_hex2bin(got, sizeof(got), d->github_signature + 7, 64, NULL, &n, NULL) < 0 ||
	    n != sizeof(got))
		return ferr_set(e, 401, "unauthorized", "X-Hub-Signature-256 is not sha256=<64 hex digits>");
	crypto_auth_hmacsha256_init(&st, (const unsigned char *)secret, strlen(secret));
	crypto_auth_hmacsha256_update(&st, (const unsigned char *)d->body, d->len);
	crypto_auth_hmacsha256_final(&st, want);
	sodium_memzero(&st, sizeof(st));
	ok = sodium_memcmp(want, got, sizeof(want)) == 0;
	sodium_memzero(want, sizeof(want));
	if (!ok)
		return ferr_set(e, 401, "unauthorized",
				"X-Hub-Signature-256 does not match the body: is the webhook secret right?");
	return 0;
}

static int gitlab_verify(const char *secret, const struct webhook_delivery *d, struct ferr *e)
{
	size_t n = strlen(secret);

	if (!d->gitlab_token)
		return ferr_set(e, 401, "unauthorized",
				"missing X-Gitlab-Token: set the webhook's secret token in GitLab");
	/* The length is not secret (it is always 64); the content is. */
	if (strlen(d->gitlab_token) != n || sodium_memcmp(d->gitlab_token, secret, n) != 0)
		return ferr_set(e, 401, "unauthorized", "X-Gitlab-Token does not match the webhook secret");
	return 0;
}

static int64_t record(const struct hook_target *t, const char *provider, const char *event,
		      const char *delivery_id, int verified, int status, const char *result,
		      int64_t build)
{
	sqlite3_stmt *st;
	char now[32];
	int64_t id = 0;

	store_now(now);
	st = store_stmt("INSERT INTO webhook_deliveries (component_id, received_at, provider, event,"
			" delivery_id, verified, status, result, build_id) VALUES (?,?,?,?,?,?,?,?,nullif(?,0))");
	sqlite3_bind_int64(st, 1, t->id);
	sqlite3_bind_text(st, 2, now, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, provider, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, event, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 5, delivery_id, -1, SQLITE_STATIC);
	sqlite3_bind_int(st, 6, verified);
	sqlite3_bind_int(st, 7, status);
	sqlite3_bind_text(st, 8, result, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 9, build);
	if (sqlite3_step(st) == SQLITE_DONE)
		id = sqlite3_last_insert_rowid(store_db());
	else
		log_error("event=webhook_record_failed component=%lld err=\"%s\"", (long long)t->id,
			  sqlite3_errmsg(store_db()));
	sqlite3_reset(st);
	return id;
}

static void audit(const struct hook_target *t, int status, const char *result)
{
	char object[160];

	snprintf(object, sizeof(object), "component %s/%s", t->project, t->name);
	audit_record(NULL, "webhook", "webhook.delivery", object, t->project, status, result);
}

/* What a push means for the component: 1 and the sha to build, or 0 and
 * why nothing is built (into why). */
static int push_wants_build(const struct hook_target *t, json_t *body, const char **ret_after,
			    struct strbuf *why, struct ferr *e)
{
	const char *ref = json_string_value(json_object_get(body, "ref"));
	const char *after = json_string_value(json_object_get(body, "after"));
	const char *branch;

	if (!ref || !after)
		return ferr_invalid(e, "the push payload has no \"ref\" and \"after\"");
	if (strlen(after) != 40 || strspn(after, "0123456789abcdef") != 40)
		return ferr_invalid(e, "the push payload's \"after\" is not a 40-digit commit id");
	if (!strncmp(ref, "refs/tags/", 10)) {
		strbuf_addf(why, "nothing queued: %s is a tag push", ref);
		return 0;
	}
	if (strncmp(ref, "refs/heads/", 11)) {
		strbuf_addf(why, "nothing queued: %s is not a branch", ref);
		return 0;
	}
	branch = ref + 11;
	if (!strcmp(after, "0000000000000000000000000000000000000000") ||
	    json_is_true(json_object_get(body, "deleted"))) {
		strbuf_addf(why, "nothing queued: branch %s was deleted", branch);
		return 0;
	}
	if (strcmp(branch, t->branch)) {
		strbuf_addf(why, "nothing queued: push to branch %s; %s/%s builds branch %s", branch,
			    t->project, t->name, t->branch);
		return 0;
	}
	if (!t->auto_build) {
		strbuf_addf(why, "nothing queued: auto-build is off for %s/%s", t->project, t->name);
		return 0;
	}
	*ret_after = after;
	return 1;
}

/* The provider of delivery d (from its headers) into *ret_provider, its
 * event into *ret_event, and its delivery id into did: the provider's (at
 * most 200 bytes), else the SHA-256 of the body. -1 with e set, the
 * delivery recorded and audited, when it is neither GitHub's nor
 * GitLab's. */
static int delivery_identify(const struct hook_target *t, const struct webhook_delivery *d,
			     const char **ret_provider, const char **ret_event, struct strbuf *did,
			     struct ferr *e)
{
	if (d->github_event) {
		*ret_provider = "github";
		*ret_event = d->github_event;
		if (d->github_delivery && *d->github_delivery)
			strbuf_addstr(did, d->github_delivery);
	} else if (d->gitlab_event || d->gitlab_token) {
		*ret_provider = "gitlab";
		*ret_event = d->gitlab_event ? d->gitlab_event : "";
		if (d->gitlab_uuid && *d->gitlab_uuid)
			strbuf_addstr(did, d->gitlab_uuid);
	} else {
		ferr_invalid(e, "not a GitHub or GitLab webhook: no X-GitHub-Event or X-Gitlab-Event header");
		record(t, "unknown", NULL, NULL, 0, 400, e->msg, 0);
		audit(t, 400, e->msg);
		return -1;
	}
	if (did->len > 200)
		strbuf_setlen(did, 200);
	if (!did->len) {
		unsigned char h[crypto_hash_sha256_BYTES];
		char hex[2 * sizeof(h) + 1];
		crypto_hash_sha256(h, (const unsigned char *)d->body, d->len);
		sodium_bin2hex(hex, sizeof(hex), h, sizeof(h));
		strbuf_addf(did, "body-sha256:%s", hex);
	}
	return 0;
}

/* Whether a verified delivery asks for a build: 1 with the commit in
 * *ret_after (inside *ret_body, which the caller frees), 0 with why saying
 * why not (a ping, not a push, auto-build off, another branch), or -1 with
 * e set, the delivery recorded and audited (a payload that cannot be
 * read). */
static int delivery_wants_build(const struct hook_target *t, const struct webhook_delivery *d,
				const char *provider, const char *event, const char *did,
				json_t **ret_body, const char **ret_after, struct strbuf *why,
				struct ferr *e)
{
	json_error_t je;
	json_t *body;
	int wants;

	if (!strcmp(provider, "github") && !strcmp(event, "ping")) {
		strbuf_addstr(why, "pong: the webhook works (ping events queue nothing)");
		return 0;
	}
	if ((!strcmp(provider, "github") && strcmp(event, "push")) ||
	    (!strcmp(provider, "gitlab") && strcmp(event, "Push Hook"))) {
		strbuf_addf(why, "nothing queued: %s event \"%s\" is not a push", provider, event);
		return 0;
	}
	body = *ret_body = json_loadb(d->body, d->len, 0, &je);
	if (!body && d->len >= 8 && !memcmp(d->body, "payload=", 8)) {
		ferr_invalid(e, "the payload is form-encoded: set the webhook's content type to application/json");
		wants = -1;
	} else if (!json_is_object(body)) {
		ferr_invalid(e, "the push payload is not a JSON object%s%s", body ? "" : ": ",
			     body ? "" : je.text);
		wants = -1;
	} else {
		wants = push_wants_build(t, body, ret_after, why, e);
	}
	if (wants < 0) {
		record(t, provider, event, did, 1, 400, e->msg, 0);
		audit(t, 400, e->msg);
	}
	return wants;
}

/* Records a verified delivery. A replay (an earlier verified copy of the
 * same delivery id, in *ret_dup_of with its build in *ret_dup_build) is
 * recognised inside the write transaction that records it, so two copies
 * racing still queue one build: it queues nothing (*wants cleared, why
 * says so). Returns the delivery's id, or 0 with e set. */
static int64_t record_verified(const struct hook_target *t, const char *provider, const char *event,
			       const char *did, int *wants, struct strbuf *why, int64_t *ret_dup_of,
			       int64_t *ret_dup_build, struct ferr *e)
{
	sqlite3_stmt *st;
	int64_t delivery;

	if (store_begin(e) < 0)
		return 0;
	st = store_stmt("SELECT id, coalesce(build_id, 0) FROM webhook_deliveries WHERE component_id = ?"
			" AND delivery_id = ? AND verified = 1 AND status < 300 ORDER BY id LIMIT 1");
	sqlite3_bind_int64(st, 1, t->id);
	sqlite3_bind_text(st, 2, did, -1, SQLITE_STATIC);
	if (sqlite3_step(st) == SQLITE_ROW) {
		*ret_dup_of = sqlite3_column_int64(st, 0);
		*ret_dup_build = sqlite3_column_int64(st, 1);
	}
	sqlite3_reset(st);
	if (*ret_dup_of) {
		strbuf_reset(why);
		strbuf_addf(why, "nothing queued: delivery %s was already received (delivery %lld)",
			    did, (long long)*ret_dup_of);
		*wants = 0;
	}
	delivery = record(t, provider, event, did, 1, *wants ? 202 : 200,
			  *wants ? "queueing a build" : why->buf, 0);
	if (!delivery) {
		store_rollback();
		store_error(e, "record delivery");
		return 0;
	}
	if (store_commit(e) < 0)
		return 0;
	return delivery;
}

/* Queues the build of after that delivery asked for and records the
 * result with it (why says it). Returns the build's id, or -1 with e set
 * (audited). */
static int64_t delivery_queue_build(const struct hook_target *t, const char *provider, const char *did,
				    const char *after, int64_t delivery, struct strbuf *why,
				    struct ferr *e)
{
	struct strbuf by = STRBUF_INIT;
	sqlite3_stmt *st;
	int64_t build;

	strbuf_addf(&by, "%s delivery %.40s", provider, did);
	build = build_queue(t->id, after, "webhook", by.buf, e);
	strbuf_release(&by);
	strbuf_reset(why);
	if (build < 0)
		strbuf_addf(why, "could not queue a build: %s", e->msg);
	else
		strbuf_addf(why, "queued build %lld of %s", (long long)build, after);
	st = store_stmt("UPDATE webhook_deliveries SET result = ?, status = ?, build_id = nullif(?, 0)"
			" WHERE id = ?");
	sqlite3_bind_text(st, 1, why->buf, -1, SQLITE_STATIC);
	/* over the cap on queued builds the delivery says so (429), as the
	 * answer to the git host does */
	sqlite3_bind_int(st, 2, build > 0 ? 202 : e->status == 429 ? 429 : 500);
	sqlite3_bind_int64(st, 3, build > 0 ? build : 0);
	sqlite3_bind_int64(st, 4, delivery);
	store_run_logged(st, "record the webhook delivery's result");
	if (build < 0)
		audit(t, e->status == 429 ? 429 : 500, why->buf);
	return build;
}

int webhook_receive(const struct webhook_delivery *d, int *ret_status, json_t **ret,
		    struct ferr *e)
{
	struct hook_target t;
	struct strbuf why = STRBUF_INIT, did = STRBUF_INIT;
	const char *provider, *event, *after = NULL;
	char secret[65];
	json_t *body = NULL;
	int64_t delivery = 0, build = 0, dup_of = 0, dup_build = 0;
	int rc, ret_code = -1, wants;

	if (target_by_key(d->key, &t, e) < 0)
		return -1;
	if (delivery_identify(&t, d, &provider, &event, &did, e) < 0)
		goto out;
	if (component_webhook_secret(t.id, secret, e) < 0)
		goto out;
	rc = !strcmp(provider, "github") ? github_verify(secret, d, e) : gitlab_verify(secret, d, e);
	sodium_memzero(secret, sizeof(secret));
	if (rc < 0) {
		record(&t, provider, event, did.buf, 0, 401, e->msg, 0);
		audit(&t, 401, e->msg);
		log_warnx("event=webhook_rejected component=%s/%s provider=%s err=\"%s\"", t.project, t.name,
			  provider, e->msg);
		goto out;
	}

	/* Verified from here on. */
	wants = delivery_wants_build(&t, d, provider, event, did.buf, &body, &after, &why, e);
	if (wants < 0)
		goto out;
	delivery = record_verified(&t, provider, event, did.buf, &wants, &why, &dup_of, &dup_build, e);
	if (!delivery)
		goto out;
	if (wants && (build = delivery_queue_build(&t, provider, did.buf, after, delivery, &why, e)) < 0)
		goto out;
	audit(&t, build > 0 ? 202 : 200, why.buf);
	log_info("event=webhook component=%s/%s provider=%s event=%s delivery=%lld build=%lld",
		 t.project, t.name, provider, event, (long long)delivery, (long long)build);
	*ret_status = build > 0 ? 202 : 200;
	*ret = json_pack("{s:I, s:b, s:o, s:s, s:b}", "delivery", (json_int_t)delivery,
			 "queued", build > 0,
			 "build", build > 0 ? json_integer(build) : dup_build ? json_integer(dup_build) : json_null(),
			 "reason", why.buf, "duplicate", dup_of != 0);
	ret_code = 0;
out:
	json_decref(body);
	strbuf_release(&why);
	strbuf_release(&did);
	return ret_code;
}

int webhook_deliveries(const struct principal *who, const char *project, const char *component,
		       int limit, json_t **ret, struct ferr *e)
{
	sqlite3_stmt *st;
	json_t *arr;
	int64_t cid;
	int rc;

	if (component_lookup(who, project, component, NULL, &cid, e) < 0)
		return -1;
	if (limit <= 0 || limit > 500)
		limit = 50;
	st = store_stmt("SELECT id, received_at, provider, event, delivery_id, verified, status, result, build_id"
			" FROM webhook_deliveries WHERE component_id = ? ORDER BY id DESC LIMIT ?");
	sqlite3_bind_int64(st, 1, cid);
	sqlite3_bind_int(st, 2, limit);
	arr = json_array();
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		json_t *o = json_object();
		json_object_set_new(o, "id", json_integer(sqlite3_column_int64(st, 0)));
		json_object_set_new(o, "received_at", json_string((const char *)sqlite3_column_text(st, 1)));
		json_object_set_new(o, "provider", json_string((const char *)sqlite3_column_text(st, 2)));
		for (int c = 3; c <= 4; c++) {
			const unsigned char *v = sqlite3_column_text(st, c);
			json_object_set_new(o, c == 3 ? "event" : "delivery_id",
					    v ? json_string((const char *)v) : json_null());
		}
		json_object_set_new(o, "verified", json_boolean(sqlite3_column_int(st, 5)));
		json_object_set_new(o, "status", json_integer(sqlite3_column_int(st, 6)));
		json_object_set_new(o, "result", json_string((const char *)sqlite3_column_text(st, 7)));
		json_object_set_new(o, "build", sqlite3_column_type(st, 8) == SQLITE_NULL ? json_null()
					: json_integer(sqlite3_column_int64(st, 8)));
		json_array_append_new(arr, o);
	}
	sqlite3_reset(st);
	if (rc != SQLITE_DONE) {
		json_decref(arr);
		return store_error(e, "list deliveries");
	}
	*ret = arr;
	return 0;
}

/* ------------------------------------------------------------------ */
/* The poller                                                           */

struct poll_item {
	int64_t id;
	char *repo;
	char *branch;
	char *head;        /* last head seen, or NULL */
	int auto_build;
};

static void poll_one(const struct poll_item *p)
{
	struct ferr e = FERR_INIT;
	char sha[GIT_SHA_SIZE], by[80];
	char *mirror = NULL;
	sqlite3_stmt *st;
	int queue = 0;

	if (gitcreds_fetch(p->id, p->repo, NULL, &mirror, &e) < 0 ||
	    git_resolve(mirror, p->branch, sha, &e) < 0) {
		log_warnx("event=poll_failed component=%lld err=\"%s\"", (long long)p->id, e.msg);
		free(mirror);
		return;
	}
	free(mirror);
	if (p->head && !strcmp(p->head, sha))
		return;
	if (p->head) {
		queue = 1;
	} else {
		/* First poll: the head is the baseline; build it unless a build
		 * of it exists already. */
		st = store_stmt("SELECT 1 FROM builds WHERE component_id = ? AND (commit_sha = ?2 OR requested = ?2)");
		sqlite3_bind_int64(st, 1, p->id);
		sqlite3_bind_text(st, 2, sha, -1, SQLITE_STATIC);
		queue = sqlite3_step(st) != SQLITE_ROW;
		sqlite3_reset(st);
	}
	/* Only if the component still fetches what this poll read: an update
	 * of its repo or branch meanwhile reset the head for a fresh start. */
	st = store_stmt("UPDATE components SET poll_head = ? WHERE id = ? AND repo = ? AND branch = ?");
	sqlite3_bind_text(st, 1, sha, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, p->id);
	sqlite3_bind_text(st, 3, p->repo, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, p->branch, -1, SQLITE_STATIC);
	if (sqlite3_step(st) != SQLITE_DONE || sqlite3_changes(store_db()) == 0)
		queue = 0; /* moved on meanwhile: the next poll sees the new branch */
	sqlite3_reset(st);
	if (!queue || !p->auto_build)
		return;
	snprintf(by, sizeof(by), "poller: %s is %.12s", p->branch, sha);
	if (build_queue(p->id, sha, "poll", by, &e) < 0) {
		log_warnx("event=poll_queue_failed component=%lld err=\"%s\"", (long long)p->id, e.msg);
		if (e.status != 429)
			return;
		/* over the cap on queued builds: the head goes back to what it
		 * was, so the next poll queues this commit again instead of
		 * losing it (unless something else moved the head meanwhile) */
		st = store_stmt("UPDATE components SET poll_head = ? WHERE id = ? AND poll_head = ?");
		sqlite3_bind_text(st, 1, p->head, -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 2, p->id);
		sqlite3_bind_text(st, 3, sha, -1, SQLITE_STATIC);
		store_run_logged(st, "put the poll head back");
	}
}

void webhook_poll_tick(void)
{
	struct poll_item items[64];
	size_t n = 0;
	sqlite3_stmt *st;
	int64_t now = (int64_t)time(NULL);

	st = store_stmt("SELECT id, repo, branch, poll_head, auto_build FROM components"
			" WHERE poll_interval > 0 AND (polled_at IS NULL OR polled_at + poll_interval <= ?)"
			" ORDER BY coalesce(polled_at, 0) LIMIT 64");
	sqlite3_bind_int64(st, 1, now);
	while (n < 64 && sqlite3_step(st) == SQLITE_ROW) {
		const unsigned char *head = sqlite3_column_text(st, 3);
		items[n].id = sqlite3_column_int64(st, 0);
		items[n].repo = strdup((const char *)sqlite3_column_text(st, 1));
		items[n].branch = strdup((const char *)sqlite3_column_text(st, 2));
		items[n].head = head ? strdup((const char *)head) : NULL;
		items[n].auto_build = sqlite3_column_int(st, 4);
		if (!items[n].repo || !items[n].branch || (head && !items[n].head))
			abort();
		n++;
	}
	sqlite3_reset(st);
	for (size_t i = 0; i < n; i++) {
		st = store_stmt("UPDATE components SET polled_at = ? WHERE id = ?");
		sqlite3_bind_int64(st, 1, now);
		sqlite3_bind_int64(st, 2, items[i].id);
		store_run_logged(st, "record the poll time");
		poll_one(&items[i]);
		free(items[i].repo);
		free(items[i].branch);
		free(items[i].head);
	}
}

static struct {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	pthread_t thread;
	int started;
	int stopping;
} poller = { PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0, 0, 0 };

static void *poller_main(void *arg)
{
	(void)arg;
	pthread_mutex_lock(&poller.lock);
	while (!poller.stopping) {
		struct timespec ts;

		pthread_mutex_unlock(&poller.lock);
		webhook_poll_tick();
		pthread_mutex_lock(&poller.lock);
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_sec += 1;
		if (!poller.stopping)
			pthread_cond_timedwait(&poller.cond, &poller.lock, &ts);
	}
	pthread_mutex_unlock(&poller.lock);
	return NULL;
}

int webhook_poller_start(struct ferr *e)
{
	poller.stopping = 0;
	if (pthread_create(&poller.thread, NULL, poller_main, NULL))
		return ferr_internal(e, "cannot start the poller thread");
	poller.started = 1;
	return 0;
}

void webhook_poller_stop(void)
{
	if (!poller.started)
		return;
	pthread_mutex_lock(&poller.lock);
	poller.stopping = 1;
	pthread_cond_broadcast(&poller.cond);
	pthread_mutex_unlock(&poller.lock);
	pthread_join(poller.thread, NULL);
	poller.started = 0;
}
