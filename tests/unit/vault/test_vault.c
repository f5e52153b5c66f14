/* Unit tests of the vault, against a real SQLite file in a temp dir. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <pthread.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/fstree.h"
#include "store/store.h"
#include "vault/masterkey.h"
#include "vault/vault.h"

#define UNDECRYPTABLE "cannot be decrypted: wrong master key or tampered data"

struct fixture {
	char dir[64];
	char key_path[128];
	struct vault_key_source src;
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	struct ferr e = FERR_INIT;
	char db[128];

	assert_non_null(f);
	snprintf(f->dir, sizeof(f->dir), "/tmp/ferry-vault-test-XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	snprintf(db, sizeof(db), "%s/ferry.db", f->dir);
	snprintf(f->key_path, sizeof(f->key_path), "%s/master.key", f->dir);
	if (store_open(db, &e) < 0)
		fail_msg("store_open: %s", e.msg);
	f->src.kind = VAULT_KEY_DEFAULT;
	f->src.data_dir = f->dir;
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	store_close();
	fstree_remove(f->dir);
	free(f);
	return 0;
}

static struct vault *open_ok(const struct vault_key_source *src)
{
	struct ferr e = FERR_INIT;
	struct vault *v = NULL;

	if (vault_open(&v, src, &e) < 0)
		fail_msg("vault_open: %s", e.msg);
	return v;
}

static void write_file(const char *path, const void *data, size_t len, mode_t mode)
{
	int fd;

	unlink(path);
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
	assert_true(fd >= 0);
	assert_int_equal(fchmod(fd, mode), 0);
	assert_int_equal(write(fd, data, len), (ssize_t)len);
	close(fd);
}

static void write_hex_key(const char *path, const uint8_t key[32], mode_t mode)
{
	char hex[66];

	sodium_bin2hex(hex, 65, key, 32);
	hex[64] = '\n';
	write_file(path, hex, 65, mode);
}

static void read_file(const char *path, char *buf, size_t size)
{
	FILE *fp = fopen(path, "r");
	size_t n;

	assert_non_null(fp);
	n = fread(buf, 1, size - 1, fp);
	buf[n] = '\0';
	fclose(fp);
}

/* The aad a configuration row would use. */
static void row_aad(struct strbuf *aad, int64_t project, int64_t component,
		    const char *scope, const char *key, int64_t version)
{
	strbuf_reset(aad);
	vault_aad_add_int(aad, project);
	vault_aad_add_int(aad, component);
	vault_aad_add(aad, scope);
	vault_aad_add(aad, key);
	vault_aad_add_int(aad, version);
}

static void seal_ok(struct vault *v, const char *scope, const struct strbuf *aad,
		    const char *plain, uint8_t **blob, size_t *len)
{
	struct ferr e = FERR_INIT;

	if (vault_seal(v, scope, aad->buf, aad->len, plain, strlen(plain), blob, len, &e) < 0)
		fail_msg("vault_seal: %s", e.msg);
}

static void expect_plain(struct vault *v, const struct strbuf *aad, const uint8_t *blob,
			 size_t len, const char *want)
{
	struct ferr e = FERR_INIT;
	char *plain = NULL;
	size_t plen = 0;

	if (vault_unseal(v, aad->buf, aad->len, blob, len, "configuration value for T",
			 &plain, &plen, &e) < 0)
		fail_msg("vault_unseal: %s", e.msg);
	assert_int_equal(plen, strlen(want));
	assert_string_equal(plain, want);
	vault_plain_free(plain, plen);
}

static void expect_undecryptable(struct vault *v, const struct strbuf *aad, const uint8_t *blob,
				 size_t len, const char *msg_part)
{
	struct ferr e = FERR_INIT;
	char *plain = (char *)"untouched";
	size_t plen = 7;

	assert_int_equal(vault_unseal(v, aad->buf, aad->len, blob, len,
				      "configuration value for DB_PASSWORD", &plain, &plen, &e), -1);
	assert_null(plain);
	assert_int_equal(plen, 0);
	assert_string_equal(e.code, "undecryptable");
	assert_non_null(strstr(e.msg, "configuration value for DB_PASSWORD"));
	if (msg_part && !strstr(e.msg, msg_part))
		fail_msg("message \"%s\" lacks \"%s\"", e.msg, msg_part);
}

static int64_t count_rows(const char *sql)
{
	sqlite3_stmt *st;
	int64_t n = -1;

	assert_int_equal(sqlite3_prepare_v2(store_db(), sql, -1, &st, NULL), SQLITE_OK);
	if (sqlite3_step(st) == SQLITE_ROW)
		n = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return n;
}

static void exec_ok(const char *sql)
{
	struct ferr e = FERR_INIT;

	if (store_exec(sql, &e) < 0)
		fail_msg("%s: %s", sql, e.msg);
}

/* Flips one bit of byte i of scope's wrapped data key in the store. */
static void flip_wrapped_byte(const char *scope, int i)
{
	uint8_t w[128];
	int len = 0;
	sqlite3_stmt *st;

	assert_int_equal(sqlite3_prepare_v2(store_db(),
		"SELECT wrapped FROM vault_data_keys WHERE scope = ?", -1, &st, NULL), SQLITE_OK);
	sqlite3_bind_text(st, 1, scope, -1, SQLITE_STATIC);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	len = sqlite3_column_bytes(st, 0);
	assert_true(len > i && len <= (int)sizeof(w));
	memcpy(w, sqlite3_column_blob(st, 0), (size_t)len);
	sqlite3_finalize(st);
	w[i] ^= 0x10;
	assert_int_equal(sqlite3_prepare_v2(store_db(),
		"UPDATE vault_data_keys SET wrapped = ? WHERE scope = ?", -1, &st, NULL), SQLITE_OK);
	sqlite3_bind_blob(st, 1, w, len, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, scope, -1, SQLITE_STATIC);
	assert_int_equal(sqlite3_step(st), SQLITE_DONE);
	sqlite3_finalize(st);
}

/* ---- master key forms ------------------------------------------------ */

static void test_parse_key_forms(void **state)
{
	uint8_t key[32], got[32];
	char hex[65], b64[64], text[128];

	(void)state;
	for (int i = 0; i < 32; i++)
		key[i] = (uint8_t)(i * 7 + 250); /* wraps: includes 0xfa.., 0x00.. */
	sodium_bin2hex(hex, sizeof(hex), key, 32);
	assert_int_equal(master_key_parse(hex, 64, got), 0);
	assert_memory_equal(got, key, 32);
	snprintf(text, sizeof(text), "  %s\n", hex);
	assert_int_equal(master_key_parse(text, strlen(text), got), 0);
	assert_memory_equal(got, key, 32);

	const int variants[] = { sodium_base64_VARIANT_ORIGINAL,
		sodium_base64_VARIANT_ORIGINAL_NO_PADDING, sodium_base64_VARIANT_URLSAFE,
		sodium_base64_VARIANT_URLSAFE_NO_PADDING };
	for (size_t i = 0; i < 4; i++) {
		memset(got, 0, 32);
		sodium_bin2base64(b64, sizeof(b64), key, 32, variants[i]);
		snprintf(text, sizeof(text), "%s\n", b64);
		assert_int_equal(master_key_parse(text, strlen(text), got), 0);
		assert_memory_equal(got, key, 32);
	}
	assert_int_equal(master_key_parse((const char *)key, 32, got), 0); /* raw */
	assert_memory_equal(got, key, 32);

	assert_int_equal(master_key_parse(hex, 62, got), -1);       /* 31 bytes */
	assert_int_equal(master_key_parse("", 0, got), -1);
	assert_int_equal(master_key_parse("not a key at all, really not", 28, got), -1);
	assert_int_equal(master_key_parse((const char *)key, 31, got), -1);
	hex[10] = 'g';
	assert_int_equal(master_key_parse(hex, 64, got), -1);
}

/* ---- first start, key files ----------------------------------------- */

static void test_first_start_creates_key_file(void **state)
{
	struct fixture *f = *state;
	char id[VAULT_KEY_ID_LEN + 1], id2[VAULT_KEY_ID_LEN + 1], file_id[VAULT_KEY_ID_LEN + 1];
	char text[128], pending[160];
	uint8_t key[32];
	struct stat st;
	struct vault *v = open_ok(&f->src);

	assert_int_equal(stat(f->key_path, &st), 0);
	assert_true(S_ISREG(st.st_mode));
	assert_int_equal(st.st_mode & 07777, 0600);
	assert_int_equal(st.st_size, 65);
	read_file(f->key_path, text, sizeof(text));
	assert_int_equal(master_key_parse(text, strlen(text), key), 0);
	master_key_id(key, file_id);
	vault_key_id(v, id);
	assert_string_equal(id, file_id);
	snprintf(pending, sizeof(pending), "%s.new", f->key_path);
	assert_int_equal(access(pending, F_OK), -1);
	vault_free(v);

	v = open_ok(&f->src); /* second start: same key */
	vault_key_id(v, id2);
	assert_string_equal(id, id2);
	vault_free(v);
}

static void test_key_file_readable_by_others_is_refused(void **state)
{
	struct fixture *f = *state;
	struct ferr e = FERR_INIT;
	struct vault *v = open_ok(&f->src);

	vault_free(v);
	assert_int_equal(chmod(f->key_path, 0644), 0);
	v = (struct vault *)1;
	assert_int_equal(vault_open(&v, &f->src, &e), -1);
	assert_null(v);
	assert_string_equal(e.code, "forbidden");
	assert_non_null(strstr(e.msg, "group or others"));
	assert_non_null(strstr(e.msg, "0644"));
	assert_non_null(strstr(e.msg, "chmod 600"));

	/* Group-readable only is refused as well; 0400 is fine. */
	ferr_clear(&e);
	assert_int_equal(chmod(f->key_path, 0640), 0);
	assert_int_equal(vault_open(&v, &f->src, &e), -1);
	assert_int_equal(chmod(f->key_path, 0400), 0);
	vault_free(open_ok(&f->src));
}

static void test_user_key_file_must_exist(void **state)
{
	struct fixture *f = *state;
	struct vault_key_source src = { VAULT_KEY_FILE, f->dir, "/nonexistent/ferry.key", NULL };
	struct ferr e = FERR_INIT;
	struct vault *v;

	assert_int_equal(vault_open(&v, &src, &e), -1);
	assert_non_null(strstr(e.msg, "does not exist"));
	/* Nothing was created in its place. */
	assert_int_equal(access(f->key_path, F_OK), -1);
}

static void test_missing_key_file_with_data_is_not_recreated(void **state)
{
	struct fixture *f = *state;
	struct ferr e = FERR_INIT;
	struct vault *v = open_ok(&f->src);

	vault_free(v);
	assert_int_equal(unlink(f->key_path), 0);
	assert_int_equal(vault_open(&v, &f->src, &e), -1);
	assert_string_equal(e.code, "master_key_missing");
	assert_non_null(strstr(e.msg, "restore the file from your backup"));
	assert_int_equal(access(f->key_path, F_OK), -1);
}

/* ---- sealing --------------------------------------------------------- */

static void test_round_trip(void **state)
{
	struct fixture *f = *state;
	struct strbuf aad = STRBUF_INIT;
	struct ferr e = FERR_INIT;
	struct vault *v = open_ok(&f->src), *cold;
	uint8_t *b1, *b2, *b3, *bbin, *bbig;
	size_t l1, l2, l3, lbin, lbig, plen;
	const char binary[] = "a\0b\0\xff";
	char *plain, *big = malloc(VAULT_MAX_PLAINTEXT);

	row_aad(&aad, 1, 2, "component", "DB_PASSWORD", 1);
	seal_ok(v, "project:1", &aad, "s3cr3t-canary", &b1, &l1);
	seal_ok(v, "project:1", &aad, "s3cr3t-canary", &b2, &l2);
	seal_ok(v, "project:2", &aad, "", &b3, &l3);
	/* Fresh nonces: the same value never seals to the same bytes. */
	assert_int_equal(l1, l2);
	assert_memory_not_equal(b1, b2, l1);
	assert_null(memmem(b1, l1, "s3cr3t", 6));
	assert_int_equal(l1, 33 + 13 + 16);

	assert_int_equal(vault_seal(v, "project:1", aad.buf, aad.len, binary, sizeof(binary),
				    &bbin, &lbin, &e), 0);
	assert_non_null(big);
	memset(big, 'x', VAULT_MAX_PLAINTEXT);
	assert_int_equal(vault_seal(v, "project:1", aad.buf, aad.len, big, VAULT_MAX_PLAINTEXT,
				    &bbig, &lbig, &e), 0);

	expect_plain(v, &aad, b1, l1, "s3cr3t-canary");
	expect_plain(v, &aad, b2, l2, "s3cr3t-canary");
	expect_plain(v, &aad, b3, l3, "");

	/* A second vault starts with no cached data keys: reads them back. */
	cold = open_ok(&f->src);
	expect_plain(cold, &aad, b1, l1, "s3cr3t-canary");
	expect_plain(cold, &aad, b3, l3, "");
	assert_int_equal(vault_unseal(cold, aad.buf, aad.len, bbin, lbin, NULL, &plain, &plen, &e), 0);
	assert_int_equal(plen, sizeof(binary));
	assert_memory_equal(plain, binary, sizeof(binary));
	vault_plain_free(plain, plen);
	assert_int_equal(vault_unseal(cold, aad.buf, aad.len, bbig, lbig, NULL, &plain, &plen, &e), 0);
	assert_int_equal(plen, VAULT_MAX_PLAINTEXT);
	assert_memory_equal(plain, big, VAULT_MAX_PLAINTEXT);
	vault_plain_free(plain, plen);

	/* One data key per scope. */
	assert_int_equal(count_rows("SELECT count(*) FROM vault_data_keys"), 2);
	vault_free(cold);
	vault_free(v);
	free(b1);
	free(b2);
	free(b3);
	free(bbin);
	free(bbig);
	free(big);
	strbuf_release(&aad);
}

static void test_too_large_is_refused(void **state)
{
	struct fixture *f = *state;
	struct ferr e = FERR_INIT;
	struct vault *v = open_ok(&f->src);
	size_t n = VAULT_MAX_PLAINTEXT + 1, len = 1;
	char *big = calloc(1, n);
	uint8_t *blob = (uint8_t *)"x";

	assert_non_null(big);
	assert_int_equal(vault_seal(v, "project:1", "a", 1, big, n, &blob, &len, &e), -1);
	assert_null(blob);
	assert_int_equal(e.status, 413);
	assert_string_equal(e.code, "too_large");
	assert_non_null(strstr(e.msg, "1 MiB"));
	free(big);
	vault_free(v);
}

/* Two configuration rows in a real table; their ciphertexts are swapped
 * with SQL, as an attacker with write access to the database would. */
static void test_swapped_ciphertexts_fail(void **state)
{
	struct fixture *f = *state;
	struct strbuf aad_a = STRBUF_INIT, aad_b = STRBUF_INIT, aad_c = STRBUF_INIT;
	struct vault *v = open_ok(&f->src), *cold;
	uint8_t *ba, *bb, *bc;
	size_t la, lb, lc;
	sqlite3_stmt *st;

	exec_ok("CREATE TABLE t_config (id INTEGER PRIMARY KEY, aad BLOB, value BLOB)");
	row_aad(&aad_a, 1, 1, "component", "DB_USER", 1);
	row_aad(&aad_b, 1, 1, "component", "DB_PASSWORD", 1);
	row_aad(&aad_c, 2, 5, "component", "DB_USER", 1); /* other project, other data key */
	seal_ok(v, "project:1", &aad_a, "alice", &ba, &la);
	seal_ok(v, "project:1", &aad_b, "hunter2", &bb, &lb);
	seal_ok(v, "project:2", &aad_c, "bob", &bc, &lc);
	assert_int_equal(sqlite3_prepare_v2(store_db(),
		"INSERT INTO t_config (id, aad, value) VALUES (?, ?, ?)", -1, &st, NULL), SQLITE_OK);
	const struct { struct strbuf *aad; uint8_t *b; size_t l; } rows[] = {
		{ &aad_a, ba, la }, { &aad_b, bb, lb }, { &aad_c, bc, lc } };
	for (int i = 0; i < 3; i++) {
		sqlite3_reset(st);
		sqlite3_bind_int(st, 1, i + 1);
		sqlite3_bind_blob(st, 2, rows[i].aad->buf, (int)rows[i].aad->len, SQLITE_STATIC);
		sqlite3_bind_blob(st, 3, rows[i].b, (int)rows[i].l, SQLITE_STATIC);
		assert_int_equal(sqlite3_step(st), SQLITE_DONE);
	}
	sqlite3_finalize(st);
	/* Rows 1 and 2 swap (same data key, other key name); row 3 gets row
	 * 1's (another project's data key). From a copy: an UPDATE sees its own
	 * earlier changes. */
	exec_ok("CREATE TEMP TABLE t_orig AS SELECT id, value FROM t_config;"
		"UPDATE t_config SET value = (SELECT value FROM t_orig WHERE t_orig.id ="
		" CASE t_config.id WHEN 1 THEN 2 WHEN 2 THEN 1 ELSE 1 END);"
		"DROP TABLE t_orig;");
	assert_int_equal(count_rows("SELECT count(DISTINCT value) FROM t_config"), 2);

	cold = open_ok(&f->src);
	assert_int_equal(sqlite3_prepare_v2(store_db(),
		"SELECT aad, value FROM t_config ORDER BY id", -1, &st, NULL), SQLITE_OK);
	while (sqlite3_step(st) == SQLITE_ROW) {
		struct strbuf aad = STRBUF_INIT;

		strbuf_add(&aad, sqlite3_column_blob(st, 0), (size_t)sqlite3_column_bytes(st, 0));
		expect_undecryptable(v, &aad, sqlite3_column_blob(st, 1),
				     (size_t)sqlite3_column_bytes(st, 1), UNDECRYPTABLE);
		expect_undecryptable(cold, &aad, sqlite3_column_blob(st, 1),
				     (size_t)sqlite3_column_bytes(st, 1), UNDECRYPTABLE);
		strbuf_release(&aad);
	}
	sqlite3_finalize(st);
	/* In their own rows they still open. */
	expect_plain(cold, &aad_a, ba, la, "alice");
	expect_plain(cold, &aad_b, bb, lb, "hunter2");
	expect_plain(cold, &aad_c, bc, lc, "bob");
	vault_free(cold);
	vault_free(v);
	free(ba);
	free(bb);
	free(bc);
	strbuf_release(&aad_a);
	strbuf_release(&aad_b);
	strbuf_release(&aad_c);
}

static void test_flipped_byte_fails(void **state)
{
	struct fixture *f = *state;
	struct strbuf aad = STRBUF_INIT;
	struct vault *v = open_ok(&f->src);
	uint8_t *blob;
	size_t len;

	row_aad(&aad, 1, 1, "development", "API_TOKEN", 3);
	seal_ok(v, "project:1", &aad, "tok-123456", &blob, &len);
	/* Every byte: format, data key id, nonce, ciphertext, tag. */
	for (size_t i = 0; i < len; i++) {
		for (int bit = 0; bit < 8; bit += 7) {
			blob[i] ^= (uint8_t)(1u << bit);
			expect_undecryptable(v, &aad, blob, len, NULL);
			blob[i] ^= (uint8_t)(1u << bit);
		}
	}
	/* Truncated, extended, and a flipped aad byte. */
	expect_undecryptable(v, &aad, blob, len - 1, UNDECRYPTABLE);
	expect_undecryptable(v, &aad, blob, 20, "not a vault value");
	expect_undecryptable(v, &aad, NULL, 0, "not a vault value");
	aad.buf[aad.len - 1] ^= 1;
	expect_undecryptable(v, &aad, blob, len, UNDECRYPTABLE);
	aad.buf[aad.len - 1] ^= 1;
	expect_plain(v, &aad, blob, len, "tok-123456");
	/* The version byte says what is wrong. */
	blob[0] = 9;
	expect_undecryptable(v, &aad, blob, len, "unknown format 9");
	vault_free(v);
	free(blob);
	strbuf_release(&aad);
}

static void test_aad_encoding_is_unambiguous(void **state)
{
	struct strbuf a = STRBUF_INIT, b = STRBUF_INIT;

	(void)state;
	vault_aad_add(&a, "ab");
	vault_aad_add(&a, "c");
	vault_aad_add(&b, "a");
	vault_aad_add(&b, "bc");
	assert_int_equal(a.len, b.len);
	assert_memory_not_equal(a.buf, b.buf, a.len);
	strbuf_reset(&a);
	vault_aad_add_int(&a, -42);
	assert_int_equal(a.len, 4 + 3);
	assert_memory_equal(a.buf, "\0\0\0\3-42", 7);
	strbuf_release(&a);
	strbuf_release(&b);
}

/* ---- wrong master key ------------------------------------------------ */

static void test_wrong_master_key_fails(void **state)
{
	struct fixture *f = *state;
	struct strbuf aad = STRBUF_INIT;
	struct ferr e = FERR_INIT;
	char other_path[160];
	struct vault_key_source other = { VAULT_KEY_FILE, f->dir, other_path, NULL };
	struct vault *v = open_ok(&f->src), *w;
	uint8_t key[32], *blob;
	size_t len;

	row_aad(&aad, 1, 1, "component", "DB_PASSWORD", 1);
	seal_ok(v, "project:1", &aad, "s3cr3t", &blob, &len);
	vault_free(v);

	/* A key file with another key: refused at open, before any use. */
	snprintf(other_path, sizeof(other_path), "%s/other.key", f->dir);
	master_key_generate(key);
	write_hex_key(other_path, key, 0600);
	assert_int_equal(vault_open(&w, &other, &e), -1);
	assert_string_equal(e.code, "wrong_master_key");
	assert_non_null(strstr(e.msg, "wrong master key"));
	assert_non_null(strstr(e.msg, other_path));

	/* Even with the store's key ids forged to match, the wrong key only
	 * gets an authentication failure, never garbage. */
	{
		char id[VAULT_KEY_ID_LEN + 1], sql[256];

		master_key_id(key, id);
		snprintf(sql, sizeof(sql), "UPDATE vault_meta SET master_key_id = '%s';"
			 "UPDATE vault_data_keys SET master_key_id = '%s';", id, id);
		exec_ok(sql);
	}
	w = open_ok(&other);
	expect_undecryptable(w, &aad, blob, len, UNDECRYPTABLE);
	vault_free(w);
	free(blob);
	strbuf_release(&aad);
}

static void test_tampered_wrapped_data_key_fails(void **state)
{
	struct fixture *f = *state;
	struct strbuf aad = STRBUF_INIT;
	struct vault *v = open_ok(&f->src);
	uint8_t *b1, *b2;
	size_t l1, l2;

	row_aad(&aad, 1, 1, "component", "K", 1);
	seal_ok(v, "project:1", &aad, "one", &b1, &l1);
	seal_ok(v, "project:2", &aad, "two", &b2, &l2);
	vault_free(v);

	/* Flip one byte of project 1's wrapped data key. */
	flip_wrapped_byte("project:1", 40);
	v = open_ok(&f->src);
	expect_undecryptable(v, &aad, b1, l1, UNDECRYPTABLE);
	expect_plain(v, &aad, b2, l2, "two");
	vault_free(v);

	/* Swap the two wrapped data keys between their rows. */
	v = open_ok(&f->src);
	exec_ok("UPDATE vault_data_keys SET scope = 'tmp' WHERE scope = 'project:1';"
		"UPDATE vault_data_keys SET scope = 'project:1' WHERE scope = 'project:2';"
		"UPDATE vault_data_keys SET scope = 'project:2' WHERE scope = 'tmp';");
	expect_undecryptable(v, &aad, b2, l2, UNDECRYPTABLE);
	vault_free(v);
	free(b1);
	free(b2);
	strbuf_release(&aad);
}

/* ---- rotation -------------------------------------------------------- */

static void test_rotation_keeps_values_and_retires_old_key(void **state)
{
	struct fixture *f = *state;
	struct strbuf aad = STRBUF_INIT, aad2 = STRBUF_INIT;
	struct ferr e = FERR_INIT;
	char old_text[128], new_text[128], old_path[160], pending[160];
	char old_id[VAULT_KEY_ID_LEN + 1], new_id[VAULT_KEY_ID_LEN + 1], id[VAULT_KEY_ID_LEN + 1];
	struct vault_key_source old_src = { VAULT_KEY_FILE, f->dir, old_path, NULL };
	struct vault *v = open_ok(&f->src), *fresh, *w;
	uint8_t *b1, *b2, *b3;
	size_t l1, l2, l3;
	struct stat st;

	row_aad(&aad, 1, 1, "component", "DB_PASSWORD", 1);
	row_aad(&aad2, 2, 7, "production", "API_KEY", 4);
	seal_ok(v, "project:1", &aad, "before-rotation-1", &b1, &l1);
	seal_ok(v, "project:2", &aad2, "before-rotation-2", &b2, &l2);
	vault_key_id(v, old_id);
	read_file(f->key_path, old_text, sizeof(old_text));

	/* ferryd rotate-master-key, while this "daemon" keeps its vault. */
	if (vault_rotate_master(&f->src, NULL, new_id, &e) < 0)
		fail_msg("vault_rotate_master: %s", e.msg);
	assert_string_not_equal(new_id, old_id);
	read_file(f->key_path, new_text, sizeof(new_text));
	assert_string_not_equal(new_text, old_text);
	assert_int_equal(stat(f->key_path, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0600);
	snprintf(pending, sizeof(pending), "%s.new", f->key_path);
	assert_int_equal(access(pending, F_OK), -1);
	assert_int_equal(count_rows("SELECT count(*) FROM vault_data_keys WHERE"
				    " master_key_id = (SELECT master_key_id FROM vault_meta)"), 2);

	/* The running vault still reads (its data keys did not change) ... */
	expect_plain(v, &aad, b1, l1, "before-rotation-1");
	/* ... and picks the new master key up when asked or when it must. */
	seal_ok(v, "project:3", &aad, "after-rotation", &b3, &l3);
	vault_key_id(v, id);
	assert_string_equal(id, new_id);
	assert_int_equal(vault_refresh(v, &e), 0);

	/* A fresh start reads every value the same. */
	fresh = open_ok(&f->src);
	vault_key_id(fresh, id);
	assert_string_equal(id, new_id);
	expect_plain(fresh, &aad, b1, l1, "before-rotation-1");
	expect_plain(fresh, &aad2, b2, l2, "before-rotation-2");
	expect_plain(fresh, &aad, b3, l3, "after-rotation");
	vault_free(fresh);

	/* The old key file opens nothing any more ... */
	snprintf(old_path, sizeof(old_path), "%s/old.key", f->dir);
	write_file(old_path, old_text, strlen(old_text), 0600);
	assert_int_equal(vault_open(&w, &old_src, &e), -1);
	assert_non_null(strstr(e.msg, "wrong master key"));
	/* ... not even with the store's key ids forged back to it. */
	{
		char sql[256];

		snprintf(sql, sizeof(sql), "UPDATE vault_meta SET master_key_id = '%s';"
			 "UPDATE vault_data_keys SET master_key_id = '%s';", old_id, old_id);
		exec_ok(sql);
	}
	w = open_ok(&old_src);
	expect_undecryptable(w, &aad, b1, l1, UNDECRYPTABLE);
	expect_undecryptable(w, &aad2, b2, l2, UNDECRYPTABLE);
	vault_free(w);
	vault_free(v);
	free(b1);
	free(b2);
	free(b3);
	strbuf_release(&aad);
	strbuf_release(&aad2);
}

static void test_rotation_to_a_given_key(void **state)
{
	struct fixture *f = *state;
	struct strbuf aad = STRBUF_INIT;
	struct ferr e = FERR_INIT;
	char new_path[160], id[VAULT_KEY_ID_LEN + 1], want[VAULT_KEY_ID_LEN + 1];
	struct vault_key_source new_src = { VAULT_KEY_FILE, f->dir, new_path, NULL };
	struct vault *v = open_ok(&f->src);
	uint8_t key[32], *blob;
	size_t len;

	row_aad(&aad, 1, 1, "component", "X", 1);
	seal_ok(v, "project:1", &aad, "value-x", &blob, &len);
	vault_free(v);
	snprintf(new_path, sizeof(new_path), "%s/new.key", f->dir);
	master_key_generate(key);
	master_key_id(key, want);
	write_hex_key(new_path, key, 0600);
	if (vault_rotate_master(&f->src, &new_src, id, &e) < 0)
		fail_msg("vault_rotate_master: %s", e.msg);
	assert_string_equal(id, want);
	/* The default key file now holds the given key. */
	v = open_ok(&f->src);
	vault_key_id(v, id);
	assert_string_equal(id, want);
	expect_plain(v, &aad, blob, len, "value-x");
	vault_free(v);
	/* Rotating to the same key again is refused. */
	assert_int_equal(vault_rotate_master(&f->src, &new_src, id, &e), -1);
	assert_non_null(strstr(e.msg, "same as the current one"));
	free(blob);
	strbuf_release(&aad);
}

/* A rotation that crashed after its commit and before renaming the new key
 * into place is finished by the next start; one that crashed before its
 * commit leaves a stale pending file that is dropped. */
static void test_interrupted_rotation_recovers(void **state)
{
	struct fixture *f = *state;
	struct strbuf aad = STRBUF_INIT;
	struct ferr e = FERR_INIT;
	char old_text[128], new_text[128], text[128], pending[160];
	char new_id[VAULT_KEY_ID_LEN + 1], id[VAULT_KEY_ID_LEN + 1];
	struct vault *v = open_ok(&f->src);
	uint8_t *blob, junk[32];
	size_t len;

	row_aad(&aad, 1, 1, "component", "Y", 1);
	seal_ok(v, "project:1", &aad, "value-y", &blob, &len);
	read_file(f->key_path, old_text, sizeof(old_text));
	if (vault_rotate_master(&f->src, NULL, new_id, &e) < 0)
		fail_msg("vault_rotate_master: %s", e.msg);
	read_file(f->key_path, new_text, sizeof(new_text));

	/* Recreate the on-disk state of a crash between commit and rename. */
	snprintf(pending, sizeof(pending), "%s.new", f->key_path);
	assert_int_equal(rename(f->key_path, pending), 0);
	write_file(f->key_path, old_text, strlen(old_text), 0600);

	/* The running daemon finds the new key in the pending file. */
	assert_int_equal(vault_refresh(v, &e), 0);
	vault_key_id(v, id);
	assert_string_equal(id, new_id);
	vault_free(v);

	v = open_ok(&f->src);
	vault_key_id(v, id);
	assert_string_equal(id, new_id);
	read_file(f->key_path, text, sizeof(text));
	assert_string_equal(text, new_text);
	assert_int_equal(access(pending, F_OK), -1);
	expect_plain(v, &aad, blob, len, "value-y");
	vault_free(v);

	/* A crash before the commit: pending holds a key nobody uses. */
	master_key_generate(junk);
	write_hex_key(pending, junk, 0600);
	v = open_ok(&f->src);
	vault_key_id(v, id);
	assert_string_equal(id, new_id);
	assert_int_equal(access(pending, F_OK), -1);
	expect_plain(v, &aad, blob, len, "value-y");
	vault_free(v);
	free(blob);
	strbuf_release(&aad);
}

/* ---- key from a command ---------------------------------------------- */

static void test_key_from_command(void **state)
{
	struct fixture *f = *state;
	struct strbuf aad = STRBUF_INIT;
	struct ferr e = FERR_INIT;
	char hex_path[160], b64_path[160], cmd[400], b64[64], id[VAULT_KEY_ID_LEN + 1];
	char want[VAULT_KEY_ID_LEN + 1];
	struct vault_key_source src = { VAULT_KEY_COMMAND, f->dir, NULL, cmd };
	struct vault *v;
	uint8_t key[32], *blob;
	size_t len;

	master_key_generate(key);
	master_key_id(key, want);
	snprintf(hex_path, sizeof(hex_path), "%s/key.hex", f->dir);
	write_hex_key(hex_path, key, 0644); /* the command's business, not ours */
	snprintf(cmd, sizeof(cmd), "  cat \t%s ", hex_path);
	v = open_ok(&src);
	vault_key_id(v, id);
	assert_string_equal(id, want);
	/* Nothing was written to the data dir for a command source. */
	assert_int_equal(access(f->key_path, F_OK), -1);
	row_aad(&aad, 1, 1, "component", "Z", 1);
	seal_ok(v, "project:1", &aad, "from-command", &blob, &len);
	vault_free(v);

	/* The same key in base64 opens the same data. */
	sodium_bin2base64(b64, sizeof(b64), key, 32, sodium_base64_VARIANT_ORIGINAL);
	snprintf(b64_path, sizeof(b64_path), "%s/key.b64", f->dir);
	write_file(b64_path, b64, strlen(b64), 0600);
	snprintf(cmd, sizeof(cmd), "cat %s", b64_path);
	v = open_ok(&src);
	expect_plain(v, &aad, blob, len, "from-command");
	vault_free(v);

	/* No shell: metacharacters are plain arguments. */
	snprintf(cmd, sizeof(cmd), "cat %s;rm", hex_path);
	assert_int_equal(vault_open(&v, &src, &e), -1);
	assert_non_null(strstr(e.msg, "exited with status 1"));
	assert_int_equal(access(hex_path, F_OK), 0);

	ferr_clear(&e);
	snprintf(cmd, sizeof(cmd), "echo not-the-key");
	assert_int_equal(vault_open(&v, &src, &e), -1);
	assert_non_null(strstr(e.msg, "did not print a 32-byte key"));
	assert_null(strstr(e.msg, "not-the-key"));

	ferr_clear(&e);
	snprintf(cmd, sizeof(cmd), "false");
	assert_int_equal(vault_open(&v, &src, &e), -1);
	assert_non_null(strstr(e.msg, "exited with status 1"));

	ferr_clear(&e);
	snprintf(cmd, sizeof(cmd), "ferry-no-such-key-tool --get");
	assert_int_equal(vault_open(&v, &src, &e), -1);
	assert_non_null(strstr(e.msg, "not found"));

	ferr_clear(&e);
	snprintf(cmd, sizeof(cmd), " \t ");
	assert_int_equal(vault_open(&v, &src, &e), -1);
	assert_non_null(strstr(e.msg, "master key command is empty"));

	/* ferry cannot write a command's key: rotation needs the new key. */
	ferr_clear(&e);
	snprintf(cmd, sizeof(cmd), "cat %s", hex_path);
	assert_int_equal(vault_rotate_master(&src, NULL, id, &e), -1);
	assert_non_null(strstr(e.msg, "give the new key"));
	free(blob);
	strbuf_release(&aad);
}

/* ---- scopes, transactions, threads ----------------------------------- */

static void test_destroy_scope_shreds(void **state)
{
	struct fixture *f = *state;
	struct strbuf aad = STRBUF_INIT;
	struct ferr e = FERR_INIT;
	struct vault *v = open_ok(&f->src), *cold;
	uint8_t *b1, *b2;
	size_t l1, l2;

	row_aad(&aad, 1, 1, "component", "K", 1);
	seal_ok(v, "project:1", &aad, "gone", &b1, &l1);
	seal_ok(v, "project:2", &aad, "kept", &b2, &l2);
	assert_int_equal(vault_destroy_scope(v, "project:1", &e), 0);
	assert_int_equal(vault_destroy_scope(v, "project:9", &e), 0);
	expect_undecryptable(v, &aad, b1, l1, "does not exist");
	cold = open_ok(&f->src);
	expect_undecryptable(cold, &aad, b1, l1, "does not exist");
	expect_plain(cold, &aad, b2, l2, "kept");
	vault_free(cold);
	vault_free(v);
	free(b1);
	free(b2);
	strbuf_release(&aad);
}

/* A data key made inside the caller's transaction must not outlive its
 * rollback in the cache. */
static void test_seal_inside_rolled_back_transaction(void **state)
{
	struct fixture *f = *state;
	struct strbuf aad = STRBUF_INIT;
	struct ferr e = FERR_INIT;
	struct vault *v = open_ok(&f->src), *cold;
	uint8_t *b1, *b2;
	size_t l1, l2;

	row_aad(&aad, 1, 1, "component", "K", 1);
	assert_int_equal(store_begin(&e), 0);
	seal_ok(v, "project:1", &aad, "rolled back", &b1, &l1);
	expect_plain(v, &aad, b1, l1, "rolled back"); /* same transaction sees it */
	store_rollback();
	assert_int_equal(count_rows("SELECT count(*) FROM vault_data_keys"), 0);

	assert_int_equal(store_begin(&e), 0);
	seal_ok(v, "project:1", &aad, "committed", &b2, &l2);
	assert_int_equal(store_commit(&e), 0);
	cold = open_ok(&f->src);
	expect_plain(cold, &aad, b2, l2, "committed");
	expect_plain(v, &aad, b2, l2, "committed");
	vault_free(cold);
	vault_free(v);
	free(b1);
	free(b2);
	strbuf_release(&aad);
}

struct worker {
	struct vault *v;
	int n;
	int failures;
	char msg[sizeof(((struct ferr *)0)->msg)];
};

static void *work(void *arg)
{
	struct worker *w = arg;
	struct strbuf aad = STRBUF_INIT;

	for (int i = 0; i < 200; i++) {
		struct ferr e = FERR_INIT;
		char scope[32], value[64], *plain = NULL;
		uint8_t *blob = NULL;
		size_t len = 0, plen = 0;

		snprintf(scope, sizeof(scope), "project:%d", i % 3);
		snprintf(value, sizeof(value), "worker-%d-value-%d", w->n, i);
		row_aad(&aad, i % 3, w->n, "component", "K", i);
		if (vault_seal(w->v, scope, aad.buf, aad.len, value, strlen(value),
			       &blob, &len, &e) < 0 ||
		    vault_unseal(w->v, aad.buf, aad.len, blob, len, NULL, &plain, &plen, &e) < 0 ||
		    strcmp(plain, value)) {
			if (!w->failures++)
				snprintf(w->msg, sizeof(w->msg), "%s", e.msg);
		}
		vault_plain_free(plain, plen);
		free(blob);
	}
	strbuf_release(&aad);
	return NULL;
}

static void test_concurrent_seal_and_unseal(void **state)
{
	struct fixture *f = *state;
	struct vault *v = open_ok(&f->src);
	struct worker w[4];
	pthread_t t[4];

	for (int i = 0; i < 4; i++) {
		w[i] = (struct worker){ v, i, 0, "" };
		assert_int_equal(pthread_create(&t[i], NULL, work, &w[i]), 0);
	}
	for (int i = 0; i < 4; i++) {
		assert_int_equal(pthread_join(t[i], NULL), 0);
		if (w[i].failures)
			fail_msg("worker %d: %d failures, first: %s", i, w[i].failures, w[i].msg);
	}
	assert_int_equal(count_rows("SELECT count(*) FROM vault_data_keys"), 3);
	vault_free(v);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_key_forms),
		cmocka_unit_test(test_aad_encoding_is_unambiguous),
		cmocka_unit_test_setup_teardown(test_first_start_creates_key_file, setup, teardown),
		cmocka_unit_test_setup_teardown(test_key_file_readable_by_others_is_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_user_key_file_must_exist, setup, teardown),
		cmocka_unit_test_setup_teardown(test_missing_key_file_with_data_is_not_recreated, setup, teardown),
		cmocka_unit_test_setup_teardown(test_round_trip, setup, teardown),
		cmocka_unit_test_setup_teardown(test_too_large_is_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_swapped_ciphertexts_fail, setup, teardown),
		cmocka_unit_test_setup_teardown(test_flipped_byte_fails, setup, teardown),
		cmocka_unit_test_setup_teardown(test_wrong_master_key_fails, setup, teardown),
		cmocka_unit_test_setup_teardown(test_tampered_wrapped_data_key_fails, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rotation_keeps_values_and_retires_old_key, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rotation_to_a_given_key, setup, teardown),
		cmocka_unit_test_setup_teardown(test_interrupted_rotation_recovers, setup, teardown),
		cmocka_unit_test_setup_teardown(test_key_from_command, setup, teardown),
		cmocka_unit_test_setup_teardown(test_destroy_scope_shreds, setup, teardown),
		cmocka_unit_test_setup_teardown(test_seal_inside_rolled_back_transaction, setup, teardown),
		cmocka_unit_test_setup_teardown(test_concurrent_seal_and_unseal, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
