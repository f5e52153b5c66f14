/* tz: TZif (RFC 8536) reader and POSIX TZ rule evaluator. See tz.h.
 *
 * Representation: the file's transitions are reduced to the instants where
 * the UTC offset really changes (a change of abbreviation or of the isdst
 * flag alone does not move wall-clock time, so the scheduler does not care).
 * Instants before the first transition use time type 0 (RFC 8536 3.2).
 * Instants at or after the file's last raw transition follow the footer's
 * POSIX TZ string when there is one (that is how "slim" files describe the
 * present day), else the offset of the last transition.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "sched/tz.h"

#include "lib/banned.h"

#define TZ_FILE_MAX (1024 * 1024)
/* RFC 8536 3.2: utoff SHOULD be in [-89999, 93599] (-25h+1s .. 26h-1s). */
#define UTOFF_MIN (-89999)
#define UTOFF_MAX 93599

struct tz_trans {
	int64_t at;
	int32_t off;
};

/* POSIX TZ rule date: Jn (1..365, Feb 29 never counted), n (0..365),
 * or Mm.w.d (month, week 1..5 where 5 is "last", weekday 0..6). */
struct tz_rule_date {
	char kind;     /* 'J', 'N' or 'M' */
	int n, m, w, d;
	int32_t time;  /* seconds after local midnight, -167h..167h */
};

struct tz_footer {
	bool present;
	bool has_dst;
	int32_t std_off, dst_off;
	struct tz_rule_date start, end;
};

struct tz {
	char name[TZ_NAME_MAX + 1];
	size_t n;                /* entries in trans */
	struct tz_trans *trans;  /* only offset changes, strictly ascending */
	int32_t base_off;        /* before the first transition */
	int64_t footer_from;     /* footer applies at and after this instant */
	struct tz_footer footer;
	struct tz *cache_next;   /* tz_get() cache chain */
};

static const struct tz utc_zone = {
	.name = "UTC", .n = 0, .trans = NULL, .base_off = 0,
	.footer_from = INT64_MAX, .footer = { .present = false },
};

const struct tz *tz_utc(void)
{
	return &utc_zone;
}

const char *tz_name(const struct tz *tz)
{
	return tz ? tz->name : utc_zone.name;
}

void tz_free(struct tz *tz)
{
	if (!tz || tz == &utc_zone)
		return;
	free(tz->trans);
	free(tz);
}

/* --- calendar ---------------------------------------------------------- */

int64_t tz_floor_div(int64_t a, int64_t b)
{
	int64_t q = a / b;
	return (a % b != 0 && a < 0) ? q - 1 : q;
}

int tz_is_leap(int64_t y)
{
	return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

int tz_days_in_month(int64_t y, int m)
{
	static const int mdays[12] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
	return m == 2 && tz_is_leap(y) ? 29 : mdays[m - 1];
}

/* Howard Hinnant's days_from_civil / civil_from_days ("chrono-Compatible
 * Low-Level Date Algorithms"): eras of 400 years, March-based years. */
int64_t tz_days_from_civil(int64_t y, int m, int d)
{
	y -= m <= 2;
	int64_t era = tz_floor_div(y, 400);
	int64_t yoe = y - era * 400;                                  /* [0, 399] */
	int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1; /* [0, 365] */
	int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;          /* [0, 146096] */
	return era * 146097 + doe - 719468;
}

void tz_civil_from_days(int64_t z, int64_t *ret_y, int *ret_m, int *ret_d)
{
	z += 719468;
	int64_t era = tz_floor_div(z, 146097);
	int64_t doe = z - era * 146097;
	int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	int64_t mp = (5 * doy + 2) / 153;
	int d = (int)(doy - (153 * mp + 2) / 5 + 1);
	int m = (int)(mp < 10 ? mp + 3 : mp - 9);
	*ret_y = yoe + era * 400 + (m <= 2);
	*ret_m = m;
	*ret_d = d;
}

int tz_weekday(int64_t days)
{
	/* 1970-01-01 was a Thursday. */
	int64_t w = (days + 4) % 7;
	return (int)(w < 0 ? w + 7 : w);
}

/* --- POSIX TZ rules --------------------------------------------------- */

static int64_t rule_day(const struct tz_rule_date *r, int64_t y)
{
	int64_t jan1 = tz_days_from_civil(y, 1, 1);

	switch (r->kind) {
	case 'J': {
		int64_t doy0 = r->n - 1;
		if (tz_is_leap(y) && r->n >= 60)
			doy0++;
		return jan1 + doy0;
	}
	case 'N':
		return jan1 + r->n;
	default: {
		int64_t first = tz_days_from_civil(y, r->m, 1);
		int wd = tz_weekday(first);
		int64_t day = first + (r->d - wd + 7) % 7 + (int64_t)(r->w - 1) * 7;
		while (day >= first + tz_days_in_month(y, r->m))
			day -= 7;
		return day;
	}
	}
}

/* The instant a rule fires in year y, given the offset in effect before. */
static int64_t rule_instant(const struct tz_rule_date *r, int64_t y, int32_t off)
{
	return rule_day(r, y) * 86400 + r->time - off;
}

static int64_t year_of(int64_t t, int32_t off)
{
	int64_t y;
	int m, d;

	tz_civil_from_days(tz_floor_div(t + off, 86400), &y, &m, &d);
	return y;
}

static int32_t footer_off(const struct tz_footer *f, int64_t t)
{
	int64_t y, s, e;
	bool dst;

	if (!f->has_dst)
		return f->std_off;
	y = year_of(t, f->std_off);
	s = rule_instant(&f->start, y, f->std_off);
	e = rule_instant(&f->end, y, f->dst_off);
	if (s < e)
		dst = s <= t && t < e;
	else /* southern hemisphere: DST spans the new year */
		dst = !(e <= t && t < s);
	return dst ? f->dst_off : f->std_off;
}

static int cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
	return (x > y) - (x < y);
}

/* Rule instants of the years around t, ascending. Offsets change only at
 * such instants, so scanning them finds the neighbouring changes. */
static size_t footer_candidates(const struct tz_footer *f, int64_t t, int64_t out[10])
{
	int64_t y = year_of(t, f->std_off);
	size_t n = 0;

	for (int64_t k = y - 2; k <= y + 2; k++) {
		out[n++] = rule_instant(&f->start, k, f->std_off);
		out[n++] = rule_instant(&f->end, k, f->dst_off);
	}
	qsort(out, n, sizeof(out[0]), cmp_i64);
	return n;
}

/* First instant c > t where the footer offset differs from the one at t. */
static int64_t footer_next(const struct tz_footer *f, int64_t t)
{
	int64_t c[10];
	size_t n;
	int32_t cur = footer_off(f, t);

	if (!f->has_dst)
		return INT64_MAX;
	n = footer_candidates(f, t, c);
	for (size_t i = 0; i < n; i++)
		if (c[i] > t && footer_off(f, c[i]) != cur)
			return c[i];
	return INT64_MAX;
}

/* Last instant c <= t where the footer offset changes; INT64_MIN if none. */
static int64_t footer_prev(const struct tz_footer *f, int64_t t)
{
	int64_t c[10];
	size_t n;

	if (!f->has_dst)
		return INT64_MIN;
	n = footer_candidates(f, t, c);
	for (size_t i = n; i-- > 0;)
		if (c[i] <= t && footer_off(f, c[i] - 1) != footer_off(f, c[i]))
			return c[i];
	return INT64_MIN;
}

/* --- lookups ----------------------------------------------------------- */

void tz_span_at(const struct tz *tz, int64_t t, struct tz_span *sp)
{
	if (!tz)
		tz = &utc_zone;
	/* Keeps the calendar arithmetic below far from overflow. */
	if (t > TZ_TIME_LIMIT)
		t = TZ_TIME_LIMIT;
	else if (t < -TZ_TIME_LIMIT)
		t = -TZ_TIME_LIMIT;

	if (t < tz->footer_from || !tz->footer.present) {
		/* Explicit transitions: last index i with trans[i].at <= t. */
		size_t lo = 0, hi = tz->n;
		while (lo < hi) {
			size_t mid = lo + (hi - lo) / 2;
			if (tz->trans[mid].at <= t)
				lo = mid + 1;
			else
				hi = mid;
		}
		/* lo is the number of transitions at or before t */
		if (lo == 0) {
			sp->utoff = tz->base_off;
			sp->start = INT64_MIN;
			sp->prev_utoff = sp->utoff;
		} else {
			sp->utoff = tz->trans[lo - 1].off;
			sp->start = tz->trans[lo - 1].at;
			sp->prev_utoff = lo >= 2 ? tz->trans[lo - 2].off : tz->base_off;
		}
		if (lo < tz->n) {
			sp->end = tz->trans[lo].at;
			sp->next_utoff = tz->trans[lo].off;
		} else if (tz->footer.present) {
			int32_t at_from = footer_off(&tz->footer, tz->footer_from);
			if (at_from != sp->utoff) {
				sp->end = tz->footer_from;
			} else {
				sp->end = footer_next(&tz->footer, tz->footer_from);
			}
			sp->next_utoff = sp->end == INT64_MAX ? sp->utoff
				: footer_off(&tz->footer, sp->end);
		} else {
			sp->end = INT64_MAX;
			sp->next_utoff = sp->utoff;
		}
		return;
	}

	/* Footer region. */
	sp->utoff = footer_off(&tz->footer, t);
	int64_t p = footer_prev(&tz->footer, t);
	if (p != INT64_MIN && p > tz->footer_from) {
		sp->start = p;
		sp->prev_utoff = footer_off(&tz->footer, p - 1);
	} else if (tz->footer_from == INT64_MIN) {
		sp->start = INT64_MIN;
		sp->prev_utoff = sp->utoff;
	} else {
		int32_t before = tz->n ? tz->trans[tz->n - 1].off : tz->base_off;
		if (before != sp->utoff) {
			sp->start = tz->footer_from;
			sp->prev_utoff = before;
		} else if (tz->n) {
			sp->start = tz->trans[tz->n - 1].at;
			sp->prev_utoff = tz->n >= 2 ? tz->trans[tz->n - 2].off : tz->base_off;
		} else {
			sp->start = INT64_MIN;
			sp->prev_utoff = sp->utoff;
		}
	}
	sp->end = footer_next(&tz->footer, t);
	sp->next_utoff = sp->end == INT64_MAX ? sp->utoff : footer_off(&tz->footer, sp->end);
}

int32_t tz_offset_at(const struct tz *tz, int64_t t)
{
	struct tz_span sp;

	tz_span_at(tz, t, &sp);
	return sp.utoff;
}

/* --- POSIX TZ string parsing (RFC 8536 3.3, POSIX 8.3) ----------------- */

struct cursor {
	const char *p, *end;
};

static bool cur_eof(const struct cursor *c) { return c->p >= c->end; }
static int cur_peek(const struct cursor *c) { return cur_eof(c) ? -1 : (unsigned char)*c->p; }

static bool is_alpha(int ch) { return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z'); }
static bool is_digit(int ch) { return ch >= '0' && ch <= '9'; }

static int parse_tz_name(struct cursor *c)
{
	size_t len = 0;

	if (cur_peek(c) == '<') {
		c->p++;
		while (!cur_eof(c) && *c->p != '>') {
			int ch = (unsigned char)*c->p;
			if (!is_alpha(ch) && !is_digit(ch) && ch != '+' && ch != '-')
				return -1;
			c->p++;
			len++;
		}
		if (cur_eof(c))
			return -1;
		c->p++;
	} else {
		while (is_alpha(cur_peek(c))) {
			c->p++;
			len++;
		}
	}
	return len >= 3 ? 0 : -1;
}

static int parse_num(struct cursor *c, int max, int *ret)
{
	int v = 0;

	if (!is_digit(cur_peek(c)))
		return -1;
	while (is_digit(cur_peek(c))) {
		v = v * 10 + (*c->p - '0');
		if (v > max)
			return -1;
		c->p++;
	}
	*ret = v;
	return 0;
}

/* [+-]hh[:mm[:ss]] with hh <= max_h; returns seconds. */
static int parse_hms(struct cursor *c, int max_h, int32_t *ret)
{
	int sign = 1, h, m = 0, s = 0;

	if (cur_peek(c) == '+' || cur_peek(c) == '-') {
		sign = *c->p == '-' ? -1 : 1;
		c->p++;
	}
	if (parse_num(c, max_h, &h) < 0)
		return -1;
	if (cur_peek(c) == ':') {
		c->p++;
		if (parse_num(c, 59, &m) < 0)
			return -1;
		if (cur_peek(c) == ':') {
			c->p++;
			if (parse_num(c, 59, &s) < 0)
				return -1;
		}
	}
	*ret = sign * (h * 3600 + m * 60 + s);
	return 0;
}

static int parse_rule_date(struct cursor *c, struct tz_rule_date *r)
{
	if (cur_peek(c) == 'J') {
		c->p++;
		r->kind = 'J';
		if (parse_num(c, 365, &r->n) < 0 || r->n < 1)
			return -1;
	} else if (cur_peek(c) == 'M') {
		c->p++;
		r->kind = 'M';
		if (parse_num(c, 12, &r->m) < 0 || r->m < 1)
			return -1;
		if (cur_peek(c) != '.')
			return -1;
		c->p++;
		if (parse_num(c, 5, &r->w) < 0 || r->w < 1)
			return -1;
		if (cur_peek(c) != '.')
			return -1;
		c->p++;
		if (parse_num(c, 6, &r->d) < 0)
			return -1;
	} else {
		r->kind = 'N';
		if (parse_num(c, 365, &r->n) < 0)
			return -1;
	}
	r->time = 2 * 3600;
	if (cur_peek(c) == '/') {
		c->p++;
		if (parse_hms(c, 167, &r->time) < 0)
			return -1;
	}
	return 0;
}

static int parse_footer(const char *s, size_t len, struct tz_footer *f)
{
	struct cursor c = { s, s + len };
	int32_t v;

	memset(f, 0, sizeof(*f));
	if (len == 0)
		return 0; /* no rule: the last transition's offset holds */
	if (parse_tz_name(&c) < 0 || parse_hms(&c, 24, &v) < 0)
		return -1;
	f->present = true;
	f->std_off = -v; /* POSIX offsets count hours west of Greenwich */
	if (cur_eof(&c))
		return 0;
	if (parse_tz_name(&c) < 0)
		return -1;
	f->has_dst = true;
	f->dst_off = f->std_off + 3600;
	if (!cur_eof(&c) && cur_peek(&c) != ',') {
		if (parse_hms(&c, 24, &v) < 0)
			return -1;
		f->dst_off = -v;
	}
	/* TZif footers always carry explicit rules; refuse to guess them. */
	if (cur_peek(&c) != ',')
		return -1;
	c.p++;
	if (parse_rule_date(&c, &f->start) < 0 || cur_peek(&c) != ',')
		return -1;
	c.p++;
	if (parse_rule_date(&c, &f->end) < 0 || !cur_eof(&c))
		return -1;
	if (f->std_off < UTOFF_MIN || f->std_off > UTOFF_MAX ||
	    f->dst_off < UTOFF_MIN || f->dst_off > UTOFF_MAX)
		return -1;
	if (f->std_off == f->dst_off)
		f->has_dst = false;
	return 0;
}

/* --- TZif parsing ------------------------------------------------------ */

struct tzif_hdr {
	char version;
	uint32_t isutcnt, isstdcnt, leapcnt, timecnt, typecnt, charcnt;
};

static uint32_t be32(const unsigned char *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static int64_t be64(const unsigned char *p)
{
	return (int64_t)((uint64_t)be32(p) << 32 | be32(p + 4));
}

static int read_hdr(const unsigned char *p, size_t len, struct tzif_hdr *h)
{
	if (len < 44 || memcmp(p, "TZif", 4) != 0)
		return -1;
	h->version = (char)p[4];
	h->isutcnt = be32(p + 20);
	h->isstdcnt = be32(p + 24);
	h->leapcnt = be32(p + 28);
	h->timecnt = be32(p + 32);
	h->typecnt = be32(p + 36);
	h->charcnt = be32(p + 40);
	return 0;
}

/* Size of the data block after a header; 0 if the counts are absurd. */
static size_t block_size(const struct tzif_hdr *h, size_t timesize)
{
	/* Every count is bounded by the file size cap, so no overflow. */
	if (h->timecnt > TZ_FILE_MAX || h->typecnt > 256 || h->charcnt > TZ_FILE_MAX ||
	    h->leapcnt > TZ_FILE_MAX || h->isstdcnt > 256 || h->isutcnt > 256)
		return 0;
	return (size_t)h->timecnt * (timesize + 1) + (size_t)h->typecnt * 6 +
	       h->charcnt + (size_t)h->leapcnt * (timesize + 4) +
	       h->isstdcnt + h->isutcnt;
}

int tz_parse(struct tz **ret, const char *name, const void *data, size_t len,
	     struct ferr *e)
{
	const unsigned char *p = data;
	struct tzif_hdr h;
	size_t timesize = 4, bsz;
	struct tz *tz = NULL;
	int32_t types[256];
	const char *what = "";

	*ret = NULL;
	if (!name)
		name = "";
	if (read_hdr(p, len, &h) < 0) {
		what = "it does not start with a TZif header";
		goto bad;
	}
	bsz = block_size(&h, 4);
	if (bsz == 0 || 44 + bsz > len) {
		what = "its version 1 data block is truncated";
		goto bad;
	}
	if (h.version >= '2') {
		p += 44 + bsz;
		len -= 44 + bsz;
		if (read_hdr(p, len, &h) < 0) {
			what = "its version 2 header is missing";
			goto bad;
		}
		timesize = 8;
		bsz = block_size(&h, 8);
		if (bsz == 0 || 44 + bsz > len) {
			what = "its version 2 data block is truncated";
			goto bad;
		}
	}
	if (h.typecnt == 0 || h.charcnt == 0 ||
	    (h.isstdcnt != 0 && h.isstdcnt != h.typecnt) ||
	    (h.isutcnt != 0 && h.isutcnt != h.typecnt)) {
		what = "its header counts are inconsistent";
		goto bad;
	}
	if (h.leapcnt != 0) {
		ferr_invalid(e, "time zone \"%s\" counts leap seconds (a right/ zone); "
			     "use the zone without the right/ prefix", name);
		return -1;
	}

	tz = calloc(1, sizeof(*tz));
	if (!tz)
		goto nomem;
	snprintf(tz->name, sizeof(tz->name), "%s", name);
	if (h.timecnt) {
		tz->trans = calloc(h.timecnt, sizeof(*tz->trans));
		if (!tz->trans)
			goto nomem;
	}

	const unsigned char *times = p + 44;
	const unsigned char *idx = times + (size_t)h.timecnt * timesize;
	const unsigned char *ttinfo = idx + h.timecnt;

	for (uint32_t i = 0; i < h.typecnt; i++) {
		int32_t off = (int32_t)be32(ttinfo + 6 * i);
		if (off < UTOFF_MIN || off > UTOFF_MAX || ttinfo[6 * i + 5] >= h.charcnt) {
			what = "a local time type is out of range";
			goto bad;
		}
		types[i] = off;
	}
	tz->base_off = types[0];
	int64_t prev_at = INT64_MIN;
	int32_t cur = tz->base_off;
	for (uint32_t i = 0; i < h.timecnt; i++) {
		int64_t at = timesize == 8 ? be64(times + 8 * i)
					   : (int64_t)(int32_t)be32(times + 4 * i);
		if (at < -TZ_TIME_LIMIT || at > TZ_TIME_LIMIT) {
			what = "a transition time is out of range";
			goto bad;
		}
		if (i > 0 && at <= prev_at) {
			what = "its transition times are not ascending";
			goto bad;
		}
		if (idx[i] >= h.typecnt) {
			what = "a transition names a missing local time type";
			goto bad;
		}
		prev_at = at;
		if (types[idx[i]] != cur) {
			cur = types[idx[i]];
			tz->trans[tz->n].at = at;
			tz->trans[tz->n].off = cur;
			tz->n++;
		}
	}

	tz->footer_from = INT64_MAX;
	if (timesize == 8) {
		const unsigned char *f = p + 44 + bsz;
		size_t flen = len - 44 - bsz;
		const unsigned char *nl;

		if (flen < 2 || f[0] != '\n' || !(nl = memchr(f + 1, '\n', flen - 1))) {
			what = "its footer is missing";
			goto bad;
		}
		if (parse_footer((const char *)f + 1, (size_t)(nl - f - 1), &tz->footer) < 0) {
			what = "its POSIX TZ footer cannot be parsed";
			goto bad;
		}
		if (tz->footer.present) {
			tz->footer_from = h.timecnt ? prev_at : INT64_MIN;
			/* From the last raw transition on the footer rules; a file
			 * whose last transition disagrees with its footer must not
			 * give two answers for the same instant. */
			while (tz->n > 0 && tz->trans[tz->n - 1].at >= tz->footer_from)
				tz->n--;
		}
	}
	*ret = tz;
	return 0;
bad:
	tz_free(tz);
	return ferr_invalid(e, "time zone \"%s\": not a valid TZif file: %s", name, what);
nomem:
	tz_free(tz);
	return ferr_internal(e, "time zone \"%s\": out of memory", name);
}

/* --- names and files --------------------------------------------------- */

int tz_validate_name(const char *name, struct ferr *e)
{
	size_t len = name ? strlen(name) : 0;
	size_t comp = 0;

	if (len == 0)
		return ferr_invalid(e, "time zone name is empty: use an IANA name such as "
				    "\"Europe/Berlin\" or \"UTC\"");
	if (len > TZ_NAME_MAX)
		return ferr_invalid(e, "time zone name is longer than %d bytes", TZ_NAME_MAX);
	if (name[0] == '/')
		return ferr_invalid(e, "time zone \"%s\": must be a zone name such as "
				    "\"Europe/Berlin\", not a path", name);
	for (size_t i = 0; i <= len; i++) {
		int ch = (unsigned char)name[i];
		if (ch == '/' || ch == '\0') {
			if (comp == 0)
				return ferr_invalid(e, "time zone \"%s\": empty path component", name);
			if (name[i - comp] == '.')
				return ferr_invalid(e, "time zone \"%s\": a component may not "
						    "start with '.'", name);
			comp = 0;
			continue;
		}
		if (!is_alpha(ch) && !is_digit(ch) && ch != '_' && ch != '-' &&
		    ch != '+' && ch != '.')
			return ferr_invalid(e, "time zone \"%s\": character '%c' is not "
					    "allowed in a zone name", name,
					    ch >= 0x20 && ch < 0x7f ? ch : '?');
		comp++;
	}
	return 0;
}

static int read_file(const char *path, const char *name, unsigned char **ret,
		     size_t *ret_len, struct ferr *e)
{
	struct stat st;
	unsigned char *buf = NULL;
	size_t got = 0;
	int fd;

	*ret = NULL;
	/* O_NONBLOCK: a FIFO planted under the zone directory must not hang us. */
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0) {
		if (errno == ENOENT || errno == ENOTDIR)
			return ferr_notfound(e, "unknown time zone \"%s\": use an IANA name "
					     "such as \"Europe/Berlin\" or \"UTC\"", name);
		return ferr_internal(e, "time zone \"%s\": cannot open %s: %s",
				     name, path, strerror(errno));
	}
	if (fstat(fd, &st) < 0) {
		ferr_internal(e, "time zone \"%s\": cannot stat %s: %s", name, path,
			      strerror(errno));
		goto fail;
	}
	if (!S_ISREG(st.st_mode)) {
		ferr_notfound(e, "unknown time zone \"%s\": it names a directory of zones, "
			      "not a zone", name);
		goto fail;
	}
	if (st.st_size > TZ_FILE_MAX) {
		ferr_invalid(e, "time zone \"%s\": %s is too large for a TZif file", name, path);
		goto fail;
	}
	buf = malloc((size_t)st.st_size + 1);
	if (!buf) {
		ferr_internal(e, "time zone \"%s\": out of memory", name);
		goto fail;
	}
	while (got < (size_t)st.st_size) {
		ssize_t r = read(fd, buf + got, (size_t)st.st_size - got);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			ferr_internal(e, "time zone \"%s\": cannot read %s: %s", name, path,
				      r < 0 ? strerror(errno) : "file shrank while reading");
			goto fail;
		}
		got += (size_t)r;
	}
	close(fd);
	*ret = buf;
	*ret_len = got;
	return 0;
fail:
	free(buf);
	close(fd);
	return -1;
}

int tz_load(struct tz **ret, const char *name, const char *dir, struct ferr *e)
{
	char path[4096];
	unsigned char *data;
	size_t len = 0;
	int r;

	*ret = NULL;
	if (!name || !*name || strcmp(name, "UTC") == 0) {
		struct tz *tz = calloc(1, sizeof(*tz));
		if (!tz)
			return ferr_internal(e, "time zone: out of memory");
		*tz = utc_zone;
		*ret = tz;
		return 0;
	}
	if (tz_validate_name(name, e) < 0)
		return -1;
	if (!dir)
		dir = TZ_DEFAULT_DIR;
	r = snprintf(path, sizeof(path), "%s/%s", dir, name);
	if (r < 0 || (size_t)r >= sizeof(path))
		return ferr_invalid(e, "time zone \"%s\": path too long", name);
	if (read_file(path, name, &data, &len, e) < 0)
		return -1;
	r = tz_parse(ret, name, data, len, e);
	free(data);
	return r;
}

static pthread_mutex_t cache_lock = PTHREAD_MUTEX_INITIALIZER;
static struct tz *cache_head;

int tz_get(const struct tz **ret, const char *name, struct ferr *e)
{
	struct tz *tz;
	int r = 0;

	*ret = NULL;
	if (!name || !*name || strcmp(name, "UTC") == 0) {
		*ret = &utc_zone;
		return 0;
	}
	pthread_mutex_lock(&cache_lock);
	for (tz = cache_head; tz; tz = tz->cache_next)
		if (strcmp(tz->name, name) == 0)
			break;
	if (!tz) {
		/* Loading under the lock keeps this simple; a zone file is a few
		 * kB and each name is loaded once per process. */
		r = tz_load(&tz, name, NULL, e);
		if (r == 0) {
			tz->cache_next = cache_head;
			cache_head = tz;
		}
	}
	pthread_mutex_unlock(&cache_lock);
	if (r == 0)
		*ret = tz;
	return r;
}
