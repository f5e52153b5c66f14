/* Unit tests of the deployment status machine (core/deployment.h): every
 * allowed and refused move of deployment_transition against a real SQLite
 * store, and the undeploy-vs-activate race: an undeploy that lands after
 * the rollout checked the status and before it marks the deployment active
 * must win (before the typed transitions, the second UPDATE overwrote it). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "store_fixture.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/component.h"
#include "core/core.h"
#include "core/deployment.h"
#include "core/project.h"
#include "store/store.h"
#include "vault/vault.h"

static const struct principal admin = { 1, "admin", ROLE_ADMIN, 0 };

struct fixture {
	char dir[64];
	int64_t pid, cid, dev;
};

/* A deployment row in status (store_fixture.h: no build or snapshot
 * behind it). */
static int64_t make_deployment(struct fixture *f, int seq, const char *status)
{
	return fixture_deployment(f->pid, f->cid, f->dev, seq, status);
}

static void set_raw(int64_t id, const char *status)
{
	sqlite3_stmt *st = store_stmt("UPDATE deployments SET status = ? WHERE id = ?");

	sqlite3_bind_text(st, 1, status, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, id);
	assert_int_equal(sqlite3_step(st), SQLITE_DONE);
	sqlite3_reset(st);
}

static void status_of(int64_t id, char out[16])
{
	sqlite3_stmt *st = store_stmt("SELECT status FROM deployments WHERE id = ?");

	sqlite3_bind_int64(st, 1, id);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	snprintf(out, 16, "%s", (const char *)sqlite3_column_text(st, 0));
	sqlite3_reset(st);
}

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	struct component_spec spec = { 0 };
	struct ferr e = FERR_INIT;
	json_t *j = NULL;

	assert_non_null(f);
	store_fixture_open(f->dir, "depstatus");
	if (project_create(&admin, "shop", NULL, 0, &j, &e) < 0)
		fail_msg("project_create: %s", e.msg);
	json_decref(j);
	spec.name = "web";
	spec.type = "service";
	spec.repo = "https://git.example/web.git";
	if (component_create(&admin, "shop", &spec, &j, &e) < 0)
		fail_msg("component_create: %s", e.msg);
	json_decref(j);
	assert_int_equal(component_lookup(&admin, "shop", "web", &f->pid, &f->cid, &e), 0);
	assert_int_equal(env_lookup(f->pid, "development", &f->dev, &e), 0);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	store_fixture_close(f->dir);
	free(f);
	return 0;
}

static void test_names(void **state)
{
	(void)state;
	for (int s = 0; s < DEPLOYMENT__STATUS_COUNT; s++)
		assert_int_equal(deployment_status_parse(deployment_status_name(s)), s);
	assert_int_equal(deployment_status_parse("rolled-out"), -1);
	assert_int_equal(deployment_status_parse(NULL), -1);
	assert_null(deployment_status_name(DEPLOYMENT__STATUS_COUNT));
}

/* Every (from, to) pair, through the store: allowed ones change the row,
 * refused ones answer 409 and leave it alone. */
static void test_every_move(void **state)
{
	static const struct { enum deployment_status from, to; } allowed[] = {
		{ DEPLOYMENT_PENDING, DEPLOYMENT_ROLLING_OUT },
		{ DEPLOYMENT_PENDING, DEPLOYMENT_ACTIVE },
		{ DEPLOYMENT_PENDING, DEPLOYMENT_FAILED },
		{ DEPLOYMENT_ROLLING_OUT, DEPLOYMENT_ACTIVE },
		{ DEPLOYMENT_ROLLING_OUT, DEPLOYMENT_FAILED },
		{ DEPLOYMENT_ACTIVE, DEPLOYMENT_SUPERSEDED },
		{ DEPLOYMENT_ACTIVE, DEPLOYMENT_UNDEPLOYED },
		{ DEPLOYMENT_ROLLING_OUT, DEPLOYMENT_ROLLED_BACK },
	};
	struct fixture *f = *state;
	int64_t id = make_deployment(f, 1, "pending");
	int nallowed = 0;

	for (int from = 0; from < DEPLOYMENT__STATUS_COUNT; from++) {
		for (int to = 0; to < DEPLOYMENT__STATUS_COUNT; to++) {
			struct ferr e = FERR_INIT;
			char now[16];
			int want = 0;

			for (size_t k = 0; k < sizeof(allowed) / sizeof(allowed[0]); k++)
				want |= allowed[k].from == (enum deployment_status)from &&
					allowed[k].to == (enum deployment_status)to;
			nallowed += want;
			assert_int_equal(deployment_transition_allowed(from, to), want);
			set_raw(id, deployment_status_name(from));
			if (want) {
				assert_int_equal(deployment_transition(id, to, NULL, &e), 0);
				status_of(id, now);
				assert_string_equal(now, deployment_status_name(to));
			} else {
				assert_int_equal(deployment_transition(id, to, NULL, &e), -1);
				assert_int_equal(e.status, 409);
				assert_non_null(strstr(e.msg, deployment_status_name(from)));
				status_of(id, now);
				assert_string_equal(now, deployment_status_name(from));
			}
		}
	}
	assert_int_equal(nallowed, 8);
	{
		struct ferr e = FERR_INIT;
		assert_int_equal(deployment_transition(id + 1000, DEPLOYMENT_FAILED, "x", &e), -1);
		assert_int_equal(e.status, 404);
	}
}

/* The rollout checked "rolling-out", then an undeploy landed, then the
 * rollout marks the deployment active: refused, the undeploy stands, and
 * the previously active deployment is not superseded by the refused move. */
static void test_undeploy_wins_over_activate(void **state)
{
	struct fixture *f = *state;
	struct ferr e = FERR_INIT;
	int64_t rolling = make_deployment(f, 2, "rolling-out");
	char now[16];

	status_of(rolling, now);
	assert_string_equal(now, "rolling-out");           /* the rollout's check */
	assert_int_equal(deployment_mark_undeployed(f->cid, f->dev, &e), 0);  /* lands */
	assert_int_equal(deployment_mark_active(rolling, &e), -1);
	assert_int_equal(e.status, 409);
	status_of(rolling, now);
	assert_string_equal(now, "failed");
}

static void test_activate_supersedes_in_one_transaction(void **state)
{
	struct fixture *f = *state;
	struct ferr e = FERR_INIT;
	int64_t old = make_deployment(f, 3, "active");
	int64_t failed = make_deployment(f, 4, "failed");
	int64_t next = make_deployment(f, 5, "rolling-out");
	char now[16];

	/* a refused activation supersedes nothing */
	assert_int_equal(deployment_mark_active(failed, &e), -1);
	status_of(old, now);
	assert_string_equal(now, "active");
	ferr_clear(&e);
	assert_int_equal(deployment_mark_active(next, &e), 0);
	status_of(old, now);
	assert_string_equal(now, "superseded");
	status_of(next, now);
	assert_string_equal(now, "active");
	/* failing an active deployment is refused: it keeps serving */
	assert_int_equal(deployment_mark_failed(next, "late", &e), -1);
	assert_int_equal(e.status, 409);
	status_of(next, now);
	assert_string_equal(now, "active");
}

/* The error and finished_at of deployment id. */
static void ended_of(int64_t id, char error[64], int *ret_finished)
{
	sqlite3_stmt *st = store_stmt("SELECT coalesce(error, ''), finished_at IS NOT NULL"
				      " FROM deployments WHERE id = ?");

	sqlite3_bind_int64(st, 1, id);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	snprintf(error, 64, "%s", (const char *)sqlite3_column_text(st, 0));
	*ret_finished = sqlite3_column_int(st, 1);
	sqlite3_reset(st);
}

/* deployment_mark_active supersedes through the machine's multi-row form:
 * of the environment's other deployments of the component, every active
 * one (active → superseded) moves and no other status does; another
 * environment's active one stays. */
static void test_activate_supersedes_only_active_ones(void **state)
{
	struct fixture *f = *state;
	struct ferr e = FERR_INIT;
	int64_t ids[DEPLOYMENT__STATUS_COUNT], twin, prod, other, next;
	char now[16];

	assert_int_equal(env_lookup(f->pid, "production", &prod, &e), 0);
	for (int s = 0; s < DEPLOYMENT__STATUS_COUNT; s++)
		ids[s] = make_deployment(f, 10 + s, deployment_status_name(s));
	twin = make_deployment(f, 20, "active");      /* two active ones: both go */
	other = fixture_deployment(f->pid, f->cid, prod, 1, "active");
	next = make_deployment(f, 21, "rolling-out");
	assert_int_equal(deployment_mark_active(next, &e), 0);
	for (int s = 0; s < DEPLOYMENT__STATUS_COUNT; s++) {
		status_of(ids[s], now);
		assert_string_equal(now, deployment_status_name(
			s == DEPLOYMENT_ACTIVE ? DEPLOYMENT_SUPERSEDED : (enum deployment_status)s));
	}
	status_of(twin, now);
	assert_string_equal(now, "superseded");
	status_of(other, now);
	assert_string_equal(now, "active");
	status_of(next, now);
	assert_string_equal(now, "active");
}

/* deployment_mark_undeployed, for a deployment in every status: active →
 * undeployed (its error kept), pending | rolling-out → failed with the
 * reason, both with finished_at; every other status stays as it is; the
 * component's deployments in another environment are not touched. */
static void test_undeploy_moves_each_status(void **state)
{
	struct fixture *f = *state;
	struct ferr e = FERR_INIT;
	int64_t ids[DEPLOYMENT__STATUS_COUNT], prod, other;
	char now[16], error[64];
	int finished;

	assert_int_equal(env_lookup(f->pid, "production", &prod, &e), 0);
	for (int s = 0; s < DEPLOYMENT__STATUS_COUNT; s++)
		ids[s] = make_deployment(f, 30 + s, deployment_status_name(s));
	other = fixture_deployment(f->pid, f->cid, prod, 1, "rolling-out");
	assert_int_equal(deployment_mark_undeployed(f->cid, f->dev, &e), 0);
	for (int s = 0; s < DEPLOYMENT__STATUS_COUNT; s++) {
		int want = s;

		if (s == DEPLOYMENT_ACTIVE)
			want = DEPLOYMENT_UNDEPLOYED;
		else if (s == DEPLOYMENT_PENDING || s == DEPLOYMENT_ROLLING_OUT)
			want = DEPLOYMENT_FAILED;
		status_of(ids[s], now);
		assert_string_equal(now, deployment_status_name(want));
		ended_of(ids[s], error, &finished);
		assert_string_equal(error, want == DEPLOYMENT_FAILED && s != DEPLOYMENT_FAILED
				    ? "undeployed before its rollout finished" : "");
		assert_int_equal(finished, want != s);
	}
	status_of(other, now);
	assert_string_equal(now, "rolling-out");
	/* again: nothing left to move, no error */
	assert_int_equal(deployment_mark_undeployed(f->cid, f->dev, &e), 0);
	status_of(ids[DEPLOYMENT_ACTIVE], now);
	assert_string_equal(now, "undeployed");
	/* inside the caller's transaction it runs in that one */
	assert_int_equal(store_begin(&e), 0);
	assert_int_equal(deployment_mark_undeployed(f->cid, prod, &e), 0);
	store_rollback();
	status_of(other, now);
	assert_string_equal(now, "rolling-out");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_names),
		cmocka_unit_test_setup_teardown(test_every_move, setup, teardown),
		cmocka_unit_test_setup_teardown(test_undeploy_wins_over_activate, setup, teardown),
		cmocka_unit_test_setup_teardown(test_activate_supersedes_in_one_transaction, setup, teardown),
		cmocka_unit_test_setup_teardown(test_activate_supersedes_only_active_ones, setup, teardown),
		cmocka_unit_test_setup_teardown(test_undeploy_moves_each_status, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
