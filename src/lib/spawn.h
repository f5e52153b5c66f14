/* spawn: run another program without a shell (git's run-command, in small).
 *
 * Everything is prepared before fork(): the program is looked up in PATH and
 * the environment vector built in the parent, so the child only calls
 * async-signal-safe functions (dup2, chdir, setpgid, execve, write, _exit).
 * An exec failure is reported back through a close-on-exec pipe. The child
 * leads its own process group, so spawn_kill() ends the whole tool tree.
 */
#ifndef FERRY_SPAWN_H
#define FERRY_SPAWN_H

#include <sys/types.h>

#include "error.h"
#include "strbuf.h"

struct spawn {
	const char *const *argv; /* NULL-terminated; argv[0] searched in PATH */
	const char *const *env;  /* extra "KEY=VALUE" entries over the inherited
				    environment (same key replaces); may be NULL */
	const char *dir;         /* working directory, or NULL */
	int in_fd;               /* -1: /dev/null */
	int out_fd;              /* -1: /dev/null */
	int err_fd;              /* -1: /dev/null; -2: same as out_fd */
	int die_with_parent;     /* 1: SIGTERM when the thread that started it
				    ends (a helper that must not outlive ferryd
				    even after kill -9) */
	pid_t pid;               /* set by spawn_start */
};

#define SPAWN_INIT { NULL, NULL, NULL, -1, -1, -1, 0, 0 }

/* Starts the program. Returns 0, or -1 with e set (not found, exec failed). */
int spawn_start(struct spawn *s, struct ferr *e);

/* Waits for it. Returns its exit code, or 128+signal if it was killed. */
int spawn_wait(struct spawn *s);

/* Sends sig to the child's whole process group. */
void spawn_kill(struct spawn *s, int sig);

/* Runs argv to completion, collecting stdout+stderr (at most cap bytes;
 * the rest is read and dropped) into out. Kills the process group after
 * timeout_ms (0: none). Returns the exit status (>= 0), or -1 with e set if
 * it could not be started or timed out. */
int spawn_capture(const char *const *argv, const char *const *env, const char *dir,
		  struct strbuf *out, size_t cap, int timeout_ms, struct ferr *e);

/* Runs argv to completion with in_len bytes of in on its stdin (then
 * closed; NULL/0: none) and its stdout and stderr collected apart (at most
 * out_cap / err_cap bytes each, the rest read and dropped; either strbuf
 * may be NULL). The input never touches a disk: for secrets handed to a
 * tool. Kills the process group after timeout_ms (0: none). Returns the
 * exit status (>= 0), or -1 with e set (could not start, timed out).
 *
 * With on_line, stdout is not collected: each line of it goes to on_line
 * as it arrives (without its newline; a line longer than SPAWN_LINE_MAX
 * comes in pieces; the last one even without a newline), and on_line(NULL,
 * 0, arg) is called about once a second while stdout is silent. A non-zero
 * answer kills the process group; spawn_pipe then returns its status
 * (killed: 137). For streams: logs, watches. */
#define SPAWN_LINE_MAX (16u << 10)
struct spawn_io {
	const char *const *argv;
	const char *const *env;
	const char *in;
	size_t in_len;
	struct strbuf *out;
	size_t out_cap;
	struct strbuf *err;
	size_t err_cap;
	int timeout_ms;
	int (*on_line)(const char *line, size_t len, void *arg);
	void *arg;
};
int spawn_pipe(const struct spawn_io *io, struct ferr *e);

#endif
