#include "gitcreds.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/lookup.h"
#include "core/core.h"
#include "store/store.h"
#include "vault/vault.h"
#include "lib/banned.h"

#define MAX_SECRET (64 * 1024)

/* Each sealed field is bound to its component, kind and field name. */
static void aad_for(struct strbuf *aad, int64_t component_id, const char *kind, const char *field)
{
	strbuf_reset(aad);
	vault_aad_add(aad, "git_credentials");
	vault_aad_add_int(aad, component_id);
	vault_aad_add(aad, kind);
	vault_aad_add(aad, field);
}

static int check_input(const struct gitcreds_input *in, struct ferr *e)
{
	if (!in->kind || (strcmp(in->kind, "https") && strcmp(in->kind, "ssh")))
		return ferr_invalid(e, "credential kind must be \"https\" (a token) or \"ssh\" (a private key)");
	if (!strcmp(in->kind, "https")) {
		if (!in->token || !*in->token)
			return ferr_invalid(e, "an https credential needs a token");
		if (in->private_key || in->passphrase || in->host_fingerprint)
			return ferr_invalid(e, "an https credential takes a user name and a token only");
		if (strlen(in->token) > 4096)
			return ferr_invalid(e, "the token is longer than 4096 characters");
		for (const char *p = in->token; *p; p++)
			if ((unsigned char)*p < ' ')
				return ferr_invalid(e, "the token has a control character (a trailing newline?)");
	} else {
		if (!in->private_key || !strstr(in->private_key, "PRIVATE KEY-----"))
			return ferr_invalid(e, "an ssh credential needs a private key in PEM or OpenSSH format");
		if (in->token)
			return ferr_invalid(e, "an ssh credential takes a key, not a token");
		if (strlen(in->private_key) > MAX_SECRET)
			return ferr_invalid(e, "the private key is larger than %d bytes", MAX_SECRET);
		if (in->host_fingerprint && strncmp(in->host_fingerprint, "SHA256:", 7))
			return ferr_invalid(e, "the host key fingerprint must look like SHA256:… (ssh-keygen -lf)");
	}
	if (in->username && (strlen(in->username) > 256 || !*in->username || strchr(in->username, ':')))
		return ferr_invalid(e, "the user name must be 1-256 characters without ':'");
	return 0;
}

static int seal(int64_t pid, int64_t cid, const char *kind, const char *field, const char *value,
		uint8_t **ret, size_t *ret_len, struct ferr *e)
{
	struct strbuf aad = STRBUF_INIT;
	char scope[32];
	int rc;

	snprintf(scope, sizeof(scope), "project:%lld", (long long)pid);
	aad_for(&aad, cid, kind, field);
	rc = vault_seal(core.vault, scope, aad.buf, aad.len, value, strlen(value), ret, ret_len, e);
	strbuf_release(&aad);
	return rc;
}

int gitcreds_set(const struct principal *who, const char *project, const char *component,
		 const struct gitcreds_input *in, json_t **ret, struct ferr *e)
{
	uint8_t *secret = NULL, *pass = NULL;
	size_t secret_len = 0, pass_len = 0;
	int64_t pid, cid;
	sqlite3_stmt *st;
	char now[32];
	const char *user;
	int rc = -1;

	if (component_lookup(who, project, component, &pid, &cid, e) < 0 ||
	    auth_require_write(who, e) < 0 || check_input(in, e) < 0)
		return -1;
	user = in->username ? in->username : !strcmp(in->kind, "https") ? "x-access-token" : "git";
	if (seal(pid, cid, in->kind, "secret", !strcmp(in->kind, "https") ? in->token : in->private_key,
		 &secret, &secret_len, e) < 0 ||
	    (in->passphrase && seal(pid, cid, in->kind, "passphrase", in->passphrase, &pass, &pass_len, e) < 0))
		goto out;
	store_now(now);
	st = store_stmt("INSERT OR REPLACE INTO git_credentials (component_id, kind, username, secret,"
			" passphrase, host_fingerprint, updated_by, updated_at) VALUES (?,?,?,?,?,?,?,?)");
	sqlite3_bind_int64(st, 1, cid);
	sqlite3_bind_text(st, 2, in->kind, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, user, -1, SQLITE_STATIC);
	sqlite3_bind_blob(st, 4, secret, (int)secret_len, SQLITE_STATIC);
	if (pass)
		sqlite3_bind_blob(st, 5, pass, (int)pass_len, SQLITE_STATIC);
	else
		sqlite3_bind_null(st, 5);
	sqlite3_bind_text(st, 6, in->host_fingerprint, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 7, who->name, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 8, now, -1, SQLITE_STATIC);
	if (sqlite3_step(st) != SQLITE_DONE) {
		store_error(e, "store git credentials");
		goto out;
	}
	rc = gitcreds_show(who, project, component, ret, e);
out:
	free(secret);
	free(pass);
	return rc;
}

int gitcreds_unset(const struct principal *who, const char *project, const char *component,
		   struct ferr *e)
{
	sqlite3_stmt *st;
	int64_t cid;

	if (component_lookup(who, project, component, NULL, &cid, e) < 0 || auth_require_write(who, e) < 0)
		return -1;
	st = store_stmt("DELETE FROM git_credentials WHERE component_id = ?");
	sqlite3_bind_int64(st, 1, cid);
	if (sqlite3_step(st) != SQLITE_DONE)
		return store_error(e, "remove git credentials");
	if (sqlite3_changes(store_db()) == 0)
		return ferr_notfound(e, "%s/%s has no git credentials", project, component);
	return 0;
}

int gitcreds_show(const struct principal *who, const char *project, const char *component,
		  json_t **ret, struct ferr *e)
{
	sqlite3_stmt *st;
	int64_t cid;
	int rc;

	if (component_lookup(who, project, component, NULL, &cid, e) < 0)
		return -1;
	st = store_stmt("SELECT kind, username, host_fingerprint, updated_by, updated_at,"
			" passphrase IS NOT NULL FROM git_credentials WHERE component_id = ?");
	sqlite3_bind_int64(st, 1, cid);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		*ret = json_pack("{s:s, s:s, s:s?, s:b, s:s, s:s}",
				 "kind", sqlite3_column_text(st, 0),
				 "username", sqlite3_column_text(st, 1),
				 "host_fingerprint", sqlite3_column_text(st, 2),
				 "passphrase", sqlite3_column_int(st, 5),
				 "updated_by", sqlite3_column_text(st, 3),
				 "updated_at", sqlite3_column_text(st, 4));
	else if (rc == SQLITE_DONE)
		*ret = json_pack("{s:n}", "kind");
	sqlite3_reset(st);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return store_error(e, "read git credentials");
	return 0;
}

static int unseal(int64_t cid, const char *kind, const char *field, const void *blob, size_t len,
		  char **ret, size_t *ret_len, struct ferr *e)
{
	struct strbuf aad = STRBUF_INIT;
	int rc;

	aad_for(&aad, cid, kind, field);
	rc = vault_unseal(core.vault, aad.buf, aad.len, blob, len, "git credential", ret, ret_len, e);
	strbuf_release(&aad);
	return rc;
}

static char *dup_text(sqlite3_stmt *st, int col)
{
	const char *s = (const char *)sqlite3_column_text(st, col);
	char *d = s ? strdup(s) : NULL;

	if (s && !d)
		abort();
	return d;
}

int gitcreds_load(int64_t component_id, struct gitcreds *c, struct ferr *e)
{
	sqlite3_stmt *st;
	char kind[8];
	int rc;

	memset(c, 0, sizeof(*c));
	st = store_stmt("SELECT kind, username, secret, passphrase, host_fingerprint FROM git_credentials"
			" WHERE component_id = ?");
	sqlite3_bind_int64(st, 1, component_id);
	rc = sqlite3_step(st);
	if (rc != SQLITE_ROW) {
		sqlite3_reset(st);
		return rc == SQLITE_DONE ? 0 : store_error(e, "read git credentials");
	}
	snprintf(kind, sizeof(kind), "%s", sqlite3_column_text(st, 0));
	c->username = dup_text(st, 1);
	c->host_fingerprint = dup_text(st, 4);
	if (unseal(component_id, kind, "secret", sqlite3_column_blob(st, 2),
		   (size_t)sqlite3_column_bytes(st, 2), &c->secret, &c->secret_len, e) < 0 ||
	    (sqlite3_column_type(st, 3) != SQLITE_NULL &&
	     unseal(component_id, kind, "passphrase", sqlite3_column_blob(st, 3),
		    (size_t)sqlite3_column_bytes(st, 3), &c->passphrase, &c->passphrase_len, e) < 0)) {
		sqlite3_reset(st);
		gitcreds_release(c);
		return -1;
	}
	sqlite3_reset(st);
	c->creds.username = c->username;
	if (!strcmp(kind, "https")) {
		c->creds.password = c->secret;
	} else {
		c->creds.ssh_private_key = c->secret;
		c->creds.ssh_passphrase = c->passphrase;
		c->creds.ssh_host_fingerprint = c->host_fingerprint;
	}
	return 1;
}

void gitcreds_release(struct gitcreds *c)
{
	vault_plain_free(c->secret, c->secret_len);
	vault_plain_free(c->passphrase, c->passphrase_len);
	free(c->username);
	free(c->host_fingerprint);
	memset(c, 0, sizeof(*c));
}

int gitcreds_fetch(int64_t component_id, const char *repo, const struct git_fetch_opts *opts,
		   char **ret_mirror, struct ferr *e)
{
	struct git_fetch_opts fo = { 0 };
	struct gitcreds c;
	int have, rc;

	if (opts)
		fo = *opts;
	have = gitcreds_load(component_id, &c, e);
	if (have < 0)
		return -1;
	if (have)
		fo.creds = &c.creds;
	rc = git_mirror_fetch(core.data_dir, repo, &fo, ret_mirror, e);
	if (have)
		gitcreds_release(&c);
	return rc;
}
