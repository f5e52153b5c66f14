/* sandbox: where a build step that runs repository content (a Dockerfile
 * RUN, a buildpack's commands) runs.
 *
 * buildah runs each step with --isolation oci through ferry-build-runtime
 * (src/buildrt), runc with checks, which gives it
 *   - a user namespace mapped onto the subordinate uid/gid ranges of the
 *     ferry-build account (/etc/subuid, /etc/subgid; scripts/install-deps
 *     creates it): uid 0 in the build is an unprivileged uid on the host;
 *   - its own PID, mount, IPC, UTS and network namespaces: no host process
 *     is visible, the host's loopback is not reachable. With egress, a
 *     user-mode network (slirp4netns, host loopback disabled) gives outbound
 *     access; with none, only its own loopback;
 *   - a cgroup of the build's own, ferry-build/<key>, holding the CPU,
 *     memory and process limits; the disk limit is watched by sandbox_poll.
 *
 * A sandbox is opened per build and closed when it ends: closing kills
 * whatever still runs in the build's cgroup and removes it.
 */
#ifndef FERRY_PIPELINE_SANDBOX_H
#define FERRY_PIPELINE_SANDBOX_H

#include <stddef.h>

#include "lib/error.h"

#define SANDBOX_ACCOUNT "ferry-build"
#define SANDBOX_DEFAULT_MEMORY (2LL << 30)
#define SANDBOX_DEFAULT_PIDS 1024
#define SANDBOX_DEFAULT_DISK (10LL << 30)

/* Server-wide settings (ferryd --build-*). */
struct sandbox_config {
	const char *runtime;     /* ferry-build-runtime's path; required */
	const char *state_dir;   /* a private directory (DATA/sandbox); required */
	double cpus;             /* CPU time per wall second; 0: no limit */
	long long memory;        /* bytes; 0: SANDBOX_DEFAULT_MEMORY */
	long pids;               /* 0: SANDBOX_DEFAULT_PIDS */
	long long disk;          /* bytes written by the build's steps; 0: default */
	int no_egress;           /* 1: every build without network (server switch) */
};

/* Checks and records the settings: the ferry-build account's ranges, the
 * runtime binary, slirp4netns (unless no_egress), cgroup support. Returns 0,
 * or -1 with e naming what is missing and how to get it. Call once, before
 * any build. */
int sandbox_setup(const struct sandbox_config *c, struct ferr *e);

/* 1 when builds may have egress at all (the server switch). */
int sandbox_egress_allowed(void);

/* The limits in force, for messages and the build log. */
const struct sandbox_config *sandbox_settings(void);

struct sandbox {
	char key[40];            /* names the build's cgroup and files */
	char *cgroup;            /* "/ferry-build/<key>" */
	char *events_path;       /* where the runtime counts limit hits */
	char *env[7];            /* for buildah (and so for the runtime) */
	int egress;
	long long next_poll_ms;
	long long disk_used;     /* last measured bytes */
	int opened;
};

#define SANDBOX_INIT { "", NULL, NULL, { NULL }, 0, 0, 0, 0 }

/* Opens the sandbox of one build: key is a short unique name ("b12"),
 * egress 1 for outbound network (refused to 0 when the server disables
 * it). Creates its cgroup with the limits. Returns 0, or -1 with e set
 * (and nothing left behind). */
int sandbox_open(struct sandbox *sb, const char *key, int egress, struct ferr *e);

/* Appends buildah bud's flags for the sandbox to argv at *argc (at most
 * SANDBOX_ARGS_MAX entries, pointing into sb and static strings). */
#define SANDBOX_ARGS_MAX 14
void sandbox_buildah_args(const struct sandbox *sb, const char **argv, size_t *argc);

/* Appends the 4 flags of the builds' user-namespace mapping to argv at
 * *argc (--userns-uid-map, --userns-gid-map): a `buildah from` of a built
 * image with them uses its layers as they are, where one without them
 * gets a copy of every layer chowned back to the host's ids. */
void sandbox_userns_args(const char **argv, size_t *argc);

/* Extra environment for buildah ("KEY=VALUE", NULL-terminated). */
const char *const *sandbox_env(const struct sandbox *sb);

/* Called while the build runs (it rate-limits itself to once a second):
 * measures what the running step wrote. Returns 0, or -1 with e set
 * ("limit", 422) when the build wrote more than the disk limit. */
int sandbox_poll(struct sandbox *sb, struct ferr *e);

/* After a failed step: if a limit explains it (the process limit was hit,
 * the memory limit killed a process, a file hit the disk limit: tail, the
 * tool's last output, says "File too large"), replaces e with a message
 * naming the limit and returns 1; else leaves e alone and returns 0. */
int sandbox_explain(struct sandbox *sb, const char *tail, struct ferr *e);

/* Kills what still runs in the build's cgroup, removes it and the
 * sandbox's files. Accepts a sandbox that was never opened. */
void sandbox_close(struct sandbox *sb);

/* Parses a size such as "512M", "2G", "1048576" (bytes; K, M, G, T are
 * powers of 1024). Returns 0, or -1 if it is not one. */
int sandbox_parse_size(const char *s, long long *ret_bytes);

#endif
