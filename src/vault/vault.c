#include "vault.h"

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include "keyexport.h"
#include "masterkey.h"
#include "store/store.h"
#include "lib/banned.h"

/*
 * Formats (docs/vault.md has the full description).
 *
 * Wrapped data key (vault_data_keys.wrapped), 73 bytes:
 *   [0]      format, DK_FORMAT
 *   [1..24]  nonce
 *   [25..72] XChaCha20-Poly1305 of the 32-byte data key, with tag
 *   associated data: "ferry vault data key v1" NUL scope
 *
 * Sealed value (what vault_seal returns), 33 + len + 16 bytes:
 *   [0]      format, BLOB_FORMAT
 *   [1..8]   data key id, big-endian
 *   [9..32]  nonce
 *   [33..]   XChaCha20-Poly1305 ciphertext with tag
 *   associated data: bytes [0..8] followed by the caller's aad
 */
#define KEY_BYTES   crypto_aead_xchacha20poly1305_ietf_KEYBYTES
#define NONCE_BYTES crypto_aead_xchacha20poly1305_ietf_NPUBBYTES
#define TAG_BYTES   crypto_aead_xchacha20poly1305_ietf_ABYTES

#define DK_FORMAT 1
#define DK_WRAPPED_LEN (1 + NONCE_BYTES + KEY_BYTES + TAG_BYTES)

#define BLOB_FORMAT 1
#define BLOB_AD_LEN 9
#define BLOB_HEADER_LEN (BLOB_AD_LEN + NONCE_BYTES)

_Static_assert(KEY_BYTES == MASTER_KEY_BYTES, "master and data keys are both AEAD keys");
_Static_assert(VAULT_KEY_ID_LEN == MASTER_KEY_ID_LEN, "one key id length");

struct dk_entry {
	int64_t id;
	char *scope;
	uint8_t *key;  /* sodium_malloc'd: guarded, locked, wiped when freed */
};

struct vault {
	struct vault_key_source src;
	pthread_mutex_t lock;  /* guards master, master_id and the cache; never
				  held across a store call (see dk_for_scope) */
	uint8_t *master;       /* sodium_malloc'd */
	char master_id[VAULT_KEY_ID_LEN + 1];
	struct dk_entry *cache;
	size_t ncache, acache;
};

/* ---- small helpers --------------------------------------------------- */

static void put_be64(uint8_t *p, uint64_t n)
{
	for (int i = 7; i >= 0; i--) {
		p[i] = (uint8_t)(n & 0xff);
		n >>= 8;
	}
}

static uint64_t get_be64(const uint8_t *p)
{
	uint64_t n = 0;

	for (int i = 0; i < 8; i++)
		n = (n << 8) | p[i];
	return n;
}

static void copy_id(char dst[VAULT_KEY_ID_LEN + 1], const char *src)
{
	snprintf(dst, VAULT_KEY_ID_LEN + 1, "%s", src);
}

static int check_source(const struct vault_key_source *src, const char *which, struct ferr *e)
{
	if (!src->data_dir || !*src->data_dir)
		return ferr_invalid(e, "%s: no data directory given", which);
	if (src->kind == VAULT_KEY_FILE && (!src->path || !*src->path))
		return ferr_invalid(e, "%s: no master key file given", which);
	if (src->kind == VAULT_KEY_COMMAND && (!src->command || !*src->command))
		return ferr_invalid(e, "%s: no master key command given", which);
	if (src->kind != VAULT_KEY_DEFAULT && src->kind != VAULT_KEY_FILE &&
	    src->kind != VAULT_KEY_COMMAND)
		return ferr_invalid(e, "%s: unknown master key source", which);
	return 0;
}

/* The key file of a file source (empty for a command source), and the
 * pending file a rotation writes first. */
static void source_paths(const struct vault_key_source *src, struct strbuf *path,
			 struct strbuf *pending)
{
	if (src->kind == VAULT_KEY_DEFAULT)
		strbuf_addf(path, "%s/master.key", src->data_dir);
	else if (src->kind == VAULT_KEY_FILE)
		strbuf_addstr(path, src->path);
	if (path->len && pending)
		strbuf_addf(pending, "%s.new", path->buf);
}

static const char *source_name(const struct vault_key_source *src, struct strbuf *buf)
{
	if (src->kind == VAULT_KEY_COMMAND)
		strbuf_addstr(buf, "the master key command");
	else {
		strbuf_addstr(buf, "master key file ");
		source_paths(src, buf, NULL);
	}
	return buf->buf;
}

/* Serialises vault_open and vault_rotate_master across processes: the
 * files master.key and master.key.new only change under this lock. */
static int lock_data_dir(const char *data_dir, int *ret_fd, struct ferr *e)
{
	struct strbuf path = STRBUF_INIT;
	int fd;

	strbuf_addf(&path, "%s/vault.lock", data_dir);
	fd = open(path.buf, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0) {
		ferr_internal(e, "cannot open %s: %s", path.buf, strerror(errno));
		strbuf_release(&path);
		return -1;
	}
	while (flock(fd, LOCK_EX) < 0) {
		if (errno == EINTR)
			continue;
		ferr_internal(e, "cannot lock %s: %s", path.buf, strerror(errno));
		close(fd);
		strbuf_release(&path);
		return -1;
	}
	strbuf_release(&path);
	*ret_fd = fd;
	return 0;
}

static void unlock_data_dir(int fd)
{
	if (fd >= 0)
		close(fd); /* drops the flock */
}

/* The master key id the store's data is encrypted with. Returns 0 with
 * *ret_found set, or -1 with e set. */
static int meta_get(char out[VAULT_KEY_ID_LEN + 1], int *ret_found, struct ferr *e)
{
	sqlite3_stmt *st = store_stmt("SELECT master_key_id FROM vault_meta WHERE id = 1");
	int rc = sqlite3_step(st);

	*ret_found = 0;
	if (rc == SQLITE_ROW) {
		const unsigned char *id = sqlite3_column_text(st, 0);
		copy_id(out, id ? (const char *)id : "");
		*ret_found = 1;
	}
	sqlite3_reset(st);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return store_error(e, "reading the vault's master key id");
	return 0;
}

/* ---- master key sources ---------------------------------------------- */

/* Reads the key src gives into key/id. For a file source, when want_id is
 * given and the key file does not hold it, the pending file is tried too:
 * between a rotation's commit and its rename, the current key is there.
 * Returns 0 (key filled; *ret_pending says where from; the key may still
 * differ from want_id, the caller checks), 1 if the key file does not exist
 * and no pending file holds want_id, or -1 with e set. */
static int source_load(const struct vault_key_source *src, const char *want_id,
		       uint8_t key[KEY_BYTES], char id[VAULT_KEY_ID_LEN + 1],
		       int *ret_pending, struct ferr *e)
{
	struct strbuf path = STRBUF_INIT, pending = STRBUF_INIT;
	uint8_t other[KEY_BYTES];
	char other_id[VAULT_KEY_ID_LEN + 1];
	int ret = -1;

	*ret_pending = 0;
	if (src->kind == VAULT_KEY_COMMAND) {
		if (master_key_run_command(src->command, key, e) < 0)
			return -1;
		master_key_id(key, id);
		return 0;
	}
	source_paths(src, &path, &pending);
	/* Two rounds: a rotation may rename pending over the key file between
	 * our two reads; the second round then finds the new key file. */
	for (int round = 0; round < 2; round++) {
		struct ferr pe = FERR_INIT;
		int r = master_key_read_file(path.buf, key, e), rp;

		if (r < 0)
			goto out;
		if (r == 0) {
			master_key_id(key, id);
			if (!want_id || !strcmp(id, want_id)) {
				ret = 0;
				goto out;
			}
		}
		if (!want_id) {
			ret = 1;
			goto out;
		}
		/* An unreadable pending file is not this caller's problem:
		 * vault_open and vault_rotate_master deal with it. */
		rp = master_key_read_file(pending.buf, other, &pe);
		if (rp == 0) {
			master_key_id(other, other_id);
			if (!strcmp(other_id, want_id)) {
				memcpy(key, other, KEY_BYTES);
				copy_id(id, other_id);
				*ret_pending = 1;
				ret = 0;
				goto out;
			}
		}
		if (rp == 1 && round == 0)
			continue; /* maybe just renamed: read the key file again */
		ret = r == 1 ? 1 : 0;
		goto out;
	}
	ret = 1;
out:
	sodium_memzero(other, sizeof(other));
	strbuf_release(&path);
	strbuf_release(&pending);
	return ret;
}

/* Renames the pending key file over the key file and syncs the directory:
 * the last step of a rotation. */
static int finish_pending(const struct vault_key_source *src, struct ferr *e)
{
	struct strbuf path = STRBUF_INIT, pending = STRBUF_INIT;
	int ret = 0;

	source_paths(src, &path, &pending);
	if (rename(pending.buf, path.buf) < 0)
		ret = ferr_internal(e, "the master key was rotated but %s could not be "
				    "renamed to %s: %s; rename it by hand before starting ferryd",
				    pending.buf, path.buf, strerror(errno));
	else
		ret = master_key_sync_dir(path.buf, e);
	strbuf_release(&path);
	strbuf_release(&pending);
	return ret;
}

/* Removes a pending key file left by a rotation that never committed.
 * Only called under the data dir lock, with the key file matching the
 * store, so the pending key cannot be the current one. */
static int drop_stale_pending(const struct vault_key_source *src, struct ferr *e)
{
	struct strbuf path = STRBUF_INIT, pending = STRBUF_INIT;
	int ret = 0;

	source_paths(src, &path, &pending);
	if (pending.len && unlink(pending.buf) < 0 && errno != ENOENT)
		ret = ferr_internal(e, "cannot remove the stale %s: %s", pending.buf,
				    strerror(errno));
	strbuf_release(&path);
	strbuf_release(&pending);
	return ret;
}

static int wrong_key(const struct vault_key_source *src, const char *have, const char *want,
		     struct ferr *e)
{
	struct strbuf name = STRBUF_INIT;

	ferr_set(e, 500, "wrong_master_key",
		 "%s gives master key %s, but the data in %s is encrypted with master "
		 "key %s: wrong master key (give the right --master-key-file or "
		 "--master-key-command, or restore the key file from your backup)",
		 source_name(src, &name), have, src->data_dir, want);
	strbuf_release(&name);
	return -1;
}

/* Replaces v's master key by the one its source gives now, which must be
 * want_id. Called with v->lock held: does no store call. */
static int master_reload_locked(struct vault *v, const char *want_id, struct ferr *e)
{
	uint8_t key[KEY_BYTES];
	char id[VAULT_KEY_ID_LEN + 1];
	int pending, r, ret = -1;

	r = source_load(&v->src, want_id, key, id, &pending, e);
	if (r < 0) {
		ferr_prefix(e, "reloading the rotated master key");
		goto out;
	}
	if (r == 1 || strcmp(id, want_id)) {
		struct strbuf name = STRBUF_INIT;

		ferr_set(e, 500, "wrong_master_key",
			 "the master key was rotated to %s, but %s %s: %s",
			 want_id, source_name(&v->src, &name),
			 r == 1 ? "is missing" : "still gives the old key",
			 v->src.kind == VAULT_KEY_COMMAND ?
			 "make the key command print the new key" :
			 "restore the key file written by the rotation");
		strbuf_release(&name);
		goto out;
	}
	memcpy(v->master, key, KEY_BYTES);
	copy_id(v->master_id, id);
	ret = 0;
out:
	sodium_memzero(key, sizeof(key));
	return ret;
}

/* ---- data keys ------------------------------------------------------- */

static void dk_ad(struct strbuf *ad, const char *scope)
{
	static const char domain[] = "ferry vault data key v1";

	strbuf_add(ad, domain, sizeof(domain)); /* with its NUL: a separator */
	strbuf_addstr(ad, scope);
}

static void dk_wrap(const uint8_t *master, const char *scope, const uint8_t dk[KEY_BYTES],
		    uint8_t out[DK_WRAPPED_LEN])
{
	struct strbuf ad = STRBUF_INIT;
	unsigned long long clen;

	dk_ad(&ad, scope);
	out[0] = DK_FORMAT;
	randombytes_buf(out + 1, NONCE_BYTES);
	crypto_aead_xchacha20poly1305_ietf_encrypt(out + 1 + NONCE_BYTES, &clen, dk, KEY_BYTES,
						   (const uint8_t *)ad.buf, ad.len, NULL,
						   out + 1, master);
	assert(clen == KEY_BYTES + TAG_BYTES);
	strbuf_release(&ad);
}

/* Returns 0 with dk filled, or -1 (dk zeroed) if wrapped does not open. */
static int dk_unwrap(const uint8_t *master, const char *scope, const uint8_t *wrapped,
		     size_t len, uint8_t dk[KEY_BYTES])
{
	struct strbuf ad = STRBUF_INIT;
	unsigned long long dlen = 0;
	int rc;

	if (len != DK_WRAPPED_LEN || wrapped[0] != DK_FORMAT) {
		sodium_memzero(dk, KEY_BYTES);
		return -1;
	}
	dk_ad(&ad, scope);
	rc = crypto_aead_xchacha20poly1305_ietf_decrypt(dk, &dlen, NULL, wrapped + 1 + NONCE_BYTES,
							KEY_BYTES + TAG_BYTES,
							(const uint8_t *)ad.buf, ad.len,
							wrapped + 1, master);
	strbuf_release(&ad);
	if (rc != 0 || dlen != KEY_BYTES) {
		sodium_memzero(dk, KEY_BYTES);
		return -1;
	}
	return 0;
}

/* A data key row, as read from the store. */
struct dk_row {
	int64_t id;
	char *scope;
	char mkid[VAULT_KEY_ID_LEN + 1];
	uint8_t wrapped[DK_WRAPPED_LEN];
	size_t wrapped_len;
};

static void dk_row_release(struct dk_row *r)
{
	free(r->scope);
	r->scope = NULL;
}

/* Copies the current row of st (id, scope, master_key_id, wrapped). */
static void dk_row_read(sqlite3_stmt *st, struct dk_row *r)
{
	const void *w = sqlite3_column_blob(st, 3);
	int wlen = sqlite3_column_bytes(st, 3);
	const unsigned char *scope = sqlite3_column_text(st, 1);
	const unsigned char *mkid = sqlite3_column_text(st, 2);

	r->id = sqlite3_column_int64(st, 0);
	r->scope = strdup(scope ? (const char *)scope : "");
	if (!r->scope)
		abort();
	copy_id(r->mkid, mkid ? (const char *)mkid : "");
	/* A wrong length is kept as "wrong" (0) so unwrapping fails cleanly. */
	r->wrapped_len = 0;
	if (w && wlen == DK_WRAPPED_LEN) {
		memcpy(r->wrapped, w, DK_WRAPPED_LEN);
		r->wrapped_len = DK_WRAPPED_LEN;
	}
}

/* Looks a data key row up by scope (scope != NULL) or by id. Returns 1 with
 * *r filled, 0 if there is none, or -1 with e set. */
static int dk_select(const char *scope, int64_t id, struct dk_row *r, struct ferr *e)
{
	sqlite3_stmt *st;
	int rc;

	if (scope) {
		st = store_stmt("SELECT id, scope, master_key_id, wrapped FROM vault_data_keys"
				" WHERE scope = ?");
		sqlite3_bind_text(st, 1, scope, -1, SQLITE_STATIC);
	} else {
		st = store_stmt("SELECT id, scope, master_key_id, wrapped FROM vault_data_keys"
				" WHERE id = ?");
		sqlite3_bind_int64(st, 1, id);
	}
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		dk_row_read(st, r);
	sqlite3_reset(st);
	if (rc == SQLITE_ROW)
		return 1;
	if (rc == SQLITE_DONE)
		return 0;
	return store_error(e, "reading a vault data key");
}

/* Called with v->lock held. */
static struct dk_entry *cache_find(struct vault *v, const char *scope, int64_t id)
{
	for (size_t i = 0; i < v->ncache; i++)
		if (scope ? !strcmp(v->cache[i].scope, scope) : v->cache[i].id == id)
			return &v->cache[i];
	return NULL;
}

static void cache_entry_release(struct dk_entry *d)
{
	sodium_free(d->key); /* wipes it */
	free(d->scope);
}

/* Called with v->lock held. Replaces an entry of the same scope. */
static void cache_put(struct vault *v, int64_t id, const char *scope, const uint8_t dk[KEY_BYTES])
{
	struct dk_entry *d = cache_find(v, scope, 0);

	if (!d) {
		if (v->ncache == v->acache) {
			size_t n = v->acache ? 2 * v->acache : 8;
			struct dk_entry *c = realloc(v->cache, n * sizeof(*c));

			if (!c)
				abort();
			v->cache = c;
			v->acache = n;
		}
		d = &v->cache[v->ncache++];
		d->scope = strdup(scope);
		d->key = sodium_malloc(KEY_BYTES);
		if (!d->scope || !d->key)
			abort();
	}
	d->id = id;
	memcpy(d->key, dk, KEY_BYTES);
}

/* Unwraps r into dk, first reloading the master key if r was wrapped by a
 * newer one (a rotation ran in another process). */
static int dk_unwrap_row(struct vault *v, const struct dk_row *r, uint8_t dk[KEY_BYTES],
			 const char *what, struct ferr *e)
{
	int rc = 0;

	pthread_mutex_lock(&v->lock);
	if (strcmp(r->mkid, v->master_id))
		rc = master_reload_locked(v, r->mkid, e);
	if (rc == 0)
		rc = dk_unwrap(v->master, r->scope, r->wrapped, r->wrapped_len, dk);
	pthread_mutex_unlock(&v->lock);
	if (rc < 0)
		ferr_set(e, 500, "undecryptable",
			 "%s cannot be decrypted: wrong master key or tampered data "
			 "(data key %lld does not open with master key %s)",
			 what, (long long)r->id, r->mkid);
	return rc;
}

/* Caching a key read or made inside the caller's transaction would outlive
 * a rollback of that transaction; only committed rows are cached. */
static int store_in_transaction(void)
{
	return !sqlite3_get_autocommit(store_db());
}

/* Creates scope's data key inside the current write transaction. */
static int dk_create(struct vault *v, const char *scope, int64_t *ret_id,
		     uint8_t dk[KEY_BYTES], struct ferr *e)
{
	uint8_t wrapped[DK_WRAPPED_LEN];
	char meta[VAULT_KEY_ID_LEN + 1], mkid[VAULT_KEY_ID_LEN + 1], now[32];
	sqlite3_stmt *st;
	int found, rc = 0;

	if (meta_get(meta, &found, e) < 0)
		return -1;
	if (!found)
		return ferr_internal(e, "the vault is not initialised: vault_open was not called "
				     "on this database");
	pthread_mutex_lock(&v->lock);
	/* Under the store's write lock no rotation can commit now, so a key
	 * wrapped with the master key the store names stays current. */
	if (strcmp(meta, v->master_id))
		rc = master_reload_locked(v, meta, e);
	if (rc == 0) {
		randombytes_buf(dk, KEY_BYTES);
		dk_wrap(v->master, scope, dk, wrapped);
		copy_id(mkid, v->master_id);
	}
	pthread_mutex_unlock(&v->lock);
	if (rc < 0)
		return -1;
	store_now(now);
	st = store_stmt("INSERT INTO vault_data_keys (scope, master_key_id, wrapped, created_at)"
			" VALUES (?, ?, ?, ?)");
	sqlite3_bind_text(st, 1, scope, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, mkid, -1, SQLITE_STATIC);
	sqlite3_bind_blob(st, 3, wrapped, sizeof(wrapped), SQLITE_STATIC);
	sqlite3_bind_text(st, 4, now, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	sqlite3_reset(st);
	if (rc != SQLITE_DONE) {
		sodium_memzero(dk, KEY_BYTES);
		return store_error(e, "storing a vault data key");
	}
	*ret_id = sqlite3_last_insert_rowid(store_db());
	return 0;
}

/* scope's data key, from the cache, the store, or made now. */
static int dk_for_scope(struct vault *v, const char *scope, int64_t *ret_id,
			uint8_t dk[KEY_BYTES], struct ferr *e)
{
	struct dk_row r = { 0 };
	struct dk_entry *d;
	int in_tx, found, ret = -1;
	char what[256];

	pthread_mutex_lock(&v->lock);
	d = cache_find(v, scope, 0);
	if (d) {
		*ret_id = d->id;
		memcpy(dk, d->key, KEY_BYTES);
	}
	pthread_mutex_unlock(&v->lock);
	if (d)
		return 0;

	snprintf(what, sizeof(what), "the data key of %s", scope);
	in_tx = store_in_transaction();
	found = dk_select(scope, 0, &r, e);
	if (found < 0)
		return -1;
	if (!found) {
		if (!in_tx && store_begin(e) < 0)
			return -1;
		/* Another thread or process may have made it meanwhile. */
		found = dk_select(scope, 0, &r, e);
		if (found < 0 || (!found && dk_create(v, scope, ret_id, dk, e) < 0)) {
			if (!in_tx)
				store_rollback();
			goto out;
		}
		if (!found) {
			if (!in_tx && store_commit(e) < 0) {
				sodium_memzero(dk, KEY_BYTES);
				goto out;
			}
			ret = 0;
			goto cache;
		}
		if (!in_tx)
			store_rollback(); /* nothing written */
	}
	if (dk_unwrap_row(v, &r, dk, what, e) < 0)
		goto out;
	*ret_id = r.id;
	ret = 0;
cache:
	if (!in_tx) {
		pthread_mutex_lock(&v->lock);
		cache_put(v, *ret_id, scope, dk);
		pthread_mutex_unlock(&v->lock);
	}
out:
	dk_row_release(&r);
	return ret;
}

/* The data key with this id, from the cache or the store. */
static int dk_for_id(struct vault *v, int64_t id, uint8_t dk[KEY_BYTES], const char *what,
		     struct ferr *e)
{
	struct dk_row r = { 0 };
	struct dk_entry *d;
	int found, ret = -1;

	pthread_mutex_lock(&v->lock);
	d = cache_find(v, NULL, id);
	if (d)
		memcpy(dk, d->key, KEY_BYTES);
	pthread_mutex_unlock(&v->lock);
	if (d)
		return 0;

	found = dk_select(NULL, id, &r, e);
	if (found < 0)
		return -1;
	if (!found)
		return ferr_set(e, 500, "undecryptable",
				"%s cannot be decrypted: its data key %lld does not exist "
				"(destroyed with its project, or tampered data)",
				what, (long long)id);
	if (dk_unwrap_row(v, &r, dk, what, e) < 0)
		goto out;
	if (!store_in_transaction()) {
		pthread_mutex_lock(&v->lock);
		cache_put(v, r.id, r.scope, dk);
		pthread_mutex_unlock(&v->lock);
	}
	ret = 0;
out:
	dk_row_release(&r);
	return ret;
}

/* ---- public API ------------------------------------------------------ */

int vault_open(struct vault **ret, const struct vault_key_source *src, struct ferr *e)
{
	char meta[VAULT_KEY_ID_LEN + 1], now[32];
	struct strbuf path = STRBUF_INIT;
	struct vault *v = NULL;
	int lock_fd = -1, have_meta, pending = 0, r;

	*ret = NULL;
	if (sodium_init() < 0)
		return ferr_internal(e, "libsodium could not be initialised");
	if (check_source(src, "vault", e) < 0)
		return -1;
	v = calloc(1, sizeof(*v));
	if (!v)
		abort();
	v->src = *src;
	pthread_mutex_init(&v->lock, NULL);
	v->master = sodium_malloc(KEY_BYTES); /* guarded and mlock'ed */
	if (!v->master)
		abort();
	source_paths(src, &path, NULL);

	if (lock_data_dir(src->data_dir, &lock_fd, e) < 0 ||
	    meta_get(meta, &have_meta, e) < 0)
		goto fail;
	r = source_load(src, have_meta ? meta : NULL, v->master, v->master_id, &pending, e);
	if (r < 0)
		goto fail;
	if (r == 1) {
		if (have_meta) {
			ferr_set(e, 500, "master_key_missing",
				 "master key file %s is missing, but the data in %s is encrypted "
				 "with master key %s: restore the file from your backup (nothing "
				 "can be decrypted without it)", path.buf, src->data_dir, meta);
			goto fail;
		}
		if (src->kind == VAULT_KEY_FILE) {
			ferr_invalid(e, "master key file %s does not exist (leave out the "
				     "option to let ferryd create %s/master.key)",
				     path.buf, src->data_dir);
			goto fail;
		}
		/* First start: make DATA/master.key, via the pending name so a
		 * crash never leaves a half-written key file in place. */
		master_key_generate(v->master);
		master_key_id(v->master, v->master_id);
		if (drop_stale_pending(src, e) < 0)
			goto fail;
		{
			struct strbuf tmp = STRBUF_INIT;

			strbuf_addf(&tmp, "%s.new", path.buf);
			r = master_key_write_file(tmp.buf, v->master, e);
			strbuf_release(&tmp);
		}
		if (r < 0 || finish_pending(src, e) < 0)
			goto fail;
	} else if (have_meta && strcmp(v->master_id, meta)) {
		wrong_key(src, v->master_id, meta, e);
		goto fail;
	} else if (pending) {
		if (finish_pending(src, e) < 0)
			goto fail;
	} else if (have_meta && drop_stale_pending(src, e) < 0) {
		goto fail;
	}
	if (!have_meta) {
		sqlite3_stmt *st = store_stmt("INSERT INTO vault_meta (id, master_key_id, created_at)"
					      " VALUES (1, ?, ?)");
		store_now(now);
		sqlite3_bind_text(st, 1, v->master_id, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 2, now, -1, SQLITE_STATIC);
		r = sqlite3_step(st);
		sqlite3_reset(st);
		if (r != SQLITE_DONE) {
			store_error(e, "recording the vault's master key id");
			goto fail;
		}
	}
	unlock_data_dir(lock_fd);
	strbuf_release(&path);
	*ret = v;
	return 0;
fail:
	unlock_data_dir(lock_fd);
	strbuf_release(&path);
	vault_free(v);
	return -1;
}

void vault_free(struct vault *v)
{
	if (!v)
		return;
	for (size_t i = 0; i < v->ncache; i++)
		cache_entry_release(&v->cache[i]);
	free(v->cache);
	sodium_free(v->master);
	pthread_mutex_destroy(&v->lock);
	sodium_memzero(v, sizeof(*v));
	free(v);
}

void vault_key_id(struct vault *v, char out[VAULT_KEY_ID_LEN + 1])
{
	pthread_mutex_lock(&v->lock);
	copy_id(out, v->master_id);
	pthread_mutex_unlock(&v->lock);
}

int vault_export_master(struct vault *v, const char *passphrase, struct strbuf *out, struct ferr *e)
{
	uint8_t *key = sodium_malloc(KEY_BYTES);
	int rc;

	if (!key)
		return ferr_internal(e, "out of memory");
	/* A copy, so seal and unseal need not wait for Argon2id. */
	pthread_mutex_lock(&v->lock);
	memcpy(key, v->master, KEY_BYTES);
	pthread_mutex_unlock(&v->lock);
	rc = master_key_seal_passphrase(key, passphrase, out, e);
	sodium_free(key);
	return rc;
}

int vault_refresh(struct vault *v, struct ferr *e)
{
	char meta[VAULT_KEY_ID_LEN + 1];
	int found, rc = 0;

	if (meta_get(meta, &found, e) < 0)
		return -1;
	if (!found)
		return ferr_internal(e, "the vault is not initialised");
	pthread_mutex_lock(&v->lock);
	if (strcmp(meta, v->master_id))
		rc = master_reload_locked(v, meta, e);
	pthread_mutex_unlock(&v->lock);
	return rc;
}

int vault_seal(struct vault *v, const char *key_scope,
	       const void *aad, size_t aad_len,
	       const void *plain, size_t len,
	       uint8_t **ret_blob, size_t *ret_len, struct ferr *e)
{
	uint8_t dk[KEY_BYTES], *blob;
	struct strbuf ad = STRBUF_INIT;
	unsigned long long clen;
	int64_t id = 0;

	*ret_blob = NULL;
	*ret_len = 0;
	if (!key_scope || !*key_scope)
		return ferr_invalid(e, "vault: empty key scope");
	if (len > VAULT_MAX_PLAINTEXT)
		return ferr_set(e, 413, "too_large",
				"value is too large: %zu bytes, at most %d (1 MiB)",
				len, VAULT_MAX_PLAINTEXT);
	if (dk_for_scope(v, key_scope, &id, dk, e) < 0)
		return -1;
	blob = malloc(BLOB_HEADER_LEN + len + TAG_BYTES);
	if (!blob)
		abort();
	blob[0] = BLOB_FORMAT;
	put_be64(blob + 1, (uint64_t)id);
	randombytes_buf(blob + BLOB_AD_LEN, NONCE_BYTES);
	strbuf_add(&ad, blob, BLOB_AD_LEN);
	if (aad_len)
		strbuf_add(&ad, aad, aad_len);
	crypto_aead_xchacha20poly1305_ietf_encrypt(blob + BLOB_HEADER_LEN, &clen, plain, len,
						   (const uint8_t *)ad.buf, ad.len, NULL,
						   blob + BLOB_AD_LEN, dk);
	sodium_memzero(dk, sizeof(dk));
	strbuf_release(&ad);
	*ret_blob = blob;
	*ret_len = BLOB_HEADER_LEN + (size_t)clen;
	return 0;
}

int vault_unseal(struct vault *v, const void *aad, size_t aad_len,
		 const uint8_t *blob, size_t blob_len, const char *what,
		 char **ret_plain, size_t *ret_len, struct ferr *e)
{
	uint8_t dk[KEY_BYTES];
	struct strbuf ad = STRBUF_INIT;
	unsigned long long mlen = 0;
	size_t clen;
	char *plain;
	int rc;

	*ret_plain = NULL;
	*ret_len = 0;
	if (!what)
		what = "value";
	if (!blob || blob_len < BLOB_HEADER_LEN + TAG_BYTES ||
	    blob_len - BLOB_HEADER_LEN - TAG_BYTES > VAULT_MAX_PLAINTEXT)
		return ferr_set(e, 500, "undecryptable",
				"%s cannot be decrypted: the stored data is not a vault value "
				"(tampered data)", what);
	if (blob[0] != BLOB_FORMAT)
		return ferr_set(e, 500, "undecryptable",
				"%s cannot be decrypted: unknown format %u (tampered data, or "
				"written by a newer ferry)", what, blob[0]);
	if (dk_for_id(v, (int64_t)get_be64(blob + 1), dk, what, e) < 0)
		return -1;
	clen = blob_len - BLOB_HEADER_LEN;
	plain = malloc(clen - TAG_BYTES + 1);
	if (!plain)
		abort();
	strbuf_add(&ad, blob, BLOB_AD_LEN);
	if (aad_len)
		strbuf_add(&ad, aad, aad_len);
	rc = crypto_aead_xchacha20poly1305_ietf_decrypt((uint8_t *)plain, &mlen, NULL,
							blob + BLOB_HEADER_LEN, clen,
							(const uint8_t *)ad.buf, ad.len,
							blob + BLOB_AD_LEN, dk);
	sodium_memzero(dk, sizeof(dk));
	strbuf_release(&ad);
	if (rc != 0) {
		vault_plain_free(plain, clen - TAG_BYTES + 1);
		return ferr_set(e, 500, "undecryptable",
				"%s cannot be decrypted: wrong master key or tampered data", what);
	}
	plain[mlen] = '\0';
	*ret_plain = plain;
	*ret_len = (size_t)mlen;
	return 0;
}

void vault_plain_free(char *plain, size_t len)
{
	if (!plain)
		return;
	sodium_memzero(plain, len);
	free(plain);
}

int vault_destroy_scope(struct vault *v, const char *key_scope, struct ferr *e)
{
	sqlite3_stmt *st = store_stmt("DELETE FROM vault_data_keys WHERE scope = ?");
	struct dk_entry *d;
	int rc;

	sqlite3_bind_text(st, 1, key_scope, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	sqlite3_reset(st);
	if (rc != SQLITE_DONE)
		return store_error(e, "destroying a vault data key");
	pthread_mutex_lock(&v->lock);
	d = cache_find(v, key_scope, 0);
	if (d) {
		cache_entry_release(d);
		*d = v->cache[--v->ncache];
	}
	pthread_mutex_unlock(&v->lock);
	return 0;
}

/* Re-wraps every data key from old to new inside the open transaction. */
static int rewrap_all(const uint8_t *old, const char *old_id, const uint8_t *new,
		      const char *new_id, struct ferr *e)
{
	sqlite3_stmt *st = store_stmt("SELECT id, scope, master_key_id, wrapped"
				      " FROM vault_data_keys ORDER BY id");
	struct dk_row *rows = NULL;
	size_t n = 0, alloc = 0;
	uint8_t *dk = sodium_malloc(KEY_BYTES);
	char now[32];
	int rc, ret = -1;

	if (!dk)
		abort();
	/* Read all first: the rows are small and few (one per key scope), and
	 * updating a table while a statement walks it is best avoided. */
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (n == alloc) {
			alloc = alloc ? 2 * alloc : 16;
			rows = realloc(rows, alloc * sizeof(*rows));
			if (!rows)
				abort();
		}
		dk_row_read(st, &rows[n++]);
	}
	sqlite3_reset(st);
	if (rc != SQLITE_DONE) {
		store_error(e, "reading the vault data keys");
		goto out;
	}
	store_now(now);
	for (size_t i = 0; i < n; i++) {
		uint8_t wrapped[DK_WRAPPED_LEN];

		if (strcmp(rows[i].mkid, old_id)) {
			ferr_set(e, 500, "undecryptable",
				 "data key %lld is recorded as wrapped by master key %s, not the "
				 "current %s: tampered data; nothing was changed",
				 (long long)rows[i].id, rows[i].mkid, old_id);
			goto out;
		}
		if (dk_unwrap(old, rows[i].scope, rows[i].wrapped, rows[i].wrapped_len, dk) < 0) {
			ferr_set(e, 500, "undecryptable",
				 "data key %lld (%s) cannot be decrypted with the current master "
				 "key: tampered data; nothing was changed",
				 (long long)rows[i].id, rows[i].scope);
			goto out;
		}
		dk_wrap(new, rows[i].scope, dk, wrapped);
		st = store_stmt("UPDATE vault_data_keys SET master_key_id = ?, wrapped = ?,"
				" rewrapped_at = ? WHERE id = ?");
		sqlite3_bind_text(st, 1, new_id, -1, SQLITE_STATIC);
		sqlite3_bind_blob(st, 2, wrapped, sizeof(wrapped), SQLITE_STATIC);
		sqlite3_bind_text(st, 3, now, -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 4, rows[i].id);
		rc = sqlite3_step(st);
		sqlite3_reset(st);
		if (rc != SQLITE_DONE) {
			store_error(e, "re-wrapping a vault data key");
			goto out;
		}
	}
	st = store_stmt("UPDATE vault_meta SET master_key_id = ?, rotated_at = ? WHERE id = 1");
	sqlite3_bind_text(st, 1, new_id, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, now, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	sqlite3_reset(st);
	if (rc != SQLITE_DONE) {
		store_error(e, "recording the new master key id");
		goto out;
	}
	ret = 0;
out:
	for (size_t i = 0; i < n; i++)
		dk_row_release(&rows[i]);
	free(rows);
	sodium_free(dk);
	return ret;
}

int vault_rotate_master(const struct vault_key_source *src,
			const struct vault_key_source *new_src,
			char ret_new_id[VAULT_KEY_ID_LEN + 1], struct ferr *e)
{
	char meta[VAULT_KEY_ID_LEN + 1], old_id[VAULT_KEY_ID_LEN + 1];
	char new_id[VAULT_KEY_ID_LEN + 1];
	struct strbuf path = STRBUF_INIT, pending = STRBUF_INIT;
	uint8_t *old = NULL, *new = NULL;
	int lock_fd = -1, have_meta, was_pending, wrote_pending = 0, r, ret = -1;

	if (sodium_init() < 0)
		return ferr_internal(e, "libsodium could not be initialised");
	if (check_source(src, "rotate-master-key", e) < 0 ||
	    (new_src && check_source(new_src, "rotate-master-key: new key", e) < 0))
		return -1;
	if (src->kind == VAULT_KEY_COMMAND && !new_src)
		return ferr_invalid(e, "the master key comes from a command, which ferry cannot "
				    "change: give the new key as a file or command");
	if (store_in_transaction())
		return ferr_internal(e, "vault_rotate_master called inside a transaction");
	old = sodium_malloc(KEY_BYTES);
	new = sodium_malloc(KEY_BYTES);
	if (!old || !new)
		abort();
	source_paths(src, &path, &pending);

	if (lock_data_dir(src->data_dir, &lock_fd, e) < 0 || meta_get(meta, &have_meta, e) < 0)
		goto out;
	if (!have_meta) {
		ferr_invalid(e, "there is no vault in %s yet: start ferryd once first",
			     src->data_dir);
		goto out;
	}
	r = source_load(src, meta, old, old_id, &was_pending, e);
	if (r < 0)
		goto out;
	if (r == 1) {
		ferr_set(e, 500, "master_key_missing",
			 "master key file %s is missing: restore it from your backup",
			 path.buf);
		goto out;
	}
	if (strcmp(old_id, meta)) {
		wrong_key(src, old_id, meta, e);
		goto out;
	}
	/* Finish an interrupted rotation first, or drop its leftovers. */
	if (was_pending ? finish_pending(src, e) < 0 :
	    (path.len && drop_stale_pending(src, e) < 0))
		goto out;

	if (new_src) {
		int ignored;

		r = source_load(new_src, NULL, new, new_id, &ignored, e);
		if (r < 0) {
			ferr_prefix(e, "new master key");
			goto out;
		}
		if (r == 1) {
			struct strbuf name = STRBUF_INIT;

			ferr_invalid(e, "new %s does not exist", source_name(new_src, &name));
			strbuf_release(&name);
			goto out;
		}
	} else {
		master_key_generate(new);
		master_key_id(new, new_id);
	}
	if (!strcmp(new_id, old_id)) {
		ferr_invalid(e, "the new master key is the same as the current one (%s)", old_id);
		goto out;
	}
	if (path.len) {
		if (master_key_write_file(pending.buf, new, e) < 0)
			goto out;
		wrote_pending = 1;
	}

	if (store_begin(e) < 0)
		goto out;
	/* Under the write lock: a daemon cannot add a data key wrapped by the
	 * old master key between our re-wrap and our commit. */
	if (meta_get(meta, &have_meta, e) < 0 || !have_meta || strcmp(meta, old_id)) {
		if (!ferr_isset(e))
			ferr_conflict(e, "the master key changed while rotating; try again");
		store_rollback();
		goto out;
	}
	if (rewrap_all(old, old_id, new, new_id, e) < 0) {
		store_rollback();
		goto out;
	}
	if (store_commit(e) < 0)
		goto out;
	wrote_pending = 0; /* committed: the pending file is now the key */
	if (path.len && finish_pending(src, e) < 0)
		goto out;
	if (ret_new_id)
		copy_id(ret_new_id, new_id);
	ret = 0;
out:
	if (wrote_pending)
		unlink(pending.buf);
	unlock_data_dir(lock_fd);
	sodium_free(old);
	sodium_free(new);
	strbuf_release(&path);
	strbuf_release(&pending);
	return ret;
}

void vault_aad_add(struct strbuf *aad, const char *field)
{
	size_t len = strlen(field);
	uint8_t n[4];

	assert(len <= UINT32_MAX);
	n[0] = (uint8_t)(len >> 24);
	n[1] = (uint8_t)(len >> 16);
	n[2] = (uint8_t)(len >> 8);
	n[3] = (uint8_t)len;
	strbuf_add(aad, n, sizeof(n));
	strbuf_add(aad, field, len);
}

void vault_aad_add_int(struct strbuf *aad, int64_t n)
{
	char buf[24];

	snprintf(buf, sizeof(buf), "%lld", (long long)n);
	vault_aad_add(aad, buf);
}
