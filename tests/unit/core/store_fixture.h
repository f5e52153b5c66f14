/* store_fixture: what the unit tests of src/core share.
 *
 * A real SQLite store and vault in a fresh temp dir (core.data_dir and
 * core.vault set), projects and components made through the real
 * project_create/component_create, and the rows the rollout engine would
 * make (a deployment) inserted directly. Every helper fails the running
 * cmocka test on error. Include after <cmocka.h>.
 */
#ifndef FERRY_TEST_STORE_FIXTURE_H
#define FERRY_TEST_STORE_FIXTURE_H

#include <stdint.h>

#include "core/auth.h"

extern const struct principal fixture_admin;

/* Makes dir (a copy of "/tmp/ferry-<tag>-test-XXXXXX", 64 bytes) and
 * opens the store and the vault in it. */
void store_fixture_open(char dir[64], const char *tag);
/* Closes the vault and the store and removes dir with everything in it. */
void store_fixture_close(const char *dir);

/* Project name with environments envs[0..n-1] (NULL, 0: the defaults);
 * returns its id. */
int64_t fixture_project(const char *name, const char *const *envs, int n);
/* Component name of type in project (repo https://git.example/NAME.git);
 * returns its id. */
int64_t fixture_component(const char *project, const char *name, const char *type);
/* Environment name of project id pid. */
int64_t fixture_env(int64_t pid, const char *name);

/* The usual fixture: a store in a temp dir named after tag, project
 * "shop" with the default environments and its component "web" of type.
 * fixture_free closes and removes it all. */
struct core_fixture {
	char dir[64];
	int64_t pid, cid, dev;        /* shop, web, development */
	int64_t extra[4];             /* for the test's own rows */
};
struct core_fixture *fixture_new(const char *tag, const char *type);
void fixture_free(struct core_fixture *f);

/* A deployment row (seq, status) with no build or snapshot behind it:
 * foreign keys are off for the insert. Returns its id. */
int64_t fixture_deployment(int64_t pid, int64_t cid, int64_t env, int seq, const char *status);

#endif
