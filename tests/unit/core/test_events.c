/* Unit tests of core/events: delivery of the notification events to every
 * subscriber in order; the domain events (configuration.changed,
 * component.deleting) delivered in order, stopped by the first subscriber
 * that fails, answered by the first that answers; and, against a real
 * store and vault, that config_set and component_delete publish them (a
 * refusing subscriber keeps the component, an answer is the change's
 * "redeploy"). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/fstree.h"
#include "core/component.h"
#include "core/config.h"
#include "core/core.h"
#include "core/events.h"
#include "core/project.h"
#include "store/store.h"
#include "vault/vault.h"

static const struct principal admin = { 1, "admin", ROLE_ADMIN, 0 };

/* what the subscribers saw, in order */
static char seen[512];

static void note(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void note(const char *fmt, ...)
{
	size_t n = strlen(seen);
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(seen + n, sizeof(seen) - n, fmt, ap);
	va_end(ap);
}

static void first(enum event_type type, int64_t id)
{
	note("first:%s:%lld ", event_name(type), (long long)id);
}

static void second(enum event_type type, int64_t id)
{
	note("second:%s:%lld ", event_name(type), (long long)id);
}

static void test_notification_events(void **state)
{
	(void)state;
	seen[0] = '\0';
	event_subscribe(first);
	event_subscribe(second);
	event_publish(EVENT_BUILD_SUCCEEDED, 7);
	event_publish(EVENT_DEPLOYMENT_ROLLED_BACK, 9);
	assert_string_equal(seen, "first:build.succeeded:7 second:build.succeeded:7 "
			    "first:deployment.rolled-back:9 second:deployment.rolled-back:9 ");
	assert_int_equal(event_parse("execution.failed"), EVENT_EXECUTION_FAILED);
	assert_int_equal(event_parse("configuration.changed"), -1); /* not a notification */
	assert_null(event_name(EVENT__COUNT));
}

static int refuse;

static int answering(struct domain_event *ev, struct ferr *e)
{
	(void)e;
	note("answering:%s:%lld:%lld:%s ", domain_event_name(ev->type), (long long)ev->component_id,
	     (long long)ev->env_id, ev->actor ? ev->actor : "-");
	if (ev->type == DOMAIN_CONFIG_CHANGED && !ev->answer)
		ev->answer = json_pack("{s:I}", "deployment", (json_int_t)42);
	return 0;
}

static int refusing(struct domain_event *ev, struct ferr *e)
{
	note("refusing:%s ", domain_event_name(ev->type));
	if (refuse && ev->type == DOMAIN_COMPONENT_DELETING)
		return ferr_conflict(e, "component %lld is still deployed somewhere", (long long)ev->component_id);
	return 0;
}

static int late(struct domain_event *ev, struct ferr *e)
{
	(void)e;
	note("late ");
	if (ev->type == DOMAIN_CONFIG_CHANGED && !ev->answer)
		ev->answer = json_pack("{s:I}", "deployment", (json_int_t)99);
	return 0;
}

static void test_domain_events(void **state)
{
	struct domain_event ev = { .type = DOMAIN_CONFIG_CHANGED, .component_id = 3, .env_id = 5,
				   .actor = "ann" };
	struct ferr e = FERR_INIT;

	(void)state;
	seen[0] = '\0';
	domain_subscribe(answering);
	domain_subscribe(refusing);
	domain_subscribe(late);
	/* every subscriber, in order; the first answer stays */
	assert_int_equal(domain_publish(&ev, &e), 0);
	assert_string_equal(seen, "answering:configuration.changed:3:5:ann refusing:configuration.changed late ");
	assert_int_equal(json_integer_value(json_object_get(ev.answer, "deployment")), 42);
	json_decref(ev.answer);

	/* a refusal stops the delivery and is the publisher's error */
	seen[0] = '\0';
	refuse = 1;
	ev = (struct domain_event){ .type = DOMAIN_COMPONENT_DELETING, .component_id = 4, .actor = "bob" };
	assert_int_equal(domain_publish(&ev, &e), -1);
	assert_int_equal(e.status, 409);
	assert_string_equal(e.msg, "component 4 is still deployed somewhere");
	assert_string_equal(seen, "answering:component.deleting:4:0:bob refusing:component.deleting ");

	/* unsubscribed: no longer called, the others still are */
	seen[0] = '\0';
	domain_unsubscribe(refusing);
	e = (struct ferr)FERR_INIT;
	assert_int_equal(domain_publish(&ev, &e), 0);
	assert_string_equal(seen, "answering:component.deleting:4:0:bob late ");
	domain_unsubscribe(answering);
	domain_unsubscribe(late);
	domain_unsubscribe(late); /* not subscribed any more: nothing happens */
	seen[0] = '\0';
	assert_int_equal(domain_publish(&ev, &e), 0);
	assert_string_equal(seen, "");
	assert_string_equal(domain_event_name(DOMAIN_COMPONENT_DELETING), "component.deleting");
	assert_null(domain_event_name(DOMAIN__COUNT));
	refuse = 0;
}

static char dir[64];

static int store_setup(void **state)
{
	struct vault_key_source src = { VAULT_KEY_DEFAULT, NULL, NULL, NULL };
	struct component_spec spec = { .name = "api", .repo = "https://git.example/shop.git" };
	struct ferr e = FERR_INIT;
	json_t *j = NULL;
	char db[128];

	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/ferry-events-test-XXXXXX");
	assert_non_null(mkdtemp(dir));
	snprintf(db, sizeof(db), "%s/ferry.db", dir);
	if (store_open(db, &e) < 0)
		fail_msg("store_open: %s", e.msg);
	src.data_dir = dir;
	if (vault_open(&core.vault, &src, &e) < 0)
		fail_msg("vault_open: %s", e.msg);
	core.data_dir = dir;
	if (project_create(&admin, "shop", NULL, 0, &j, &e) < 0)
		fail_msg("project_create: %s", e.msg);
	json_decref(j);
	if (component_create(&admin, "shop", &spec, &j, &e) < 0)
		fail_msg("component_create: %s", e.msg);
	json_decref(j);
	return 0;
}

static int store_teardown(void **state)
{
	(void)state;
	vault_free(core.vault);
	core.vault = NULL;
	store_close();
	fstree_remove(dir);
	return 0;
}

static void test_publishers(void **state)
{
	struct config_input in = { .key = "MODE", .kind = CONFIG_KIND_ENV, .value = "fast", .value_len = 4 };
	struct ferr e = FERR_INIT;
	json_t *j = NULL, *redeploy;
	int64_t pid, cid;

	(void)state;
	assert_int_equal(component_lookup(&admin, "shop", "api", &pid, &cid, &e), 0);

	/* no subscriber: the change says nothing redeploys it */
	assert_int_equal(config_set(&admin, "shop", "api", NULL, &in, 1, &j, &e), 0);
	redeploy = json_object_get(json_array_get(j, 0), "redeploy");
	assert_string_equal(json_string_value(json_object_get(redeploy, "reason")),
			    "nothing redeploys configuration changes");
	json_decref(j);

	/* a subscriber's answer is the change's */
	seen[0] = '\0';
	domain_subscribe(answering);
	in.value = "slow";
	assert_int_equal(config_set(&admin, "shop", "api", NULL, &in, 1, &j, &e), 0);
	redeploy = json_object_get(json_array_get(j, 0), "redeploy");
	assert_int_equal(json_integer_value(json_object_get(redeploy, "deployment")), 42);
	json_decref(j);
	{
		char want[128];
		snprintf(want, sizeof(want), "answering:configuration.changed:%lld:0:admin ", (long long)cid);
		assert_string_equal(seen, want);
	}

	/* component.deleting refused: the component stays, with the refusal */
	seen[0] = '\0';
	refuse = 1;
	domain_subscribe(refusing);
	assert_int_equal(component_delete(&admin, "shop", "api", &e), -1);
	assert_int_equal(e.status, 409);
	assert_non_null(strstr(e.msg, "still deployed somewhere"));
	assert_int_equal(component_lookup(&admin, "shop", "api", NULL, &cid, &e), 0);

	/* allowed: every subscriber saw it, then it is gone */
	seen[0] = '\0';
	refuse = 0;
	e = (struct ferr)FERR_INIT;
	assert_int_equal(component_delete(&admin, "shop", "api", &e), 0);
	{
		char want[128];
		snprintf(want, sizeof(want), "answering:component.deleting:%lld:0:admin refusing:component.deleting ",
			 (long long)cid);
		assert_string_equal(seen, want);
	}
	assert_int_equal(component_lookup(&admin, "shop", "api", NULL, &cid, &e), -1);
	assert_int_equal(e.status, 404);
	domain_unsubscribe(answering);
	domain_unsubscribe(refusing);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_notification_events),
		cmocka_unit_test(test_domain_events),
		cmocka_unit_test_setup_teardown(test_publishers, store_setup, store_teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
