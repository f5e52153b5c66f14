/* Unit tests of the gateway's checks, of the HAProxy configuration and maps
 * it renders (validated by `haproxy -c` when HAProxy is installed) and of
 * the parsers of HAProxy's runtime API answers. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "gateway/gateway.h"
#include "gateway/haproxy_int.h"
#include "lib/spawn.h"

static void test_names(void **state)
{
	struct ferr e = FERR_INIT;

	(void)state;
	assert_int_equal(gateway_check_name("route key", "p.e.c.ep-1_x:2", &e), 0);
	assert_int_equal(gateway_check_name("route key", "", &e), -1);
	assert_int_equal(e.status, 400);
	ferr_clear(&e);
	/* anything that could split a runtime API command */
	assert_int_equal(gateway_check_name("server id", "a b", NULL), -1);
	assert_int_equal(gateway_check_name("server id", "a;show info", NULL), -1);
	assert_int_equal(gateway_check_name("server id", "a\nb", NULL), -1);
	assert_int_equal(gateway_check_name("server id", "a/b", &e), -1);
	assert_non_null(strstr(e.msg, "server id"));
	{
		char long_name[GATEWAY_KEY_MAX + 2];
		memset(long_name, 'a', sizeof(long_name) - 1);
		long_name[sizeof(long_name) - 1] = '\0';
		assert_int_equal(gateway_check_name("k", long_name, NULL), -1);
		long_name[GATEWAY_KEY_MAX] = '\0';
		assert_int_equal(gateway_check_name("k", long_name, NULL), 0);
	}
}

static void test_routes(void **state)
{
	struct gateway_route ok = { "k", "web.shop.dev.localhost", "/shop/dev/web", "/api" };
	struct gateway_route r;
	struct ferr e = FERR_INIT;

	(void)state;
	assert_int_equal(gateway_check_route(&ok, &e), 0);
	r = ok;
	r.host = NULL;
	assert_int_equal(gateway_check_route(&r, NULL), 0);
	r.path_prefix = NULL;
	assert_int_equal(gateway_check_route(&r, &e), -1);
	assert_non_null(strstr(e.msg, "host or a path prefix"));
	r = ok;
	r.host = "Web.shop.localhost";     /* uppercase */
	assert_int_equal(gateway_check_route(&r, NULL), -1);
	r.host = "web.shop.localhost:8080"; /* port */
	assert_int_equal(gateway_check_route(&r, NULL), -1);
	r.host = "web..localhost";
	assert_int_equal(gateway_check_route(&r, NULL), -1);
	r = ok;
	r.path_prefix = "/shop/dev";       /* two segments */
	assert_int_equal(gateway_check_route(&r, NULL), -1);
	r.path_prefix = "/shop/dev/web/";
	assert_int_equal(gateway_check_route(&r, NULL), -1);
	r.path_prefix = "/shop/dev/web/x";
	assert_int_equal(gateway_check_route(&r, NULL), -1);
	r = ok;
	r.base_path = "api";
	assert_int_equal(gateway_check_route(&r, NULL), -1);
	r.base_path = "/a b";
	assert_int_equal(gateway_check_route(&r, NULL), -1);
	r.base_path = "/a/../b";
	assert_int_equal(gateway_check_route(&r, NULL), -1);
	r.base_path = "/a//b";
	assert_int_equal(gateway_check_route(&r, NULL), -1);
	r.base_path = "/a%20b";
	assert_int_equal(gateway_check_route(&r, NULL), -1);
}

static void test_base_path_norm(void **state)
{
	char b[GATEWAY_PATH_MAX + 2];

	(void)state;
	assert_int_equal(gateway_base_path_norm(b, sizeof(b), NULL, NULL), 0);
	assert_string_equal(b, "/");
	assert_int_equal(gateway_base_path_norm(b, sizeof(b), "", NULL), 0);
	assert_string_equal(b, "/");
	assert_int_equal(gateway_base_path_norm(b, sizeof(b), "/api", NULL), 0);
	assert_string_equal(b, "/api/");
	assert_int_equal(gateway_base_path_norm(b, sizeof(b), "/api/v1/", NULL), 0);
	assert_string_equal(b, "/api/v1/");
	assert_int_equal(gateway_base_path_norm(b, 4, "/api", NULL), -1);
}

static void test_addr(void **state)
{
	(void)state;
	assert_int_equal(gateway_check_addr("127.0.0.1:8080", NULL), 0);
	assert_int_equal(gateway_check_addr("[::1]:80", NULL), 0);
	assert_int_equal(gateway_check_addr("127.0.0.1", NULL), -1);
	assert_int_equal(gateway_check_addr("127.0.0.1:0", NULL), -1);
	assert_int_equal(gateway_check_addr("127.0.0.1:65536", NULL), -1);
	assert_int_equal(gateway_check_addr("127.0.0.1:80x", NULL), -1);
	assert_int_equal(gateway_check_addr("127.0.0.1:80 weight 0", NULL), -1);
	assert_int_equal(gateway_check_addr("[::1:80", NULL), -1);
	assert_int_equal(gateway_check_addr("", NULL), -1);
}

static void test_state_names(void **state)
{
	enum gateway_server_state st;

	(void)state;
	for (int i = GATEWAY_SERVER_MAINT; i <= GATEWAY_SERVER_DRAIN; i++) {
		assert_int_equal(gateway_server_state_parse(
					 gateway_server_state_name((enum gateway_server_state)i), &st), 0);
		assert_int_equal(st, i);
	}
	assert_int_equal(gateway_server_state_parse("up", &st), -1);
}

/* A state with two routes, one server each, one draining. */
static void sample_state(struct hap_state *st)
{
	struct gateway_route a = { "shop.dev.web.0", "web.shop.dev.localhost", "/shop/dev/web", "/" };
	struct gateway_route b = { "shop.dev.api.0", "api.shop.dev.localhost", NULL, "/v1" };

	hap_state_init(st, 4);
	st->slot[0] = hap_route_new(&a, "/");
	st->slot[2] = hap_route_new(&b, "/v1/");
	hap_route_add_server(st->slot[0], "d1-r0", "127.0.0.1:4001", GATEWAY_SERVER_READY);
	hap_route_add_server(st->slot[2], "d2-r0", "127.0.0.1:4002", GATEWAY_SERVER_DRAIN);
	hap_route_add_server(st->slot[2], "d3-r0", "127.0.0.1:4003", GATEWAY_SERVER_MAINT);
}

static void test_state_ops(void **state)
{
	struct hap_state st;

	(void)state;
	sample_state(&st);
	assert_int_equal(hap_state_find(&st, "shop.dev.api.0"), 2);
	assert_int_equal(hap_state_find(&st, "nope"), -1);
	assert_int_equal(hap_state_free_slot(&st), 1);
	assert_int_equal(hap_route_find_server(st.slot[2], "d3-r0"), 1);
	hap_route_del_server(st.slot[2], 0);
	assert_int_equal(hap_route_find_server(st.slot[2], "d3-r0"), 0);
	assert_int_equal(hap_route_find_server(st.slot[2], "d2-r0"), -1);
	st.slot[1] = hap_route_new(&(struct gateway_route){ "x", "x.localhost", NULL, "/" }, "/");
	st.slot[3] = hap_route_new(&(struct gateway_route){ "y", "y.localhost", NULL, "/" }, "/");
	assert_int_equal(hap_state_free_slot(&st), -1);
	hap_state_grow(&st, 8);
	assert_int_equal(st.nslots, 8);
	assert_int_equal(hap_state_free_slot(&st), 4);
	assert_int_equal(hap_state_find(&st, "y"), 3);
	hap_state_release(&st);
}

static void test_render_maps(void **state)
{
	struct strbuf h = STRBUF_INIT, p = STRBUF_INIT, m = STRBUF_INIT;
	struct hap_state st;

	(void)state;
	sample_state(&st);
	hap_render_maps(&h, &p, &m, &st);
	assert_string_equal(h.buf, "web.shop.dev.localhost/ r0\napi.shop.dev.localhost/v1/ r2\n");
	assert_string_equal(p.buf, "/shop/dev/web/ r0\n");
	assert_string_equal(m.buf, "r0 shop.dev.web.0|web.shop.dev.localhost|/shop/dev/web|/\n"
			    "r2 shop.dev.api.0|api.shop.dev.localhost||/v1/\n");
	strbuf_release(&h);
	strbuf_release(&p);
	strbuf_release(&m);
	hap_state_release(&st);
}

static void test_meta_roundtrip(void **state)
{
	struct hap_route *r;
	struct strbuf sb = STRBUF_INIT;

	(void)state;
	r = hap_meta_parse("k1||/p/e/c|/api/");
	assert_non_null(r);
	assert_string_equal(r->key, "k1");
	assert_null(r->host);
	assert_string_equal(r->prefix, "/p/e/c");
	assert_string_equal(r->base, "/api/");
	hap_meta_value(&sb, r);
	assert_string_equal(sb.buf, "k1||/p/e/c|/api/");
	hap_route_free(r);
	assert_null(hap_meta_parse("k1|h.localhost|/p/e/c"));       /* 3 fields */
	assert_null(hap_meta_parse("k1|h.localhost||/x/|extra"));   /* 5 fields */
	assert_null(hap_meta_parse("k 1|h.localhost||/"));          /* bad key */
	assert_null(hap_meta_parse("k1|||/"));                      /* no host, no prefix */
	assert_null(hap_meta_parse("k1|h.localhost||/api"));        /* not normalized */
	strbuf_release(&sb);
}

static void test_render_config(void **state)
{
	struct hap_files f = { "/d/gateway/haproxy.sock", "/d/gateway/hosts.map",
			       "/d/gateway/paths.map", "/d/gateway/meta.map", NULL };
	struct strbuf c = STRBUF_INIT;
	struct hap_state st;

	(void)state;
	sample_state(&st);
	hap_render_config(&c, &f, "127.0.0.1:8080", &st);
	assert_non_null(strstr(c.buf, "stats socket \"/d/gateway/haproxy.sock\" mode 600 level admin "
				      "expose-fd listeners\n"));
	assert_non_null(strstr(c.buf, "    bind 127.0.0.1:8080\n"));
	assert_non_null(strstr(c.buf, "map_beg(\"/d/gateway/hosts.map\")"));
	assert_non_null(strstr(c.buf, "map_beg(\"/d/gateway/paths.map\")"));
	assert_non_null(strstr(c.buf, "map(\"/d/gateway/meta.map\") if FALSE"));
	/* every slot is a backend, free or not */
	assert_non_null(strstr(c.buf, "\nbackend r1\n"));
	assert_non_null(strstr(c.buf, "\nbackend r3\n"));
	assert_null(strstr(c.buf, "\nbackend r4\n"));
	/* ready servers take traffic at once; the others start disabled */
	assert_non_null(strstr(c.buf, "    server d1-r0 127.0.0.1:4001\n"));
	assert_non_null(strstr(c.buf, "    server d2-r0 127.0.0.1:4002 disabled\n"));
	assert_non_null(strstr(c.buf, "    server d3-r0 127.0.0.1:4003 disabled\n"));
	/* no health checks by HAProxy: ferryd owns them */
	assert_null(strstr(c.buf, " check"));
	/* no traffic socket: no request log */
	assert_null(strstr(c.buf, "log-format"));
	strbuf_reset(&c);
	f.traffic = "/d/gateway/traffic.sock";
	hap_render_config(&c, &f, "127.0.0.1:8080", &st);
	assert_non_null(strstr(c.buf, "    log \"/d/gateway/traffic.sock\" format raw daemon info\n"
				      "    log-format \"%b %s %ST %Ta\"\n"));
	strbuf_release(&c);
	hap_state_release(&st);
}

/* The rendered configuration and maps are accepted by the real HAProxy. */
static void test_config_valid_for_haproxy(void **state)
{
	char dir[] = "/tmp/ferry-gw-test-XXXXXX";
	struct strbuf c = STRBUF_INIT, h = STRBUF_INIT, p = STRBUF_INIT, m = STRBUF_INIT;
	struct strbuf path[5], out = STRBUF_INIT;
	const char *names[] = { "haproxy.sock", "hosts.map", "paths.map", "meta.map", "haproxy.cfg" };
	struct strbuf *bodies[] = { NULL, &h, &p, &m, &c };
	struct hap_state st;
	struct hap_files f;
	int rc;

	(void)state;
	if (access("/usr/sbin/haproxy", X_OK) != 0)
		skip();
	assert_non_null(mkdtemp(dir));
	for (int i = 0; i < 5; i++) {
		strbuf_init(&path[i], 0);
		strbuf_addf(&path[i], "%s/%s", dir, names[i]);
	}
	f = (struct hap_files){ path[0].buf, path[1].buf, path[2].buf, path[3].buf, "/run/ferry-test-traffic.sock" };
	sample_state(&st);
	hap_render_config(&c, &f, "127.0.0.1:1", &st);
	hap_render_maps(&h, &p, &m, &st);
	for (int i = 1; i < 5; i++) {
		FILE *fp = fopen(path[i].buf, "w");
		assert_non_null(fp);
		assert_int_equal(fwrite(bodies[i]->buf, 1, bodies[i]->len, fp), bodies[i]->len);
		fclose(fp);
	}
	{
		const char *argv[] = { "/usr/sbin/haproxy", "-c", "-f", path[4].buf, NULL };
		rc = spawn_capture(argv, NULL, NULL, &out, 65536, 20000, NULL);
	}
	if (rc != 0)
		print_error("haproxy -c said: %s\n", out.buf);
	assert_int_equal(rc, 0);
	for (int i = 0; i < 5; i++) {
		unlink(path[i].buf);
		strbuf_release(&path[i]);
	}
	rmdir(dir);
	strbuf_release(&c);
	strbuf_release(&h);
	strbuf_release(&p);
	strbuf_release(&m);
	strbuf_release(&out);
	hap_state_release(&st);
}

static void test_traffic_parse(void **state)
{
	char srv[GATEWAY_KEY_MAX + 1];
	int status = 0, ms = 0;
	const char raw[] = "r3 d12-r0 503 17\n";
	const char syslog[] = "<30>Dec  3 12:00:00 haproxy[7]: r0 d4-r1 200 3";

	(void)state;
	assert_int_equal(hap_traffic_parse(raw, strlen(raw), srv, &status, &ms), 0);
	assert_string_equal(srv, "d12-r0");
	assert_int_equal(status, 503);
	assert_int_equal(ms, 17);
	assert_int_equal(hap_traffic_parse(syslog, strlen(syslog), srv, &status, &ms), 0);
	assert_string_equal(srv, "d4-r1");
	assert_int_equal(status, 200);
	assert_int_equal(ms, 3);
	assert_int_equal(hap_traffic_parse("ferry <NOSRV> 404 0", 19, srv, &status, &ms), 0);
	assert_string_equal(srv, "<NOSRV>");
	assert_int_equal(hap_traffic_parse("two words", 9, srv, &status, &ms), -1);
	assert_int_equal(hap_traffic_parse("a b x 1", 7, srv, &status, &ms), -1);
}

/* Taken from HAProxy 2.6.12's answers. */
static const char stat_csv[] =
	"# pxname,svname,qcur,qmax,scur,smax,slim,stot,bin,bout\n"
	"r0,s1,0,0,2,1,,2,174,1137\n"
	"r0,s2,1,0,3,1,,2,174,1137\n"
	"r0,BACKEND,0,0,5,1,,2,174,1137\n\n";

static void test_parse_stat(void **state)
{
	(void)state;
	assert_int_equal(hap_parse_stat_sessions(stat_csv, "s1"), 2);
	assert_int_equal(hap_parse_stat_sessions(stat_csv, "s2"), 4);
	assert_int_equal(hap_parse_stat_sessions(stat_csv, "s3"), -1);
	assert_int_equal(hap_parse_stat_sessions("", "s1"), -1);
	assert_int_equal(hap_parse_stat_sessions("Unknown command\n", "s1"), -1);
}

static const char servers_state[] =
	"1\n"
	"# be_id be_name srv_id srv_name srv_addr srv_op_state srv_admin_state srv_uweight "
	"srv_iweight srv_time_since_last_change srv_check_status srv_check_result "
	"srv_check_health srv_check_state srv_agent_state bk_f_forced_id srv_f_forced_id "
	"srv_fqdn srv_port srvrecord srv_use_ssl srv_check_port srv_check_addr srv_agent_addr "
	"srv_agent_port\n"
	"3 r0 1 d1-r0 127.0.0.1 2 0 1 1 0 1 0 0 0 0 0 0 - 19001 - 0 0 - - 0\n"
	"3 r0 2 d2-r0 127.0.0.1 2 8 1 1 0 1 0 0 0 0 0 0 - 19002 - 0 0 - - 0\n"
	"3 r0 3 d3-r0 127.0.0.1 0 1 1 1 0 1 0 0 0 0 0 0 - 19003 - 0 0 - - 0\n"
	"3 r0 4 d4-r0 ::1 0 5 1 1 0 1 0 0 0 0 0 0 - 19004 - 0 0 - - 0\n\n";

static void test_parse_servers_state(void **state)
{
	struct hap_server_line l[4];

	(void)state;
	assert_int_equal(hap_parse_servers_state(servers_state, l, 4), 4);
	assert_string_equal(l[0].name, "d1-r0");
	assert_string_equal(l[0].addr, "127.0.0.1:19001");
	assert_int_equal(l[0].state, GATEWAY_SERVER_READY);
	assert_int_equal(l[1].state, GATEWAY_SERVER_DRAIN);
	assert_int_equal(l[2].state, GATEWAY_SERVER_MAINT);
	assert_string_equal(l[3].addr, "[::1]:19004");
	assert_int_equal(l[3].state, GATEWAY_SERVER_MAINT);
	/* more servers than room: the count says so */
	assert_int_equal(hap_parse_servers_state(servers_state, l, 2), 4);
	assert_int_equal(hap_parse_servers_state("1\n# be_id\n", l, 4), 0);
	assert_int_equal(hap_parse_servers_state("Can't find backend.\n", l, 4), -1);
}

static void collect(const char *k, const char *v, void *arg)
{
	strbuf_addf(arg, "[%s=%s]", k, v);
}

static void test_parse_map_and_backends(void **state)
{
	struct strbuf sb = STRBUF_INIT;

	(void)state;
	hap_parse_map("0x55905a6f8b70 a.p.e.localhost/ r0\n0x55905a6f8c00 a.p.e.localhost/api/ r1\n"
		      "garbage\n", collect, &sb);
	assert_string_equal(sb.buf, "[a.p.e.localhost/=r0][a.p.e.localhost/api/=r1]");
	strbuf_release(&sb);
	assert_int_equal(hap_parse_max_slot("# name\nferry\nr0\nr1\nr255\nrx\nr12a\nMASTER\n"), 255);
	assert_int_equal(hap_parse_max_slot("# name\nferry\n"), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_routes),
		cmocka_unit_test(test_base_path_norm),
		cmocka_unit_test(test_addr),
		cmocka_unit_test(test_state_names),
		cmocka_unit_test(test_state_ops),
		cmocka_unit_test(test_render_maps),
		cmocka_unit_test(test_meta_roundtrip),
		cmocka_unit_test(test_render_config),
		cmocka_unit_test(test_config_valid_for_haproxy),
		cmocka_unit_test(test_parse_stat),
		cmocka_unit_test(test_traffic_parse),
		cmocka_unit_test(test_parse_servers_state),
		cmocka_unit_test(test_parse_map_and_backends),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
