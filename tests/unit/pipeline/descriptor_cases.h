/* descriptor_cases.h: the table of invalid descriptors both descriptor
 * test files check (include after cmocka.h and pipeline/descriptor.h). */
#ifndef FERRY_TEST_DESCRIPTOR_CASES_H
#define FERRY_TEST_DESCRIPTOR_CASES_H

struct bad {
	enum descriptor_format fmt;
	const char *yaml;
	const char *msg;   /* the one error expected, with its position */
};

/* Parses every case, reports every mismatch (not just the first), then
 * fails if there was one. */
static inline void check_bad_cases(const struct bad *bad, size_t n)
{
	int wrong = 0;

	for (size_t i = 0; i < n; i++) {
		struct ferr e = FERR_INIT;
		struct descriptor *d = (struct descriptor *)1;
		int r = descriptor_parse(&d, bad[i].yaml, strlen(bad[i].yaml),
					 descriptor_format_path(bad[i].fmt), bad[i].fmt, &e);

		if (r != -1) {
			print_error("case %zu parsed but should fail with: %s\n", i, bad[i].msg);
			descriptor_free(d);
			wrong++;
			continue;
		}
		assert_null(d);
		assert_int_equal(e.status, 400);
		if (strcmp(e.msg, bad[i].msg)) {
			print_error("case %zu:\n  want %s\n  got  %s\n", i, bad[i].msg, e.msg);
			wrong++;
		}
	}
	assert_int_equal(wrong, 0);
}

#endif
