#include "commits.h"

#include <stdlib.h>
#include <string.h>

#include "core/lookup.h"
#include "core/gitcreds.h"
#include "core/core.h"
#include "pipeline/git.h"
#include "store/store.h"
#include "lib/banned.h"

int commits_list(const struct principal *who, const char *project, const char *component,
		 int limit, json_t **ret, struct ferr *e)
{
	struct git_log_list list = GIT_LOG_LIST_INIT;
	char *repo = NULL, *branch = NULL, *mirror = NULL;
	sqlite3_stmt *st;
	int64_t cid;
	int ret_code = -1;

	if (component_lookup(who, project, component, NULL, &cid, e) < 0)
		return -1;
	st = store_stmt("SELECT repo, branch FROM components WHERE id = ?");
	sqlite3_bind_int64(st, 1, cid);
	if (sqlite3_step(st) == SQLITE_ROW) {
		repo = strdup((const char *)sqlite3_column_text(st, 0));
		branch = strdup((const char *)sqlite3_column_text(st, 1));
	}
	sqlite3_reset(st);
	if (!repo || !branch) {
		ferr_notfound(e, "component \"%s/%s\" not found", project, component);
		goto out;
	}
	if (gitcreds_fetch(cid, repo, NULL, &mirror, e) < 0)
		goto out;
	if (git_log(mirror, branch, limit > 0 ? (size_t)limit : 0, &list, e) < 0) {
		ferr_prefix(e, "branch \"%s\" of %s", branch, repo);
		goto out;
	}
	*ret = json_array();
	for (size_t i = 0; i < list.n; i++) {
		const struct git_log_entry *c = &list.v[i];
		json_array_append_new(*ret, json_pack("{s:s, s:s, s:s, s:s, s:s}",
			"sha", c->sha, "author", c->author_name ? c->author_name : "",
			"email", c->author_email ? c->author_email : "", "time", c->time,
			"message", c->subject ? c->subject : ""));
	}
	ret_code = 0;
out:
	git_log_list_release(&list);
	free(repo);
	free(branch);
	free(mirror);
	return ret_code;
}
