/* diskuse: what uses the disk (ferry admin df, GET /api/v1/admin/df). */
#ifndef FERRY_CORE_DISKUSE_H
#define FERRY_CORE_DISKUSE_H

#include <jansson.h>

#include "core/auth.h"
#include "lib/error.h"

/* Admins only. *ret:
 *   disk        the data dir's file system: core/diskspace.h
 *   images      the runtime's images of ferry's deployments, and those the
 *               next prune removes (core/image_prune.h)
 *   registry    the managed registry's storage, the next scheduled GC
 *   build_cache ferry's build image store and build workspaces
 *   store       the SQLite files
 *   logs        per kind, and what the retention frees (core/log_retention.h)
 *   reclaimable_bytes  images + logs the next housekeeping pass frees
 * Sizes in bytes. Returns 0 or -1 with e set. */
int diskuse_report(const struct principal *who, json_t **ret, struct ferr *e);

#endif
