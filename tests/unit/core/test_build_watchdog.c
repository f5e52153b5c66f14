/* Unit tests of core/build_watchdog: what it decides about a silent build
 * tool from the clock, the disk and the registry (fake probes): when it
 * lets the tool run on, when it stops it and with which message, what it
 * reads from buildah's lines, when it asks the registry at all, and what
 * it notes in the build's log. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "core/build_watchdog.h"
#include "core/core.h"

#define HOST "127.0.0.1:5000"
#define WAIT_S 10

struct fake {
	long long now;       /* ms */
	int full;
	int64_t free_b;
	const char *host;    /* NULL: no registry yet */
	int answers;         /* the registry answers GET /v2/ */
	int pings;
	long long ping_ms;   /* how long a probe takes */
	char notes[8][512];
	int nnotes;
};

static long long fake_now(void *ctx)
{
	return ((struct fake *)ctx)->now;
}

static int fake_disk_full(void *ctx, int64_t *ret_free)
{
	struct fake *f = ctx;

	*ret_free = f->free_b;
	return f->full;
}

static const char *fake_registry(void *ctx)
{
	return ((struct fake *)ctx)->host;
}

static int fake_ping(void *ctx, struct ferr *e)
{
	struct fake *f = ctx;

	f->pings++;
	f->now += f->ping_ms;
	if (f->answers)
		return 0;
	return ferr_set(e, 503, "unavailable", "GET /v2/: timed out after 2 s");
}

static void fake_note(void *ctx, const char *line, size_t len)
{
	struct fake *f = ctx;

	assert_true(f->nnotes < 8);
	snprintf(f->notes[f->nnotes++], sizeof(f->notes[0]), "%.*s", (int)len, line);
}

struct fixture {
	struct fake f;
	struct build_watchdog_probes probes;
	struct build_watchdog wd;
};

static int setup(void **state)
{
	static struct fixture fx;

	memset(&fx, 0, sizeof(fx));
	fx.f.now = 1000000; /* a monotonic clock long past 0 */
	fx.f.host = HOST;
	fx.f.answers = 1;
	fx.f.free_b = 3 << 20;
	fx.probes = (struct build_watchdog_probes){ fake_now, fake_disk_full, fake_registry,
						    fake_ping, &fx.f };
	fx.wd = (struct build_watchdog){
		.build_id = 7, .registry_wait_s = WAIT_S, .note = fake_note, .note_ctx = &fx.f,
		.probes = &fx.probes,
	};
	core.data_dir = "/srv/ferry";
	*state = &fx;
	return 0;
}

/* One look after quiet_s seconds of the tool's silence. */
static int check(struct fixture *fx, long long quiet_s, struct ferr *e)
{
	ferr_clear(e);
	return build_watchdog_check(&fx->wd, quiet_s * 1000, e);
}

static void line(struct fixture *fx, const char *text)
{
	build_watchdog_line(&fx->wd, text, strlen(text));
}

static void test_quiet_tool_on_a_disk_with_room_runs_on(void **state)
{
	struct fixture *fx = *state;
	struct ferr e = FERR_INIT;

	build_watchdog_step(&fx->wd, "image", BUILD_WATCHDOG_STEP_IMAGE);
	line(fx, "STEP 2/3: RUN make");
	for (int i = 0; i < 120; i++, fx->f.now += 1000)
		assert_int_equal(check(fx, 60 + i, &e), 0);
	assert_int_equal(fx->f.pings, 0); /* not waiting on the registry: never asked */
	assert_int_equal(fx->wd.disk_was_full, 0);
	assert_int_equal(fx->f.nnotes, 0);
}

static void test_full_disk_stops_a_tool_silent_for_20_s(void **state)
{
	struct fixture *fx = *state;
	struct ferr e = FERR_INIT;

	build_watchdog_step(&fx->wd, "image", BUILD_WATCHDOG_STEP_IMAGE);
	fx->f.full = 1;
	/* the tool has been silent long, but the disk is full only now */
	assert_int_equal(check(fx, 300, &e), 0);
	assert_int_equal(fx->wd.disk_was_full, 1);
	fx->f.now += 19000;
	assert_int_equal(check(fx, 319, &e), 0);
	fx->f.now += 1000;
	assert_int_equal(check(fx, 320, &e), -1);
	assert_int_equal(e.status, 507);
	assert_string_equal(e.code, "insufficient_storage");
	assert_string_equal(e.msg, "stopped: the file system of /srv/ferry is full (3072 KiB free) "
			    "and the image step's tool wrote nothing for 320 s; free space (ferry admin "
			    "df, ferry admin prune) and build again");
}

static void test_full_disk_spares_a_tool_that_writes(void **state)
{
	struct fixture *fx = *state;
	struct ferr e = FERR_INIT;

	build_watchdog_step(&fx->wd, "push", BUILD_WATCHDOG_STEP_PUSH);
	fx->f.full = 1;
	for (int i = 0; i < 60; i++, fx->f.now += 1000)
		assert_int_equal(check(fx, 19, &e), 0);
	assert_int_equal(fx->wd.disk_was_full, 1);
	/* room again, then full again: the 20 s count from the new start */
	fx->f.full = 0;
	assert_int_equal(check(fx, 25, &e), 0);
	assert_int_equal(fx->wd.disk_full_since_ms, 0);
	fx->f.full = 1;
	fx->f.now += 1000;
	assert_int_equal(check(fx, 26, &e), 0);
	fx->f.now += 19999;
	assert_int_equal(check(fx, 46, &e), 0);
	fx->f.now += 1;
	assert_int_equal(check(fx, 46, &e), -1);
	assert_int_equal(e.status, 507);
	assert_non_null(strstr(e.msg, "the push step's tool wrote nothing for 46 s"));
	assert_int_equal(fx->wd.disk_was_full, 1); /* what diskspace_explain is told */
}

static void test_buildah_lines_say_when_it_waits_on_the_registry(void **state)
{
	struct fixture *fx = *state;

	build_watchdog_step(&fx->wd, "image", BUILD_WATCHDOG_STEP_IMAGE);
	assert_int_equal(fx->wd.pulling, 0);
	line(fx, "STEP 1/3: FROM 127.0.0.1:5000/ferry/busybox:1");
	assert_int_equal(fx->wd.pulling, 1);
	line(fx, "STEP 2/3: RUN make");
	assert_int_equal(fx->wd.pulling, 0);
	line(fx, "some output of make");
	assert_int_equal(fx->wd.pulling, 0);
	line(fx, "[2/2] STEP 4/5: FROM base AS final");
	assert_int_equal(fx->wd.pulling, 1);
	line(fx, "[2/2] STEP 5/5: COPY --from=builder /app /app");
	assert_int_equal(fx->wd.pulling, 0);
	line(fx, "STEP 1/2: from busybox");
	assert_int_equal(fx->wd.pulling, 1);
	line(fx, "STEP 2/2: RUN true");
	line(fx, "Trying to pull 127.0.0.1:5000/library/alpine:3...");
	assert_int_equal(fx->wd.pulling, 1);
	/* not buildah's step lines */
	line(fx, "STEP");
	assert_int_equal(fx->wd.pulling, 1);
	line(fx, "[1/2]STEP 1/1: FROM x");
	assert_int_equal(fx->wd.pulling, 1);
	line(fx, "STEP 3/3 without a colon");
	assert_int_equal(fx->wd.pulling, 0);
	line(fx, "[");
	line(fx, "");
	/* a new step starts not pulling */
	line(fx, "STEP 1/1: FROM x");
	build_watchdog_step(&fx->wd, "scan", BUILD_WATCHDOG_STEP_OTHER);
	assert_int_equal(fx->wd.pulling, 0);
}

static void test_registry_silent_under_from_stops_the_build_naming_it(void **state)
{
	struct fixture *fx = *state;
	struct ferr e = FERR_INIT;

	build_watchdog_step(&fx->wd, "image", BUILD_WATCHDOG_STEP_IMAGE);
	line(fx, "[2/2] STEP 3/4: FROM 127.0.0.1:5000/ferry/busybox:1");
	fx->f.answers = 0;
	fx->f.ping_ms = 2000;
	/* silent under 5 s: not asked */
	assert_int_equal(check(fx, 4, &e), 0);
	assert_int_equal(fx->f.pings, 0);
	/* 5 s: asked, down: noted, not stopped */
	assert_int_equal(check(fx, 5, &e), 0);
	assert_int_equal(fx->f.pings, 1);
	assert_int_equal(fx->f.nnotes, 1);
	assert_string_equal(fx->f.notes[0], "the registry " HOST " does not answer (GET /v2/: "
			    "timed out after 2 s) and the image step's tool waits: stopping the "
			    "build if this lasts 10 s");
	/* asked at most every 2 s */
	assert_int_equal(check(fx, 6, &e), 0);
	assert_int_equal(fx->f.pings, 2);
	fx->f.now -= 1000;
	assert_int_equal(check(fx, 7, &e), 0);
	assert_int_equal(fx->f.pings, 2);
	/* down since the first probe: 10 s counted after the probe that ends it */
	for (int i = 0; fx->f.pings < 4; i++) {
		assert_true(i < 20);
		fx->f.now += 500;
		assert_int_equal(check(fx, 8, &e), 0);
	}
	while (check(fx, 20, &e) == 0)
		fx->f.now += 500;
	assert_int_equal(e.status, 503);
	assert_string_equal(e.code, "registry_down");
	assert_string_equal(e.msg, "stopped: the registry " HOST " has not answered for 10 s (last "
			    "error: GET /v2/: timed out after 2 s) and the image step's tool, waiting "
			    "on it, wrote nothing for 20 s; build again once it runs (ferry's "
			    "/healthz?verbose=1 shows its state)");
	assert_int_equal(fx->f.nnotes, 1);
}

static void test_registry_that_answers_again_is_noted_and_the_count_restarts(void **state)
{
	struct fixture *fx = *state;
	struct ferr e = FERR_INIT;

	build_watchdog_step(&fx->wd, "push", BUILD_WATCHDOG_STEP_PUSH);
	fx->f.answers = 0;
	/* the push step waits on it throughout: no line needed */
	assert_int_equal(check(fx, 6, &e), 0);
	assert_int_equal(fx->f.pings, 1);
	fx->f.now += 8000;
	assert_int_equal(check(fx, 14, &e), 0);
	fx->f.answers = 1;
	fx->f.now += 2000;
	assert_int_equal(check(fx, 16, &e), 0);
	assert_int_equal(fx->f.nnotes, 2);
	assert_string_equal(fx->f.notes[1], "the registry answers again");
	assert_int_equal(fx->wd.registry_down_since_ms, 0);
	/* down again: 10 s from now, not from the first time */
	fx->f.answers = 0;
	fx->f.now += 2000;
	assert_int_equal(check(fx, 18, &e), 0);
	fx->f.now += 8000;
	assert_int_equal(check(fx, 26, &e), 0);
	fx->f.now += 2000;
	assert_int_equal(check(fx, 28, &e), -1);
	assert_string_equal(e.code, "registry_down");
	assert_non_null(strstr(e.msg, "the push step's tool, waiting on it, wrote nothing for 28 s"));
}

static void test_a_tool_that_writes_resets_the_registry_count(void **state)
{
	struct fixture *fx = *state;
	struct ferr e = FERR_INIT;

	build_watchdog_step(&fx->wd, "push", BUILD_WATCHDOG_STEP_PUSH);
	fx->f.answers = 0;
	assert_int_equal(check(fx, 5, &e), 0);
	assert_true(fx->wd.registry_down_since_ms > 0);
	/* it wrote: silent under 5 s again */
	fx->f.now += 9000;
	assert_int_equal(check(fx, 1, &e), 0);
	assert_int_equal(fx->wd.registry_down_since_ms, 0);
	fx->f.now += 5000;
	assert_int_equal(check(fx, 6, &e), 0); /* down, from now */
	fx->f.now += 9999;
	assert_int_equal(check(fx, 16, &e), 0);
}

static void test_no_registry_or_a_step_that_does_not_wait_on_it_is_not_asked(void **state)
{
	struct fixture *fx = *state;
	struct ferr e = FERR_INIT;

	fx->f.answers = 0;
	fx->f.host = NULL; /* the supervisor has not started it yet */
	build_watchdog_step(&fx->wd, "push", BUILD_WATCHDOG_STEP_PUSH);
	for (int i = 0; i < 30; i++, fx->f.now += 1000)
		assert_int_equal(check(fx, 10 + i, &e), 0);
	fx->f.host = HOST;
	build_watchdog_step(&fx->wd, "checkout", BUILD_WATCHDOG_STEP_OTHER);
	line(fx, "Trying to pull x"); /* pulling, but not a step that waits on it */
	for (int i = 0; i < 30; i++, fx->f.now += 1000)
		assert_int_equal(check(fx, 10 + i, &e), 0);
	assert_int_equal(fx->f.pings, 0);
}

static void test_the_disk_is_looked_at_first(void **state)
{
	struct fixture *fx = *state;
	struct ferr e = FERR_INIT;

	/* both would stop the tool at the same look */
	fx->wd.registry_wait_s = BUILD_WATCHDOG_DISK_STALL_S;
	build_watchdog_step(&fx->wd, "push", BUILD_WATCHDOG_STEP_PUSH);
	fx->f.answers = 0;
	fx->f.full = 1;
	fx->f.free_b = 0;
	while (check(fx, 60, &e) == 0)
		fx->f.now += 1000;
	assert_int_equal(e.status, 507);
	assert_non_null(strstr(e.msg, "(0 KiB free)"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_quiet_tool_on_a_disk_with_room_runs_on, setup),
		cmocka_unit_test_setup(test_full_disk_stops_a_tool_silent_for_20_s, setup),
		cmocka_unit_test_setup(test_full_disk_spares_a_tool_that_writes, setup),
		cmocka_unit_test_setup(test_buildah_lines_say_when_it_waits_on_the_registry, setup),
		cmocka_unit_test_setup(test_registry_silent_under_from_stops_the_build_naming_it, setup),
		cmocka_unit_test_setup(test_registry_that_answers_again_is_noted_and_the_count_restarts,
				       setup),
		cmocka_unit_test_setup(test_a_tool_that_writes_resets_the_registry_count, setup),
		cmocka_unit_test_setup(test_no_registry_or_a_step_that_does_not_wait_on_it_is_not_asked,
				       setup),
		cmocka_unit_test_setup(test_the_disk_is_looked_at_first, setup),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
