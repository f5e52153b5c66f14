/* diskspace: the free space of the data dir's file system, and the floor
 * below which new builds are refused (a build that would fail half-way
 * through a full disk is refused at once, with the reason).
 */
#ifndef FERRY_CORE_DISKSPACE_H
#define FERRY_CORE_DISKSPACE_H

#include <jansson.h>
#include <stdint.h>

#include "lib/error.h"
#include "lib/strbuf.h"

#define DISKSPACE_MIN_FREE_DEFAULT (512LL << 20)

/* Sets the floor in bytes (ferryd --min-free-space); 0 turns the check off. */
void diskspace_set_min_free(int64_t bytes);

/* {"path", "free_bytes", "total_bytes", "min_free_bytes", "low"} for
 * core.data_dir. New reference; NULL if statvfs fails. */
json_t *diskspace_report(void);

/* 0 if a build may start; -1 with a 507 in e naming the free space, the
 * floor and what to do when the data dir's file system is below it. */
int diskspace_check_build(struct ferr *e);

/* Below this much free space the data dir's file system counts as full
 * (whatever the floor): what writes to it gets ENOSPC, or waits. */
#define DISKSPACE_FULL_BYTES (16LL << 20)

/* 1 if the data dir's file system has less than DISKSPACE_FULL_BYTES
 * free (*ret_free: how much), else 0 (also when it cannot be asked). */
int diskspace_full(int64_t *ret_free);

/* For a message about something that failed: appends "; the file system of
 * DIR is full (N MiB free)" when the data dir's file system is below the
 * floor or DISKSPACE_FULL_BYTES, or "... was full while it ran" when
 * was_full says it was seen full during the work (what failed may have
 * freed space since), unless msg already says so; tools that fail on a full
 * disk often report something else ("exit status 1"). */
void diskspace_explain(struct strbuf *msg, int was_full);

#endif
