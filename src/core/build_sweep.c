#include "core/build_sweep.h"

#include <dirent.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "core/infra.h"
#include "core/core.h"
#include "lib/fstree.h"
#include "lib/log.h"
#include "lib/strbuf.h"
#include "pipeline/image.h"
#include "lib/banned.h"

/* Builds hold it shared; the sweep takes it exclusively, never waiting. */
static pthread_rwlock_t sweep_lock = PTHREAD_RWLOCK_INITIALIZER;

void build_sweep_enter(void)
{
	pthread_rwlock_rdlock(&sweep_lock);
}

void build_sweep_leave(void)
{
	pthread_rwlock_unlock(&sweep_lock);
}

/* DATA/work/build-* (no build runs: none is in use). */
static int remove_workspaces(void)
{
	struct strbuf dir = STRBUF_INIT, path = STRBUF_INIT;
	struct dirent *de;
	DIR *d;
	int n = 0;

	strbuf_addf(&dir, "%s/work", core.data_dir);
	d = opendir(dir.buf);
	while (d && (de = readdir(d))) {
		if (strncmp(de->d_name, "build-", 6))
			continue;
		strbuf_reset(&path);
		strbuf_addf(&path, "%s/%s", dir.buf, de->d_name);
		if (fstree_remove(path.buf) == 0)
			n++;
		else
			log_warn("event=build_sweep_failed path=%s", path.buf);
	}
	if (d)
		closedir(d);
	strbuf_release(&dir);
	strbuf_release(&path);
	return n;
}

int build_sweep(const char *why)
{
	struct ferr e = FERR_INIT;
	size_t containers = 0;
	int workspaces, rc;

	/* the base image is made in the build store before builds may run */
	if (infra_wait(0, &e) < 0)
		return 0;
	if (pthread_rwlock_trywrlock(&sweep_lock) != 0)
		return 0;
	rc = image_remove_working_containers(core.registry, &containers, &e);
	workspaces = remove_workspaces();
	pthread_rwlock_unlock(&sweep_lock);
	if (rc < 0)
		log_warnx("event=build_sweep_failed why=%s err=\"%s\"", why, e.msg);
	if (containers || workspaces)
		log_info("event=build_swept why=%s containers=%zu workspaces=%d", why, containers,
			 workspaces);
	return rc < 0 ? -1 : (int)containers + workspaces;
}
