/* lib/containers (config files for podman/buildah/skopeo) and the pure
 * helpers of pipeline/image and pipeline/registry: no tools are run. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/fstree.h"
#include "lib/containers.h"
#include "lib/strbuf.h"
#include "pipeline/image.h"
#include "pipeline/registry.h"
#include "testfs.h"

static char tmpdir[64];

static int setup(void **state)
{
	(void)state;
	testfs_tmpdir(tmpdir, sizeof(tmpdir), "test-containers");
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	return fstree_remove(tmpdir);
}

static void slurp(const char *path, struct strbuf *sb)
{
	FILE *f = fopen(path, "r");
	char buf[4096];
	size_t n;

	assert_non_null(f);
	while ((n = fread(buf, 1, sizeof(buf), f)) > 0)
		strbuf_add(sb, buf, n);
	fclose(f);
}

static void test_managed_files_and_env(void **state)
{
	const char *aliases[] = { "ferry/busybox", "ferry/debian", NULL };
	struct containers_registry reg = { "127.0.0.1:5123", 1, NULL, NULL, aliases, NULL };
	struct containers c = CONTAINERS_INIT;
	struct ferr e = FERR_INIT;
	struct strbuf sb = STRBUF_INIT, want = STRBUF_INIT;
	const char *const *env;
	struct stat st;

	(void)state;
	assert_int_equal(containers_setup(&c, tmpdir, &reg, &e), 0);

	slurp(c.conf_path, &sb);
	assert_non_null(strstr(sb.buf, "runtime = \"runc\""));
	assert_non_null(strstr(sb.buf,
		"default_ulimits = [\"nofile=1024:1024\", \"nproc=4096:4096\"]"));
	assert_non_null(strstr(sb.buf, "cgroup_manager = \"cgroupfs\""));

	strbuf_reset(&sb);
	slurp(c.registries_path, &sb);
	assert_non_null(strstr(sb.buf, "unqualified-search-registries = [\"127.0.0.1:5123\"]"));
	assert_non_null(strstr(sb.buf, "location = \"127.0.0.1:5123\"\ninsecure = true"));
	assert_non_null(strstr(sb.buf, "\"ferry/busybox\" = \"127.0.0.1:5123/ferry/busybox\""));
	assert_non_null(strstr(sb.buf, "\"ferry/debian\" = \"127.0.0.1:5123/ferry/debian\""));

	strbuf_reset(&sb);
	slurp(c.auth_path, &sb);
	assert_string_equal(sb.buf, "{\"auths\": {}}\n");
	assert_int_equal(stat(c.auth_path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	assert_int_equal(stat(c.dir, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0700);

	env = containers_env(&c);
	strbuf_addf(&want, "CONTAINERS_CONF=%s/containers/containers.conf", tmpdir);
	assert_string_equal(env[0], want.buf);
	strbuf_reset(&want);
	strbuf_addf(&want, "CONTAINERS_REGISTRIES_CONF=%s/containers/registries.conf", tmpdir);
	assert_string_equal(env[1], want.buf);
	strbuf_reset(&want);
	strbuf_addf(&want, "REGISTRY_AUTH_FILE=%s/containers/auth.json", tmpdir);
	assert_string_equal(env[2], want.buf);
	assert_null(env[3]);

	/* Rewriting for another port replaces the files (a port change). */
	reg.host = "127.0.0.1:6000";
	assert_int_equal(containers_setup(&c, tmpdir, &reg, &e), 0);
	strbuf_reset(&sb);
	slurp(c.registries_path, &sb);
	assert_null(strstr(sb.buf, "5123"));
	assert_non_null(strstr(sb.buf, "\"ferry/busybox\" = \"127.0.0.1:6000/ferry/busybox\""));
	assert_non_null(strstr(sb.buf, "short-name-mode = \"enforcing\""));

	/* Base-image caches: searched after ferry's registry, in order. */
	{
		const char *caches[] = { "127.0.0.1:7001", "127.0.0.1:7002", NULL };
		const char *bad[] = { "x\"y", NULL };

		reg.search_after = caches;
		assert_int_equal(containers_setup(&c, tmpdir, &reg, &e), 0);
		strbuf_reset(&sb);
		slurp(c.registries_path, &sb);
		assert_non_null(strstr(sb.buf, "unqualified-search-registries = [\"127.0.0.1:6000\", "
				       "\"127.0.0.1:7001\", \"127.0.0.1:7002\"]\n"
				       "short-name-mode = \"permissive\""));
		assert_non_null(strstr(sb.buf, "location = \"127.0.0.1:7002\"\ninsecure = true"));
		reg.search_after = bad;
		assert_int_equal(containers_setup(&c, tmpdir, &reg, &e), -1);
		ferr_clear(&e);
		reg.search_after = NULL;
	}

	containers_release(&c);
	containers_release(&c); /* twice is fine */
	strbuf_release(&sb);
	strbuf_release(&want);
}

static void test_external_auth(void **state)
{
	struct containers_registry reg = { "registry.example.com", 0, "ci", "s3cr:t", NULL, NULL };
	struct containers c = CONTAINERS_INIT;
	struct ferr e = FERR_INIT;
	struct strbuf sb = STRBUF_INIT;

	(void)state;
	assert_int_equal(containers_setup(&c, tmpdir, &reg, &e), 0);
	slurp(c.auth_path, &sb);
	/* base64("ci:s3cr:t") */
	assert_string_equal(sb.buf,
		"{\"auths\": {\"registry.example.com\": {\"auth\": \"Y2k6czNjcjp0\"}}}\n");
	strbuf_reset(&sb);
	slurp(c.registries_path, &sb);
	assert_non_null(strstr(sb.buf, "insecure = false"));
	containers_release(&c);
	strbuf_release(&sb);
}

static void test_rejects_bad_input(void **state)
{
	const char *bad_alias[] = { "ferry/busybox\"]\n[x", NULL };
	const char *host_alias[] = { "/abs", NULL };
	struct containers_registry reg = { "127.0.0.1:5000\"\nx", 1, NULL, NULL, NULL, NULL };
	struct containers c = CONTAINERS_INIT;
	struct ferr e = FERR_INIT;

	(void)state;
	assert_int_equal(containers_setup(&c, tmpdir, &reg, &e), -1);
	assert_int_equal(e.status, 400);
	assert_non_null(strstr(e.msg, "registry host"));

	ferr_clear(&e);
	reg.host = "127.0.0.1:5000";
	reg.aliases = bad_alias;
	assert_int_equal(containers_setup(&c, tmpdir, &reg, &e), -1);
	assert_non_null(strstr(e.msg, "image alias"));

	ferr_clear(&e);
	reg.aliases = host_alias;
	assert_int_equal(containers_setup(&c, tmpdir, &reg, &e), -1);

	ferr_clear(&e);
	reg.aliases = NULL;
	reg.username = "a:b";
	reg.password = "x";
	assert_int_equal(containers_setup(&c, tmpdir, &reg, &e), -1);
	assert_non_null(strstr(e.msg, "username"));
	assert_null(c.env[0]);
}

static void test_names(void **state)
{
	(void)state;
	assert_true(registry_valid_repo("shop/cart"));
	assert_true(registry_valid_repo("ferry/busybox"));
	assert_true(registry_valid_repo("a.b/c_d/e__f/g-h--i"));
	assert_false(registry_valid_repo(""));
	assert_false(registry_valid_repo("Shop/cart"));
	assert_false(registry_valid_repo("shop//cart"));
	assert_false(registry_valid_repo("shop/cart/"));
	assert_false(registry_valid_repo("/shop"));
	assert_false(registry_valid_repo("shop/-cart"));
	assert_false(registry_valid_repo("shop/cart:tag"));
	assert_false(registry_valid_repo("shop/../cart"));

	assert_true(registry_valid_digest(
		"sha256:9caea62681d76639e1825c6e19e5fce7a66f3bc580a206f251d27bc9a8ba519f"));
	assert_false(registry_valid_digest(
		"sha256:9caea62681d76639e1825c6e19e5fce7a66f3bc580a206f251d27bc9a8ba519"));
	assert_false(registry_valid_digest(
		"sha256:9CAEA62681d76639e1825c6e19e5fce7a66f3bc580a206f251d27bc9a8ba519f"));
	assert_false(registry_valid_digest(
		"sha512:9caea62681d76639e1825c6e19e5fce7a66f3bc580a206f251d27bc9a8ba519f"));
	assert_false(registry_valid_digest(NULL));
}

static void test_static_dockerfile(void **state)
{
	struct strbuf sb = STRBUF_INIT;
	struct ferr e = FERR_INIT;

	(void)state;
	assert_int_equal(image_static_dockerfile("public/", 8080, &sb, &e), 0);
	assert_non_null(strstr(sb.buf, "FROM ferry/busybox\n"));
	assert_non_null(strstr(sb.buf, "COPY --chown=65534:65534 [\"public/\", \"/site/\"]\n"));
	assert_non_null(strstr(sb.buf, "USER 65534:65534\n"));
	assert_non_null(strstr(sb.buf, "EXPOSE 8080\n"));
	assert_non_null(strstr(sb.buf,
		"ENTRYPOINT [\"/bin/httpd\", \"-f\", \"-v\", \"-p\", \"8080\", \"-h\", \"/site\"]"));

	strbuf_reset(&sb);
	assert_int_equal(image_static_dockerfile(NULL, 9000, &sb, &e), 0);
	assert_non_null(strstr(sb.buf, "[\"./\", \"/site/\"]"));

	strbuf_reset(&sb);
	assert_int_equal(image_static_dockerfile("my \"site\"", 9000, &sb, &e), 0);
	assert_non_null(strstr(sb.buf, "[\"my \\\"site\\\"/\", \"/site/\"]"));

	assert_int_equal(image_static_dockerfile("../etc", 8080, &sb, &e), -1);
	assert_int_equal(e.status, 400);
	ferr_clear(&e);
	assert_int_equal(image_static_dockerfile("a/../../b", 8080, &sb, &e), -1);
	ferr_clear(&e);
	assert_int_equal(image_static_dockerfile("/srv", 8080, &sb, &e), -1);
	ferr_clear(&e);
	assert_int_equal(image_static_dockerfile("a\nRUN x", 8080, &sb, &e), -1);
	ferr_clear(&e);
	assert_int_equal(image_static_dockerfile("site", 80, &sb, &e), -1);
	assert_non_null(strstr(e.msg, "1024-65535"));
	strbuf_release(&sb);
}

static void test_dockerfile_base(void **state)
{
	struct strbuf sb = STRBUF_INIT;

	(void)state;
	assert_int_equal(image_dockerfile_base("FROM ferry/busybox\nRUN true\n", &sb), 0);
	assert_string_equal(sb.buf, "ferry/busybox");
	assert_int_equal(image_dockerfile_base(
		"# syntax comment\n"
		"ARG BASE=ferry/busybox\n"
		"from  --platform=linux/amd64 ferry/debian:bookworm AS build\n"
		"RUN make\n"
		"  FROM\t${BASE} as final\r\n"
		"COPY --from=build /out /out\n", &sb), 0);
	assert_string_equal(sb.buf, "${BASE}");
	assert_int_equal(image_dockerfile_base("FROM a\nFROM build-stage", &sb), 0);
	assert_string_equal(sb.buf, "build-stage");
	/* FROMAGE is not FROM; a bare FROM names nothing. */
	assert_int_equal(image_dockerfile_base("FROMAGE x\nFROM \nRUN true\n", &sb), -1);
	assert_int_equal(image_dockerfile_base("", &sb), -1);
	strbuf_release(&sb);
}

static void test_replace_noop(void **state)
{
	const char *d = "sha256:9caea62681d76639e1825c6e19e5fce7a66f3bc580a206f251d27bc9a8ba519f";
	struct ferr e = FERR_INIT;

	(void)state;
	/* Neither case touches the registry, so no registry is needed. */
	assert_int_equal(image_replace(NULL, "p/c", NULL, d, &e), 0);
	assert_int_equal(image_replace(NULL, "p/c", "", d, &e), 0);
	assert_int_equal(image_replace(NULL, "p/c", d, d, &e), 0);
	assert_int_equal(image_replace(NULL, "p/c", d, "sha256:nope", &e), -1);
	assert_int_equal(e.status, 400);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_managed_files_and_env),
		cmocka_unit_test(test_external_auth),
		cmocka_unit_test(test_rejects_bad_input),
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_static_dockerfile),
		cmocka_unit_test(test_dockerfile_base),
		cmocka_unit_test(test_replace_noop),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
