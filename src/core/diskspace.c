/* Free space of the data dir's file system; see diskspace.h. */
#include "core/diskspace.h"

#include <errno.h>
#include <string.h>
#include <sys/statvfs.h>

#include "core/core.h"
#include "store/reserve.h"
#include "lib/banned.h"

static int64_t min_free = DISKSPACE_MIN_FREE_DEFAULT;

void diskspace_set_min_free(int64_t bytes)
{
	min_free = bytes;
}

static int probe(int64_t *ret_free, int64_t *ret_total)
{
	struct statvfs s;

	if (!core.data_dir || statvfs(core.data_dir, &s) < 0)
		return -1;
	*ret_free = (int64_t)s.f_bavail * (int64_t)s.f_frsize;
	*ret_total = (int64_t)s.f_blocks * (int64_t)s.f_frsize;
	return 0;
}

json_t *diskspace_report(void)
{
	int64_t free_b, total;

	if (probe(&free_b, &total) < 0)
		return NULL;
	return json_pack("{s:s, s:I, s:I, s:I, s:b, s:b}", "path", core.data_dir, "free_bytes",
			 (json_int_t)free_b, "total_bytes", (json_int_t)total, "min_free_bytes",
			 (json_int_t)min_free, "low", (min_free > 0 && free_b < min_free) || !store_reserve_held(),
			 "store_reserve", store_reserve_held());
}

int diskspace_check_build(struct ferr *e)
{
	int64_t free_b, total;

	if (min_free <= 0 || probe(&free_b, &total) < 0)
		return 0;
	if (free_b >= min_free)
		return 0;
	return ferr_set(e, 507, "insufficient_storage",
			"not enough free space for a build: %lld MiB free on the file system of %s, "
			"less than the %lld MiB floor (ferryd --min-free-space); free some space "
			"(the data dir's registry, build caches, logs) or lower the floor",
			(long long)(free_b >> 20), core.data_dir, (long long)(min_free >> 20));
}

int diskspace_full(int64_t *ret_free)
{
	int64_t free_b, total;

	if (probe(&free_b, &total) < 0)
		return 0;
	*ret_free = free_b;
	return free_b < DISKSPACE_FULL_BYTES;
}

void diskspace_explain(struct strbuf *msg, int was_full)
{
	int64_t free_b, total;

	if (probe(&free_b, &total) < 0)
		return;
	if (strstr(msg->buf, "no space left") || strstr(msg->buf, " is full") ||
	    strstr(msg->buf, " was full"))
		return;
	if (free_b < (min_free > DISKSPACE_FULL_BYTES ? min_free : DISKSPACE_FULL_BYTES))
		strbuf_addf(msg, "; the file system of %s is full (%lld MiB free)", core.data_dir,
			    (long long)(free_b >> 20));
	else if (was_full)
		strbuf_addf(msg, "; the file system of %s was full while it ran (%lld MiB free now)",
			    core.data_dir, (long long)(free_b >> 20));
}
