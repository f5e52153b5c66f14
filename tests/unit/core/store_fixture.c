#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store_fixture.h"

#include "core/component.h"
#include "core/core.h"
#include "core/project.h"
#include "lib/fstree.h"
#include "store/store.h"
#include "vault/vault.h"

const struct principal fixture_admin = { 1, "admin", ROLE_ADMIN, 0 };

void store_fixture_open(char dir[64], const char *tag)
{
	struct vault_key_source src = { VAULT_KEY_DEFAULT, NULL, NULL, NULL };
	struct ferr e = FERR_INIT;
	char db[128];

	snprintf(dir, 64, "/tmp/ferry-%s-test-XXXXXX", tag);
	assert_non_null(mkdtemp(dir));
	snprintf(db, sizeof(db), "%s/ferry.db", dir);
	if (store_open(db, &e) < 0)
		fail_msg("store_open: %s", e.msg);
	src.data_dir = dir;
	if (vault_open(&core.vault, &src, &e) < 0)
		fail_msg("vault_open: %s", e.msg);
	core.data_dir = dir;
}

void store_fixture_close(const char *dir)
{
	vault_free(core.vault);
	core.vault = NULL;
	store_close();
	fstree_remove(dir);
}

int64_t fixture_project(const char *name, const char *const *envs, int n)
{
	struct ferr e = FERR_INIT;
	json_t *j = NULL;
	int64_t pid;

	if (project_create(&fixture_admin, name, envs, n, &j, &e) < 0)
		fail_msg("project_create %s: %s", name, e.msg);
	json_decref(j);
	assert_int_equal(project_lookup(&fixture_admin, name, &pid, &e), 0);
	return pid;
}

int64_t fixture_component(const char *project, const char *name, const char *type)
{
	struct component_spec spec = { 0 };
	struct ferr e = FERR_INIT;
	char repo[128];
	int64_t pid, id;
	json_t *j = NULL;

	snprintf(repo, sizeof(repo), "https://git.example/%s.git", name);
	spec.name = name;
	spec.type = type;
	spec.repo = repo;
	if (component_create(&fixture_admin, project, &spec, &j, &e) < 0)
		fail_msg("component_create %s: %s", name, e.msg);
	json_decref(j);
	assert_int_equal(component_lookup(&fixture_admin, project, name, &pid, &id, &e), 0);
	return id;
}

int64_t fixture_env(int64_t pid, const char *name)
{
	struct ferr e = FERR_INIT;
	int64_t id;

	if (env_lookup(pid, name, &id, &e) < 0)
		fail_msg("env_lookup %s: %s", name, e.msg);
	return id;
}

int64_t fixture_deployment(int64_t pid, int64_t cid, int64_t env, int seq, const char *status)
{
	struct ferr e = FERR_INIT;
	sqlite3_stmt *st;

	assert_int_equal(store_exec("PRAGMA foreign_keys = OFF", &e), 0);
	st = store_stmt("INSERT INTO deployments (component_id, project_id, environment_id, seq, build_id,"
			" commit_sha, digest, image, descriptor, snapshot_id, independent_snapshot_id,"
			" config_version, cause, status, created_by, created_at)"
			" VALUES (?, ?, ?, ?, 1, 'c0ffee', 'sha256:00', 'img', '{}', 1, 1, 0, 'deploy', ?,"
			" 'admin', '2026-01-01T00:00:00Z')");
	sqlite3_bind_int64(st, 1, cid);
	sqlite3_bind_int64(st, 2, pid);
	sqlite3_bind_int64(st, 3, env);
	sqlite3_bind_int(st, 4, seq);
	sqlite3_bind_text(st, 5, status, -1, SQLITE_STATIC);
	assert_int_equal(sqlite3_step(st), SQLITE_DONE);
	sqlite3_reset(st);
	assert_int_equal(store_exec("PRAGMA foreign_keys = ON", &e), 0);
	return sqlite3_last_insert_rowid(store_db());
}

struct core_fixture *fixture_new(const char *tag, const char *type)
{
	struct core_fixture *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	store_fixture_open(f->dir, tag);
	f->pid = fixture_project("shop", NULL, 0);
	f->cid = fixture_component("shop", "web", type);
	f->dev = fixture_env(f->pid, "development");
	return f;
}

void fixture_free(struct core_fixture *f)
{
	store_fixture_close(f->dir);
	free(f);
}
