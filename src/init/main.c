/* ferry-init: PID 1 of every container ferry starts.
 *
 *   /.ferry/init [--] PROGRAM [ARG...]
 *
 * Reads the deployment's environment from the configuration directory
 * (/.ferry/config, or $FERRY_CONFIG_DIR), sets it over the inherited
 * environment, runs PROGRAM with PATH lookup, forwards signals to it, reaps
 * zombies and exits with its status. The contract with the runtime driver is
 * docs/ferry-init.md.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "init/envfile.h"
#include "init/supervise.h"
#include "lib/error.h"

#include "lib/banned.h"

#ifndef FERRY_VERSION
#define FERRY_VERSION "unknown"
#endif

#define DEFAULT_CONFIG_DIR "/.ferry/config"

static void usage(FILE *f)
{
	fprintf(f,
		"usage: ferry-init [--] PROGRAM [ARG...]\n"
		"       ferry-init --version\n"
		"\n"
		"Runs PROGRAM as the child of an init process: sets the environment\n"
		"variables of $FERRY_CONFIG_DIR/env (default " DEFAULT_CONFIG_DIR "/env),\n"
		"forwards signals to it (SIGTERM, SIGINT, SIGHUP, SIGQUIT, SIGUSR1/2,\n"
		"SIGWINCH, real-time signals...; not SIGCHLD, faults or job control),\n"
		"reaps zombies and exits with its status (128+N if killed by signal N).\n"
		"Exit 125: ferry-init's own error; 126/127: PROGRAM could not be run /\n"
		"was not found.\n");
}

static int fail(const struct ferr *e)
{
	fprintf(stderr, "ferry-init: %s\n", e->msg);
	return INIT_EXIT_CONFIG;
}

int main(int argc, char **argv)
{
	struct init_env env = INIT_ENV_INIT;
	struct ferr e = FERR_INIT;
	char **envp = NULL, **prog;
	const char *dir;
	sigset_t oldmask;
	pid_t child;
	int argi = 1;

	if (argc > 1 && !strcmp(argv[1], "--version")) {
		printf("ferry-init %s\n", FERRY_VERSION);
		return 0;
	}
	if (argc > 1 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
		usage(stdout);
		return 0;
	}
	if (argc > 1 && !strcmp(argv[1], "--"))
		argi = 2;
	else if (argc > 1 && argv[1][0] == '-') {
		fprintf(stderr, "ferry-init: unknown option %s\n", argv[1]);
		usage(stderr);
		return INIT_EXIT_CONFIG;
	}
	if (argi >= argc || argv[argi][0] == '\0') {
		fprintf(stderr, "ferry-init: no program to run\n");
		usage(stderr);
		return INIT_EXIT_CONFIG;
	}
	prog = argv + argi;

	/* Block first: a SIGTERM arriving while the configuration is being
	 * read must wait for the child, not be lost or kill PID 1's plans. */
	if (init_signals_block(&oldmask, &e) < 0)
		return fail(&e);
	if (init_become_subreaper(&e) < 0)
		return fail(&e);

	dir = getenv("FERRY_CONFIG_DIR");
	if (!dir || !*dir)
		dir = DEFAULT_CONFIG_DIR;
	if (init_env_load(&env, dir, &e) < 0)
		return fail(&e);

	envp = init_env_merge(&env, environ);
	if (!envp) {
		init_env_release(&env);
		fprintf(stderr, "ferry-init: out of memory\n");
		return INIT_EXIT_CONFIG;
	}
	if (init_spawn(prog, envp, &oldmask, &child, &e) < 0) {
		free(envp);
		init_env_release(&env);
		return fail(&e);
	}
	/* The child has its own copy now: PID 1 keeps no plaintext while the
	 * program runs. */
	free(envp);
	init_env_release(&env);

	return init_supervise(child);
}
