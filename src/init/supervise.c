#include "init/supervise.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "lib/error.h"

#include "lib/banned.h"

int init_signal_forwarded(int sig)
{
	switch (sig) {
	case SIGKILL: case SIGSTOP:
	case SIGCHLD:
	case SIGSEGV: case SIGBUS: case SIGFPE: case SIGILL: case SIGTRAP:
	case SIGSYS: case SIGABRT: case SIGXCPU: case SIGXFSZ: case SIGPIPE:
	case SIGTSTP: case SIGTTIN: case SIGTTOU:
		return 0;
	}
	/* Between the classic signals and SIGRTMIN are the real-time
	 * signals glibc keeps for itself (threads, timers). */
	if (sig >= 1 && sig < 32)
		return 1;
	return sig >= SIGRTMIN && sig <= SIGRTMAX;
}

static void noop_handler(int sig)
{
	(void)sig;
}

static void waited_set(sigset_t *set)
{
	int sig;

	sigemptyset(set);
	for (sig = 1; sig <= SIGRTMAX; sig++)
		if (init_signal_forwarded(sig))
			sigaddset(set, sig);
	sigaddset(set, SIGCHLD);
}

int init_signals_block(sigset_t *ret_oldmask, struct ferr *e)
{
	struct sigaction sa;
	sigset_t set;
	int sig;

	waited_set(&set);
	if (sigprocmask(SIG_BLOCK, &set, ret_oldmask) < 0)
		return ferr_internal(e, "blocking signals: %s", strerror(errno));

	/* PID 1 never gets a signal whose action is the default (the kernel
	 * protects init); a blocked signal is queued regardless, but a handler
	 * makes that independent of such kernel details. */
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = noop_handler;
	sigemptyset(&sa.sa_mask);
	for (sig = 1; sig <= SIGRTMAX; sig++)
		if (init_signal_forwarded(sig) && sigaction(sig, &sa, NULL) < 0)
			return ferr_internal(e, "installing a handler for signal %d: %s",
					     sig, strerror(errno));
	return 0;
}

int init_become_subreaper(struct ferr *e)
{
	if (getpid() == 1)
		return 0;
	if (prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) < 0)
		return ferr_internal(e, "cannot become a child subreaper: %s",
				     strerror(errno));
	return 0;
}

static void restore_defaults(const sigset_t *oldmask)
{
	struct sigaction sa;
	int sig;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = SIG_DFL;
	sigemptyset(&sa.sa_mask);
	for (sig = 1; sig <= SIGRTMAX; sig++)
		if (init_signal_forwarded(sig))
			sigaction(sig, &sa, NULL);
	sigprocmask(SIG_SETMASK, oldmask, NULL);
}

int init_spawn(char *const argv[], char *const envp[], const sigset_t *oldmask,
	       pid_t *ret_pid, struct ferr *e)
{
	pid_t pid;

	fflush(NULL);
	pid = fork();
	if (pid < 0)
		return ferr_internal(e, "cannot fork: %s", strerror(errno));
	if (pid == 0) {
		int err;

		/* ferry-init is single-threaded, so the child may use the
		 * full library: no lock can be held by a vanished thread. */
		restore_defaults(oldmask);
		environ = (char **)envp;
		execvp(argv[0], argv);
		err = errno;
		fprintf(stderr, "ferry-init: cannot run %s: %s%s\n", argv[0], strerror(err),
			err == E2BIG ? " (the environment and arguments together exceed "
			"the kernel's limit: move large values to file mounts)" : "");
		_exit(err == ENOENT || err == ENOTDIR ? INIT_EXIT_NOT_FOUND
						      : INIT_EXIT_NOT_EXECUTABLE);
	}
	*ret_pid = pid;
	return 0;
}

int init_exit_code(int wstatus)
{
	if (WIFEXITED(wstatus))
		return WEXITSTATUS(wstatus);
	if (WIFSIGNALED(wstatus))
		return 128 + WTERMSIG(wstatus);
	return INIT_EXIT_CONFIG; /* not reachable for a reaped process */
}

/* Reaps every exited child. Returns 1 and sets *ret_status when child was
 * among them. */
static int reap_all(pid_t child, int *ret_status)
{
	int found = 0;

	for (;;) {
		int st;
		pid_t p = waitpid(-1, &st, WNOHANG);

		if (p > 0) {
			if (p == child) {
				*ret_status = st;
				found = 1;
			}
			continue;
		}
		if (p < 0 && errno == EINTR)
			continue;
		return found; /* 0: none exited yet; ECHILD: no children left */
	}
}

int init_supervise(pid_t child)
{
	sigset_t set;
	int status = 0;

	waited_set(&set);
	for (;;) {
		siginfo_t si;
		int sig;

		/* Reap first: a SIGCHLD for a child that exited before the
		 * signals were blocked elsewhere cannot be missed this way. */
		if (reap_all(child, &status))
			break;
		sig = sigwaitinfo(&set, &si);
		if (sig < 0)
			continue; /* EINTR: a stop/continue signal */
		if (sig == SIGCHLD)
			continue;
		/* The child may have exited already but not been reaped: the
		 * kill then hits a zombie and does nothing, which is right. */
		kill(child, sig);
	}
	reap_all(child, &status);
	return init_exit_code(status);
}
