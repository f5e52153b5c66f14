/* core: daemon-wide handles the domain modules share, set once at start by
 * ferryd before any request or job runs. */
#ifndef FERRY_CORE_H
#define FERRY_CORE_H

struct vault;
struct registry;

struct core {
	struct vault *vault;     /* encryption of configuration and secrets */
	const char *data_dir;    /* everything ferryd owns lives beneath it */
	/* The image registry. Set by ferryd's supervisor once the registry
	 * answers (NULL before): wait with infra_wait() (core/infra.h). */
	struct registry *registry;
};

extern struct core core;

#endif
