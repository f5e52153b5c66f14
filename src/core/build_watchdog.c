/* The watchdog of a build's tools (core/build_watchdog.h). */
#include "build_watchdog.h"

#include <string.h>

#include "core/core.h"
#include "core/diskspace.h"
#include "lib/clock.h"
#include "lib/log.h"
#include "lib/strbuf.h"
#include "pipeline/registry.h"
#include "lib/banned.h"

static long long real_now(void *ctx)
{
	(void)ctx;
	return mono_ms();
}

static int real_disk_full(void *ctx, int64_t *ret_free)
{
	(void)ctx;
	return diskspace_full(ret_free);
}

static const char *real_registry(void *ctx)
{
	(void)ctx;
	return core.registry ? registry_host(core.registry) : NULL;
}

static int real_registry_ping(void *ctx, struct ferr *e)
{
	(void)ctx;
	return registry_ping(core.registry, e);
}

const struct build_watchdog_probes build_watchdog_probes_real = {
	real_now, real_disk_full, real_registry, real_registry_ping, NULL,
};

static const struct build_watchdog_probes *probes(const struct build_watchdog *wd)
{
	return wd->probes ? wd->probes : &build_watchdog_probes_real;
}

/* A line for the build's log. */
static void note(struct build_watchdog *wd, const struct strbuf *line)
{
	if (wd->note)
		wd->note(wd->note_ctx, line->buf, line->len);
}

void build_watchdog_step(struct build_watchdog *wd, const char *name, enum build_watchdog_step kind)
{
	wd->step = name;
	wd->kind = kind;
	wd->pulling = 0;
	wd->registry_down_since_ms = 0;
}

/* 1 if the line starts with str (len: the line's). */
static int line_starts(const char *line, size_t len, const char *str)
{
	size_t n = strlen(str);

	return len >= n && !memcmp(line, str, n);
}

void build_watchdog_line(struct build_watchdog *wd, const char *line, size_t len)
{
	const char *p = line;
	size_t n = len;

	if (n && *p == '[') {
		const char *close = memchr(p, ']', n);
		if (close && (size_t)(close - p) + 2 <= n && close[1] == ' ') {
			n -= (size_t)(close + 2 - p);
			p = close + 2;
		}
	}
	if (line_starts(p, n, "STEP ")) {
		const char *colon = memchr(p, ':', n);
		size_t rest = colon ? n - (size_t)(colon - p) : 0;
		wd->pulling = colon && (line_starts(colon, rest, ": FROM ") ||
					line_starts(colon, rest, ": from "));
	} else if (line_starts(line, len, "Trying to pull ")) {
		wd->pulling = 1;
	}
}

/* The disk: full for a while, not only at this instant, and the tool
 * silent as long. */
static int disk_stalled(struct build_watchdog *wd, long long quiet_ms, struct ferr *e)
{
	const struct build_watchdog_probes *p = probes(wd);
	int64_t free_b = 0;

	if (!p->disk_full(p->ctx, &free_b)) {
		wd->disk_full_since_ms = 0;
		return 0;
	}
	wd->disk_was_full = 1;
	if (!wd->disk_full_since_ms)
		wd->disk_full_since_ms = p->now_ms(p->ctx);
	if (quiet_ms < BUILD_WATCHDOG_DISK_STALL_S * 1000LL ||
	    p->now_ms(p->ctx) - wd->disk_full_since_ms < BUILD_WATCHDOG_DISK_STALL_S * 1000LL)
		return 0;
	log_warnx("event=build_disk_stalled build=%lld step=%s free_bytes=%lld quiet_ms=%lld",
		  (long long)wd->build_id, wd->step, (long long)free_b, quiet_ms);
	return ferr_set(e, 507, "insufficient_storage",
			"stopped: the file system of %s is full (%lld KiB free) and the %s step's "
			"tool wrote nothing for %lld s; free space (ferry admin df, ferry admin "
			"prune) and build again", core.data_dir, (long long)(free_b >> 10),
			wd->step, quiet_ms / 1000);
}

/* The registry: asked while a tool that waits on it is silent; down (no
 * probe answered) for registry_wait_s, the same bound as the wait before a
 * step (core/registry_wait.h). */
static int registry_stalled(struct build_watchdog *wd, long long quiet_ms, struct ferr *e)
{
	const struct build_watchdog_probes *p = probes(wd);
	struct ferr pe = FERR_INIT;
	struct strbuf line = STRBUF_INIT;
	long long now = p->now_ms(p->ctx), down_ms;
	int wanted = wd->kind == BUILD_WATCHDOG_STEP_PUSH ||
		     (wd->kind == BUILD_WATCHDOG_STEP_IMAGE && wd->pulling);
	const char *host = p->registry(p->ctx);

	if (!host || !wanted || quiet_ms < BUILD_WATCHDOG_PROBE_QUIET_MS) {
		wd->registry_down_since_ms = 0;
		return 0;
	}
	if (now - wd->registry_probed_ms < BUILD_WATCHDOG_PROBE_EVERY_MS)
		return 0;
	wd->registry_probed_ms = now;
	if (p->registry_ping(p->ctx, &pe) == 0) {
		if (wd->registry_down_since_ms) {
			strbuf_addstr(&line, "the registry answers again");
			note(wd, &line);
			strbuf_release(&line);
		}
		wd->registry_down_since_ms = 0;
		return 0;
	}
	if (!wd->registry_down_since_ms) {
		wd->registry_down_since_ms = now;
		strbuf_addf(&line, "the registry %s does not answer (%s) and the %s step's tool "
			    "waits: stopping the build if this lasts %d s", host, pe.msg, wd->step,
			    wd->registry_wait_s);
		note(wd, &line);
		strbuf_release(&line);
		return 0;
	}
	/* the probe itself may have taken its 2 s */
	down_ms = p->now_ms(p->ctx) - wd->registry_down_since_ms;
	if (down_ms < wd->registry_wait_s * 1000LL)
		return 0;
	log_warnx("event=build_registry_stalled build=%lld step=%s registry=%s quiet_ms=%lld",
		  (long long)wd->build_id, wd->step, host, quiet_ms);
	return ferr_set(e, 503, "registry_down",
			"stopped: the registry %s has not answered for %lld s (last error: %s) and "
			"the %s step's tool, waiting on it, wrote nothing for %lld s; build again once "
			"it runs (ferry's /healthz?verbose=1 shows its state)",
			host, down_ms / 1000, pe.msg, wd->step, quiet_ms / 1000);
}

int build_watchdog_check(struct build_watchdog *wd, long long quiet_ms, struct ferr *e)
{
	if (disk_stalled(wd, quiet_ms, e) < 0)
		return -1;
	return registry_stalled(wd, quiet_ms, e);
}
