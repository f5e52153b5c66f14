/* The notification senders: threads of their own that claim due deliveries
 * from the store, POST them (libcurl) signed with the hook's secret, and
 * record each try; a failed try is due again after a backoff. Nothing here
 * runs on a build's or a rollout's thread. */
#include <curl/curl.h>
#include <pthread.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/notify.h"
#include "core/notify_int.h"
#include "lib/log.h"
#include "store/store.h"
#include "vault/vault.h"
#include "lib/banned.h"

#define SENDERS 2
#define IDLE_MS 5000               /* look for due deliveries at least this often */
#define PRUNE_EVERY_MS (10 * 60 * 1000)
#define BACKOFF_BASE_MS 1000
#define BACKOFF_MAX_MS (3600 * 1000)

static pthread_t threads[SENDERS];
static int n_threads;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t wake = PTHREAD_COND_INITIALIZER;
static int stopping, kicked;

void notify_wake(void)
{
	pthread_mutex_lock(&lock);
	kicked = 1;
	pthread_cond_broadcast(&wake);
	pthread_mutex_unlock(&lock);
}

/* The delay before try n+1 after n failed tries: 1 s, 4 s, 16 s ... 1 h. */
static int64_t backoff_ms(int tries)
{
	int64_t d = BACKOFF_BASE_MS;

	for (int i = 1; i < tries && d < BACKOFF_MAX_MS; i++)
		d *= 4;
	return d < BACKOFF_MAX_MS ? d : BACKOFF_MAX_MS;
}

struct delivery {
	int64_t id;
	int64_t project_id;
	char hook[64];
	char event[40];
	char *url;
	char *body;
	void *secret_blob;
	size_t secret_len;
	int attempts;
};

static void delivery_release(struct delivery *d)
{
	free(d->url);
	free(d->body);
	free(d->secret_blob);
	memset(d, 0, sizeof(*d));
}

static char *dup_col(sqlite3_stmt *st, int col)
{
	const char *s = (const char *)sqlite3_column_text(st, col);
	char *d = strdup(s ? s : "");

	if (!d)
		abort();
	return d;
}

/* Claims the most overdue delivery. Returns 1 with *d filled, 0 if none is
 * due (then *ret_next_ms is when the next one is, or 0), -1 on a store error. */
static int claim(struct delivery *d, int64_t *ret_next_ms)
{
	int64_t now = store_now_ms();
	sqlite3_stmt *st;
	struct ferr e = FERR_INIT;
	int rc;

	*ret_next_ms = 0;
	st = store_stmt("SELECT d.id, d.next_at_ms FROM notification_deliveries d"
			" WHERE d.status IN ('pending','retrying') ORDER BY d.next_at_ms, d.id LIMIT 1");
	rc = sqlite3_step(st);
	if (rc != SQLITE_ROW) {
		sqlite3_reset(st);
		return rc == SQLITE_DONE ? 0 : -1;
	}
	d->id = sqlite3_column_int64(st, 0);
	if (sqlite3_column_int64(st, 1) > now) {
		*ret_next_ms = sqlite3_column_int64(st, 1);
		sqlite3_reset(st);
		return 0;
	}
	sqlite3_reset(st);
	/* the other sender may take it first: the guarded update decides */
	st = store_stmt("UPDATE notification_deliveries SET status = 'sending'"
			" WHERE id = ? AND status IN ('pending','retrying')");
	sqlite3_bind_int64(st, 1, d->id);
	if (sqlite3_step(st) != SQLITE_DONE) {
		sqlite3_reset(st);
		store_error(&e, "claim notification");
		log_warnx("event=notify_claim_failed err=\"%s\"", e.msg);
		return -1;
	}
	sqlite3_reset(st);
	if (sqlite3_changes(store_db()) == 0) {
		*ret_next_ms = now; /* look again at once */
		return 0;
	}
	st = store_stmt("SELECT h.project_id, h.name, d.event, h.url, d.body, h.secret, d.attempts"
			" FROM notification_deliveries d JOIN notification_hooks h ON h.id = d.hook_id"
			" WHERE d.id = ?");
	sqlite3_bind_int64(st, 1, d->id);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		d->project_id = sqlite3_column_int64(st, 0);
		snprintf(d->hook, sizeof(d->hook), "%s", sqlite3_column_text(st, 1));
		snprintf(d->event, sizeof(d->event), "%s", sqlite3_column_text(st, 2));
		d->url = dup_col(st, 3);
		d->body = dup_col(st, 4);
		d->secret_len = (size_t)sqlite3_column_bytes(st, 5);
		d->secret_blob = malloc(d->secret_len ? d->secret_len : 1);
		if (!d->secret_blob)
			abort();
		memcpy(d->secret_blob, sqlite3_column_blob(st, 5), d->secret_len);
		d->attempts = sqlite3_column_int(st, 6);
	}
	sqlite3_reset(st);
	return rc == SQLITE_ROW ? 1 : 0; /* the hook was deleted meanwhile (cascade) */
}

static size_t discard(char *p, size_t size, size_t nmemb, void *arg)
{
	(void)p;
	(void)arg;
	return size * nmemb;
}

/* sha256=<hex of HMAC-SHA256(secret, body)> */
static void sign(const char *secret, size_t secret_len, const char *body, char out[80])
{
	unsigned char mac[crypto_auth_hmacsha256_BYTES];
	crypto_auth_hmacsha256_state s;

	crypto_auth_hmacsha256_init(&s, (const unsigned char *)secret, secret_len);
	crypto_auth_hmacsha256_update(&s, (const unsigned char *)body, strlen(body));
	crypto_auth_hmacsha256_final(&s, mac);
	sodium_memzero(&s, sizeof(s));
	memcpy(out, "sha256=", 7);
	sodium_bin2hex(out + 7, 80 - 7, mac, sizeof(mac));
}

/* One try. Returns the HTTP status (> 0), or 0 with error set. */
static long post(const struct delivery *d, const char *signature, char *error, size_t error_size)
{
	char h_sig[128], h_event[96], h_delivery[64], curl_err[CURL_ERROR_SIZE] = "";
	struct curl_slist *headers = NULL;
	CURL *c = curl_easy_init();
	long code = 0;
	CURLcode rc;

	if (!c) {
		snprintf(error, error_size, "libcurl failed to start");
		return 0;
	}
	snprintf(h_sig, sizeof(h_sig), "X-Ferry-Signature-256: %s", signature);
	snprintf(h_event, sizeof(h_event), "X-Ferry-Event: %s", d->event);
	snprintf(h_delivery, sizeof(h_delivery), "X-Ferry-Delivery: %lld", (long long)d->id);
	headers = curl_slist_append(headers, "Content-Type: application/json");
	headers = curl_slist_append(headers, h_sig);
	headers = curl_slist_append(headers, h_event);
	headers = curl_slist_append(headers, h_delivery);
	headers = curl_slist_append(headers, "Expect:");
	curl_easy_setopt(c, CURLOPT_URL, d->url);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, (long)NOTIFY_TIMEOUT_S);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, (long)NOTIFY_TIMEOUT_S);
	curl_easy_setopt(c, CURLOPT_USERAGENT, "ferry-notifications/1");
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers);
	curl_easy_setopt(c, CURLOPT_POSTFIELDS, d->body);
	curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)strlen(d->body));
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, discard);
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, curl_err);
	rc = curl_easy_perform(c);
	if (rc == CURLE_OK)
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
	else
		snprintf(error, error_size, "%s", *curl_err ? curl_err : curl_easy_strerror(rc));
	curl_slist_free_all(headers);
	curl_easy_cleanup(c);
	return code;
}

static int retryable(long code)
{
	return code == 0 || code == 408 || code == 429 || code >= 500;
}

/* Steps a write of the open transaction; on failure rolls it back. */
static int step_done(sqlite3_stmt *st, struct ferr *e)
{
	int rc = sqlite3_step(st);

	sqlite3_reset(st);
	if (rc == SQLITE_DONE)
		return 0;
	store_error(e, "record notification try");
	store_rollback();
	return -1;
}

static void record(const struct delivery *d, long code, const char *error, int64_t took_ms)
{
	int tries = d->attempts + 1;
	int ok = code >= 200 && code < 300;
	const char *status = ok ? "delivered" : retryable(code) && tries < NOTIFY_MAX_ATTEMPTS ? "retrying" : "failed";
	struct ferr e = FERR_INIT;
	char now[32], msg[300] = "";
	sqlite3_stmt *st;

	if (!ok && code)
		snprintf(msg, sizeof(msg), "the receiver answered %ld", code);
	else if (!ok)
		snprintf(msg, sizeof(msg), "%s", error);
	store_now(now);
	if (store_begin(&e) < 0)
		goto fail;
	st = store_stmt("INSERT INTO notification_attempts (delivery_id, n, at, http_status, error, duration_ms)"
			" VALUES (?,?,?,nullif(?, 0),?,?)");
	sqlite3_bind_int64(st, 1, d->id);
	sqlite3_bind_int(st, 2, tries);
	sqlite3_bind_text(st, 3, now, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 4, code);
	sqlite3_bind_text(st, 5, *msg ? msg : NULL, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 6, took_ms);
	if (step_done(st, &e) < 0)
		goto fail;
	st = store_stmt("UPDATE notification_deliveries SET status = ?, attempts = ?, last_status = nullif(?, 0),"
			" last_error = ?, next_at_ms = ?, finished_at = CASE WHEN ? THEN ? END WHERE id = ?");
	sqlite3_bind_text(st, 1, status, -1, SQLITE_STATIC);
	sqlite3_bind_int(st, 2, tries);
	sqlite3_bind_int64(st, 3, code);
	sqlite3_bind_text(st, 4, *msg ? msg : NULL, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 5, store_now_ms() + backoff_ms(tries));
	sqlite3_bind_int(st, 6, strcmp(status, "retrying") != 0);
	sqlite3_bind_text(st, 7, now, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 8, d->id);
	if (step_done(st, &e) < 0)
		goto fail;
	if (store_commit(&e) < 0)
		goto fail;
	log_info("event=notification_%s delivery=%lld hook=%s type=%s try=%d http_status=%ld took_ms=%lld%s%s%s",
		 ok ? "delivered" : "failed_try", (long long)d->id, d->hook, d->event, tries, code,
		 (long long)took_ms, *msg ? " err=\"" : "", msg, *msg ? "\"" : "");
	return;
fail:
	log_warnx("event=notify_record_failed delivery=%lld err=\"%s\"", (long long)d->id, e.msg);
}

static void deliver(struct delivery *d)
{
	char *secret = NULL, signature[80], error[CURL_ERROR_SIZE + 64] = "";
	struct ferr e = FERR_INIT;
	struct timespec t0, t1;
	size_t secret_len = 0;
	long code;

	if (notify_secret_open(d->project_id, d->hook, d->secret_blob, d->secret_len, &secret, &secret_len,
			       &e) < 0) {
		/* not the receiver's fault, and trying again will not help */
		struct delivery last = *d;
		last.attempts = NOTIFY_MAX_ATTEMPTS;
		record(&last, 0, e.msg, 0);
		return;
	}
	sign(secret, secret_len, d->body, signature);
	vault_plain_free(secret, secret_len);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	code = post(d, signature, error, sizeof(error));
	clock_gettime(CLOCK_MONOTONIC, &t1);
	record(d, code, error, (int64_t)(t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000);
}

/* Finished deliveries older than NOTIFY_KEEP_DAYS go, with their tries
 * (a finished delivery's next_at_ms is about when it finished). */
static void prune(void)
{
	sqlite3_stmt *st = store_stmt("DELETE FROM notification_deliveries WHERE status IN ('delivered','failed')"
				      " AND next_at_ms < ?");

	sqlite3_bind_int64(st, 1, store_now_ms() - (int64_t)NOTIFY_KEEP_DAYS * 86400 * 1000);
	store_run_logged(st, "prune notification deliveries");
}

static void *sender(void *arg)
{
	int64_t last_prune = 0;

	(void)arg;
	for (;;) {
		struct delivery d = { 0 };
		int64_t next = 0, now;
		int got, stop;

		pthread_mutex_lock(&lock);
		kicked = 0;
		stop = stopping;
		pthread_mutex_unlock(&lock);
		if (stop)
			break;
		got = claim(&d, &next);
		if (got == 1) {
			deliver(&d);
			delivery_release(&d);
			continue;
		}
		delivery_release(&d);
		now = store_now_ms();
		if (now - last_prune > PRUNE_EVERY_MS) {
			prune();
			last_prune = now;
		}
		if (got == 0 && next && next <= now)
			continue;
		pthread_mutex_lock(&lock);
		if (!stopping && !kicked) {
			int64_t wait_ms = next ? next - now : IDLE_MS;
			struct timespec until;
			if (wait_ms > IDLE_MS)
				wait_ms = IDLE_MS;
			clock_gettime(CLOCK_REALTIME, &until);
			until.tv_sec += wait_ms / 1000;
			until.tv_nsec += (wait_ms % 1000) * 1000000;
			if (until.tv_nsec >= 1000000000) {
				until.tv_sec++;
				until.tv_nsec -= 1000000000;
			}
			pthread_cond_timedwait(&wake, &lock, &until);
		}
		pthread_mutex_unlock(&lock);
	}
	return NULL;
}

int notify_start(struct ferr *e)
{
	sqlite3_stmt *st;

	curl_global_init(CURL_GLOBAL_DEFAULT);
	/* a try that a stop cut short is made again */
	st = store_stmt("UPDATE notification_deliveries SET status = 'retrying' WHERE status = 'sending'");
	if (sqlite3_step(st) != SQLITE_DONE) {
		sqlite3_reset(st);
		return store_error(e, "recover notifications");
	}
	sqlite3_reset(st);
	for (n_threads = 0; n_threads < SENDERS; n_threads++)
		if (pthread_create(&threads[n_threads], NULL, sender, NULL) != 0) {
			notify_stop();
			return ferr_internal(e, "cannot start the notification senders");
		}
	return 0;
}

void notify_stop(void)
{
	pthread_mutex_lock(&lock);
	stopping = 1;
	pthread_cond_broadcast(&wake);
	pthread_mutex_unlock(&lock);
	for (int i = 0; i < n_threads; i++)
		pthread_join(threads[i], NULL);
	n_threads = 0;
}
