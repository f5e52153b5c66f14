/* registry_auth: the credentials of the managed registry.
 *
 * The managed registry (registry.h) is not open to every local process: it
 * takes only requests with ferryd's credentials (distribution's htpasswd
 * auth, HTTP Basic). They are made by ferryd, once, in the registry's
 * directory (DATA/registry):
 *
 *   password   user "ferry"'s password: 64 hex digits (256 random bits),
 *              mode 0600; kept across restarts so that tools started with
 *              the auth file keep working
 *   htpasswd   its bcrypt hash for the registry (0600), written at every
 *              start from the password
 *
 * ferryd hands them to buildah, skopeo and podman through the auth file
 * (lib/containers.h, DATA/containers/auth.json, 0600) and uses them for its
 * own registry calls. Nothing else on the machine knows them (root can read
 * the data directory, as it can read everything).
 */
#ifndef FERRY_PIPELINE_REGISTRY_AUTH_H
#define FERRY_PIPELINE_REGISTRY_AUTH_H

#include <stddef.h>

#include "lib/error.h"

#define REGISTRY_AUTH_USER "ferry"
#define REGISTRY_AUTH_PASSWORD_LEN 64

struct registry_auth {
	char user[sizeof(REGISTRY_AUTH_USER)];
	char password[REGISTRY_AUTH_PASSWORD_LEN + 1];
	char *htpasswd_path;       /* DIR/htpasswd */
};

/* Reads DIR/password, or creates it (0600) when it does not exist, and
 * (re)writes DIR/htpasswd. A password file that is not 64 hex digits, or is
 * readable by others than its owner, is refused (with the fix in the
 * message). Returns 0 with ret filled (release with registry_auth_release),
 * or -1 with e set. */
int registry_auth_load(struct registry_auth *ret, const char *dir, struct ferr *e);

/* Wipes the password and frees the path. Accepts a zeroed struct. */
void registry_auth_release(struct registry_auth *a);

/* The htpasswd line "ferry:$2b$..." for password into out (at least 128
 * bytes). Returns 0, or -1 with e set. For the tests, too. */
int registry_auth_htpasswd_line(char *out, size_t size, const char *password, struct ferr *e);

#endif
