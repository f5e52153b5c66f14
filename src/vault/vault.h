/* vault: encryption at rest of every configuration value and secret.
 *
 * Envelope encryption with libsodium's XChaCha20-Poly1305 (IETF):
 *
 *   master key (32 bytes, outside the database: DATA/master.key, a file the
 *   user names, or a command's output)
 *     └─ wraps one data key per key scope (table vault_data_keys)
 *          └─ seals values (blobs the caller stores in its own rows)
 *
 * A key scope is a string the caller chooses; ferry uses one per project,
 * "project:<id>". Scopes are not tied to the projects table: a data key
 * lives until vault_destroy_scope() removes it.
 *
 * Every sealed blob is bound by AEAD associated data to the row it belongs
 * to: the caller builds that data (vault_aad_add*) from project, component,
 * scope, key and version, and passes the same bytes to vault_unseal(). A blob
 * copied into another row, a flipped byte, or a wrong master key makes
 * vault_unseal() fail; it never returns garbage.
 *
 * See docs/vault.md for the formats and the rotation procedure.
 *
 * Thread safety: one struct vault is shared by all the daemon's threads;
 * vault_seal, vault_unseal, vault_refresh and vault_destroy_scope may be
 * called concurrently. Every function that touches the database uses the
 * calling thread's store connection: store_open() must have been called.
 * If the caller has a transaction open on its connection, the vault works
 * inside it (it never nests BEGIN).
 */
#ifndef FERRY_VAULT_H
#define FERRY_VAULT_H

#include <stddef.h>
#include <stdint.h>

#include "lib/error.h"
#include "lib/strbuf.h"

#define VAULT_KEY_ID_LEN 16                 /* hex digits of a master key id */
#define VAULT_MAX_PLAINTEXT (1024 * 1024)   /* largest value vault_seal takes */

enum vault_key_kind {
	VAULT_KEY_DEFAULT,  /* DATA/master.key, created on first start */
	VAULT_KEY_FILE,     /* a key file the user keeps; must exist */
	VAULT_KEY_COMMAND,  /* a command whose output is the key */
};

/* Where the master key comes from; the daemon fills it from its command
 * line. The strings are borrowed and must outlive every vault opened with
 * it. */
struct vault_key_source {
	enum vault_key_kind kind;
	const char *data_dir;  /* always: ferry's data dir (holds vault.lock) */
	const char *path;      /* VAULT_KEY_FILE: the key file */
	const char *command;   /* VAULT_KEY_COMMAND: split on blanks, no shell */
};

struct vault;

/* Loads the master key from src and checks it against the one the store's
 * data is encrypted with. On first start (no vault data yet) with
 * VAULT_KEY_DEFAULT it creates DATA/master.key (mode 0600). Completes a
 * rotation that was interrupted after its commit. Refuses, with a message
 * saying what to do: a key file group/other can access, a missing key file
 * when data exists, a key that is not the one the data was encrypted with
 * ("wrong master key"). Call once at start, after store_open().
 * Returns 0 with *ret set (free with vault_free), or -1 with e set. */
int vault_open(struct vault **ret, const struct vault_key_source *src, struct ferr *e);

/* Wipes every key held in memory and frees v. Accepts NULL. */
void vault_free(struct vault *v);

/* The id of the master key v holds now (VAULT_KEY_ID_LEN hex digits). */
void vault_key_id(struct vault *v, char out[VAULT_KEY_ID_LEN + 1]);

/* Checks whether the master key was rotated by another process and, if so,
 * reloads it from the key source (the old one is wiped). The daemon may call
 * it on a timer; seal and unseal also reload by themselves when they meet a
 * data key wrapped by a newer master key. Returns 0, or -1 with e set if the
 * source does not give the new key yet. */
int vault_refresh(struct vault *v, struct ferr *e);

/* Appends the current master key, sealed with passphrase (keyexport.h),
 * to out: for a backup that must restore on another machine. Returns 0, or
 * -1 with e set (a passphrase too short). */
int vault_export_master(struct vault *v, const char *passphrase, struct strbuf *out, struct ferr *e);

/* Encrypts plain (len bytes, at most VAULT_MAX_PLAINTEXT; may hold NULs)
 * with key_scope's data key (created on first use) and associated data aad
 * (aad_len bytes; may be empty but should not be: see vault_aad_add).
 * On success returns 0 and *ret_blob (malloc'd, free() it; not secret) of
 * *ret_len bytes. Returns -1 with e set (413 "too_large" for an oversized
 * value). plain is not modified nor wiped: the caller owns it. */
int vault_seal(struct vault *v, const char *key_scope,
	       const void *aad, size_t aad_len,
	       const void *plain, size_t len,
	       uint8_t **ret_blob, size_t *ret_len, struct ferr *e);

/* Decrypts blob (blob_len bytes) made by vault_seal with the same aad.
 * what names the value for error messages, e.g. "configuration value for
 * DB_PASSWORD" (NULL: "value"). On success returns 0 and *ret_plain, a
 * malloc'd buffer of *ret_len bytes plus a NUL (release it with
 * vault_plain_free). Returns -1 with e set if the blob is malformed, its
 * data key is gone, or authentication fails: "<what> cannot be decrypted:
 * wrong master key or tampered data". *ret_plain is then NULL. */
int vault_unseal(struct vault *v, const void *aad, size_t aad_len,
		 const uint8_t *blob, size_t blob_len, const char *what,
		 char **ret_plain, size_t *ret_len, struct ferr *e);

/* Wipes len bytes of plain (from vault_unseal) and frees it. Accepts NULL. */
void vault_plain_free(char *plain, size_t len);

/* Deletes key_scope's data key ("crypto-shredding"): every blob sealed under
 * it becomes undecryptable for good. Use when a project is deleted. Returns
 * 0 (also when the scope had no key), or -1 with e set. */
int vault_destroy_scope(struct vault *v, const char *key_scope, struct ferr *e);

/* Rotates the master key; runs as `ferryd rotate-master-key`, also while a
 * daemon is running on the same data dir. src is the current key source.
 * The new key is read from new_src if it is not NULL (it must exist), else
 * generated. In ONE transaction every data key is unwrapped with the current
 * key and wrapped with the new one. For a file source (DEFAULT or FILE) the
 * new key then replaces src's key file atomically (written first as
 * "<file>.new", renamed after the commit; vault_open finishes an interrupted
 * rotation). A COMMAND source cannot be written: new_src is required, and
 * the user must make the command print the new key afterwards. After it the
 * old key opens nothing. A running daemon keeps working (its unwrapped data
 * keys do not change) and picks up the new key when it notices.
 * Call after store_open() on DATA's database, outside any transaction.
 * On success returns 0 and writes the new key id into ret_new_id (may be
 * NULL); returns -1 with e set and nothing changed on failure. */
int vault_rotate_master(const struct vault_key_source *src,
			const struct vault_key_source *new_src,
			char ret_new_id[VAULT_KEY_ID_LEN + 1], struct ferr *e);

/* Appends one field to associated data in an unambiguous encoding (4-byte
 * big-endian length, then the bytes), so ("ab","c") and ("a","bc") differ.
 * Build the aad of a configuration value from every column that identifies
 * its row: project, component, scope, key, version. */
void vault_aad_add(struct strbuf *aad, const char *field);
void vault_aad_add_int(struct strbuf *aad, int64_t n);

#endif
