#include "fuzz_world.h"

#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/build.h"
#include "core/component.h"
#include "core/core.h"
#include "core/project.h"
#include "store/store.h"
#include "vault/vault.h"

#include "lib/banned.h"

static struct fuzz_world world;

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static void remove_world(void)
{
	store_close();
	nftw(world.dir, rm_one, 8, FTW_DEPTH | FTW_PHYS);
}

static void die(const char *what, const struct ferr *e)
{
	fprintf(stderr, "fuzz_world: %s: %s\n", what, e->msg);
	exit(1);
}

const struct fuzz_world *fuzz_world(void)
{
	static const struct principal admin = { 1, "admin", ROLE_ADMIN, 0 };
	struct vault_key_source src = { VAULT_KEY_DEFAULT, NULL, NULL, NULL };
	struct component_spec spec = { 0 };
	struct build_options bo = { 0 };
	struct ferr e = FERR_INIT;
	json_t *j = NULL;
	const char *url;
	char db[128];

	if (world.dir[0])
		return &world;
	snprintf(world.dir, sizeof(world.dir), "/tmp/ferry-fuzz-XXXXXX");
	if (!mkdtemp(world.dir)) {
		perror("mkdtemp");
		exit(1);
	}
	atexit(remove_world);
	snprintf(db, sizeof(db), "%s/ferry.db", world.dir);
	if (store_open(db, &e) < 0)
		die("store_open", &e);
	src.data_dir = world.dir;
	if (vault_open(&core.vault, &src, &e) < 0)
		die("vault_open", &e);
	core.data_dir = world.dir;
	build_register(&bo);
	if (project_create(&admin, "shop", NULL, 0, &j, &e) < 0)
		die("project_create", &e);
	json_decref(j);
	spec.name = "api";
	spec.repo = "https://git.example/shop.git";
	spec.auto_build = 1;
	if (component_create(&admin, "shop", &spec, &j, &e) < 0)
		die("component_create", &e);
	url = json_string_value(json_object_get(j, "webhook_url"));
	snprintf(world.hook_key, sizeof(world.hook_key), "%s", strrchr(url, '/') + 1);
	snprintf(world.hook_secret, sizeof(world.hook_secret), "%s",
		 json_string_value(json_object_get(j, "webhook_secret")));
	json_decref(j);
	return &world;
}
