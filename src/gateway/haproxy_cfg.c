/* The HAProxy driver's mirror of routes and servers, and the configuration
 * and map files rendered from it. Pure functions: no I/O. */
#include "haproxy_int.h"

#include <stdlib.h>
#include <string.h>

#include "lib/xalloc.h"
#include "lib/banned.h"

void hap_state_init(struct hap_state *st, unsigned nslots)
{
	st->nslots = nslots;
	st->slot = calloc(nslots, sizeof(*st->slot));
	if (!st->slot)
		abort();
}

void hap_state_release(struct hap_state *st)
{
	for (unsigned i = 0; i < st->nslots; i++)
		hap_route_free(st->slot[i]);
	free(st->slot);
	st->slot = NULL;
	st->nslots = 0;
}

void hap_state_grow(struct hap_state *st, unsigned nslots)
{
	struct hap_route **s;

	if (nslots <= st->nslots)
		return;
	s = realloc(st->slot, nslots * sizeof(*s));
	if (!s)
		abort();
	memset(s + st->nslots, 0, (nslots - st->nslots) * sizeof(*s));
	st->slot = s;
	st->nslots = nslots;
}

int hap_state_find(const struct hap_state *st, const char *key)
{
	for (unsigned i = 0; i < st->nslots; i++)
		if (st->slot[i] && !strcmp(st->slot[i]->key, key))
			return (int)i;
	return -1;
}

int hap_state_free_slot(const struct hap_state *st)
{
	for (unsigned i = 0; i < st->nslots; i++)
		if (!st->slot[i])
			return (int)i;
	return -1;
}

struct hap_route *hap_route_new(const struct gateway_route *r, const char *norm_base)
{
	struct hap_route *h = calloc(1, sizeof(*h));

	if (!h)
		abort();
	h->key = xstrdup(r->key);
	h->host = xstrdup(r->host);
	h->prefix = xstrdup(r->path_prefix);
	h->base = xstrdup(norm_base);
	return h;
}

void hap_route_free(struct hap_route *r)
{
	if (!r)
		return;
	for (size_t i = 0; i < r->nsrv; i++) {
		free(r->srv[i].id);
		free(r->srv[i].addr);
	}
	free(r->srv);
	free(r->key);
	free(r->host);
	free(r->prefix);
	free(r->base);
	free(r);
}

int hap_route_find_server(const struct hap_route *r, const char *id)
{
	for (size_t i = 0; i < r->nsrv; i++)
		if (!strcmp(r->srv[i].id, id))
			return (int)i;
	return -1;
}

size_t hap_route_add_server(struct hap_route *r, const char *id, const char *addr,
			    enum gateway_server_state st)
{
	if (r->nsrv == r->asrv) {
		size_t n = r->asrv ? r->asrv * 2 : 4;
		struct hap_server *s = realloc(r->srv, n * sizeof(*s));
		if (!s)
			abort();
		r->srv = s;
		r->asrv = n;
	}
	r->srv[r->nsrv].id = xstrdup(id);
	r->srv[r->nsrv].addr = xstrdup(addr);
	r->srv[r->nsrv].state = st;
	r->srv[r->nsrv].weight = 0;
	return r->nsrv++;
}

void hap_route_del_server(struct hap_route *r, size_t i)
{
	free(r->srv[i].id);
	free(r->srv[i].addr);
	memmove(r->srv + i, r->srv + i + 1, (r->nsrv - i - 1) * sizeof(*r->srv));
	r->nsrv--;
}

/* The JSON bodies are fixed strings: HAProxy puts them in its config as a
 * double-quoted string, hence the escaped quotes. */
#define BODY_503 "{\\\"error\\\":{\\\"code\\\":\\\"no_ready_server\\\",\\\"message\\\":" \
	"\\\"this endpoint has no ready replica right now\\\"}}"
#define BODY_404 "{\\\"error\\\":{\\\"code\\\":\\\"no_route\\\",\\\"message\\\":" \
	"\\\"no deployed endpoint matches this host and path\\\"}}"

void hap_render_config(struct strbuf *out, const struct hap_files *f, const char *listen,
		       const struct hap_state *st)
{
	strbuf_addf(out,
		"# Written by ferryd from its routes; changed at run time through\n"
		"# the admin socket. Edits here are lost at the next restart.\n"
		"global\n"
		"    stats socket \"%s\" mode 600 level admin expose-fd listeners\n"
		"    stats timeout 30s\n"
		"    maxconn 4096\n"
		/* an old worker left by a pool-growth reload ends after this */
		"    hard-stop-after 60s\n"
		"\n"
		"defaults\n"
		"    mode http\n"
		"    option forwardfor\n"
		/* a replica that vanished: retry the request on another one */
		"    retries 3\n"
		"    option redispatch 1\n"
		"    retry-on conn-failure empty-response\n"
		"    timeout connect 5s\n"
		"    timeout client 60s\n"
		"    timeout server 60s\n"
		"    timeout http-request 10s\n"
		"    timeout http-keep-alive 10s\n"
		"    timeout queue 5s\n"
		"    http-error status 503 content-type application/json string \"" BODY_503 "\"\n",
		f->sock);
	if (f->traffic)
		/* one line per request for the traffic feed (haproxy_traffic.c):
		 * backend, server, status, total active time in ms */
		strbuf_addf(out,
			"    log \"%s\" format raw daemon info\n"
			"    log-format \"%%b %%s %%ST %%Ta\"\n", f->traffic);
	strbuf_addf(out,
		"\n"
		"frontend ferry\n"
		"    bind %s\n"
		/* "/" appended so that base "/api/" matches "/api" and "/api/x"
		 * but not "/apix" */
		"    http-request set-var(txn.fpath) path,concat(/)\n"
		"    http-request set-var(txn.fkey) req.hdr(host),host_only,lower,concat(,txn.fpath)\n"
		"    http-request set-var(txn.be) var(txn.fkey),map_beg(\"%s\")\n"
		"    http-request set-var(txn.pbe) var(txn.fpath),map_beg(\"%s\") if !{ var(txn.be) -m found }\n"
		"    http-request set-header X-Forwarded-Prefix /%%[path,field(2,/)]/%%[path,field(3,/)]/%%[path,field(4,/)] if { var(txn.pbe) -m found }\n"
		"    http-request set-path %%[path,regsub(^/[^/]+/[^/]+/[^/]+/?,/)] if { var(txn.pbe) -m found }\n"
		"    http-request set-var(txn.be) var(txn.pbe) if { var(txn.pbe) -m found }\n"
		/* never true: only keeps meta.map loaded for adoption */
		"    http-request set-var(txn.meta) str(r0),map(\"%s\") if FALSE\n"
		"    http-request return status 404 content-type application/json string \"" BODY_404 "\" if !{ var(txn.be) -m found }\n"
		"    use_backend %%[var(txn.be)]\n",
		listen, f->hosts_map, f->paths_map, f->meta_map);

	for (unsigned i = 0; i < st->nslots; i++) {
		const struct hap_route *r = st->slot[i];

		strbuf_addf(out, "\nbackend r%u\n    balance roundrobin\n", i);
		if (!r)
			continue;
		for (size_t j = 0; j < r->nsrv; j++)
		{
			strbuf_addf(out, "    server %s %s", r->srv[j].id, r->srv[j].addr);
			if (r->srv[j].weight > 0)
				strbuf_addf(out, " weight %d", r->srv[j].weight);
			strbuf_addf(out, "%s\n", r->srv[j].state == GATEWAY_SERVER_READY ? "" : " disabled");
		}
	}
}

void hap_meta_value(struct strbuf *out, const struct hap_route *r)
{
	strbuf_addf(out, "%s|%s|%s|%s", r->key, r->host ? r->host : "",
		    r->prefix ? r->prefix : "", r->base);
}

void hap_render_maps(struct strbuf *hosts, struct strbuf *paths, struct strbuf *meta,
		     const struct hap_state *st)
{
	for (unsigned i = 0; i < st->nslots; i++) {
		const struct hap_route *r = st->slot[i];

		if (!r)
			continue;
		if (r->host)
			strbuf_addf(hosts, "%s%s r%u\n", r->host, r->base, i);
		if (r->prefix)
			strbuf_addf(paths, "%s%s r%u\n", r->prefix, r->base, i);
		strbuf_addf(meta, "r%u ", i);
		hap_meta_value(meta, r);
		strbuf_addch(meta, '\n');
	}
}

struct hap_route *hap_meta_parse(const char *value)
{
	char *copy = xstrdup(value), *f[4], *p = copy;
	struct gateway_route gr;
	struct hap_route *r = NULL;
	int n = 0;

	f[n++] = p;
	while (*p && n < 4) {
		if (*p == '|') {
			*p = '\0';
			f[n++] = p + 1;
		}
		p++;
	}
	if (n != 4 || strchr(f[3], '|'))
		goto out;
	gr.key = f[0];
	gr.host = *f[1] ? f[1] : NULL;
	gr.path_prefix = *f[2] ? f[2] : NULL;
	gr.base_path = f[3];
	if (gateway_check_route(&gr, NULL) < 0 || f[3][strlen(f[3]) - 1] != '/')
		goto out;
	r = hap_route_new(&gr, f[3]);
out:
	free(copy);
	return r;
}
