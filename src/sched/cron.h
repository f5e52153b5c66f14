/* cron: classic five-field cron expressions and their next run times.
 *
 *   minute hour day-of-month month day-of-week
 *
 * Each field is a comma-separated list of elements; an element is "*", N,
 * or A-B, optionally followed by "/S" for every S-th value ("*" then "/15"
 * in the minute field is every quarter hour; A/S means A through the
 * field's maximum, step S). Months accept jan..dec
 * and weekdays sun..sat (case-insensitive); 0 and 7 are both Sunday. Macros:
 * @yearly (= @annually), @monthly, @weekly, @daily (= @midnight), @hourly.
 *
 * Day-of-month and day-of-week combine as in Vixie cron: when both fields are
 * restricted (neither begins with '*'), a day matches if EITHER matches;
 * otherwise both must match. A field counts as unrestricted when its text
 * begins with '*', so a stepped star ("*" then "/2") counts as unrestricted,
 * exactly as in Vixie cron and cronie.
 *
 * Times are evaluated in the wall-clock time of a struct tz (tz.h). Daylight
 * saving transitions follow cronie; see docs/schedules.md for the rules and
 * cron_next() for the summary.
 *
 * A struct cron is a plain value: parse once, copy freely, share read-only
 * between threads; nothing to free.
 */
#ifndef FERRY_SCHED_CRON_H
#define FERRY_SCHED_CRON_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "lib/error.h"
#include "sched/tz.h"

/* Longest expression cron_parse() accepts. */
#define CRON_EXPR_MAX 1024

/* flags: which fields began with '*' (Vixie cron's MIN_STAR etc.). */
#define CRON_MIN_STAR  0x1u
#define CRON_HOUR_STAR 0x2u
#define CRON_DOM_STAR  0x4u
#define CRON_DOW_STAR  0x8u

struct cron {
	uint64_t minute; /* bit n: minute n, 0..59 */
	uint32_t hour;   /* bit n: hour n, 0..23 */
	uint32_t dom;    /* bit n: day n of the month, 1..31 */
	uint32_t month;  /* bit n: month n, 1..12 */
	uint32_t dow;    /* bit n: weekday n, 0 (Sunday)..6; 7 is folded into 0 */
	unsigned flags;  /* CRON_*_STAR */
};

/* Parses expr into *ret. Leading and trailing blanks are ignored; fields are
 * separated by spaces or tabs.
 * Returns 0, or -1 with e filled (400 "invalid") and a message that names
 * the field and the problem, e.g.
 *   "field 2 (hour): 24 is out of range 0-23"
 *   "never runs: day-of-month \"31\" does not occur in month \"2\"".
 * An expression that can never fire is refused here, so cron_next() on a
 * parsed expression always finds a time. *ret is untouched on failure. */
int cron_parse(struct cron *ret, const char *expr, struct ferr *e);

/* True when the minute or hour field began with '*' ("wildcard" jobs in
 * cronie's terms); such jobs follow the wall clock through DST changes. */
int cron_is_wildcard(const struct cron *c);

/* Sets *ret to the first run time strictly after `after`, evaluated in the
 * wall-clock time of tz (NULL: UTC). Run times are whole local minutes.
 * Daylight saving (as cronie does it, for offset changes under 3 hours):
 *  - spring forward: a fixed-time job (minute and hour fields both without
 *    '*') whose local time falls in the skipped interval runs once, at the
 *    instant of the jump (for a 02:00->03:00 jump: at 03:00 new time);
 *    wildcard jobs simply have no runs in the skipped interval;
 *  - fall back: a fixed-time job runs only in the first pass through the
 *    repeated interval; wildcard jobs run in both passes.
 * Offset changes of 3 hours or more are followed literally (skipped times
 * are skipped, repeated times repeat), as cronie treats them as clock jumps.
 * Returns 0, or -1 with e filled: 400 "invalid" if `after` is outside the
 * years 1..9999, 422 "never_runs" if no run exists within 400 years (only
 * possible for a struct cron not made by cron_parse()). */
int cron_next(const struct cron *c, const struct tz *tz, time_t after, time_t *ret,
	      struct ferr *e);

/* Fills ret[0..n-1] with the next n run times after `after`, ascending, each
 * strictly after the previous one ("the next five runs": n = 5).
 * Returns 0, or -1 with e filled as cron_next(); ret is then unspecified. */
int cron_next_n(const struct cron *c, const struct tz *tz, time_t after, size_t n,
		time_t *ret, struct ferr *e);

#endif
