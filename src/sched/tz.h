/* tz: IANA time zones, read from TZif files, usable from any thread.
 *
 * The C library's localtime_r() depends on the process-wide TZ variable, and
 * changing TZ from a threaded daemon is a data race. A struct tz is instead a
 * self-contained, immutable description of one zone: the transitions of its
 * TZif file (RFC 8536, the 64-bit v2+ section) plus the POSIX TZ rule from
 * the file's footer for instants after the last transition. Once loaded it is
 * never written again, so any number of threads may read it at once.
 *
 * Offsets are seconds east of UTC (Berlin in winter: +3600).
 */
#ifndef FERRY_SCHED_TZ_H
#define FERRY_SCHED_TZ_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "lib/error.h"

struct tz;

/* Where tz_load() and tz_get() look for zone files (Debian's tzdata). */
#define TZ_DEFAULT_DIR "/usr/share/zoneinfo"

/* Longest zone name accepted ("America/Argentina/ComodRivadavia" is 32). */
#define TZ_NAME_MAX 128

/* A stretch of time during which a zone's UTC offset does not change. */
struct tz_span {
	int64_t start;      /* first instant with utoff; INT64_MIN if unbounded */
	int64_t end;        /* first instant after the span; INT64_MAX if none */
	int32_t utoff;      /* offset in effect during [start, end) */
	int32_t prev_utoff; /* offset just before start (= utoff if unbounded) */
	int32_t next_utoff; /* offset from end on (= utoff if unbounded) */
};

/* The built-in UTC zone: never fails, never needs freeing, name "UTC". */
const struct tz *tz_utc(void);

/* Checks that name is a plausible IANA zone name: 1..TZ_NAME_MAX bytes of
 * [A-Za-z0-9/_+-.], no empty, "." or ".." component, no leading '/'.
 * Returns 0, or -1 with e filled (400 "invalid"). Does not touch the disk. */
int tz_validate_name(const char *name, struct ferr *e);

/* Loads zone `name` (e.g. "Europe/Berlin") from `dir` (NULL: TZ_DEFAULT_DIR).
 * "UTC" (and NULL or "") give a private copy of the built-in UTC zone
 * without reading any file. On success *ret owns a new zone (tz_free it).
 * Errors: invalid name (400 "invalid"), unknown zone (404 "not_found",
 * message names the zone), unreadable or malformed file (400 "invalid"),
 * zones with leap seconds ("right/...") are refused. */
int tz_load(struct tz **ret, const char *name, const char *dir, struct ferr *e);

/* Parses an in-memory TZif file (version 1 to 4). `name` is only kept for
 * tz_name(). Same ownership and errors as tz_load(). Safe on any input:
 * this is the entry point the fuzzer uses. */
int tz_parse(struct tz **ret, const char *name, const void *data, size_t len,
	     struct ferr *e);

/* Process-wide cache in front of tz_load() with TZ_DEFAULT_DIR: returns a
 * zone that stays valid (and must not be freed) until the process exits.
 * Thread-safe. At most a few hundred zones exist, so the cache is bounded
 * by what tzdata ships; names that fail to load are not cached. */
int tz_get(const struct tz **ret, const char *name, struct ferr *e);

/* Frees a zone from tz_load()/tz_parse(). Accepts NULL and tz_utc(). */
void tz_free(struct tz *tz);

/* The name the zone was loaded under ("UTC" for the built-in one). */
const char *tz_name(const struct tz *tz);

/* Instants are evaluated within +-TZ_TIME_LIMIT seconds (36 billion years);
 * files with transitions beyond it are refused. */
#define TZ_TIME_LIMIT ((int64_t)1 << 60)

/* Fills *ret with the span of constant offset that contains instant t.
 * tz NULL means UTC. Never fails. A t beyond +-TZ_TIME_LIMIT is looked up
 * at the limit. */
void tz_span_at(const struct tz *tz, int64_t t, struct tz_span *ret);

/* The offset (seconds east of UTC) in effect at instant t. */
int32_t tz_offset_at(const struct tz *tz, int64_t t);

/* Proleptic Gregorian calendar arithmetic on day numbers (days since
 * 1970-01-01, negative before), exact for any year that fits in int64
 * divided by 400 days. Pure functions, used by the cron evaluator too. */
int tz_is_leap(int64_t year);
/* Days in month m (1..12) of year. */
int tz_days_in_month(int64_t year, int m);
/* Day number of year-m-d (m 1..12, d 1..31; d may exceed the month). */
int64_t tz_days_from_civil(int64_t year, int m, int d);
/* Inverse of tz_days_from_civil. */
void tz_civil_from_days(int64_t days, int64_t *ret_year, int *ret_m, int *ret_d);
/* 0 = Sunday .. 6 = Saturday. */
int tz_weekday(int64_t days);
/* Floor division (b > 0), for turning instants into day numbers. */
int64_t tz_floor_div(int64_t a, int64_t b);

#endif
