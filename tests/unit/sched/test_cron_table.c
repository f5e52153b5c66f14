/* Table-driven test of cron_parse/cron_next_n: reads cron_cases.txt (path
 * in argv[1]); see the header of that file for the format. Every failing
 * row is reported with its line number before the test fails. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sched/cron.h"
#include "sched/tz.h"

#define MAX_EXPECTED 8

static const char *cases_path;

static char *trim(char *s)
{
	char *end;

	while (*s == ' ' || *s == '\t')
		s++;
	end = s + strlen(s);
	while (end > s && (end[-1] == ' ' || end[-1] == '\t' || end[-1] == '\n'))
		*--end = '\0';
	return s;
}

/* "YYYY-MM-DDTHH:MM:SS" then "Z" or "+HH:MM"/"-HH:MM". */
static int parse_rfc3339(const char *s, int64_t *ret_t, int32_t *ret_off)
{
	int y, mo, d, h, mi, sec, oh = 0, om = 0, n = 0;
	char sign;

	if (sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2d%n", &y, &mo, &d, &h, &mi, &sec, &n) != 6)
		return -1;
	s += n;
	if (strcmp(s, "Z") == 0) {
		sign = '+';
	} else if (sscanf(s, "%c%2d:%2d%n", &sign, &oh, &om, &n) == 3 && s[n] == '\0' &&
		   (sign == '+' || sign == '-')) {
		/* parsed */
	} else {
		return -1;
	}
	*ret_off = (sign == '-' ? -1 : 1) * (oh * 3600 + om * 60);
	*ret_t = tz_days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + sec - *ret_off;
	return 0;
}

static void format_local(char *buf, size_t len, const struct tz *tz, int64_t t)
{
	int32_t off = tz_offset_at(tz, t);
	int64_t local = t + off, days = tz_floor_div(local, 86400), sod = local - days * 86400;
	int64_t y;
	int m, d;
	int32_t aoff = off < 0 ? -off : off;

	tz_civil_from_days(days, &y, &m, &d);
	snprintf(buf, len, "%04lld-%02d-%02dT%02d:%02d:%02d%c%02d:%02d", (long long)y, m, d,
		 (int)(sod / 3600), (int)(sod % 3600 / 60), (int)(sod % 60),
		 off < 0 ? '-' : '+', aoff / 3600, aoff % 3600 / 60);
}

/* Returns 0 if the row passes; prints why not otherwise. */
static int check_row(int lineno, char *line)
{
	char *parts[4];
	char *p = line;
	struct ferr e = FERR_INIT;
	struct cron c;
	const struct tz *tz;
	int64_t after, want[MAX_EXPECTED];
	int32_t want_off[MAX_EXPECTED];
	time_t got[MAX_EXPECTED];
	int32_t off;
	size_t n = 0;
	char buf[64];

	for (int i = 0; i < 4; i++) {
		parts[i] = p;
		if (i < 3) {
			p = strchr(p, '|');
			if (!p) {
				printf("line %d: expected 4 '|'-separated columns\n", lineno);
				return -1;
			}
			*p++ = '\0';
		}
	}
	char *zone = trim(parts[0]), *after_s = trim(parts[1]), *expr = parts[2];
	char *expected = trim(parts[3]);

	if (tz_get(&tz, zone, &e) < 0) {
		printf("line %d: zone %s: %s\n", lineno, zone, e.msg);
		return -1;
	}
	if (parse_rfc3339(after_s, &after, &off) < 0) {
		printf("line %d: bad time %s\n", lineno, after_s);
		return -1;
	}

	if (expected[0] == '!') {
		const char *want_msg = expected + 1;
		if (cron_parse(&c, expr, &e) == 0 && cron_next(&c, tz, (time_t)after, &got[0], &e) == 0) {
			format_local(buf, sizeof(buf), tz, got[0]);
			printf("line %d: [%s] accepted (next %s), want error: %s\n", lineno,
			       expr, buf, want_msg);
			return -1;
		}
		if (strcmp(e.msg, want_msg) != 0) {
			printf("line %d: [%s]\n  want error: %s\n  got error:  %s\n", lineno,
			       expr, want_msg, e.msg);
			return -1;
		}
		if (e.status != 400 || strcmp(e.code, "invalid") != 0) {
			printf("line %d: error class %d %s, want 400 invalid\n", lineno,
			       e.status, e.code);
			return -1;
		}
		return 0;
	}

	for (char *tok = expected; *tok;) {
		char *sp = tok + strcspn(tok, " \t");
		char save = *sp;
		*sp = '\0';
		if (n == MAX_EXPECTED || parse_rfc3339(tok, &want[n], &want_off[n]) < 0) {
			printf("line %d: bad expected time %s\n", lineno, tok);
			return -1;
		}
		n++;
		*sp = save;
		tok = sp;
		while (*tok == ' ' || *tok == '\t')
			tok++;
	}
	if (n == 0) {
		printf("line %d: no expected times\n", lineno);
		return -1;
	}
	if (cron_parse(&c, expr, &e) < 0) {
		printf("line %d: [%s] refused: %s\n", lineno, expr, e.msg);
		return -1;
	}
	if (cron_next_n(&c, tz, (time_t)after, n, got, &e) < 0) {
		printf("line %d: [%s] cron_next_n failed: %s\n", lineno, expr, e.msg);
		return -1;
	}
	for (size_t i = 0; i < n; i++) {
		char wbuf[64];
		format_local(buf, sizeof(buf), tz, got[i]);
		format_local(wbuf, sizeof(wbuf), tz, want[i]);
		if (got[i] != want[i]) {
			printf("line %d: [%s] %s after %s: run %zu is %s, want %s\n", lineno,
			       expr, zone, after_s, i + 1, buf, wbuf);
			return -1;
		}
		if (tz_offset_at(tz, got[i]) != want_off[i]) {
			printf("line %d: run %zu: zone offset %d, the table says %d\n", lineno,
			       i + 1, tz_offset_at(tz, got[i]), want_off[i]);
			return -1;
		}
	}
	return 0;
}

static void test_table(void **state)
{
	FILE *f;
	char line[4096];
	int lineno = 0, rows = 0, failed = 0;

	(void)state;
	assert_non_null(cases_path);
	f = fopen(cases_path, "re");
	assert_non_null(f);
	while (fgets(line, sizeof(line), f)) {
		lineno++;
		char *t = trim(line);
		if (*t == '\0' || *t == '#')
			continue;
		rows++;
		if (check_row(lineno, line) < 0)
			failed++;
	}
	fclose(f);
	printf("%d rows, %d failed\n", rows, failed);
	assert_true(rows >= 150);
	assert_int_equal(failed, 0);
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_table),
	};

	if (argc < 2) {
		fprintf(stderr, "usage: %s cron_cases.txt\n", argv[0]);
		return 2;
	}
	cases_path = argv[1];
	return cmocka_run_group_tests(tests, NULL, NULL);
}
