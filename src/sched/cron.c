/* cron: parser and next-run evaluator. See cron.h and docs/schedules.md.
 *
 * Next-run search works on local wall-clock time ("civil seconds": what
 * the clock on the wall reads, counted as if it were UTC) one span of
 * constant UTC offset at a time (tz_span_at). Inside a span wall-clock time
 * and real time move together, so the first matching civil minute of the
 * span, minus the offset, is the answer. At the span's end the offset
 * changes and the DST rules of cronie decide what happens to the civil
 * times that were skipped or are about to repeat.
 *
 * The civil search skips by fields (month, then day, then hour, then
 * minute), so a yearly job costs a few dozen steps, not half a million.
 */
#include <ctype.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "sched/cron.h"

#include "lib/banned.h"

/* cronie's thresholds (cron.c, the timeDiff cases): an offset change below
 * 3 hours is a DST change; a forward change of up to 4 minutes is treated
 * as a late wake-up in which every job catches up. */
#define DST_CHANGE_MAX (3 * 3600)
#define LATE_WAKEUP_MAX (4 * 60)

/* Supported instants: 0001-01-01T00:00:00Z .. 9999-12-31T23:59:59Z. */
#define TIME_FIRST (-62135596800LL)
#define TIME_LAST 253402300799LL

/* How far cron_next() searches before giving up. Every parsed expression
 * fires at least once per 28 years (Feb 29 on a given weekday), so 400
 * years, one full Gregorian cycle, is certain to find it. */
#define HORIZON_YEARS 400

struct field_def {
	const char *label;
	int min, max;
	const char *const *names; /* names[i] is value i + name_base */
	int name_base;
	int nnames;
};

static const char *const month_names[] = {
	"jan", "feb", "mar", "apr", "may", "jun",
	"jul", "aug", "sep", "oct", "nov", "dec",
};
static const char *const dow_names[] = {
	"sun", "mon", "tue", "wed", "thu", "fri", "sat",
};

enum { F_MINUTE, F_HOUR, F_DOM, F_MONTH, F_DOW, NFIELDS };

static const struct field_def fields[NFIELDS] = {
	{ "minute", 0, 59, NULL, 0, 0 },
	{ "hour", 0, 23, NULL, 0, 0 },
	{ "day-of-month", 1, 31, NULL, 0, 0 },
	{ "month", 1, 12, month_names, 1, 12 },
	{ "day-of-week", 0, 7, dow_names, 0, 7 },
};

static const struct {
	const char *name;
	const char *expansion;
} macros[] = {
	{ "@yearly", "0 0 1 1 *" },
	{ "@annually", "0 0 1 1 *" },
	{ "@monthly", "0 0 1 * *" },
	{ "@weekly", "0 0 * * 0" },
	{ "@daily", "0 0 * * *" },
	{ "@midnight", "0 0 * * *" },
	{ "@hourly", "0 * * * *" },
};

static bool is_blank(int ch)
{
	return ch == ' ' || ch == '\t';
}

static bool all_digits(const char *s, size_t len)
{
	if (len == 0)
		return false;
	for (size_t i = 0; i < len; i++)
		if (!isdigit((unsigned char)s[i]))
			return false;
	return true;
}

/* Sets an error prefixed with the field's number and label. */
#define field_err(e, fi, fmt, ...)                                          \
	ferr_invalid((e), "field %d (%s): " fmt, (fi) + 1, fields[(fi)].label, \
		     __VA_ARGS__)

/* One value: a number, or a name where the field has names. */
static int parse_value(int fi, const char *s, size_t len, int *ret, struct ferr *e)
{
	const struct field_def *f = &fields[fi];

	if (len == 0)
		return field_err(e, fi, "%s", "a number is missing");
	if (all_digits(s, len)) {
		long v = 0;
		for (size_t i = 0; i < len; i++) {
			v = v * 10 + (s[i] - '0');
			if (v > 1000000)
				break;
		}
		if (v < f->min || v > f->max)
			return field_err(e, fi, "%.*s is out of range %d-%d", (int)len, s,
					 f->min, f->max);
		*ret = (int)v;
		return 0;
	}
	if (f->names) {
		for (int i = 0; i < f->nnames; i++) {
			if (len == 3 && strncasecmp(s, f->names[i], 3) == 0) {
				*ret = i + f->name_base;
				return 0;
			}
		}
		return field_err(e, fi, "unknown name \"%.*s\": use %s..%s or %d-%d",
				 (int)len, s, f->names[0], f->names[f->nnames - 1],
				 f->min, f->max);
	}
	return field_err(e, fi, "\"%.*s\" is not a number", (int)len, s);
}

/* One list element: "*", N or A-B, optionally "/S". ORs its values into
 * *bits. */
static int parse_element(int fi, const char *s, size_t len, uint64_t *bits,
			 struct ferr *e)
{
	const struct field_def *f = &fields[fi];
	const char *slash = memchr(s, '/', len);
	size_t blen = slash ? (size_t)(slash - s) : len;
	int lo, hi, step = 1;

	if (len == 0)
		return field_err(e, fi, "%s", "empty list element (two commas in a row, "
				 "or a comma at an end)");
	if (slash) {
		const char *st = slash + 1;
		size_t slen = len - blen - 1;
		if (!all_digits(st, slen))
			return field_err(e, fi, "step \"%.*s\" in \"%.*s\" is not a number",
					 (int)slen, st, (int)len, s);
		long v = 0;
		for (size_t i = 0; i < slen && v <= 1000000; i++)
			v = v * 10 + (st[i] - '0');
		if (v < 1 || v > f->max)
			return field_err(e, fi, "step %.*s in \"%.*s\" is out of range 1-%d",
					 (int)slen, st, (int)len, s, f->max);
		step = (int)v;
	}
	if (blen == 1 && s[0] == '*') {
		lo = f->min;
		hi = f->max;
	} else {
		const char *dash = memchr(s, '-', blen);
		if (memchr(s, '*', blen))
			return field_err(e, fi, "\"%.*s\": '*' must stand alone (optionally "
					 "with a step)", (int)len, s);
		if (dash) {
			size_t l1 = (size_t)(dash - s);
			if (l1 == 0 || l1 + 1 == blen)
				return field_err(e, fi, "range \"%.*s\" needs a start and an "
						 "end, as in 1-5", (int)blen, s);
			if (parse_value(fi, s, l1, &lo, e) < 0 ||
			    parse_value(fi, dash + 1, blen - l1 - 1, &hi, e) < 0)
				return -1;
			/* "fri-sun": Sunday as the end of a range means 7. */
			if (fi == F_DOW && hi == 0 && lo > 0)
				hi = 7;
			if (lo > hi)
				return field_err(e, fi, "range %.*s is backwards: write the "
						 "smaller value first", (int)blen, s);
		} else {
			if (parse_value(fi, s, blen, &lo, e) < 0)
				return -1;
			hi = slash ? f->max : lo;
		}
	}
	for (int v = lo; v <= hi; v += step)
		*bits |= (uint64_t)1 << v;
	return 0;
}

static int parse_field(int fi, const char *s, size_t len, uint64_t *bits,
		       struct ferr *e)
{
	size_t start = 0;

	*bits = 0;
	for (size_t i = 0; i <= len; i++) {
		if (i == len || s[i] == ',') {
			if (parse_element(fi, s + start, i - start, bits, e) < 0)
				return -1;
			start = i + 1;
		}
	}
	return 0;
}

/* In "both must match" mode, a day-of-month that exists in none of the
 * months makes the expression dead ("0 0 30 2 *"). February counts 29. */
static bool dom_month_possible(const struct cron *c)
{
	for (int m = 1; m <= 12; m++) {
		if (!(c->month >> m & 1))
			continue;
		int maxd = tz_days_in_month(2000, m); /* 2000: a leap year */
		for (int d = 1; d <= maxd; d++)
			if (c->dom >> d & 1)
				return true;
	}
	return false;
}

static int parse_fields(struct cron *ret, const char *expr, struct ferr *e)
{
	const char *f[NFIELDS + 1];
	size_t flen[NFIELDS + 1];
	int n = 0;
	const char *p = expr;
	uint64_t bits[NFIELDS];
	struct cron c;

	while (*p) {
		while (is_blank(*p))
			p++;
		if (!*p)
			break;
		const char *start = p;
		while (*p && !is_blank(*p))
			p++;
		if (n <= NFIELDS) {
			f[n] = start;
			flen[n] = (size_t)(p - start);
		}
		n++;
	}
	if (n != NFIELDS)
		return ferr_invalid(e, "expected 5 fields (minute hour day-of-month month "
				    "day-of-week), got %d%s", n,
				    n > NFIELDS ? " (seconds, years and commands are not "
				    "part of a schedule)" : "");
	for (int i = 0; i < NFIELDS; i++)
		if (parse_field(i, f[i], flen[i], &bits[i], e) < 0)
			return -1;

	memset(&c, 0, sizeof(c));
	c.minute = bits[F_MINUTE];
	c.hour = (uint32_t)bits[F_HOUR];
	c.dom = (uint32_t)bits[F_DOM];
	c.month = (uint32_t)bits[F_MONTH];
	c.dow = (uint32_t)bits[F_DOW];
	if (c.dow & (1u << 7))
		c.dow = (c.dow | 1u) & 0x7fu;
	if (f[F_MINUTE][0] == '*')
		c.flags |= CRON_MIN_STAR;
	if (f[F_HOUR][0] == '*')
		c.flags |= CRON_HOUR_STAR;
	if (f[F_DOM][0] == '*')
		c.flags |= CRON_DOM_STAR;
	if (f[F_DOW][0] == '*')
		c.flags |= CRON_DOW_STAR;

	if ((c.flags & (CRON_DOM_STAR | CRON_DOW_STAR)) && !dom_month_possible(&c))
		return ferr_invalid(e, "never runs: day-of-month \"%.*s\" does not occur "
				    "in month \"%.*s\"", (int)flen[F_DOM], f[F_DOM],
				    (int)flen[F_MONTH], f[F_MONTH]);
	*ret = c;
	return 0;
}

int cron_parse(struct cron *ret, const char *expr, struct ferr *e)
{
	size_t len;

	if (!expr)
		expr = "";
	while (is_blank(*expr))
		expr++;
	len = strlen(expr);
	while (len > 0 && is_blank(expr[len - 1]))
		len--;
	if (len == 0)
		return ferr_invalid(e, "empty schedule: expected five fields (minute hour "
				    "day-of-month month day-of-week) or a macro such as "
				    "@daily");
	if (len > CRON_EXPR_MAX)
		return ferr_invalid(e, "schedule is longer than %d characters", CRON_EXPR_MAX);
	for (size_t i = 0; i < len; i++) {
		unsigned char ch = (unsigned char)expr[i];
		if (ch < 0x20 || ch >= 0x7f) {
			if (!is_blank(ch))
				return ferr_invalid(e, "schedule contains a control or "
						    "non-ASCII character at position %zu",
						    i + 1);
		}
	}
	if (expr[0] == '@') {
		for (size_t i = 0; i < sizeof(macros) / sizeof(macros[0]); i++)
			if (strlen(macros[i].name) == len &&
			    strncasecmp(expr, macros[i].name, len) == 0)
				return parse_fields(ret, macros[i].expansion, e);
		if (len == 7 && strncasecmp(expr, "@reboot", 7) == 0)
			return ferr_invalid(e, "@reboot is not supported: a task runs on a "
					    "schedule or when someone asks");
		return ferr_invalid(e, "unknown macro \"%.*s\": use @yearly, @annually, "
				    "@monthly, @weekly, @daily, @midnight or @hourly",
				    (int)len, expr);
	}

	char buf[CRON_EXPR_MAX + 1];
	memcpy(buf, expr, len);
	buf[len] = '\0';
	return parse_fields(ret, buf, e);
}

int cron_is_wildcard(const struct cron *c)
{
	return (c->flags & (CRON_MIN_STAR | CRON_HOUR_STAR)) != 0;
}

/* --- next run ---------------------------------------------------------- */

/* Lowest set bit of mask at or above `from`, or -1. */
static int next_bit(uint64_t mask, int from)
{
	if (from >= 64)
		return -1;
	mask >>= from;
	return mask ? from + __builtin_ctzll(mask) : -1;
}

static bool and_mode(const struct cron *c)
{
	return (c->flags & (CRON_DOM_STAR | CRON_DOW_STAR)) != 0;
}

static bool day_matches(const struct cron *c, int64_t y, int m, int d)
{
	int wd = tz_weekday(tz_days_from_civil(y, m, d));
	bool dom = c->dom >> d & 1, dow = c->dow >> wd & 1;

	return and_mode(c) ? dom && dow : dom || dow;
}

/* First civil minute in [from, limit) that matches c; `from` must be a
 * whole minute. Returns 1 and sets *ret, 0 if there is none before limit,
 * -1 if the search passed the horizon year first. */
static int civil_next(const struct cron *c, int64_t from, int64_t limit,
		      int64_t horizon_year, int64_t *ret)
{
	int64_t days = tz_floor_div(from, 86400);
	int64_t sod = from - days * 86400;
	int64_t y;
	int mo, d, h = (int)(sod / 3600), mi = (int)(sod % 3600 / 60);

	tz_civil_from_days(days, &y, &mo, &d);
	for (;;) {
		if (y > horizon_year)
			return -1;
		int64_t cur = tz_days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60;
		if (cur >= limit)
			return 0;
		if (!(c->month >> mo & 1)) {
			int nm = next_bit(c->month, mo + 1);
			if (nm < 0) {
				y++;
				nm = next_bit(c->month, 1);
			}
			mo = nm;
			d = 1;
			h = mi = 0;
			continue;
		}
		int mdays = tz_days_in_month(y, mo);
		if (and_mode(c)) {
			/* The day-of-month must match: jump straight to it. */
			int nd = next_bit(c->dom, d);
			if (nd < 0 || nd > mdays) {
				d = mdays;
				goto next_day;
			}
			if (nd != d) {
				d = nd;
				h = mi = 0;
				continue;
			}
		}
		if (d > mdays || !day_matches(c, y, mo, d))
			goto next_day;
		int nh = next_bit(c->hour, h);
		if (nh < 0)
			goto next_day;
		if (nh != h) {
			h = nh;
			mi = 0;
		}
		int nmi = next_bit(c->minute, mi);
		if (nmi < 0) {
			h++;
			mi = 0;
			if (h > 23)
				goto next_day;
			continue;
		}
		mi = nmi;
		cur = tz_days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60;
		if (cur >= limit)
			return 0;
		*ret = cur;
		return 1;
next_day:
		d++;
		h = mi = 0;
		if (d > mdays) {
			d = 1;
			if (++mo > 12) {
				mo = 1;
				y++;
			}
		}
	}
}

static int64_t ceil_minute(int64_t s)
{
	return tz_floor_div(s, 60) * 60 + (s % 60 != 0 ? 60 : 0);
}

int cron_next(const struct cron *c, const struct tz *tz, time_t after, time_t *ret,
	      struct ferr *e)
{
	bool fixed = !cron_is_wildcard(c);
	int64_t lo, hwm = INT64_MIN, horizon_year, cand, d0;
	int mo, dd;
	struct tz_span sp;

	if ((int64_t)after < TIME_FIRST || (int64_t)after >= TIME_LAST)
		return ferr_invalid(e, "time %lld is outside the supported years 1-9999",
				    (long long)after);
	tz_civil_from_days(tz_floor_div((int64_t)after, 86400), &horizon_year, &mo, &dd);
	horizon_year += HORIZON_YEARS;

	lo = (int64_t)after + 1;
	/* The span of `after`, not of lo: when lo is exactly the instant of a
	 * jump, the catch-up run for the skipped interval is at lo itself. */
	tz_span_at(tz, (int64_t)after, &sp);
	/* Starting inside the second pass of a repeated interval: the civil
	 * times before the previous span's end have had their fixed-time runs. */
	if (fixed && sp.start != INT64_MIN && sp.prev_utoff > sp.utoff &&
	    sp.prev_utoff - sp.utoff < DST_CHANGE_MAX)
		hwm = sp.start + sp.prev_utoff;

	for (;;) {
		int64_t cfrom = ceil_minute(lo + sp.utoff);
		int64_t climit = sp.end == INT64_MAX ? INT64_MAX : sp.end + sp.utoff;
		int r;

		if (hwm > cfrom)
			cfrom = ceil_minute(hwm);
		r = civil_next(c, cfrom, climit, horizon_year, &cand);
		if (r < 0)
			return ferr_set(e, 422, "never_runs", "never runs: no matching time "
					"within %d years", HORIZON_YEARS);
		if (r > 0) {
			d0 = cand - sp.utoff;
			if (d0 > TIME_LAST)
				return ferr_invalid(e, "the next run is after the year 9999");
			*ret = (time_t)d0;
			return 0;
		}

		/* The span ends at sp.end with an offset change. */
		int32_t delta = sp.next_utoff - sp.utoff;
		if (delta > 0 && (delta <= LATE_WAKEUP_MAX || (fixed && delta < DST_CHANGE_MAX))) {
			/* Skipped civil interval [climit, sp.end + next_utoff):
			 * cronie catches up the runs that fell into it, at once. */
			int64_t gfrom = ceil_minute(climit > cfrom ? climit : cfrom);
			r = civil_next(c, gfrom, sp.end + sp.next_utoff, horizon_year, &cand);
			if (r > 0) {
				*ret = (time_t)sp.end;
				return 0;
			}
		}
		if (delta < 0 && fixed && -delta < DST_CHANGE_MAX)
			hwm = climit > hwm ? climit : hwm;
		else
			hwm = INT64_MIN;
		lo = sp.end;
		tz_span_at(tz, lo, &sp);
	}
}

int cron_next_n(const struct cron *c, const struct tz *tz, time_t after, size_t n,
		time_t *ret, struct ferr *e)
{
	for (size_t i = 0; i < n; i++) {
		if (cron_next(c, tz, after, &ret[i], e) < 0)
			return -1;
		after = ret[i];
	}
	return 0;
}
