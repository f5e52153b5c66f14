#include "core/diskuse.h"

#include <stdio.h>
#include <sys/stat.h>
#include <time.h>

#include "core/core.h"
#include "core/diskspace.h"
#include "core/housekeeping.h"
#include "core/image_prune.h"
#include "core/registry_prune.h"
#include "core/rollout_int.h"
#include "lib/fstree.h"
#include "lib/strbuf.h"
#include "lib/banned.h"

static long long dir_bytes(const char *sub)
{
	struct strbuf dir = STRBUF_INIT;
	long long n;

	strbuf_addf(&dir, "%s/%s", core.data_dir, sub);
	n = fstree_size(dir.buf);
	strbuf_release(&dir);
	return n;
}

static long long file_bytes(const char *name)
{
	struct strbuf path = STRBUF_INIT;
	struct stat st;
	long long n = 0;

	strbuf_addf(&path, "%s/%s", core.data_dir, name);
	if (stat(path.buf, &st) == 0)
		n = (long long)st.st_blocks * 512;
	strbuf_release(&path);
	return n;
}

int diskuse_report(const struct principal *who, json_t **ret, struct ferr *e)
{
	const struct housekeeping_options *o = housekeeping_options();
	json_t *images, *logs, *disk, *reg, *hist, *v;
	struct history_retention rules;
	long long reclaim = 0;
	const char *kind;
	char next_gc[32];

	if (auth_require_admin(who, e) < 0)
		return -1;
	{
		struct ferr re = FERR_INIT; /* no runtime yet: no images */
		images = image_prune(rollout_runtime(&re), o->keep_deployments, 0, e);
	}
	if (!images)
		return -1;
	reg = registry_prune(o->keep_deployments, o->keep_builds, 0, e);
	logs = reg ? log_retention_report(&o->logs, time(NULL), e) : NULL;
	rules = housekeeping_history();
	hist = logs ? history_retention_report(&rules, time(NULL), e) : NULL;
	if (!hist) {
		json_decref(images);
		json_decref(reg);
		json_decref(logs);
		return -1;
	}
	reclaim += json_integer_value(json_object_get(images, "reclaimable_bytes"));
	json_object_foreach(logs, kind, v)
		reclaim += json_integer_value(json_object_get(v, "reclaimable_bytes"));
	json_object_set_new(logs, "max_age_days", json_integer(o->logs.max_age_days));
	json_object_set_new(logs, "max_bytes_per_kind", json_integer(o->logs.max_bytes));
	housekeeping_next_gc(next_gc);
	disk = diskspace_report();
	*ret = json_pack("{s:o, s:o, s:{s:I, s:s, s:o, s:O, s:O, s:O, s:O}, s:{s:I, s:I}, s:{s:I},"
			 " s:o, s:o, s:I}",
			 "disk", disk ? disk : json_null(),
			 "images", images,
			 "registry", "bytes", (json_int_t)dir_bytes("registry/storage"),
			 "schedule", o->registry_gc,
			 "next_gc", next_gc[0] ? json_string(next_gc) : json_null(),
			 "images", json_object_get(reg, "manifests"),
			 "reclaimable_images", json_object_get(reg, "reclaimable_manifests"),
			 "reclaimable_bytes", json_object_get(reg, "reclaimable_bytes"),
			 "keep_builds", json_object_get(reg, "keep_builds"),
			 "build_cache", "bytes", (json_int_t)dir_bytes("containers/storage"),
			 "workspaces_bytes", (json_int_t)dir_bytes("work"),
			 "store", "bytes", (json_int_t)(file_bytes("ferry.db") + file_bytes("ferry.db-wal")),
			 "logs", logs,
			 "history", hist,
			 "reclaimable_bytes", (json_int_t)reclaim);
	json_decref(reg);
	return 0;
}
