/* fuzz_world: what the store-backed fuzz targets share: a real SQLite store
 * and vault in a temporary directory (removed at exit), with a project
 * "shop" and a component "shop/api" (auto-build on; no job workers run, so
 * queued builds stay queued). */
#ifndef FERRY_FUZZ_WORLD_H
#define FERRY_FUZZ_WORLD_H

struct fuzz_world {
	char dir[64];
	char hook_key[33];       /* the component's webhook URL key */
	char hook_secret[65];    /* its webhook secret */
};

/* Sets it all up once; exits the process with a message if it cannot. */
const struct fuzz_world *fuzz_world(void);

#endif
