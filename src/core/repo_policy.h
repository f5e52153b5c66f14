/* repo_policy: which repository URLs a token may point a component at.
 *
 * ferryd clones and builds whatever URL a component names, with its own
 * privileges on the server's disk and network. So:
 *   - file:// (a path on the server) is accepted only from an admin token:
 *     a developer scoped to one project could otherwise build another
 *     project's mirror (DATA/git/...) or any repository on the disk;
 *   - a URL whose host is, or resolves to, a loopback, link-local (cloud
 *     metadata, 169.254.169.254) or unspecified address is refused the same
 *     way: it would reach services of the server itself;
 * unless ferryd --allow-local-repos says otherwise (then both are accepted
 * from any token that may write the component). An admin token is the
 * operator's own and may always.
 */
#ifndef FERRY_CORE_REPO_POLICY_H
#define FERRY_CORE_REPO_POLICY_H

#include "core/auth.h"
#include "lib/error.h"

/* ferryd --allow-local-repos. */
void repo_policy_allow_local(int allow);

/* Returns 0 if who may use url (already checked by component_check_repo),
 * or -1 with e set (403 "forbidden", naming the rule and the flag). */
int repo_policy_check(const struct principal *who, const char *url, struct ferr *e);

/* 1 if url's host is, or resolves to, a loopback, link-local or
 * unspecified address and who may not reach those (the same rule for any
 * URL ferryd itself calls, such as a notification hook's); else 0. */
int repo_policy_url_local(const struct principal *who, const char *url);

#endif
