/* Unit tests of lib/yamlout: JSON written as YAML reads back as the same
 * values (checked with libyaml's parser), strings YAML would take for
 * something else are quoted. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include <yaml.h>

#include "lib/yamlout.h"

/* Scalars of the YAML text in order, with their styles. */
static int scalars(const char *text, char out[][64], int *styles, int max)
{
	yaml_parser_t p;
	yaml_event_t ev;
	int n = 0, done = 0;

	yaml_parser_initialize(&p);
	yaml_parser_set_input_string(&p, (const unsigned char *)text, strlen(text));
	while (!done) {
		if (!yaml_parser_parse(&p, &ev))
			fail_msg("YAML does not parse: %s", p.problem);
		if (ev.type == YAML_SCALAR_EVENT && n < max) {
			snprintf(out[n], 64, "%s", (const char *)ev.data.scalar.value);
			styles[n++] = ev.data.scalar.style;
		}
		done = ev.type == YAML_STREAM_END_EVENT;
		yaml_event_delete(&ev);
	}
	yaml_parser_delete(&p);
	return n;
}

static void test_documents_and_quoting(void **state)
{
	json_t *docs = json_pack("[{s:s, s:s, s:s, s:s, s:i, s:b, s:[s, s]}, {s:s}]",
				 "kind", "Secret", "yes", "true", "mode", "0400", "empty", "",
				 "n", 3, "flag", 1, "list", "a: b", "multi\nline",
				 "kind", "Service");
	struct strbuf out = STRBUF_INIT;
	struct ferr e = FERR_INIT;
	char s[32][64];
	int st[32], n;

	(void)state;
	assert_int_equal(yaml_out_documents(&out, docs, &e), 0);
	assert_non_null(strstr(out.buf, "---"));
	assert_non_null(strstr(out.buf, "kind: Service"));
	n = scalars(out.buf, s, st, 32);
	assert_int_equal(n, 17);
	assert_string_equal(s[0], "kind");
	assert_string_equal(s[1], "Secret");
	assert_int_equal(st[1], YAML_PLAIN_SCALAR_STYLE);
	/* key "yes" and value "true" are strings: quoted */
	assert_string_equal(s[2], "yes");
	assert_int_not_equal(st[2], YAML_PLAIN_SCALAR_STYLE);
	assert_string_equal(s[3], "true");
	assert_int_not_equal(st[3], YAML_PLAIN_SCALAR_STYLE);
	assert_string_equal(s[5], "0400");
	assert_int_not_equal(st[5], YAML_PLAIN_SCALAR_STYLE);
	assert_string_equal(s[7], "");
	assert_int_not_equal(st[7], YAML_PLAIN_SCALAR_STYLE);
	/* numbers and booleans stay plain */
	assert_string_equal(s[9], "3");
	assert_int_equal(st[9], YAML_PLAIN_SCALAR_STYLE);
	assert_string_equal(s[11], "true");
	assert_int_equal(st[11], YAML_PLAIN_SCALAR_STYLE);
	assert_string_equal(s[13], "a: b");
	assert_string_equal(s[14], "multi\nline");
	strbuf_release(&out);
	json_decref(docs);
}

static void test_not_an_array(void **state)
{
	struct strbuf out = STRBUF_INIT;
	struct ferr e = FERR_INIT;
	json_t *o = json_object();

	(void)state;
	assert_int_equal(yaml_out_documents(&out, o, &e), -1);
	assert_int_equal(e.status, 400);
	json_decref(o);
	strbuf_release(&out);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_documents_and_quoting),
		cmocka_unit_test(test_not_an_array),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
