/* buildpack: detection from a repository's files, the dependency
 * manifests, the start command (Procfile, conventions), clear errors, and
 * the generated Dockerfiles (lockfile copied before the code, non-root
 * user). Each case writes a small tree into a temporary directory. */
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
#include "pipeline/buildpack.h"
#include "testfs.h"

static char dir[64];

static int setup(void **state)
{
	(void)state;
	testfs_tmpdir(dir, sizeof(dir), "test-bp");
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	return fstree_remove(dir);
}

static const char *detected(void)
{
	const struct buildpack *bp = buildpack_detect(dir);
	return bp ? bp->name : "none";
}

static void test_detection_order(void **state)
{
	(void)state;
	assert_string_equal(detected(), "none");
	testfs_put(dir, "index.html", "<h1>hi</h1>");
	assert_string_equal(detected(), "static");
	testfs_put(dir, "pom.xml", "<project/>");
	assert_string_equal(detected(), "java");
	testfs_put(dir, "go.mod", "module x\n");
	assert_string_equal(detected(), "go");
	testfs_put(dir, "pyproject.toml", "[project]\nname = \"x\"\n");
	assert_string_equal(detected(), "python");
	testfs_put(dir, "package.json", "{}");
	assert_string_equal(detected(), "node");
	/* a symlink is not a manifest (ferry never reads through one) */
	teardown(NULL);
	setup(NULL);
	{
		char link[128];
		snprintf(link, sizeof(link), "%s/package.json", dir);
		assert_int_equal(symlink("/etc/passwd", link), 0);
	}
	assert_string_equal(detected(), "none");
	assert_null(buildpack_find("ruby"));
	assert_string_equal(buildpack_find("go")->build_base, "golang");
}

static void plan_ok(const char *name, struct buildpack_plan *p)
{
	struct ferr e = FERR_INIT;
	int rc = buildpack_plan(buildpack_find(name), dir, 8080, p, &e);
	if (rc < 0)
		fail_msg("%s: %s", name, e.msg);
}

static void plan_fails(const char *name, const char *needle)
{
	struct buildpack_plan p = BUILDPACK_PLAN_INIT;
	struct ferr e = FERR_INIT;

	assert_int_equal(buildpack_plan(buildpack_find(name), dir, 8080, &p, &e), -1);
	assert_int_equal(e.status, 422);
	if (!strstr(e.msg, needle))
		fail_msg("\"%s\" does not say \"%s\"", e.msg, needle);
	buildpack_plan_release(&p);
}

static void test_node(void **state)
{
	struct buildpack_plan p = BUILDPACK_PLAN_INIT;
	struct strbuf deps = STRBUF_INIT, app = STRBUF_INIT;
	(void)state;

	testfs_put(dir, "package.json", "{\"scripts\": {\"start\": \"node s.js\"}}");
	plan_fails("node", "package-lock.json");
	testfs_put(dir, "package-lock.json", "{\"lockfileVersion\": 3}");
	plan_ok("node", &p);
	assert_string_equal(p.deps_files[0], "package.json");
	assert_string_equal(p.deps_files[1], "package-lock.json");
	assert_string_equal(p.start.buf, "[\"npm\",\"start\"]");
	buildpack_deps_dockerfile(&p, "bookworm-abc", &deps);
	assert_non_null(strstr(deps.buf, "FROM ferry/node:bookworm-abc\n"));
	assert_non_null(strstr(deps.buf, "COPY [\"package.json\",\"package-lock.json\",\"/app/\"]\n"));
	assert_non_null(strstr(deps.buf, "RUN npm ci --omit=dev"));
	/* only the manifests: the code comes in the application's Dockerfile */
	assert_null(strstr(deps.buf, "COPY [\".\""));
	buildpack_app_dockerfile(&p, "localhost/ferry-deps/p/c:k", "", 0, &app);
	assert_non_null(strstr(app.buf, "FROM localhost/ferry-deps/p/c:k\n"));
	assert_non_null(strstr(app.buf, "COPY [\".\", \"/app/\"]\n"));
	assert_non_null(strstr(app.buf, "USER 10001:10001\n"));
	assert_non_null(strstr(app.buf, "ENV PORT=8080 "));
	assert_non_null(strstr(app.buf, "CMD [\"npm\",\"start\"]\n"));
	buildpack_plan_release(&p);

	/* no start script: package.json's main, else server.js */
	testfs_put(dir, "package.json", "{\"main\": \"lib/main.js\"}");
	plan_fails("node", "no start command");
	testfs_put(dir, "server.js", "");
	plan_ok("node", &p);
	assert_string_equal(p.start.buf, "[\"node\",\"server.js\"]");
	buildpack_plan_release(&p);
	testfs_put(dir, "lib/main.js", "");
	plan_ok("node", &p);
	assert_string_equal(p.start.buf, "[\"node\",\"lib/main.js\"]");
	buildpack_plan_release(&p);

	testfs_put(dir, "package.json", "{\"main\": ");
	plan_fails("node", "package.json:1:");
	strbuf_release(&deps);
	strbuf_release(&app);
}

static void test_procfile(void **state)
{
	struct buildpack_plan p = BUILDPACK_PLAN_INIT;
	(void)state;

	testfs_put(dir, "package.json", "{}");
	testfs_put(dir, "package-lock.json", "{}");
	testfs_put(dir, "Procfile", "# processes\nworker: node work.js\nweb: node \"web server.js\" --port=$PORT\n");
	plan_ok("node", &p);
	assert_string_equal(p.start.buf, "[\"/bin/sh\",\"-c\",\"node \\\"web server.js\\\" --port=$PORT\"]");
	assert_string_equal(p.start_from.buf, "the Procfile");
	buildpack_plan_release(&p);
	/* the only process, whatever its name */
	testfs_put(dir, "Procfile", "app: node a.js\r\n");
	plan_ok("node", &p);
	assert_string_equal(p.start.buf, "[\"/bin/sh\",\"-c\",\"node a.js\"]");
	buildpack_plan_release(&p);
	testfs_put(dir, "Procfile", "just a command\n");
	plan_fails("node", "Procfile:1:");
	testfs_put(dir, "Procfile", "web:\n");
	plan_fails("node", "no command");
}

static void test_python(void **state)
{
	struct buildpack_plan p = BUILDPACK_PLAN_INIT;
	struct strbuf deps = STRBUF_INIT, app = STRBUF_INIT;
	(void)state;

	plan_fails("python", "requirements.txt or pyproject.toml");
	testfs_put(dir, "pyproject.toml", "[project]\ndependencies = [\"flask\"]\n");
	plan_fails("python", "no start command");
	testfs_put(dir, "svc/__main__.py", "");
	testfs_put(dir, "alpha/__main__.py", "");
	plan_ok("python", &p);
	assert_string_equal(p.start.buf, "[\"python3\",\"-m\",\"alpha\"]");
	buildpack_deps_dockerfile(&p, "t", &deps);
	assert_non_null(strstr(deps.buf, "tomllib"));
	buildpack_plan_release(&p);
	testfs_put(dir, "requirements.txt", "flask==3.0.3\n");
	testfs_put(dir, "main.py", "");
	plan_ok("python", &p);
	assert_string_equal(p.deps_files[0], "requirements.txt");
	assert_string_equal(p.start.buf, "[\"python3\",\"main.py\"]");
	strbuf_reset(&deps);
	buildpack_deps_dockerfile(&p, "t", &deps);
	assert_null(strstr(deps.buf, "tomllib"));
	assert_non_null(strstr(deps.buf, "pip install -r /ferry/deps/requirements.txt"));
	buildpack_app_dockerfile(&p, "deps", "", 0, &app);
	assert_non_null(strstr(app.buf, "PATH=/opt/venv/bin:"));
	buildpack_plan_release(&p);
	strbuf_release(&deps);
	strbuf_release(&app);
}

static void test_go(void **state)
{
	struct buildpack_plan p = BUILDPACK_PLAN_INIT;
	struct strbuf app = STRBUF_INIT;
	(void)state;

	testfs_put(dir, "go.mod", "module x\n\ngo 1.19\n");
	testfs_put(dir, "lib.go", "package lib\n");
	testfs_put(dir, "main_test.go", "package main\n");
	plan_fails("go", "no main package");
	testfs_put(dir, "cmd/b/main.go", "// b\npackage main\n");
	plan_ok("go", &p);
	assert_string_equal(p.main_pkg, "./cmd/b");
	assert_null(p.deps_files[1]); /* no go.sum: no dependencies */
	buildpack_plan_release(&p);
	testfs_put(dir, "cmd/a/main.go", "package main // a\n");
	plan_fails("go", "./cmd/");
	testfs_put(dir, "main.go", "package main\n\nfunc main() {}\n");
	testfs_put(dir, "go.sum", "");
	plan_ok("go", &p);
	assert_string_equal(p.main_pkg, ".");
	assert_string_equal(p.deps_files[1], "go.sum");
	assert_string_equal(p.start.buf, "[\"/app/app\"]");
	buildpack_app_dockerfile(&p, "deps", "", 0, &app);
	assert_non_null(strstr(app.buf, "FROM deps AS build\n"));
	assert_non_null(strstr(app.buf, "-trimpath"));
	assert_non_null(strstr(app.buf, "FROM ferry/busybox\n"));
	assert_non_null(strstr(app.buf, "USER 10001:10001\n"));
	buildpack_plan_release(&p);
	strbuf_release(&app);
}

static void test_java(void **state)
{
	struct buildpack_plan p = BUILDPACK_PLAN_INIT;
	struct strbuf app = STRBUF_INIT;
	(void)state;

	plan_fails("java", "pom.xml");
	testfs_put(dir, "pom.xml", "<project/>");
	plan_ok("java", &p);
	assert_string_equal(p.start.buf, "[\"java\",\"-jar\",\"/app/app.jar\"]");
	buildpack_app_dockerfile(&p, "deps", "bookworm-r", 86400, &app);
	assert_non_null(strstr(app.buf, "-Dproject.build.outputTimestamp=1970-01-02T00:00:00Z"));
	assert_non_null(strstr(app.buf, "FROM ferry/java:bookworm-r\n"));
	buildpack_plan_release(&p);
	strbuf_release(&app);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_detection_order, setup, teardown),
		cmocka_unit_test_setup_teardown(test_node, setup, teardown),
		cmocka_unit_test_setup_teardown(test_procfile, setup, teardown),
		cmocka_unit_test_setup_teardown(test_python, setup, teardown),
		cmocka_unit_test_setup_teardown(test_go, setup, teardown),
		cmocka_unit_test_setup_teardown(test_java, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
