#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/podman-int.h"

/* Trimmed from real `podman ps -a --format json` (podman 4.3). */
static const char PS_JSON[] =
"[{\"Id\":\"bbbb\",\"Names\":[\"ferry-p-dev-web-d2-r0\"],\"State\":\"running\","
"  \"ExitCode\":0,\"Labels\":{\"ferry.instance\":\"ferry\",\"ferry.project\":\"p\","
"  \"ferry.environment\":\"dev\",\"ferry.component\":\"web\",\"ferry.deployment\":\"2\","
"  \"ferry.replica\":\"0\"},\"Ports\":[{\"host_ip\":\"127.0.0.1\",\"container_port\":8080,"
"  \"host_port\":45953,\"range\":1,\"protocol\":\"tcp\"}]},"
" {\"Id\":\"aaaa\",\"Names\":[\"ferry-p-dev-web-d1-r0\"],\"State\":\"exited\",\"ExitCode\":3,"
"  \"Labels\":{\"ferry.instance\":\"ferry\",\"ferry.project\":\"p\","
"  \"ferry.environment\":\"dev\",\"ferry.component\":\"web\",\"ferry.deployment\":\"1\","
"  \"ferry.replica\":\"0\",\"ferry.task\":\"1\"},\"Ports\":null},"
" {\"Id\":\"cccc\",\"Names\":[\"other\"],\"State\":\"running\",\"ExitCode\":0,"
"  \"Labels\":{\"ferry.instance\":\"someone-else\",\"ferry.project\":\"p\","
"  \"ferry.environment\":\"dev\",\"ferry.component\":\"web\",\"ferry.deployment\":\"1\","
"  \"ferry.replica\":\"0\"}},"
" {\"Id\":\"dddd\",\"Names\":[\"ferry-q-prod-api-d7-r1\"],\"State\":\"running\","
"  \"ExitCode\":0,\"Labels\":{\"ferry.instance\":\"ferry\",\"ferry.project\":\"q\","
"  \"ferry.environment\":\"prod\",\"ferry.component\":\"api\",\"ferry.deployment\":\"7\","
"  \"ferry.replica\":\"1\"}},"
" {\"Id\":\"eeee\",\"Names\":[\"half-labelled\"],\"State\":\"running\",\"ExitCode\":0,"
"  \"Labels\":{\"ferry.instance\":\"ferry\",\"ferry.project\":\"p\"}}]";

static void test_ps_keeps_own_sorted_and_filters(void **state)
{
	struct runtime_replica_list l = RUNTIME_REPLICA_LIST_INIT;
	struct runtime_filter f = { .project = "p" };
	struct ferr e = FERR_INIT;

	(void)state;
	assert_int_equal(pm_parse_ps(PS_JSON, "ferry", NULL, &l, &e), 0);
	assert_int_equal(l.n, 3);
	assert_string_equal(l.items[0].name, "ferry-p-dev-web-d1-r0");
	assert_int_equal(l.items[0].state, RUNTIME_EXITED);
	assert_int_equal(l.items[0].exit_code, 3);
	assert_int_equal(l.items[0].task, 1);
	assert_int_equal(l.items[0].nports, 0);
	assert_string_equal(l.items[1].id, "bbbb");
	assert_int_equal(l.items[1].deployment, 2);
	assert_int_equal(l.items[1].state, RUNTIME_RUNNING);
	assert_int_equal(l.items[1].nports, 1);
	assert_int_equal(l.items[1].ports[0].container_port, 8080);
	assert_int_equal(l.items[1].ports[0].host_port, 45953);
	assert_int_equal(l.items[1].restarts, -1);
	assert_string_equal(l.items[2].project, "q");
	assert_int_equal(l.items[2].replica, 1);
	runtime_replica_list_release(&l);

	assert_int_equal(pm_parse_ps(PS_JSON, "ferry", &f, &l, &e), 0);
	assert_int_equal(l.n, 2);
	runtime_replica_list_release(&l);
	f.deployment = 2;
	assert_int_equal(pm_parse_ps(PS_JSON, "ferry", &f, &l, &e), 0);
	assert_int_equal(l.n, 1);
	assert_string_equal(l.items[0].id, "bbbb");
	runtime_replica_list_release(&l);

	assert_int_equal(pm_parse_ps("[]", "ferry", NULL, &l, &e), 0);
	assert_int_equal(l.n, 0);
	runtime_replica_list_release(&l);
	assert_int_equal(pm_parse_ps("{\"not\":\"a list\"}", "ferry", NULL, &l, &e), -1);
	assert_int_equal(e.status, 502);
	ferr_clear(&e);
	assert_int_equal(pm_parse_ps("[{", "ferry", NULL, &l, &e), -1);
}

static const char INSPECT_JSON[] =
"[{\"Id\":\"d012\",\"Name\":\"ferry-p-dev-web-d1-r0\",\"RestartCount\":2,"
"  \"State\":{\"Status\":\"exited\",\"ExitCode\":3},"
"  \"Config\":{\"Labels\":{\"ferry.instance\":\"ferry\",\"ferry.project\":\"p\","
"    \"ferry.environment\":\"dev\",\"ferry.component\":\"web\","
"    \"ferry.deployment\":\"1\",\"ferry.replica\":\"0\"}},"
"  \"NetworkSettings\":{\"Ports\":{\"8080/tcp\":[{\"HostIp\":\"127.0.0.1\","
"    \"HostPort\":\"45953\"}],\"9090/tcp\":null}}}]";

static void test_inspect(void **state)
{
	struct runtime_replica r;
	struct ferr e = FERR_INIT;

	(void)state;
	assert_int_equal(pm_parse_inspect(INSPECT_JSON, "ferry", &r, &e), 0);
	assert_string_equal(r.id, "d012");
	assert_string_equal(r.component, "web");
	assert_int_equal(r.state, RUNTIME_EXITED);
	assert_int_equal(r.exit_code, 3);
	assert_int_equal(r.restarts, 2);
	assert_int_equal(r.nports, 1);
	assert_int_equal(r.ports[0].host_port, 45953);
	assert_int_equal(runtime_replica_host_port(&r, 8080), 45953);
	assert_int_equal(runtime_replica_host_port(&r, 9090), -1);
	/* someone else's container is not ours to touch */
	assert_int_equal(pm_parse_inspect(INSPECT_JSON, "other", &r, &e), -1);
	assert_int_equal(e.status, 404);
	ferr_clear(&e);
	assert_int_equal(pm_parse_inspect("[]", "ferry", &r, &e), -1);
	assert_int_equal(e.status, 404);
}

static void test_image_config(void **state)
{
	struct pm_image im = PM_IMAGE_INIT;
	struct ferr e = FERR_INIT;

	(void)state;
	assert_int_equal(pm_parse_image("[{\"Config\":{\"Entrypoint\":[\"/bin/app\",\"-v\"],"
					"\"Cmd\":[\"serve\"],\"User\":\"app\"}}]", &im, &e), 0);
	assert_int_equal(im.entrypoint.n, 2);
	assert_string_equal(im.entrypoint.v[1], "-v");
	assert_int_equal(im.cmd.n, 1);
	assert_string_equal(im.user, "app");
	pm_image_release(&im);

	assert_int_equal(pm_parse_image("[{\"Config\":{\"Entrypoint\":null,"
					"\"Cmd\":[\"sh\"]}}]", &im, &e), 0);
	assert_int_equal(im.entrypoint.n, 0);
	assert_string_equal(im.user, "");
	assert_null(im.layers);
	pm_image_release(&im);

	/* overlay: the layers' directories, top first */
	assert_int_equal(pm_parse_image("[{\"Config\":{\"Cmd\":[\"sh\"]},\"GraphDriver\":{\"Name\":"
					"\"overlay\",\"Data\":{\"UpperDir\":\"/s/a/diff\",\"LowerDir\":"
					"\"/s/b/diff:/s/c/diff\",\"WorkDir\":\"/s/a/work\"}}}]", &im, &e), 0);
	assert_string_equal(im.layers, "/s/a/diff:/s/b/diff:/s/c/diff");
	pm_image_release(&im);
	assert_int_equal(pm_parse_image("[{\"Config\":{},\"GraphDriver\":{\"Name\":\"overlay\","
					"\"Data\":{\"UpperDir\":\"/s/a/diff\"}}}]", &im, &e), 0);
	assert_string_equal(im.layers, "/s/a/diff");
	pm_image_release(&im);
	assert_int_equal(pm_parse_image("[{\"Config\":{},\"GraphDriver\":{\"Name\":\"vfs\","
					"\"Data\":{\"UpperDir\":\"/s/a/diff\"}}}]", &im, &e), 0);
	assert_null(im.layers);
	pm_image_release(&im);

	assert_int_equal(pm_parse_image("[{\"Config\":{\"Cmd\":[1]}}]", &im, &e), -1);
	assert_int_equal(e.status, 502);
	ferr_clear(&e);
	assert_int_equal(pm_parse_image("nonsense", &im, &e), -1);
}

static void test_resolve_user(void **state)
{
	const char *passwd = "root:x:0:0:root:/root:/bin/sh\n"
			     "app:x:1000:1001:App:/home/app:/bin/sh\n"
			     "ap:x:77:78::/:/bin/false";
	const char *group = "root:x:0:\nstaff:x:50:app\n";
	struct ferr e = FERR_INIT;
	uid_t u;
	gid_t g;

	(void)state;
	assert_int_equal(pm_resolve_user("", NULL, NULL, &u, &g, &e), 0);
	assert_true(u == 0 && g == 0);
	assert_int_equal(pm_resolve_user("app", passwd, group, &u, &g, &e), 0);
	assert_true(u == 1000 && g == 1001);
	assert_int_equal(pm_resolve_user("ap", passwd, group, &u, &g, &e), 0);
	assert_true(u == 77 && g == 78);
	assert_int_equal(pm_resolve_user("app:staff", passwd, group, &u, &g, &e), 0);
	assert_true(u == 1000 && g == 50);
	assert_int_equal(pm_resolve_user("1000", passwd, group, &u, &g, &e), 0);
	assert_true(u == 1000 && g == 1001);
	assert_int_equal(pm_resolve_user("4242", NULL, NULL, &u, &g, &e), 0);
	assert_true(u == 4242 && g == 4242);
	assert_int_equal(pm_resolve_user("65534:65534", NULL, NULL, &u, &g, &e), 0);
	assert_true(u == 65534 && g == 65534);
	assert_int_equal(pm_resolve_user("nobody", passwd, group, &u, &g, &e), -1);
	assert_non_null(strstr(e.msg, "nobody"));
	ferr_clear(&e);
	assert_int_equal(pm_resolve_user("app:wheel", passwd, group, &u, &g, &e), -1);
}

static struct podman test_podman(void)
{
	struct podman p = { 0 };

	p.run_dir = "/run/ferry";
	p.instance = "ferry";
	p.prefix = "fx";
	p.init_path = "/usr/lib/ferry/ferry-init";
	p.program = "podman";
	p.restart_max = 3;
	return p;
}

static int argv_has(const struct pm_argv *a, const char *s)
{
	for (size_t i = 0; i < a->n; i++)
		if (!strcmp(a->v[i], s))
			return 1;
	return 0;
}

static size_t argv_index(const struct pm_argv *a, const char *s)
{
	for (size_t i = 0; i < a->n; i++)
		if (!strcmp(a->v[i], s))
			return i;
	fail_msg("%s not in argv", s);
	return 0;
}

static void test_run_argv(void **state)
{
	struct podman p = test_podman();
	const char *env[] = { "SECRET=canary-value-123", NULL };
	struct runtime_file files[] = { { "/etc/app.conf", "canary-file-456", 15 } };
	struct runtime_spec spec = {
		.project = "shop", .environment = "dev", .component = "api",
		.deployment = 12, .replica = 1, .image = "127.0.0.1:5000/shop/api@sha256:ab",
		.cpu_millicores = 250, .memory_bytes = 64ll << 20,
		.ports = { 8080, 9090 }, .nports = 2, .env = env,
		.files = files, .nfiles = 1,
	};
	struct pm_image im = PM_IMAGE_INIT;
	struct pm_argv a = PM_ARGV_INIT;
	struct strbuf name = STRBUF_INIT, net = STRBUF_INIT;
	size_t img;

	(void)state;
	pm_argv_push(&im.entrypoint, "/bin/app");
	pm_argv_push(&im.cmd, "serve");
	pm_argv_push(&im.cmd, "--fast");
	pm_replica_name(&name, &p, &spec);
	pm_network_name(&net, &p, "shop", "dev");
	assert_string_equal(name.buf, "fx-shop-dev-api-d12-r1");
	assert_string_equal(net.buf, "fx-shop-dev");
	assert_int_equal(pm_check_spec(&spec, NULL), 0);
	pm_run_argv(&a, &p, &spec, &im, name.buf, net.buf);

	assert_string_equal(a.v[0], "podman");
	assert_null(a.v[a.n]);
	assert_true(argv_has(&a, "--label=ferry.instance=ferry"));
	assert_true(argv_has(&a, "--label=ferry.deployment=12"));
	assert_true(argv_has(&a, "--label=ferry.replica=1"));
	assert_true(argv_has(&a, "--network=fx-shop-dev"));
	assert_true(argv_has(&a, "--network-alias=api"));
	assert_true(argv_has(&a, "--cpus=0.250"));
	assert_true(argv_has(&a, "--memory=67108864b"));
	assert_true(argv_has(&a, "--restart=on-failure:3"));
	assert_true(argv_has(&a, "--publish=127.0.0.1::8080/tcp"));
	assert_true(argv_has(&a, "--publish=127.0.0.1::9090/tcp"));
	assert_true(argv_has(&a, "--volume=/usr/lib/ferry/ferry-init:/.ferry/init:ro"));
	assert_true(argv_has(&a, "--volume=/run/ferry/fx-shop-dev-api-d12-r1:/.ferry/config:ro"));
	assert_true(argv_has(&a, "--volume=/run/ferry/fx-shop-dev-api-d12-r1/files/0:"
			     "/etc/app.conf:ro"));
	assert_true(argv_has(&a, "--entrypoint=/.ferry/init"));
	/* no capability, no privilege gain, default seccomp, writable root */
	assert_true(argv_has(&a, "--cap-drop=all"));
	assert_true(argv_has(&a, "--security-opt=no-new-privileges"));
	for (size_t i = 0; i < a.n; i++) {
		assert_true(strncmp(a.v[i], "--cap-add", 9));
		assert_null(strstr(a.v[i], "seccomp"));
		assert_null(strstr(a.v[i], "--privileged"));
		assert_true(strcmp(a.v[i], "--read-only"));
	}
	/* configuration values never reach podman's command line */
	for (size_t i = 0; i < a.n; i++) {
		assert_null(strstr(a.v[i], "canary"));
		assert_null(strstr(a.v[i], "SECRET"));
		assert_true(strncmp(a.v[i], "--env", 5) && strcmp(a.v[i], "-e"));
	}
	/* IMAGE -- entrypoint... cmd... */
	img = argv_index(&a, spec.image);
	assert_int_equal(a.n, img + 5);
	assert_string_equal(a.v[img + 1], "--");
	assert_string_equal(a.v[img + 2], "/bin/app");
	assert_string_equal(a.v[img + 3], "serve");
	assert_string_equal(a.v[img + 4], "--fast");
	pm_argv_release(&a);

	/* declared capabilities come back after dropping all; read-only root */
	{
		const char *caps[] = { "NET_BIND_SERVICE", "CHOWN", NULL };
		spec.capabilities = caps;
		spec.read_only_root = 1;
		assert_int_equal(pm_check_spec(&spec, NULL), 0);
		pm_run_argv(&a, &p, &spec, &im, name.buf, net.buf);
		assert_true(argv_index(&a, "--cap-drop=all") < argv_index(&a, "--cap-add=NET_BIND_SERVICE"));
		assert_true(argv_has(&a, "--cap-add=CHOWN"));
		assert_true(argv_has(&a, "--read-only"));
		assert_true(argv_index(&a, "--read-only") < argv_index(&a, spec.image));
		pm_argv_release(&a);
		caps[1] = "ALL --privileged";
		assert_int_equal(pm_check_spec(&spec, NULL), -1);
		spec.capabilities = NULL;
		spec.read_only_root = 0;
	}

	/* a task: its args replace the image's CMD, never restarted, no ports */
	{
		const char *args[] = { "migrate", "--all", NULL };
		spec.args = args;
		spec.task = 1;
		spec.nports = 0;
		spec.cpu_millicores = 0;
		spec.memory_bytes = 0;
		pm_run_argv(&a, &p, &spec, &im, name.buf, net.buf);
		assert_true(argv_has(&a, "--restart=no"));
		assert_true(argv_has(&a, "--label=ferry.task=1"));
		for (size_t i = 0; i < a.n; i++) {
			assert_true(strncmp(a.v[i], "--cpus", 6));
			assert_true(strncmp(a.v[i], "--memory", 8));
			assert_true(strncmp(a.v[i], "--publish", 9));
		}
		img = argv_index(&a, spec.image);
		assert_int_equal(a.n, img + 5);
		assert_string_equal(a.v[img + 2], "/bin/app");
		assert_string_equal(a.v[img + 3], "migrate");
		assert_string_equal(a.v[img + 4], "--all");
		pm_argv_release(&a);
	}
	pm_image_release(&im);
	strbuf_release(&name);
	strbuf_release(&net);
}

static void test_check_spec(void **state)
{
	struct runtime_file f = { "/etc/x", "v", 1 };
	struct runtime_spec ok = {
		.project = "p", .environment = "dev", .component = "web",
		.deployment = 1, .image = "img@sha256:00",
	};
	struct runtime_spec s;
	struct ferr e = FERR_INIT;

	(void)state;
	assert_int_equal(pm_check_spec(&ok, &e), 0);
	s = ok; s.project = "Bad_Name";
	assert_int_equal(pm_check_spec(&s, &e), -1);
	assert_non_null(strstr(e.msg, "project"));
	ferr_clear(&e);
	s = ok; s.component = "-web";
	assert_int_equal(pm_check_spec(&s, &e), -1);
	ferr_clear(&e);
	s = ok; s.environment = "";
	assert_int_equal(pm_check_spec(&s, &e), -1);
	ferr_clear(&e);
	s = ok; s.image = "--privileged";
	assert_int_equal(pm_check_spec(&s, &e), -1);
	ferr_clear(&e);
	s = ok; s.deployment = 0;
	assert_int_equal(pm_check_spec(&s, &e), -1);
	ferr_clear(&e);
	s = ok; s.memory_bytes = 1024;
	assert_int_equal(pm_check_spec(&s, &e), -1);
	assert_non_null(strstr(e.msg, "6 MiB"));
	ferr_clear(&e);
	s = ok; s.ports[0] = 70000; s.nports = 1;
	assert_int_equal(pm_check_spec(&s, &e), -1);
	ferr_clear(&e);
	s = ok; s.files = &f; s.nfiles = 1;
	assert_int_equal(pm_check_spec(&s, &e), 0);
	{
		const char *bad[] = { "relative/x", "/etc/a:b", "/a,b", "/.ferry/config",
				      "/x/../etc/shadow", "/proc/self/x", "/" };
		for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
			f.path = bad[i];
			assert_int_equal(pm_check_spec(&s, &e), -1);
			ferr_clear(&e);
		}
	}
}

static void test_network(void **state)
{
	struct ferr e = FERR_INIT;
	int dns = -1, iso = -1;

	(void)state;
	assert_int_equal(pm_parse_network("[{\"name\":\"n\",\"dns_enabled\":true,"
					  "\"options\":{\"isolate\":\"true\"}}]",
					  &dns, &iso, &e), 0);
	assert_true(dns == 1 && iso == 1);
	assert_int_equal(pm_parse_network("[{\"name\":\"n\",\"dns_enabled\":false}]",
					  &dns, &iso, &e), 0);
	assert_true(dns == 0 && iso == 0);
	assert_int_equal(pm_parse_network("[]", &dns, &iso, &e), -1);
}

static void test_cpus_and_names(void **state)
{
	char buf[32];
	struct ferr e = FERR_INIT;

	(void)state;
	pm_format_cpus(buf, sizeof(buf), 1500);
	assert_string_equal(buf, "1.500");
	pm_format_cpus(buf, sizeof(buf), 5);
	assert_string_equal(buf, "0.005");
	assert_int_equal(runtime_check_name("x", "a-1", &e), 0);
	assert_int_equal(runtime_check_name("x", "a-", &e), -1);
	ferr_clear(&e);
	assert_int_equal(runtime_check_name("x",
		"a234567890123456789012345678901234567890123456789012345678901234", &e), -1);
	assert_string_equal(runtime_state_name(RUNTIME_RUNNING), "running");
}

static void test_images(void **state)
{
	static const char json[] =
		"[{\"Id\": \"aa11\", \"RepoDigests\": [\"127.0.0.1:5000/demo/hello@sha256:01\","
		"  \"127.0.0.1:5000/demo/hello@sha256:02\"], \"Size\": 2134516, \"Containers\": 1,"
		"  \"Names\": null},"
		" {\"Id\": \"bb22\", \"RepoDigests\": [], \"Size\": 10, \"Containers\": 0},"
		" {\"Id\": \"cc33\", \"RepoDigests\": [\"localhost/x@sha256:03\"], \"Size\": 7}]";
	struct runtime_image_list l = { 0 };
	struct ferr e = FERR_INIT;

	(void)state;
	assert_int_equal(pm_parse_images(json, &l, &e), 0);
	assert_int_equal(l.n, 2); /* bb22 has no digest: never pulled by one */
	assert_string_equal(l.items[0].id, "aa11");
	assert_int_equal(l.items[0].n_refs, 2);
	assert_string_equal(l.items[0].refs[1], "127.0.0.1:5000/demo/hello@sha256:02");
	assert_int_equal(l.items[0].size, 2134516);
	assert_int_equal(l.items[0].containers, 1);
	assert_string_equal(l.items[1].id, "cc33");
	assert_int_equal(l.items[1].containers, 0);
	runtime_image_list_release(&l);
	assert_int_equal(pm_parse_images("{}", &l, &e), -1);
	assert_non_null(strstr(e.msg, "not a JSON array"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ps_keeps_own_sorted_and_filters),
		cmocka_unit_test(test_inspect),
		cmocka_unit_test(test_image_config),
		cmocka_unit_test(test_resolve_user),
		cmocka_unit_test(test_run_argv),
		cmocka_unit_test(test_check_spec),
		cmocka_unit_test(test_network),
		cmocka_unit_test(test_images),
		cmocka_unit_test(test_cpus_and_names),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
