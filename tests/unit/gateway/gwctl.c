/* gwctl: drives the gateway API from a line protocol, for the e2e tests
 * (tests/e2e/test_gateway.py). One command per line on stdin, one answer
 * line on stdout: "ok [value]" or "err STATUS CODE message".
 *
 *   traffic                       before start: feed requests to core/traffic.c
 *   samples DEPLOYMENT            requests traffic counted for it (10 min)
 *   start DATA LISTEN [SLOTS]     haproxy_gateway_start
 *   route KEY HOST PREFIX BASE    gateway_route_set ("-" for none)
 *   unroute KEY                   gateway_route_remove
 *   add KEY ID ADDR               gateway_server_add
 *   state KEY ID maint|ready|drain
 *   drain KEY ID TIMEOUT_MS       gateway_server_drain
 *   sessions KEY ID               gateway_server_sessions
 *   remove KEY ID                 gateway_server_remove
 *   sync SPEC                     gateway_sync; SPEC is routes separated by
 *                                 ';', each "KEY,HOST,PREFIX,BASE,SERVERS"
 *                                 with SERVERS "ID@ADDR@STATE+..." or "-"
 *   supervise                     gateway_supervise, prints its result
 *   stop                          gateway_stop
 *   free                          gateway_free (HAProxy keeps running)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/traffic.h"
#include "gateway/gateway.h"
#include "gateway/haproxy.h"
#include "lib/banned.h"

static const char *opt(const char *s)
{
	return (!s || !strcmp(s, "-")) ? NULL : s;
}

static int split(char *s, const char *sep, char **f, int max)
{
	int n = 0;
	char *save = NULL, *t;

	for (t = strtok_r(s, sep, &save); t && n < max; t = strtok_r(NULL, sep, &save))
		f[n++] = t;
	return n;
}

static int do_sync(struct gateway *gw, char *spec, struct ferr *e)
{
	struct gateway_route_state rs[64];
	struct gateway_server srv[64][16];
	char *routes[64], *f[5], *servers[16], *parts[3];
	int nr = spec ? split(spec, ";", routes, 64) : 0;

	for (int i = 0; i < nr; i++) {
		int ns;

		if (split(routes[i], ",", f, 5) != 5)
			return ferr_invalid(e, "bad route spec");
		rs[i].route = (struct gateway_route){ f[0], opt(f[1]), opt(f[2]), opt(f[3]) };
		ns = strcmp(f[4], "-") ? split(f[4], "+", servers, 16) : 0;
		for (int j = 0; j < ns; j++) {
			if (split(servers[j], "@", parts, 3) != 3)
				return ferr_invalid(e, "bad server spec");
			srv[i][j].id = parts[0];
			srv[i][j].addr = parts[1];
			if (gateway_server_state_parse(parts[2], &srv[i][j].state) < 0)
				return ferr_invalid(e, "bad state");
		}
		rs[i].servers = srv[i];
		rs[i].nservers = (size_t)ns;
	}
	return gateway_sync(gw, rs, (size_t)nr, e);
}

int main(void)
{
	struct gateway *gw = NULL;
	char line[8192];

	setvbuf(stdout, NULL, _IOLBF, 0);
	while (fgets(line, sizeof(line), stdin)) {
		struct ferr e = FERR_INIT;
		char *a[6] = { 0 };
		int n, rc = -1, val = -2;

		line[strcspn(line, "\n")] = '\0';
		n = split(line, " ", a, 6);
		if (!n)
			continue;
		if (!strcmp(a[0], "traffic") && n == 1) {
			gateway_set_traffic_sink(traffic_record);
			rc = 0;
		} else if (!strcmp(a[0], "samples") && n == 2) {
			struct traffic_stats s;
			traffic_window(atoll(a[1]), TRAFFIC_LIVE_S, &s);
			rc = 0;
			val = (int)s.requests;
		} else if (!strcmp(a[0], "start") && n >= 3) {
			struct haproxy_config c = { a[1], a[2], n > 3 ? (unsigned)atoi(a[3]) : 0, NULL };
			rc = haproxy_gateway_start(&gw, &c, &e);
		} else if (!gw) {
			rc = ferr_invalid(&e, "not started");
		} else if (!strcmp(a[0], "route") && n == 5) {
			struct gateway_route r = { a[1], opt(a[2]), opt(a[3]), opt(a[4]) };
			rc = gateway_route_set(gw, &r, &e);
		} else if (!strcmp(a[0], "unroute") && n == 2) {
			rc = gateway_route_remove(gw, a[1], &e);
		} else if (!strcmp(a[0], "add") && n == 4) {
			rc = gateway_server_add(gw, a[1], a[2], a[3], &e);
		} else if (!strcmp(a[0], "state") && n == 4) {
			enum gateway_server_state st;
			rc = gateway_server_state_parse(a[3], &st) < 0
				? ferr_invalid(&e, "bad state")
				: gateway_server_set_state(gw, a[1], a[2], st, &e);
		} else if (!strcmp(a[0], "drain") && n == 4) {
			rc = gateway_server_drain(gw, a[1], a[2], atoi(a[3]), &e);
		} else if (!strcmp(a[0], "sessions") && n == 3) {
			rc = val = gateway_server_sessions(gw, a[1], a[2], &e);
		} else if (!strcmp(a[0], "remove") && n == 3) {
			rc = gateway_server_remove(gw, a[1], a[2], &e);
		} else if (!strcmp(a[0], "sync")) {
			rc = do_sync(gw, n > 1 ? a[1] : NULL, &e);
		} else if (!strcmp(a[0], "supervise")) {
			rc = val = gateway_supervise(gw, &e);
		} else if (!strcmp(a[0], "stop")) {
			rc = gateway_stop(gw, &e);
		} else if (!strcmp(a[0], "free")) {
			gateway_free(gw);
			gw = NULL;
			rc = 0;
		} else {
			rc = ferr_invalid(&e, "unknown command or wrong arguments");
		}
		if (rc < 0)
			printf("err %d %s %s\n", e.status, e.code, e.msg);
		else if (val != -2)
			printf("ok %d\n", val);
		else
			printf("ok\n");
	}
	gateway_free(gw);
	return 0;
}
