/* gitcreds: credentials for a component's private repository.
 *
 * One set per component: an HTTPS token (sent as the password of basic
 * auth, with a user name) or an SSH private key (PEM, with an optional
 * passphrase and an optional pinned host key fingerprint "SHA256:…").
 * Token, key and passphrase are sealed in the vault, write-only through
 * the API, and decrypted only for a fetch (checkout, commit listing,
 * polling), wiped right after.
 */
#ifndef FERRY_GITCREDS_H
#define FERRY_GITCREDS_H

#include <jansson.h>
#include <stdint.h>

#include "core/auth.h"
#include "lib/error.h"
#include "pipeline/git.h"

struct gitcreds_input {
	const char *kind;             /* "https" or "ssh" */
	const char *username;         /* https: default "x-access-token"; ssh: default "git" */
	const char *token;            /* https */
	const char *private_key;      /* ssh, PEM */
	const char *passphrase;       /* ssh, optional */
	const char *host_fingerprint; /* ssh, optional "SHA256:..." */
};

/* Sets (replaces) component's credentials (developers and admins).
 * *ret describes them without any secret. */
int gitcreds_set(const struct principal *who, const char *project, const char *component,
		 const struct gitcreds_input *in, json_t **ret, struct ferr *e);
/* Removes them (404 if there are none). */
int gitcreds_unset(const struct principal *who, const char *project, const char *component,
		   struct ferr *e);
/* {"kind", "username", "host_fingerprint", "updated_by", "updated_at"}, or
 * {"kind": null} when the component has none. */
int gitcreds_show(const struct principal *who, const char *project, const char *component,
		  json_t **ret, struct ferr *e);

/* Decrypted credentials for a fetch. */
struct gitcreds {
	struct git_creds creds;       /* points into the fields below */
	char *username;
	char *secret;                 /* token or private key */
	size_t secret_len;
	char *passphrase;
	size_t passphrase_len;
	char *host_fingerprint;
};

/* Loads component_id's credentials. Returns 1 with *ret filled (release
 * with gitcreds_release), 0 if the component has none, -1 with e set. */
int gitcreds_load(int64_t component_id, struct gitcreds *ret, struct ferr *e);
/* Wipes and frees the decrypted values. */
void gitcreds_release(struct gitcreds *c);

/* git_mirror_fetch of component_id's repository with its credentials, if
 * it has any. opts may be NULL; its creds member is set here. */
int gitcreds_fetch(int64_t component_id, const char *repo, const struct git_fetch_opts *opts,
		   char **ret_mirror, struct ferr *e);

#endif
