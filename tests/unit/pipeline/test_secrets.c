/* Secret detection with the shipped rule set (data/secret-rules.json). The
 * sample credentials are assembled from pieces so that this file itself
 * holds none. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/fstree.h"
#include "lib/strbuf.h"
#include "pipeline/secrets.h"
#include "testfs.h"

#ifndef SOURCE_ROOT
#error "SOURCE_ROOT must name the source tree"
#endif

static struct secret_rules *rules;

static int setup(void **state)
{
	struct ferr e = FERR_INIT;
	(void)state;
	if (secret_rules_load(&rules, SOURCE_ROOT "/data/secret-rules.json", &e) < 0)
		fail_msg("loading the rules: %s", e.msg);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	secret_rules_free(rules);
	return 0;
}

/* Rule ids found in text, comma-separated. */
static void found(const char *text, struct strbuf *ids, json_t **ret)
{
	json_t *f = json_array(), *v;
	size_t i;

	secrets_scan_buffer(rules, "app/config", text, strlen(text), f);
	strbuf_reset(ids);
	json_array_foreach(f, i, v) {
		if (ids->len)
			strbuf_addch(ids, ',');
		strbuf_addstr(ids, json_string_value(json_object_get(v, "rule")));
	}
	if (ret)
		*ret = f;
	else
		json_decref(f);
}

static void each_rule(void **state)
{
	struct strbuf ids = STRBUF_INIT, t = STRBUF_INIT;
	(void)state;

	assert_true(secret_rules_count(rules) >= 12);
	found("-----BEGIN RSA " "PRIVATE KEY-----\nMIIEow...\n", &ids, NULL);
	assert_string_equal(ids.buf, "private-key");
	found("key: -----BEGIN OPENSSH " "PRIVATE KEY-----", &ids, NULL);
	assert_string_equal(ids.buf, "private-key");
	found("aws_access_key_id = AKIA" "Z7QW3RTY5UIO2PLK\n", &ids, NULL);
	assert_string_equal(ids.buf, "aws-access-key-id");
	found("AWS_SECRET_ACCESS_KEY=\"wJalrXUtnFEMI/K7MDENG/bPxRfiCY" "Q9x8w7v6u5\"", &ids, NULL);
	assert_string_equal(ids.buf, "aws-secret-access-key");
	found("  \"private_key_id\": \"0123456789abcdef0123" "456789abcdef01234567\",", &ids, NULL);
	assert_string_equal(ids.buf, "gcp-service-account-key");
	found("const k = 'AIza" "SyD3x9kLmN0pQrStUvWxYz0123456789abc';", &ids, NULL);
	assert_string_equal(ids.buf, "gcp-api-key");
	strbuf_addstr(&t, "DefaultEndpointsProtocol=https;AccountName=x;AccountKey=");
	for (int i = 0; i < 86; i++)
		strbuf_addch(&t, "abcXYZ019+/"[i % 11]);
	strbuf_addstr(&t, "==;EndpointSuffix=core.windows.net");
	found(t.buf, &ids, NULL);
	assert_string_equal(ids.buf, "azure-storage-account-key");
	found("token: ghp_" "aB3dE5gH7jK9mN1pQ3sT5vW7yZ9bC1dE3fG5", &ids, NULL);
	assert_string_equal(ids.buf, "github-pat");
	found("GH=ghs_" "aB3dE5gH7jK9mN1pQ3sT5vW7yZ9bC1dE3fG5", &ids, NULL);
	assert_string_equal(ids.buf, "github-token");
	found("CI_TOKEN=glpat-" "x9Y8z7W6v5U4t3S2r1Q0", &ids, NULL);
	assert_string_equal(ids.buf, "gitlab-pat");
	found("slack = \"xoxb-" "123456789012-abcdefGHIJKL\"", &ids, NULL);
	assert_string_equal(ids.buf, "slack-token");
	found("url=https://hooks.slack.com/services/" "T0ABCDEF1/B0ABCDEF2/aBcDeFgHiJkLmNoPqRsTuVwX", &ids, NULL);
	assert_string_equal(ids.buf, "slack-webhook-url");
	found("db_password = \"Xq7#pL9!vR2@mK4z\"", &ids, NULL);
	assert_string_equal(ids.buf, "generic-password");
	strbuf_release(&ids);
	strbuf_release(&t);
}

static void not_secrets(void **state)
{
	struct strbuf ids = STRBUF_INIT;
	(void)state;

	/* low entropy, placeholders, references, documented examples */
	found("password = \"aaaaaaaaaaaa\"\npassword: changeme123456\n"
	      "PASSWORD=${DB_PASSWORD}\npassword = os.environ['DB_PASSWORD']\n"
	      "aws_access_key_id = AKIA" "IOSFODNN7EXAMPLE\n"
	      "the word password alone\n", &ids, NULL);
	assert_string_equal(ids.buf, "");
	/* the allow marker on the line */
	found("token = ghp_" "aB3dE5gH7jK9mN1pQ3sT5vW7yZ9bC1dE3fG5  # ferry:allow-secret\n", &ids, NULL);
	assert_string_equal(ids.buf, "");
	strbuf_release(&ids);
}

static void finding_shape_and_redaction(void **state)
{
	struct strbuf ids = STRBUF_INIT;
	json_t *f, *v;
	char *text;
	char red[64];
	(void)state;

	found("\n\nGH=ghp_" "aB3dE5gH7jK9mN1pQ3sT5vW7yZ9bC1dE3fG5\n", &ids, &f);
	v = json_array_get(f, 0);
	assert_string_equal(json_string_value(json_object_get(v, "where")), "app/config:3");
	assert_int_equal(json_integer_value(json_object_get(v, "line")), 3);
	assert_string_equal(json_string_value(json_object_get(v, "severity")), "CRITICAL");
	assert_string_equal(json_string_value(json_object_get(v, "match")), "ghp_…(40 chars)");
	text = json_dumps(f, 0);
	assert_null(strstr(text, "aB3dE5gH7"));
	free(text);
	json_decref(f);
	secrets_redact("short", 5, red, sizeof(red));
	assert_string_equal(red, "…(5 chars)");
	strbuf_release(&ids);
}

static void globs(void **state)
{
	(void)state;
	assert_true(secrets_glob_match("**/testdata/**", "pkg/x/testdata/key.pem"));
	assert_true(secrets_glob_match("**/testdata/**", "testdata/key.pem"));
	assert_false(secrets_glob_match("**/testdata/**", "pkg/testdatax/key.pem"));
	assert_true(secrets_glob_match("*.pem", "deep/dir/server.pem"));
	assert_false(secrets_glob_match("src/*.pem", "src/a/server.pem"));
	assert_true(secrets_glob_match("src/**.pem", "src/a/server.pem"));
	assert_true(secrets_glob_match("/etc/ssl/private/*", "etc/ssl/private/snakeoil.key"));
	assert_true(secrets_glob_match("usr/lib/python3*/test/**", "usr/lib/python3.11/test/keycert.pem"));
	assert_true(secrets_path_allowed(rules, NULL, "src/test/fixtures/id_rsa"));
	assert_false(secrets_path_allowed(rules, NULL, "src/id_rsa"));
}

static void tree(void **state)
{
	char root[] = "/tmp/ferry-test-secrets-XXXXXX";
	static const char key[] = "-----BEGIN EC " "PRIVATE KEY-----\nabc\n";
	static const char bin[] = "\0\0-----BEGIN EC " "PRIVATE KEY-----\n";
	struct secret_scan_stats st;
	struct ferr e = FERR_INIT;
	json_t *f = json_array();
	char **allow;
	char path[600];
	const char *const skip[] = { "proc", NULL };
	(void)state;

	assert_non_null(mkdtemp(root));
	testfs_write(root, "deploy/key.pem", key, strlen(key));
	testfs_write(root, "test/fixtures/key.pem", key, strlen(key));
	testfs_write(root, "vendored/key.pem", key, strlen(key));
	testfs_write(root, "bin/blob", bin, sizeof(bin));
	testfs_write(root, ".git/objects/key", key, strlen(key));
	testfs_write(root, "proc/key", key, strlen(key));
	testfs_write(root, ".ferry/secrets-allow", "# ours\nvendored/**\n\n", 20);
	snprintf(path, sizeof(path), "%s/.ferry/secrets-allow", root);
	allow = secrets_allow_file_read(path);
	assert_string_equal(allow[0], "vendored/**");
	assert_null(allow[1]);
	{
		struct secret_scan_opts o = { .where_prefix = "/", .allow_globs = (const char *const *)allow,
					      .skip_dirs = skip };
		assert_int_equal(secrets_scan_tree(rules, root, &o, f, &st, &e), 0);
	}
	assert_int_equal(json_array_size(f), 1);
	assert_string_equal(json_string_value(json_object_get(json_array_get(f, 0), "where")),
			    "/deploy/key.pem:1");
	assert_int_equal(st.files_skipped, 3); /* fixture, vendored, binary */
	assert_int_equal(st.files_scanned, 2); /* the key and the allow file */
	assert_false(st.incomplete);
	json_decref(f);
	/* limits */
	f = json_array();
	{
		struct secret_scan_opts o = { .max_files = 1 };
		assert_int_equal(secrets_scan_tree(rules, root, &o, f, &st, &e), 0);
		assert_true(st.incomplete);
	}
	json_decref(f);
	secrets_globs_free(allow);
	fstree_remove(root);
}

static void bad_rules(void **state)
{
	struct secret_rules *r = NULL;
	struct ferr e = FERR_INIT;
	static const char bad_re[] = "{\"rules\": [{\"id\": \"x\", \"regex\": \"(\"}]}";
	static const char bad_sev[] = "{\"rules\": [{\"id\": \"x\", \"regex\": \"a\", \"severity\": \"BAD\"}]}";
	static const char bad_group[] = "{\"rules\": [{\"id\": \"x\", \"regex\": \"a\", \"group\": 2}]}";
	(void)state;

	assert_int_equal(secret_rules_parse(&r, bad_re, strlen(bad_re), "t.json", &e), -1);
	assert_non_null(strstr(e.msg, "rule \"x\""));
	ferr_clear(&e);
	assert_int_equal(secret_rules_parse(&r, bad_sev, strlen(bad_sev), "t.json", &e), -1);
	assert_non_null(strstr(e.msg, "severity"));
	ferr_clear(&e);
	assert_int_equal(secret_rules_parse(&r, bad_group, strlen(bad_group), "t.json", &e), -1);
	assert_non_null(strstr(e.msg, "group"));
	ferr_clear(&e);
	assert_int_equal(secret_rules_parse(&r, "[]", 2, "t.json", &e), -1);
	assert_null(r);
	assert_true(secrets_entropy("aaaa", 4) < 0.01);
	assert_true(secrets_entropy("abcd", 4) > 1.99);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(each_rule),
		cmocka_unit_test(not_secrets),
		cmocka_unit_test(finding_shape_and_redaction),
		cmocka_unit_test(globs),
		cmocka_unit_test(tree),
		cmocka_unit_test(bad_rules),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
