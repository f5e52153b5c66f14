/* Version orderings: dpkg, apk, semver, PEP 440. See version.h.
 *
 * Written here rather than linked from libdpkg so that one small file with
 * no allocation covers all four schemes the same way (total order, never
 * fails) and the fuzzers and the matcher can call them on any input. The
 * dpkg part follows dpkg's lib/dpkg/version.c (verrevcmp) and is checked
 * against dpkg's own test vectors in tests/unit/pipeline/test_version.c. */
#include "pipeline/version.h"

#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <strings.h>

#include "lib/banned.h"

static bool is_digit(int c) { return c >= '0' && c <= '9'; }
static bool is_alpha(int c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }

static int sign(int v) { return (v > 0) - (v < 0); }

/* Compares two runs of digits as numbers, however long. */
static int numcmp(const char *a, size_t alen, const char *b, size_t blen)
{
	int r;

	while (alen && *a == '0') { a++; alen--; }
	while (blen && *b == '0') { b++; blen--; }
	if (alen != blen)
		return alen < blen ? -1 : 1;
	r = memcmp(a, b, alen);
	return sign(r);
}

/* ---------------------------------------------------------------- dpkg */

/* dpkg's character weight in a non-digit part: '~' before the end of the
 * string, the end before letters, letters before everything else. */
static int dpkg_order(int c)
{
	if (is_digit(c))
		return 0;
	if (is_alpha(c))
		return c;
	if (c == '~')
		return -1;
	if (c)
		return c + 256;
	return 0;
}

/* dpkg's verrevcmp() on two length-bounded strings. */
static int verrevcmp(const char *a, size_t alen, const char *b, size_t blen)
{
	const char *ae = a + alen, *be = b + blen;

#define AC (a < ae ? (unsigned char)*a : 0)
#define BC (b < be ? (unsigned char)*b : 0)
	while (a < ae || b < be) {
		int first_diff = 0;

		while ((a < ae && !is_digit(AC)) || (b < be && !is_digit(BC))) {
			int ac = dpkg_order(AC), bc = dpkg_order(BC);

			if (ac != bc)
				return sign(ac - bc);
			if (a < ae)
				a++;
			if (b < be)
				b++;
		}
		while (a < ae && *a == '0')
			a++;
		while (b < be && *b == '0')
			b++;
		while (a < ae && b < be && is_digit(AC) && is_digit(BC)) {
			if (!first_diff)
				first_diff = AC - BC;
			a++;
			b++;
		}
		if (a < ae && is_digit(AC))
			return 1;
		if (b < be && is_digit(BC))
			return -1;
		if (first_diff)
			return sign(first_diff);
	}
	return 0;
#undef AC
#undef BC
}

struct dpkgver {
	const char *epoch; size_t epoch_len;
	const char *upstream; size_t upstream_len;
	const char *revision; size_t revision_len;
};

static void dpkg_split(const char *s, struct dpkgver *v)
{
	const char *colon, *hyphen, *end;

	while (*s == ' ' || *s == '\t')
		s++;
	end = s + strlen(s);
	while (end > s && (end[-1] == ' ' || end[-1] == '\t' || end[-1] == '\n'))
		end--;
	colon = memchr(s, ':', (size_t)(end - s));
	if (colon) {
		v->epoch = s;
		v->epoch_len = (size_t)(colon - s);
		s = colon + 1;
	} else {
		v->epoch = "0";
		v->epoch_len = 1;
	}
	hyphen = NULL;
	for (const char *p = s; p < end; p++)
		if (*p == '-')
			hyphen = p;
	v->upstream = s;
	if (hyphen) {
		v->upstream_len = (size_t)(hyphen - s);
		v->revision = hyphen + 1;
		v->revision_len = (size_t)(end - hyphen - 1);
	} else {
		v->upstream_len = (size_t)(end - s);
		v->revision = "";
		v->revision_len = 0;
	}
}

int version_cmp_dpkg(const char *a, const char *b)
{
	struct dpkgver va, vb;
	bool na = true, nb = true;
	int r;

	dpkg_split(a, &va);
	dpkg_split(b, &vb);
	for (size_t i = 0; i < va.epoch_len; i++)
		na = na && is_digit((unsigned char)va.epoch[i]);
	for (size_t i = 0; i < vb.epoch_len; i++)
		nb = nb && is_digit((unsigned char)vb.epoch[i]);
	/* A malformed epoch is compared like any other part, so the order
	 * stays total; dpkg itself would refuse such a version. */
	if (na && nb)
		r = numcmp(va.epoch, va.epoch_len, vb.epoch, vb.epoch_len);
	else
		r = verrevcmp(va.epoch, va.epoch_len, vb.epoch, vb.epoch_len);
	if (r)
		return r;
	r = verrevcmp(va.upstream, va.upstream_len, vb.upstream, vb.upstream_len);
	if (r)
		return r;
	return verrevcmp(va.revision, va.revision_len, vb.revision, vb.revision_len);
}

bool version_valid_dpkg(const char *s)
{
	struct dpkgver v;

	if (!*s)
		return false;
	dpkg_split(s, &v);
	if (!v.epoch_len)
		return false;
	for (size_t i = 0; i < v.epoch_len; i++)
		if (!is_digit((unsigned char)v.epoch[i]))
			return false;
	if (!v.upstream_len || !is_digit((unsigned char)v.upstream[0]))
		return false;
	for (size_t i = 0; i < v.upstream_len; i++) {
		int c = (unsigned char)v.upstream[i];
		if (!is_digit(c) && !is_alpha(c) && !strchr(".+~-:", c))
			return false;
	}
	for (size_t i = 0; i < v.revision_len; i++) {
		int c = (unsigned char)v.revision[i];
		if (!is_digit(c) && !is_alpha(c) && !strchr(".+~", c))
			return false;
	}
	return true;
}

/* -------------------------------------------------------------- semver */

struct semver {
	const char *core; size_t core_len;  /* "1.2.3", any count of parts */
	const char *pre; size_t pre_len;    /* after '-', before '+'; 0 = none */
	bool has_pre;
};

static void semver_split(const char *s, struct semver *v)
{
	const char *end, *p;

	while (*s == ' ' || *s == '\t')
		s++;
	if (*s == 'v' || *s == 'V')
		s++;
	end = s + strlen(s);
	while (end > s && (end[-1] == ' ' || end[-1] == '\t' || end[-1] == '\n'))
		end--;
	p = memchr(s, '+', (size_t)(end - s));
	if (p)
		end = p;   /* build metadata does not take part in precedence */
	v->core = s;
	p = memchr(s, '-', (size_t)(end - s));
	if (p) {
		v->core_len = (size_t)(p - s);
		v->pre = p + 1;
		v->pre_len = (size_t)(end - p - 1);
		v->has_pre = true;
	} else {
		v->core_len = (size_t)(end - s);
		v->pre = "";
		v->pre_len = 0;
		v->has_pre = false;
	}
}

/* Next dot-separated identifier of [*s, end): sets *id and *len, advances *s
 * past the dot. Returns false when nothing is left. */
static bool next_ident(const char **s, const char *end, const char **id, size_t *len)
{
	const char *dot;

	if (*s > end)
		return false;
	dot = memchr(*s, '.', (size_t)(end - *s));
	if (!dot)
		dot = end;
	*id = *s;
	*len = (size_t)(dot - *s);
	*s = dot + 1;
	return true;
}

static bool all_digits(const char *s, size_t len)
{
	if (!len)
		return false;
	for (size_t i = 0; i < len; i++)
		if (!is_digit((unsigned char)s[i]))
			return false;
	return true;
}

/* Compares two identifiers: numbers numerically and below everything else;
 * the rest in ASCII order, a prefix before the longer string. */
static int ident_cmp(const char *a, size_t alen, const char *b, size_t blen)
{
	bool da = all_digits(a, alen), db = all_digits(b, blen);
	size_t n;
	int r;

	if (da && db)
		return numcmp(a, alen, b, blen);
	if (da != db)
		return da ? -1 : 1;
	n = alen < blen ? alen : blen;
	r = memcmp(a, b, n);
	if (r)
		return sign(r);
	return alen == blen ? 0 : (alen < blen ? -1 : 1);
}

int version_cmp_semver(const char *a, const char *b)
{
	struct semver va, vb;
	const char *pa, *pb, *ea, *eb;

	semver_split(a, &va);
	semver_split(b, &vb);
	/* Core: numeric parts pairwise, a missing part is 0. */
	pa = va.core; ea = va.core + va.core_len;
	pb = vb.core; eb = vb.core + vb.core_len;
	for (;;) {
		const char *ia = "0", *ib = "0";
		size_t la = 1, lb = 1;
		bool ha = va.core_len && next_ident(&pa, ea, &ia, &la);
		bool hb = vb.core_len && next_ident(&pb, eb, &ib, &lb);
		int r;

		if (!ha && !hb)
			break;
		if (!ha) { ia = "0"; la = 1; }
		if (!hb) { ib = "0"; lb = 1; }
		r = ident_cmp(ia, la, ib, lb);
		if (r)
			return r;
	}
	/* A pre-release sorts before the release itself. */
	if (va.has_pre != vb.has_pre)
		return va.has_pre ? -1 : 1;
	if (!va.has_pre)
		return 0;
	pa = va.pre; ea = va.pre + va.pre_len;
	pb = vb.pre; eb = vb.pre + vb.pre_len;
	for (;;) {
		const char *ia, *ib;
		size_t la, lb;
		bool ha = next_ident(&pa, ea, &ia, &la);
		bool hb = next_ident(&pb, eb, &ib, &lb);
		int r;

		if (!ha || !hb)
			return ha == hb ? 0 : (ha ? 1 : -1);
		r = ident_cmp(ia, la, ib, lb);
		if (r)
			return r;
	}
}

static bool semver_ident_ok(const char *s, size_t len, bool numeric_no_lead_zero)
{
	if (!len)
		return false;
	for (size_t i = 0; i < len; i++)
		if (!is_digit((unsigned char)s[i]) && !is_alpha((unsigned char)s[i]) && s[i] != '-')
			return false;
	if (numeric_no_lead_zero && all_digits(s, len) && len > 1 && s[0] == '0')
		return false;
	return true;
}

bool version_valid_semver(const char *s)
{
	const char *p, *end, *id, *plus;
	size_t len;
	int parts = 0;

	if (*s == 'v')
		s++;
	end = s + strlen(s);
	plus = memchr(s, '+', (size_t)(end - s));
	if (plus) {
		p = plus + 1;
		while (next_ident(&p, end, &id, &len))
			if (!semver_ident_ok(id, len, false))
				return false;
		end = plus;
	}
	p = memchr(s, '-', (size_t)(end - s));
	if (p) {
		const char *q = p + 1;
		while (next_ident(&q, end, &id, &len))
			if (!semver_ident_ok(id, len, true))
				return false;
		end = p;
	}
	p = s;
	while (next_ident(&p, end, &id, &len)) {
		if (!all_digits(id, len) || (len > 1 && id[0] == '0'))
			return false;
		parts++;
	}
	return parts == 3;
}

/* -------------------------------------------------------------- PEP 440 */

#define PEP440_MAX_RELEASE 32
#define PEP440_MAX_LOCAL 16

enum { PRE_A = 0, PRE_B = 1, PRE_RC = 2 };

struct pep440 {
	uint64_t epoch;
	uint64_t release[PEP440_MAX_RELEASE];
	int nrelease;
	int pre_l;          /* -1 = none, else PRE_* */
	uint64_t pre_n;
	bool has_post;
	uint64_t post_n;
	bool has_dev;
	uint64_t dev_n;
	const char *local[PEP440_MAX_LOCAL];
	size_t local_len[PEP440_MAX_LOCAL];
	int nlocal;         /* 0 = no local version */
};

static uint64_t take_number(const char **s, const char *end)
{
	uint64_t v = 0;

	while (*s < end && is_digit((unsigned char)**s)) {
		unsigned d = (unsigned)(**s - '0');
		v = v > (UINT64_MAX - d) / 10 ? UINT64_MAX : v * 10 + d;
		(*s)++;
	}
	return v;
}

static bool is_sep(int c) { return c == '.' || c == '-' || c == '_'; }

/* Matches word (lower case) at *s case-insensitively; advances on success. */
static bool take_word(const char **s, const char *end, const char *word)
{
	size_t n = strlen(word);

	if ((size_t)(end - *s) < n || strncasecmp(*s, word, n) != 0)
		return false;
	*s += n;
	return true;
}

/* Parses s the way packaging's VERSION_PATTERN does. False if invalid. */
static bool pep440_parse(const char *s, struct pep440 *v)
{
	static const struct { const char *w; int l; } pre_words[] = {
		{ "alpha", PRE_A }, { "a", PRE_A }, { "beta", PRE_B }, { "b", PRE_B },
		{ "preview", PRE_RC }, { "pre", PRE_RC }, { "c", PRE_RC }, { "rc", PRE_RC },
	};
	static const char *const post_words[] = { "post", "rev", "r" };
	const char *end, *p, *save;

	memset(v, 0, sizeof(*v));
	v->pre_l = -1;
	while (*s == ' ' || *s == '\t' || *s == '\n' || *s == '\r' || *s == '\f' || *s == '\v')
		s++;
	end = s + strlen(s);
	while (end > s && (end[-1] == ' ' || end[-1] == '\t' || end[-1] == '\n' ||
	                   end[-1] == '\r' || end[-1] == '\f' || end[-1] == '\v'))
		end--;
	if (s < end && (*s == 'v' || *s == 'V'))
		s++;
	p = s;
	if (p >= end || !is_digit((unsigned char)*p))
		return false;
	/* epoch */
	save = p;
	{
		uint64_t n = take_number(&p, end);
		if (p < end && *p == '!') {
			v->epoch = n;
			p++;
		} else {
			p = save;
		}
	}
	/* release */
	for (;;) {
		if (p >= end || !is_digit((unsigned char)*p))
			return false;
		if (v->nrelease == PEP440_MAX_RELEASE)
			return false;
		v->release[v->nrelease++] = take_number(&p, end);
		if (p + 1 < end && *p == '.' && is_digit((unsigned char)p[1]))
			p++;
		else
			break;
	}
	/* pre-release */
	save = p;
	if (p < end && is_sep((unsigned char)*p))
		p++;
	for (size_t i = 0; i < sizeof(pre_words) / sizeof(pre_words[0]); i++) {
		if (take_word(&p, end, pre_words[i].w)) {
			const char *q = p;
			v->pre_l = pre_words[i].l;
			if (q < end && is_sep((unsigned char)*q))
				q++;
			if (q < end && is_digit((unsigned char)*q)) {
				p = q;
				v->pre_n = take_number(&p, end);
			}
			break;
		}
	}
	if (v->pre_l < 0)
		p = save;
	/* post release: "-N" or [sep](post|rev|r)[sep][N] */
	save = p;
	if (p + 1 < end && *p == '-' && is_digit((unsigned char)p[1])) {
		p++;
		v->has_post = true;
		v->post_n = take_number(&p, end);
	} else {
		if (p < end && is_sep((unsigned char)*p))
			p++;
		for (size_t i = 0; i < sizeof(post_words) / sizeof(post_words[0]); i++) {
			if (take_word(&p, end, post_words[i])) {
				const char *q = p;
				v->has_post = true;
				if (q < end && is_sep((unsigned char)*q))
					q++;
				if (q < end && is_digit((unsigned char)*q)) {
					p = q;
					v->post_n = take_number(&p, end);
				}
				break;
			}
		}
		if (!v->has_post)
			p = save;
	}
	/* dev release */
	save = p;
	if (p < end && is_sep((unsigned char)*p))
		p++;
	if (take_word(&p, end, "dev")) {
		const char *q = p;
		v->has_dev = true;
		if (q < end && is_sep((unsigned char)*q))
			q++;
		if (q < end && is_digit((unsigned char)*q)) {
			p = q;
			v->dev_n = take_number(&p, end);
		}
	} else {
		p = save;
	}
	/* local version */
	if (p < end && *p == '+') {
		p++;
		for (;;) {
			const char *seg = p;
			while (p < end && (is_digit((unsigned char)*p) || is_alpha((unsigned char)*p)))
				p++;
			if (p == seg || v->nlocal == PEP440_MAX_LOCAL)
				return false;
			v->local[v->nlocal] = seg;
			v->local_len[v->nlocal] = (size_t)(p - seg);
			v->nlocal++;
			if (p < end && is_sep((unsigned char)*p))
				p++;
			else
				break;
		}
	}
	return p == end;
}

bool version_valid_pep440(const char *s)
{
	struct pep440 v;

	return pep440_parse(s, &v);
}

static int u64cmp(uint64_t a, uint64_t b) { return (a > b) - (a < b); }

static int local_seg_cmp(const char *a, size_t alen, const char *b, size_t blen)
{
	bool da = all_digits(a, alen), db = all_digits(b, blen);
	size_t n;
	int r;

	if (da && db)
		return numcmp(a, alen, b, blen);
	if (da != db)
		return da ? 1 : -1;   /* numeric segments sort after alphanumeric */
	n = alen < blen ? alen : blen;
	r = strncasecmp(a, b, n);
	if (r)
		return sign(r);
	return alen == blen ? 0 : (alen < blen ? -1 : 1);
}

/* packaging's _cmpkey(): the pre/post/dev keys with their infinities. */
static int pep440_cmp_parsed(const struct pep440 *a, const struct pep440 *b)
{
	int r, n;
	/* pre key: a dev release of a final (1.0.dev0) sorts before its
	 * pre-releases, a final after them. */
	int pa = a->pre_l >= 0 ? 1 : (!a->has_post && a->has_dev ? 0 : 2);
	int pb = b->pre_l >= 0 ? 1 : (!b->has_post && b->has_dev ? 0 : 2);

	if ((r = u64cmp(a->epoch, b->epoch)))
		return r;
	n = a->nrelease > b->nrelease ? a->nrelease : b->nrelease;
	for (int i = 0; i < n; i++) {
		uint64_t x = i < a->nrelease ? a->release[i] : 0;
		uint64_t y = i < b->nrelease ? b->release[i] : 0;
		if ((r = u64cmp(x, y)))
			return r;
	}
	if (pa != pb)
		return pa < pb ? -1 : 1;
	if (pa == 1) {
		if (a->pre_l != b->pre_l)
			return a->pre_l < b->pre_l ? -1 : 1;
		if ((r = u64cmp(a->pre_n, b->pre_n)))
			return r;
	}
	if (a->has_post != b->has_post)
		return a->has_post ? 1 : -1;
	if ((r = u64cmp(a->post_n, b->post_n)))
		return r;
	if (a->has_dev != b->has_dev)
		return a->has_dev ? -1 : 1;
	if ((r = u64cmp(a->dev_n, b->dev_n)))
		return r;
	for (int i = 0; i < a->nlocal || i < b->nlocal; i++) {
		if (i >= a->nlocal || i >= b->nlocal)
			return i >= a->nlocal ? -1 : 1;
		r = local_seg_cmp(a->local[i], a->local_len[i], b->local[i], b->local_len[i]);
		if (r)
			return r;
	}
	return 0;
}

int version_cmp_pep440(const char *a, const char *b)
{
	struct pep440 va, vb;
	bool oka = pep440_parse(a, &va), okb = pep440_parse(b, &vb);

	if (oka && okb)
		return pep440_cmp_parsed(&va, &vb);
	if (oka != okb)
		return oka ? 1 : -1;
	return sign(strcmp(a, b));
}

/* ------------------------------------------------------------------ apk */

/* Suffix ranks: pre-release suffixes below "none" (0), the rest above. */
static int apk_suffix(const char **s, const char *end)
{
	static const struct { const char *w; int rank; } suf[] = {
		{ "alpha", -4 }, { "beta", -3 }, { "pre", -2 }, { "rc", -1 },
		{ "cvs", 1 }, { "svn", 2 }, { "git", 3 }, { "hg", 4 }, { "p", 5 },
	};

	for (size_t i = 0; i < sizeof(suf) / sizeof(suf[0]); i++) {
		size_t n = strlen(suf[i].w);
		if ((size_t)(end - *s) >= n && strncmp(*s, suf[i].w, n) == 0 &&
		    ((size_t)(end - *s) == n || !is_alpha((unsigned char)(*s)[n]))) {
			*s += n;
			return suf[i].rank;
		}
	}
	return 6;   /* unknown suffix: after the known ones */
}

int version_cmp_apk(const char *a, const char *b)
{
	const char *ea = a + strlen(a), *eb = b + strlen(b);
	const char *ra = NULL, *rb = NULL;
	int r;

	/* Split off "-rN". */
	for (const char *p = a; p + 1 < ea; p++)
		if (p[0] == '-' && p[1] == 'r')
			ra = p;
	for (const char *p = b; p + 1 < eb; p++)
		if (p[0] == '-' && p[1] == 'r')
			rb = p;
	{
		const char *xa = ra ? ra : ea, *xb = rb ? rb : eb;
		/* Digit groups. */
		for (;;) {
			const char *sa = a, *sb = b;
			bool ha = a < xa && is_digit((unsigned char)*a);
			bool hb = b < xb && is_digit((unsigned char)*b);
			if (!ha || !hb) {
				if (ha != hb)
					return ha ? 1 : -1;
				break;
			}
			while (a < xa && is_digit((unsigned char)*a))
				a++;
			while (b < xb && is_digit((unsigned char)*b))
				b++;
			if ((r = numcmp(sa, (size_t)(a - sa), sb, (size_t)(b - sb))))
				return r;
			ha = a + 1 < xa && *a == '.' && is_digit((unsigned char)a[1]);
			hb = b + 1 < xb && *b == '.' && is_digit((unsigned char)b[1]);
			if (ha != hb)
				return ha ? 1 : -1;
			if (!ha)
				break;
			a++;
			b++;
		}
		/* Optional letter. */
		{
			int la = a < xa && is_alpha((unsigned char)*a) ? (unsigned char)*a++ : 0;
			int lb = b < xb && is_alpha((unsigned char)*b) ? (unsigned char)*b++ : 0;
			if (la != lb)
				return la < lb ? -1 : 1;
		}
		/* Suffixes, each "_word[N]". */
		for (;;) {
			int sa = 0, sb = 0;
			const char *na, *nb;
			if (a < xa && *a == '_') {
				a++;
				sa = apk_suffix(&a, xa);
			}
			if (b < xb && *b == '_') {
				b++;
				sb = apk_suffix(&b, xb);
			}
			if (sa != sb)
				return sa < sb ? -1 : 1;
			if (!sa)
				break;
			na = a; nb = b;
			while (a < xa && is_digit((unsigned char)*a))
				a++;
			while (b < xb && is_digit((unsigned char)*b))
				b++;
			if ((r = numcmp(na, (size_t)(a - na), nb, (size_t)(b - nb))))
				return r;
		}
		/* Anything else left over: plain byte order, then revisions. */
		{
			size_t la = (size_t)(xa - a), lb = (size_t)(xb - b);
			size_t n = la < lb ? la : lb;
			if ((r = memcmp(a, b, n)))
				return sign(r);
			if (la != lb)
				return la < lb ? -1 : 1;
		}
	}
	{
		const char *na = ra ? ra + 2 : "", *nb = rb ? rb + 2 : "";
		return numcmp(na, strlen(na), nb, strlen(nb));
	}
}

int version_cmp(enum version_scheme scheme, const char *a, const char *b)
{
	switch (scheme) {
	case VERSION_DPKG:   return version_cmp_dpkg(a, b);
	case VERSION_APK:    return version_cmp_apk(a, b);
	case VERSION_SEMVER: return version_cmp_semver(a, b);
	case VERSION_PEP440: return version_cmp_pep440(a, b);
	}
	return sign(strcmp(a, b));
}
