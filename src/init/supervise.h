/* supervise: start the program and stand in as its init.
 *
 * ferry-init runs as PID 1 of the container. It starts the real program as
 * its only direct child, passes the stop and control signals the runtime
 * sends on to it, reaps every process that ends up as its child (orphans are
 * re-parented to PID 1), and reports the program's exit status.
 *
 * The signals are handled synchronously: init_signals_block() blocks them
 * before the child exists, so one that arrives early stays pending and is
 * forwarded as soon as there is a child to forward it to.
 */
#ifndef FERRY_INIT_SUPERVISE_H
#define FERRY_INIT_SUPERVISE_H

#include <signal.h>
#include <sys/types.h>

struct ferr;

/* Exit statuses of ferry-init itself, as documented in docs/ferry-init.md.
 * 126 and 127 follow the shell: found but not runnable, not found. */
enum {
	INIT_EXIT_CONFIG = 125,       /* bad usage, configuration or set-up */
	INIT_EXIT_NOT_EXECUTABLE = 126,
	INIT_EXIT_NOT_FOUND = 127,
};

/* Returns 1 if ferry-init passes signal sig on to the program, else 0.
 * Forwarded: every signal a runtime may use to stop or control a program
 * (SIGTERM, SIGINT, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2, SIGWINCH, SIGCONT,
 * SIGPWR, ... and all real-time signals SIGRTMIN..SIGRTMAX, so that any
 * STOPSIGNAL an image declares works). Not forwarded: SIGKILL and SIGSTOP
 * (cannot be caught), SIGCHLD (ferry-init's own reaping), the signals
 * raised by a fault of ferry-init itself (SIGSEGV, SIGBUS, SIGFPE, SIGILL,
 * SIGTRAP, SIGSYS, SIGABRT, SIGXCPU, SIGXFSZ, SIGPIPE) and terminal job
 * control (SIGTSTP, SIGTTIN, SIGTTOU). */
int init_signal_forwarded(int sig);

/* Blocks the forwarded signals and SIGCHLD in the calling (single-threaded)
 * process and installs a no-op handler for the forwarded ones, so that they
 * are never ignored or fatal even in PID 1. Stores the previous mask in
 * *ret_oldmask (to be restored in the child). Returns 0, or -1 with e. */
int init_signals_block(sigset_t *ret_oldmask, struct ferr *e);

/* Makes this process a child subreaper when it is not PID 1, so that orphans
 * of the program are still re-parented to (and reaped by) it. Best effort:
 * returns 0, or -1 with e if the kernel refused. */
int init_become_subreaper(struct ferr *e);

/* Forks and, in the child, restores oldmask and the default dispositions,
 * installs envp as the environment and execs argv[0] with PATH lookup in
 * envp's PATH (execvp semantics, scripts without #! run by /bin/sh). If the
 * exec fails the child writes "ferry-init: cannot run ARGV0: REASON" to
 * stderr and exits INIT_EXIT_NOT_FOUND (no such file) or
 * INIT_EXIT_NOT_EXECUTABLE (any other reason). argv and envp must be
 * NULL-terminated; nothing is copied. Returns 0 with *ret_pid set in the
 * parent, or -1 with e if fork() failed. */
int init_spawn(char *const argv[], char *const envp[], const sigset_t *oldmask,
	       pid_t *ret_pid, struct ferr *e);

/* Waits for the blocked signals until the process child has ended: forwards
 * each forwarded signal to child, reaps every exited child process on
 * SIGCHLD. When child has been reaped, also reaps any zombie already
 * waiting, then returns the exit code that mirrors child's status:
 * its exit status, or 128 + signal number if a signal killed it. Never
 * fails: unexpected errors of the wait calls are retried. */
int init_supervise(pid_t child);

/* The exit code for a wait() status: WEXITSTATUS, or 128 + WTERMSIG. */
int init_exit_code(int wstatus);

#endif
