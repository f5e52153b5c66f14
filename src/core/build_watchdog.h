/* build_watchdog: the watchdog of a build's tools (buildah, skopeo): a tool
 * stuck on something outside it that will not come back by itself is
 * stopped, with a message naming what, instead of at the build's time limit.
 *
 * The pipeline's tool runner asks it about once a second while a tool runs
 * (image_watch.stalled), with how long the tool has written nothing. Two
 * causes, the disk's first:
 *
 *   full disk  the data dir's file system has had less than
 *              DISKSPACE_FULL_BYTES free for BUILD_WATCHDOG_DISK_STALL_S and
 *              the tool has been silent as long: 507 insufficient_storage
 *              (docs/disk.md; buildah can wait forever for space);
 *   registry   the tool waits on the registry (buildah's latest instruction
 *              a FROM or a pull, or any tool of the push step) and has been
 *              silent BUILD_WATCHDOG_PROBE_QUIET_MS: the registry is asked
 *              (GET /v2/, 2 s) every BUILD_WATCHDOG_PROBE_EVERY_MS, and once
 *              none has answered for registry_wait_s the tool is stopped:
 *              503 registry_down naming it (docs/ferryd.md; a frozen or
 *              unreachable registry accepts connections and never answers).
 *              A dead managed registry is started again by ferryd's
 *              supervisor within that bound.
 *
 * It sees the clock, the disk and the registry through a table of probes,
 * so that what it decides can be tested without them. One per running
 * build, used by that build's thread only.
 */
#ifndef FERRY_CORE_BUILD_WATCHDOG_H
#define FERRY_CORE_BUILD_WATCHDOG_H

#include <stddef.h>
#include <stdint.h>

#include "lib/error.h"

/* A tool silent this long while the disk has been full as long is stopped. */
#define BUILD_WATCHDOG_DISK_STALL_S 20
/* A tool waiting on the registry silent this long gets the registry asked,
 * at most once per BUILD_WATCHDOG_PROBE_EVERY_MS. */
#define BUILD_WATCHDOG_PROBE_QUIET_MS 5000
#define BUILD_WATCHDOG_PROBE_EVERY_MS 2000

/* What the watchdog asks of the world; each gets ctx. */
struct build_watchdog_probes {
	long long (*now_ms)(void *ctx);                  /* CLOCK_MONOTONIC */
	/* 1 when the data dir's file system is full, its free bytes in
	 * *ret_free (as diskspace_full) */
	int (*disk_full)(void *ctx, int64_t *ret_free);
	/* the registry's host ("127.0.0.1:5000"), NULL while none runs */
	const char *(*registry)(void *ctx);
	/* 0 when it answers GET /v2/, -1 with e set (as registry_ping) */
	int (*registry_ping)(void *ctx, struct ferr *e);
	void *ctx;
};

/* The real probes: mono_ms, diskspace_full of core.data_dir, core.registry. */
extern const struct build_watchdog_probes build_watchdog_probes_real;

/* What a step's tools wait on. */
enum build_watchdog_step {
	BUILD_WATCHDOG_STEP_OTHER,  /* not the registry */
	BUILD_WATCHDOG_STEP_IMAGE,  /* the registry at buildah's FROM or a pull */
	BUILD_WATCHDOG_STEP_PUSH,   /* the registry, throughout */
};

struct build_watchdog {
	/* Set by the caller before the first call; the rest starts zeroed. */
	int64_t build_id;             /* the event= log lines' build= */
	int registry_wait_s;          /* the bound on the registry's silence */
	/* One line for the build's log (the registry's going and coming). */
	void (*note)(void *ctx, const char *line, size_t len);
	void *note_ctx;
	const struct build_watchdog_probes *probes;  /* NULL: the real ones */

	const char *step;             /* the step's name, in messages */
	enum build_watchdog_step kind;
	int pulling;                  /* buildah's latest instruction is a FROM, or it pulls */
	long long disk_full_since_ms; /* 0: not full at the last look */
	int disk_was_full;            /* seen full at least once */
	long long registry_probed_ms; /* the last GET /v2/ sent */
	long long registry_down_since_ms; /* the first failed probe since; 0: up */
};

/* A step begins: name (static, in messages) and what its tools wait on. */
void build_watchdog_step(struct build_watchdog *wd, const char *name, enum build_watchdog_step kind);

/* One line of a tool's output. buildah's "STEP n/m: INSTRUCTION ..." lines
 * ("[i/k] STEP n/m: ..." in a multi-stage build) say what it does: a FROM
 * (it asks the registry for the base even when the image is local:
 * --pull=true pulls a newer one) or a pull ("Trying to pull ...", also for
 * COPY --from=IMAGE) waits on the registry until the next instruction. */
void build_watchdog_line(struct build_watchdog *wd, const char *line, size_t len);

/* The decision (image_watch.stalled): quiet_ms since the tool last wrote.
 * Returns 0 to let it run on, or -1 with e set to stop it: 507
 * insufficient_storage or 503 registry_down, the message naming the file
 * system or the registry, the step and the silence; the stop is logged
 * (event=build_disk_stalled, event=build_registry_stalled). */
int build_watchdog_check(struct build_watchdog *wd, long long quiet_ms, struct ferr *e);

#endif
