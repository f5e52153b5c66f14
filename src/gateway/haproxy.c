/* The HAProxy gateway driver.
 *
 * HAProxy runs as `haproxy -W -db -f DATA/gateway/haproxy.cfg`: master-worker
 * in the foreground, in its own process group, a child of ferryd (or, after
 * ferryd restarted, an orphan that the new ferryd adopts). Every change after
 * start goes through the admin socket: map entries pick the backend slot of
 * a request, dynamic servers (`add server` / `del server`) hold the
 * replicas. The only reload is when the pool of backend slots is full: the
 * configuration is rendered again with twice the slots and the master is
 * told to reload (SIGUSR2), handing its listening socket to the new worker
 * (`expose-fd listeners`), so no connection is refused.
 */
#include "haproxy_int.h"
#include "gateway/haproxy.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "lib/spawn.h"
#include "lib/clock.h"
#include "lib/pidfile.h"
#include "lib/banned.h"

#define START_TIMEOUT_MS 10000
#define STOP_TIMEOUT_MS  5000
#define DEL_RETRY_MS     2000
#define BACKOFF_MAX_MS   30000

struct hap_gw {
	struct gateway base;
	pthread_mutex_t lock;
	char *bin, *listen;
	char *dir, *cfg, *sock, *hosts, *paths, *meta, *pidfile, *log, *traffic_sock;
	struct hap_traffic *traffic; /* the per-request feed, or NULL */
	struct hap_files files;
	struct hap_state st;
	pid_t pid;           /* HAProxy master, 0 when not running */
	int own;             /* pid is our child (else adopted) */
	int failures;        /* consecutive failed restarts */
	long long next_try;  /* no restart before this (monotonic ms) */
};

static const struct gateway_ops hap_ops;

static void sleep_ms(int ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

static char *join(const char *dir, const char *name)
{
	struct strbuf sb = STRBUF_INIT;

	strbuf_addf(&sb, "%s/%s", dir, name);
	return strbuf_detach(&sb, NULL);
}

/* Keeps the first error, adding nothing: e may be NULL. */
static int pass(struct ferr *e, const struct ferr *le)
{
	return ferr_set(e, le->status, le->code, "%s", le->msg);
}

static int is_down(const struct ferr *le)
{
	return !strcmp(le->code, "gateway_down");
}

static int write_file(const char *path, const struct strbuf *sb, struct ferr *e)
{
	struct strbuf tmp = STRBUF_INIT;
	size_t off = 0;
	int fd, ret = -1;

	strbuf_addf(&tmp, "%s.tmp", path);
	fd = open(tmp.buf, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0) {
		ferr_internal(e, "gateway: cannot write %s: %s", tmp.buf, strerror(errno));
		goto out;
	}
	while (off < sb->len) {
		ssize_t n = write(fd, sb->buf + off, sb->len - off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			ferr_internal(e, "gateway: writing %s: %s", tmp.buf, strerror(errno));
			close(fd);
			goto out;
		}
		off += (size_t)n;
	}
	if (close(fd) < 0 || rename(tmp.buf, path) < 0) {
		ferr_internal(e, "gateway: cannot write %s: %s", path, strerror(errno));
		goto out;
	}
	ret = 0;
out:
	strbuf_release(&tmp);
	return ret;
}

static int write_files(struct hap_gw *g, struct ferr *e)
{
	struct strbuf cfg = STRBUF_INIT, h = STRBUF_INIT, p = STRBUF_INIT, m = STRBUF_INIT;
	int ret;

	hap_render_config(&cfg, &g->files, g->listen, &g->st);
	hap_render_maps(&h, &p, &m, &g->st);
	ret = (write_file(g->hosts, &h, e) < 0 || write_file(g->paths, &p, e) < 0 ||
	       write_file(g->meta, &m, e) < 0 || write_file(g->cfg, &cfg, e) < 0) ? -1 : 0;
	strbuf_release(&cfg);
	strbuf_release(&h);
	strbuf_release(&p);
	strbuf_release(&m);
	return ret;
}

/* The last lines HAProxy wrote, for error messages. */
static void log_tail(struct hap_gw *g, char *buf, size_t size)
{
	int fd = open(g->log, O_RDONLY | O_CLOEXEC);
	off_t end;
	ssize_t n;

	buf[0] = '\0';
	if (fd < 0)
		return;
	end = lseek(fd, 0, SEEK_END);
	if (end > (off_t)(size - 1))
		lseek(fd, end - (off_t)(size - 1), SEEK_SET);
	else
		lseek(fd, 0, SEEK_SET);
	n = read(fd, buf, size - 1);
	buf[n > 0 ? n : 0] = '\0';
	close(fd);
	for (char *c = buf; *c; c++)
		if (*c == '\n')
			*c = ' ';
}

/* Is HAProxy's master still there? Reaps our own child when it died. */
static int alive(struct hap_gw *g)
{
	int st;

	if (g->pid <= 0)
		return 0;
	if (g->own) {
		pid_t r = waitpid(g->pid, &st, WNOHANG);
		if (r == g->pid) {
			g->pid = 0;
			return 0;
		}
		if (r == 0)
			return 1;
		/* ECHILD: someone else reaped it (SIGCHLD ignored); fall back */
	}
	if (!pid_running(g->pid)) {
		g->pid = 0;
		return 0;
	}
	return 1;
}

static void signal_master(struct hap_gw *g, int sig)
{
	/* spawn made it a process-group leader: reach the worker too */
	if (getpgid(g->pid) == g->pid)
		kill(-g->pid, sig);
	else
		kill(g->pid, sig);
}

static void terminate(struct hap_gw *g)
{
	long long deadline = mono_ms() + STOP_TIMEOUT_MS;

	if (!alive(g))
		return;
	signal_master(g, SIGTERM);
	while (alive(g)) {
		if (mono_ms() > deadline) {
			signal_master(g, SIGKILL);
			deadline = mono_ms() + STOP_TIMEOUT_MS;
		}
		sleep_ms(20);
	}
	unlink(g->pidfile);
}

static int cli_do(struct hap_gw *g, const char *const *ok, struct ferr *e,
		  const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static int cli_do(struct hap_gw *g, const char *const *ok, struct ferr *e, const char *fmt, ...)
{
	struct strbuf cmd = STRBUF_INIT;
	va_list ap;
	int ret;

	va_start(ap, fmt);
	strbuf_vaddf(&cmd, fmt, ap);
	va_end(ap);
	ret = hap_cli_expect(g->sock, cmd.buf, ok, e);
	strbuf_release(&cmd);
	return ret;
}

static const char *const ok_del_map[] = { "Key not found", NULL };
static const char *const ok_add_server[] = { "New server registered", NULL };
static const char *const ok_del_server[] = { "Server deleted", NULL };

/* Puts the servers that should drain back in drain after HAProxy read them
 * as "disabled" from the configuration. */
static int restore_drains(struct hap_gw *g, struct ferr *e)
{
	int ret = 0;

	for (unsigned i = 0; i < g->st.nslots; i++) {
		struct hap_route *r = g->st.slot[i];
		for (size_t j = 0; r && j < r->nsrv; j++)
			if (r->srv[j].state == GATEWAY_SERVER_DRAIN &&
			    cli_do(g, NULL, e, "set server r%u/%s state drain", i, r->srv[j].id) < 0)
				ret = -1;
	}
	return ret;
}

static int write_pidfile(struct hap_gw *g, struct ferr *e)
{
	if (pidfile_write(g->pidfile, g->pid) < 0)
		return ferr_internal(e, "gateway: cannot write %s: %s", g->pidfile, strerror(errno));
	return 0;
}

/* Starts HAProxy from the mirror and waits until its socket answers. */
static int launch(struct hap_gw *g, struct ferr *e)
{
	const char *argv[] = { g->bin, "-W", "-db", "-f", g->cfg, NULL };
	struct spawn sp = SPAWN_INIT;
	long long deadline;
	char tail[600];
	int logfd, st;

	if (write_files(g, e) < 0)
		return -1;
	unlink(g->sock); /* so that whoever answers on it is the new one */
	logfd = open(g->log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
	if (logfd < 0)
		return ferr_internal(e, "gateway: cannot open %s: %s", g->log, strerror(errno));
	sp.argv = argv;
	sp.out_fd = logfd;
	sp.err_fd = -2;
	if (spawn_start(&sp, e) < 0) {
		close(logfd);
		return ferr_prefix(e, "gateway: cannot start HAProxy");
	}
	close(logfd);
	g->pid = sp.pid;
	g->own = 1;
	deadline = mono_ms() + START_TIMEOUT_MS;
	for (;;) {
		struct strbuf out = STRBUF_INIT;
		int ok;

		if (waitpid(g->pid, &st, WNOHANG) == g->pid) {
			g->pid = 0;
			log_tail(g, tail, sizeof(tail));
			return ferr_set(e, 502, "gateway_down", "gateway: HAProxy exited at start "
					"(exit %d); its last words: %s",
					WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st), tail);
		}
		ok = hap_cli(g->sock, "show info", &out, 1000, NULL) == 0 && out.len;
		strbuf_release(&out);
		if (ok)
			break;
		if (mono_ms() > deadline) {
			terminate(g);
			log_tail(g, tail, sizeof(tail));
			return ferr_set(e, 502, "gateway_down", "gateway: HAProxy did not open its "
					"admin socket %s within %d ms; its last words: %s",
					g->sock, START_TIMEOUT_MS, tail);
		}
		sleep_ms(20);
	}
	if (write_pidfile(g, e) < 0 || restore_drains(g, e) < 0)
		return -1;
	return 0;
}

/* Grows the slot pool and reloads HAProxy without dropping connections. */
static int grow_and_reload(struct hap_gw *g, struct ferr *e)
{
	unsigned n = g->st.nslots * 2;
	long long deadline;

	if (n > HAP_MAX_SLOTS)
		return ferr_set(e, 507, "gateway_full", "gateway: all %u route slots are in use",
				g->st.nslots);
	hap_state_grow(&g->st, n);
	if (!alive(g))
		return 0; /* the next start renders the bigger pool anyway */
	if (write_files(g, e) < 0)
		return -1;
	kill(g->pid, SIGUSR2);
	/* done when the worker answering the socket is the new one */
	deadline = mono_ms() + START_TIMEOUT_MS;
	for (;;) {
		struct strbuf out = STRBUF_INIT;
		int max = -1;

		if (hap_cli(g->sock, "show backend", &out, 1000, NULL) == 0)
			max = hap_parse_max_slot(out.buf);
		strbuf_release(&out);
		if (max == (int)n - 1)
			break;
		if (mono_ms() > deadline || !alive(g))
			return ferr_set(e, 502, "gateway_down", "gateway: HAProxy did not come back "
					"from its reload to %u slots (see %s)", n, g->log);
		sleep_ms(20);
	}
	return restore_drains(g, e);
}

/* The pid of the worker answering the admin socket, or -1. */
static long worker_pid(struct hap_gw *g)
{
	struct strbuf out = STRBUF_INIT;
	const char *p;
	long pid = -1;

	if (hap_cli(g->sock, "show info", &out, 1000, NULL) == 0 && (p = strstr(out.buf, "\nPid: ")))
		pid = strtol(p + 6, NULL, 10);
	strbuf_release(&out);
	return pid;
}

/* 1 if the configuration HAProxy runs with logs requests to the traffic
 * socket (a HAProxy of an older ferryd, or of one without metrics, does
 * not). HAProxy sends each line to the socket's path, so a socket bound
 * again by this ferryd gets them without a reload. */
static int logs_traffic(struct hap_gw *g)
{
	char line[PATH_MAX + 64], want[PATH_MAX + 16];
	FILE *f = fopen(g->cfg, "re");
	int yes = 0;

	if (!f)
		return 0;
	snprintf(want, sizeof(want), "    log \"%s\"", g->traffic_sock);
	while (!yes && fgets(line, sizeof(line), f))
		yes = !strncmp(line, want, strlen(want));
	fclose(f);
	return yes;
}

/* Reloads an adopted HAProxy with this ferryd's configuration (which logs
 * requests to the traffic socket), without dropping connections. */
static int reload_adopted(struct hap_gw *g, struct ferr *e)
{
	long old = worker_pid(g), now;
	long long deadline;

	if (write_files(g, e) < 0)
		return -1;
	kill(g->pid, SIGUSR2);
	deadline = mono_ms() + START_TIMEOUT_MS;
	while ((now = worker_pid(g)) < 0 || now == old) {
		if (mono_ms() > deadline || !alive(g))
			return ferr_set(e, 502, "gateway_down", "gateway: HAProxy did not come back "
					"from its reload (see %s)", g->log);
		sleep_ms(20);
	}
	return restore_drains(g, e);
}

/* --- adoption of a HAProxy left running by an earlier ferryd --- */

struct adopt_ctx {
	struct hap_state *st;
	int bad;
};

static void adopt_meta(const char *key, const char *value, void *arg)
{
	struct adopt_ctx *c = arg;
	struct hap_route *r;
	char *end;
	long slot;

	if (key[0] != 'r')
		goto bad;
	slot = strtol(key + 1, &end, 10);
	if (*end || end == key + 1 || slot < 0 || slot >= (long)c->st->nslots ||
	    c->st->slot[slot])
		goto bad;
	r = hap_meta_parse(value);
	if (!r)
		goto bad;
	c->st->slot[slot] = r;
	return;
bad:
	c->bad = 1;
}

/* Is pid `<bin> -W -db -f <our cfg>`? */
static int is_our_haproxy(struct hap_gw *g, pid_t pid)
{
	const char *const args[] = { "-f", g->cfg };

	return pid_command_is(pid, "haproxy", args, 2);
}

static int adopt(struct hap_gw *g)
{
	struct strbuf out = STRBUF_INIT, want = STRBUF_INIT;
	struct hap_server_line lines[256];
	struct adopt_ctx c;
	struct hap_state st;
	int max, ok = 0;
	pid_t pid = pidfile_read(g->pidfile);

	if (!is_our_haproxy(g, pid))
		return -1;
	g->pid = pid;
	g->own = 0;
	/* its listen address must be the one asked for now */
	{
		int fd = open(g->cfg, O_RDONLY | O_CLOEXEC);
		char buf[8192];
		ssize_t n = fd >= 0 ? read(fd, buf, sizeof(buf) - 1) : -1;
		if (fd >= 0)
			close(fd);
		buf[n > 0 ? n : 0] = '\0';
		strbuf_addf(&want, "\n    bind %s\n", g->listen);
		if (!strstr(buf, want.buf))
			goto out;
	}
	if (hap_cli(g->sock, "show backend", &out, 2000, NULL) < 0)
		goto out;
	max = hap_parse_max_slot(out.buf);
	if (max < 0)
		goto out;
	hap_state_init(&st, (unsigned)max + 1);
	c.st = &st;
	c.bad = 0;
	strbuf_reset(&out);
	{
		struct strbuf cmd = STRBUF_INIT;
		strbuf_addf(&cmd, "show map %s", g->meta);
		if (hap_cli(g->sock, cmd.buf, &out, 2000, NULL) < 0)
			c.bad = 1;
		strbuf_release(&cmd);
	}
	if (!c.bad)
		hap_parse_map(out.buf, adopt_meta, &c);
	for (unsigned i = 0; !c.bad && i < st.nslots; i++) {
		struct strbuf cmd = STRBUF_INIT;
		int n;

		if (!st.slot[i])
			continue;
		strbuf_reset(&out);
		strbuf_addf(&cmd, "show servers state r%u", i);
		n = hap_cli(g->sock, cmd.buf, &out, 2000, NULL) < 0 ? -1 :
		    hap_parse_servers_state(out.buf, lines, 256);
		strbuf_release(&cmd);
		if (n < 0 || n > 256) {
			c.bad = 1;
			break;
		}
		for (int j = 0; j < n; j++)
			hap_route_add_server(st.slot[i], lines[j].name, lines[j].addr,
					     lines[j].state);
	}
	if (c.bad) {
		hap_state_release(&st);
		goto out;
	}
	hap_state_release(&g->st);
	g->st = st;
	ok = 1;
out:
	strbuf_release(&out);
	strbuf_release(&want);
	return ok ? 0 : -1;
}

/* --- operations --- */

static struct hap_gw *hgw(struct gateway *gw)
{
	return (struct hap_gw *)gw;
}

static int map_put(struct hap_gw *g, const char *map, const char *key, const char *val,
		   int exists, struct ferr *e)
{
	return cli_do(g, NULL, e, "%s map %s %s %s", exists ? "set" : "add", map, key, val);
}

static int map_del(struct hap_gw *g, const char *map, const char *key, struct ferr *e)
{
	return cli_do(g, ok_del_map, e, "del map %s %s", map, key);
}

static int streq(const char *a, const char *b)
{
	return (!a && !b) || (a && b && !strcmp(a, b));
}

/* Another route already answering host+base or prefix+base? */
static int route_conflict(struct hap_gw *g, const struct gateway_route *r, const char *base,
			  struct ferr *e)
{
	for (unsigned i = 0; i < g->st.nslots; i++) {
		const struct hap_route *o = g->st.slot[i];

		if (!o || !strcmp(o->key, r->key) || strcmp(o->base, base))
			continue;
		if ((r->host && streq(o->host, r->host)) ||
		    (r->path_prefix && streq(o->prefix, r->path_prefix)))
			return ferr_conflict(e, "gateway: route %s already serves %s%s",
					     o->key, r->host ? r->host : r->path_prefix, base);
	}
	return 0;
}

static int route_set_locked(struct hap_gw *g, const struct gateway_route *r, struct ferr *e)
{
	char base[GATEWAY_PATH_MAX + 2], val[16];
	struct strbuf k = STRBUF_INIT, meta = STRBUF_INIT;
	struct ferr le = FERR_INIT;
	struct hap_route *o, *n;
	int i, rc = 0;

	if (gateway_check_route(r, e) < 0 ||
	    gateway_base_path_norm(base, sizeof(base), r->base_path, e) < 0 ||
	    route_conflict(g, r, base, e) < 0)
		return -1;
	i = hap_state_find(&g->st, r->key);
	if (i >= 0) {
		o = g->st.slot[i];
		if (streq(o->host, r->host) && streq(o->prefix, r->path_prefix) &&
		    !strcmp(o->base, base))
			return 0;
	} else {
		o = NULL;
		i = hap_state_free_slot(&g->st);
		if (i < 0) {
			unsigned old = g->st.nslots;

			if (grow_and_reload(g, e) < 0) {
				if (g->st.nslots == old)
					return -1;
				rc = -1; /* grown, not reloaded: still record it */
			}
			i = (int)old; /* the first new slot */
		}
	}
	n = hap_route_new(r, base);
	if (o) {
		/* keep the servers; swap the description */
		n->srv = o->srv;
		n->nsrv = o->nsrv;
		n->asrv = o->asrv;
		o->srv = NULL;
		o->nsrv = o->asrv = 0;
	}
	g->st.slot[i] = n;
	snprintf(val, sizeof(val), "r%d", i);
	hap_meta_value(&meta, n);
	/* new entries first, then drop the old ones: no request sees a gap */
	if (cli_do(g, NULL, &le, "%s map %s %s %s", o ? "set" : "add", g->meta, val, meta.buf) < 0)
		rc = -1;
	if (n->host) {
		strbuf_addf(&k, "%s%s", n->host, n->base);
		if (map_put(g, g->hosts, k.buf, val, o && o->host && streq(o->host, n->host) &&
			    !strcmp(o->base, n->base), &le) < 0)
			rc = -1;
	}
	if (n->prefix) {
		strbuf_reset(&k);
		strbuf_addf(&k, "%s%s", n->prefix, n->base);
		if (map_put(g, g->paths, k.buf, val, o && o->prefix &&
			    streq(o->prefix, n->prefix) && !strcmp(o->base, n->base), &le) < 0)
			rc = -1;
	}
	if (o && o->host && !(streq(o->host, n->host) && !strcmp(o->base, n->base))) {
		strbuf_reset(&k);
		strbuf_addf(&k, "%s%s", o->host, o->base);
		if (map_del(g, g->hosts, k.buf, &le) < 0)
			rc = -1;
	}
	if (o && o->prefix && !(streq(o->prefix, n->prefix) && !strcmp(o->base, n->base))) {
		strbuf_reset(&k);
		strbuf_addf(&k, "%s%s", o->prefix, o->base);
		if (map_del(g, g->paths, k.buf, &le) < 0)
			rc = -1;
	}
	hap_route_free(o);
	strbuf_release(&k);
	strbuf_release(&meta);
	/* the mirror holds the route either way: a restart brings it in */
	return rc < 0 ? (pass(e, &le), -1) : 0;
}

static int server_remove_locked(struct hap_gw *g, unsigned slot, size_t j, struct ferr *e)
{
	struct hap_route *r = g->st.slot[slot];
	const char *id = r->srv[j].id;
	struct ferr le = FERR_INIT;
	long long deadline = mono_ms() + DEL_RETRY_MS;
	int rc = 0;

	if (cli_do(g, NULL, &le, "set server r%u/%s state maint", slot, id) < 0 ||
	    cli_do(g, NULL, &le, "shutdown sessions server r%u/%s", slot, id) < 0)
		rc = -1;
	while (rc == 0) {
		ferr_clear(&le);
		if (cli_do(g, ok_del_server, &le, "del server r%u/%s", slot, id) == 0)
			break;
		/* refused while idle or closing connections remain */
		if (is_down(&le) || mono_ms() > deadline || strstr(le.msg, "No such server")) {
			if (strstr(le.msg, "No such server"))
				ferr_clear(&le); /* already gone: fine */
			else
				rc = -1;
			break;
		}
		sleep_ms(50);
	}
	if (rc < 0 && is_down(&le))
		rc = 0; /* HAProxy is down: a restart renders without it */
	hap_route_del_server(r, j);
	return rc < 0 ? pass(e, &le) : 0;
}

static int route_remove_locked(struct hap_gw *g, const char *key, struct ferr *e)
{
	struct strbuf k = STRBUF_INIT;
	struct ferr le = FERR_INIT;
	struct hap_route *r;
	char val[16];
	int i, rc = 0;

	if (gateway_check_name("route key", key, e) < 0)
		return -1;
	i = hap_state_find(&g->st, key);
	if (i < 0)
		return 0;
	r = g->st.slot[i];
	if (r->host) {
		strbuf_addf(&k, "%s%s", r->host, r->base);
		if (map_del(g, g->hosts, k.buf, &le) < 0)
			rc = -1;
	}
	if (r->prefix) {
		strbuf_reset(&k);
		strbuf_addf(&k, "%s%s", r->prefix, r->base);
		if (map_del(g, g->paths, k.buf, &le) < 0)
			rc = -1;
	}
	while (r->nsrv)
		if (server_remove_locked(g, (unsigned)i, r->nsrv - 1, &le) < 0)
			rc = -1;
	snprintf(val, sizeof(val), "r%d", i);
	if (map_del(g, g->meta, val, &le) < 0)
		rc = -1;
	hap_route_free(r);
	g->st.slot[i] = NULL;
	strbuf_release(&k);
	return rc < 0 && !is_down(&le) ? pass(e, &le) : 0;
}

static int find_route(struct hap_gw *g, const char *key, struct ferr *e)
{
	int i;

	if (gateway_check_name("route key", key, e) < 0)
		return -1;
	i = hap_state_find(&g->st, key);
	if (i < 0)
		return ferr_notfound(e, "gateway: no route %s", key);
	return i;
}

static int server_add_locked(struct hap_gw *g, const char *key, const char *id,
			     const char *addr, struct ferr *e)
{
	struct ferr le = FERR_INIT;
	struct hap_route *r;
	int i, j;

	if ((i = find_route(g, key, e)) < 0 || gateway_check_name("server id", id, e) < 0 ||
	    gateway_check_addr(addr, e) < 0)
		return -1;
	r = g->st.slot[i];
	j = hap_route_find_server(r, id);
	if (j >= 0) {
		if (!strcmp(r->srv[j].addr, addr))
			return 0;
		return ferr_conflict(e, "gateway: server %s of route %s is at %s, not %s",
				     id, key, r->srv[j].addr, addr);
	}
	j = (int)hap_route_add_server(r, id, addr, GATEWAY_SERVER_MAINT);
	/* HAProxy 2.6 gives a dynamic server no idle-connection pool unless
	 * both pool settings are explicit: without them every request opens
	 * a new connection to the replica (measured: half the throughput).
	 * Dynamic servers start in maintenance; say so anyway, it is cheap
	 * and makes the state explicit. */
	if (cli_do(g, ok_add_server, &le, "add server r%d/%s %s pool-max-conn 1000 "
		   "pool-purge-delay 5s", i, id, addr) < 0 ||
	    cli_do(g, NULL, &le, "set server r%d/%s state maint", i, id) < 0) {
		if (!is_down(&le))
			hap_route_del_server(r, (size_t)j); /* refused: not there */
		return pass(e, &le);
	}
	return 0;
}

static int server_set_state_locked(struct hap_gw *g, const char *key, const char *id,
				   enum gateway_server_state st, struct ferr *e)
{
	struct hap_route *r;
	int i, j;

	if ((i = find_route(g, key, e)) < 0 || gateway_check_name("server id", id, e) < 0)
		return -1;
	r = g->st.slot[i];
	j = hap_route_find_server(r, id);
	if (j < 0)
		return ferr_notfound(e, "gateway: route %s has no server %s", key, id);
	r->srv[j].state = st;
	return cli_do(g, NULL, e, "set server r%d/%s state %s", i, id,
		      gateway_server_state_name(st));
}

static int hap_route_set(struct gateway *gw, const struct gateway_route *r, struct ferr *e)
{
	struct hap_gw *g = hgw(gw);
	int rc;

	pthread_mutex_lock(&g->lock);
	rc = route_set_locked(g, r, e);
	pthread_mutex_unlock(&g->lock);
	return rc;
}

static int hap_route_remove(struct gateway *gw, const char *key, struct ferr *e)
{
	struct hap_gw *g = hgw(gw);
	int rc;

	pthread_mutex_lock(&g->lock);
	rc = route_remove_locked(g, key, e);
	pthread_mutex_unlock(&g->lock);
	return rc;
}

static int hap_server_add(struct gateway *gw, const char *key, const char *id,
			  const char *addr, struct ferr *e)
{
	struct hap_gw *g = hgw(gw);
	int rc;

	pthread_mutex_lock(&g->lock);
	rc = server_add_locked(g, key, id, addr, e);
	pthread_mutex_unlock(&g->lock);
	return rc;
}

static int hap_server_set_state(struct gateway *gw, const char *key, const char *id,
				enum gateway_server_state st, struct ferr *e)
{
	struct hap_gw *g = hgw(gw);
	int rc;

	pthread_mutex_lock(&g->lock);
	rc = server_set_state_locked(g, key, id, st, e);
	pthread_mutex_unlock(&g->lock);
	return rc;
}

static int hap_server_set_weight(struct gateway *gw, const char *key, const char *id, int weight,
				 struct ferr *e)
{
	struct hap_gw *g = hgw(gw);
	struct hap_route *r;
	int i, j, rc = -1;

	pthread_mutex_lock(&g->lock);
	if ((i = find_route(g, key, e)) < 0 || gateway_check_name("server id", id, e) < 0)
		goto out;
	r = g->st.slot[i];
	j = hap_route_find_server(r, id);
	if (j < 0) {
		ferr_notfound(e, "gateway: route %s has no server %s", key, id);
		goto out;
	}
	r->srv[j].weight = weight;
	rc = cli_do(g, NULL, e, "set server r%d/%s weight %d", i, id, weight);
out:
	pthread_mutex_unlock(&g->lock);
	return rc;
}

static int hap_server_sessions(struct gateway *gw, const char *key, const char *id,
			       struct ferr *e)
{
	struct hap_gw *g = hgw(gw);
	struct strbuf cmd = STRBUF_INIT, out = STRBUF_INIT;
	int i, n = -1;

	pthread_mutex_lock(&g->lock);
	if ((i = find_route(g, key, e)) < 0 || gateway_check_name("server id", id, e) < 0)
		goto out;
	if (hap_route_find_server(g->st.slot[i], id) < 0) {
		ferr_notfound(e, "gateway: route %s has no server %s", key, id);
		goto out;
	}
	strbuf_addf(&cmd, "show stat r%d 4 -1", i);
	if (hap_cli(g->sock, cmd.buf, &out, 5000, e) < 0)
		goto out;
	n = hap_parse_stat_sessions(out.buf, id);
	if (n < 0)
		ferr_set(e, 502, "gateway_error", "gateway: HAProxy does not list server %s "
			 "of route %s", id, key);
out:
	pthread_mutex_unlock(&g->lock);
	strbuf_release(&cmd);
	strbuf_release(&out);
	return n;
}

static int hap_server_remove(struct gateway *gw, const char *key, const char *id,
			     struct ferr *e)
{
	struct hap_gw *g = hgw(gw);
	int i, j, rc = -1;

	pthread_mutex_lock(&g->lock);
	if ((i = find_route(g, key, e)) < 0 || gateway_check_name("server id", id, e) < 0)
		goto out;
	j = hap_route_find_server(g->st.slot[i], id);
	rc = j < 0 ? 0 : server_remove_locked(g, (unsigned)i, (size_t)j, e);
out:
	pthread_mutex_unlock(&g->lock);
	return rc;
}

static const struct gateway_route_state *desired_find(const struct gateway_route_state *rs,
						      size_t n, const char *key)
{
	for (size_t i = 0; i < n; i++)
		if (!strcmp(rs[i].route.key, key))
			return &rs[i];
	return NULL;
}

static int hap_sync(struct gateway *gw, const struct gateway_route_state *rs, size_t n,
		    int only_listed, struct ferr *e)
{
	struct hap_gw *g = hgw(gw);
	int rc = 0;

	pthread_mutex_lock(&g->lock);
	/* routes that should not be there */
	for (unsigned i = 0; i < g->st.nslots && !only_listed; i++)
		if (g->st.slot[i] && !desired_find(rs, n, g->st.slot[i]->key) &&
		    route_remove_locked(g, g->st.slot[i]->key, e) < 0)
			rc = -1;
	for (size_t k = 0; k < n; k++) {
		const struct gateway_route_state *d = &rs[k];
		struct hap_route *r;
		int i;

		if (route_set_locked(g, &d->route, e) < 0 &&
		    (i = hap_state_find(&g->st, d->route.key)) < 0) {
			rc = -1;
			continue;
		}
		i = hap_state_find(&g->st, d->route.key);
		r = g->st.slot[i];
		/* Order matters under traffic: first add and ready what should
		 * serve, then drain or park the others, and only then remove
		 * what should not be there; at no point is a route left with
		 * no ready server when the desired state has one. */
		for (int pass = 0; pass < 2; pass++)
			for (size_t m = 0; m < d->nservers; m++) {
				const struct gateway_server *s = &d->servers[m];
				int j;

				if ((s->state == GATEWAY_SERVER_READY) != (pass == 0))
					continue;
				j = hap_route_find_server(r, s->id);
				if (j >= 0 && strcmp(r->srv[j].addr, s->addr))
					continue; /* moved: replaced below, once removed */
				if (j < 0 && server_add_locked(g, d->route.key, s->id, s->addr,
							       e) < 0) {
					rc = -1;
					continue;
				}
				j = hap_route_find_server(r, s->id);
				if (j >= 0 && r->srv[j].state != s->state &&
				    server_set_state_locked(g, d->route.key, s->id, s->state,
							    e) < 0)
					rc = -1;
			}
		for (size_t j = r->nsrv; j-- > 0;) {
			size_t m;
			for (m = 0; m < d->nservers; m++)
				if (!strcmp(d->servers[m].id, r->srv[j].id) &&
				    !strcmp(d->servers[m].addr, r->srv[j].addr))
					break;
			if (m == d->nservers && server_remove_locked(g, (unsigned)i, j, e) < 0)
				rc = -1;
		}
		/* a server id that moved to another address: add it back */
		for (size_t m = 0; m < d->nservers; m++) {
			const struct gateway_server *s = &d->servers[m];

			if (hap_route_find_server(r, s->id) >= 0)
				continue;
			if (server_add_locked(g, d->route.key, s->id, s->addr, e) < 0 ||
			    (s->state != GATEWAY_SERVER_MAINT &&
			     server_set_state_locked(g, d->route.key, s->id, s->state, e) < 0))
				rc = -1;
		}
	}
	pthread_mutex_unlock(&g->lock);
	return rc;
}

static int hap_supervise(struct gateway *gw, struct ferr *e)
{
	struct hap_gw *g = hgw(gw);
	long long now = mono_ms();
	int rc;

	pthread_mutex_lock(&g->lock);
	if (alive(g)) {
		rc = 0;
	} else if (now < g->next_try) {
		rc = ferr_set(e, 502, "gateway_down", "gateway: HAProxy is down; next restart "
			      "attempt in %lld ms (see %s)", g->next_try - now, g->log);
	} else if (launch(g, e) < 0) {
		long long wait = 500LL << (g->failures < 6 ? g->failures : 6);
		g->failures++;
		g->next_try = mono_ms() + (wait > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : wait);
		rc = -1;
	} else {
		g->failures = 0;
		g->next_try = 0;
		rc = 1;
	}
	pthread_mutex_unlock(&g->lock);
	return rc;
}

static int hap_stop(struct gateway *gw, struct ferr *e)
{
	struct hap_gw *g = hgw(gw);

	(void)e;
	pthread_mutex_lock(&g->lock);
	terminate(g);
	pthread_mutex_unlock(&g->lock);
	return 0;
}

static void hap_free(struct gateway *gw)
{
	struct hap_gw *g = hgw(gw);

	hap_traffic_stop(g->traffic);
	pthread_mutex_destroy(&g->lock);
	hap_state_release(&g->st);
	free(g->bin);
	free(g->listen);
	free(g->dir);
	free(g->cfg);
	free(g->sock);
	free(g->hosts);
	free(g->paths);
	free(g->meta);
	free(g->pidfile);
	free(g->log);
	free(g->traffic_sock);
	free(g);
}

static const struct gateway_ops hap_ops = {
	.name = "haproxy",
	.route_set = hap_route_set,
	.route_remove = hap_route_remove,
	.server_add = hap_server_add,
	.server_set_state = hap_server_set_state,
	.server_set_weight = hap_server_set_weight,
	.server_sessions = hap_server_sessions,
	.server_remove = hap_server_remove,
	.sync = hap_sync,
	.supervise = hap_supervise,
	.stop = hap_stop,
	.free = hap_free,
};

static int make_dir(const char *path, struct ferr *e)
{
	if (mkdir(path, 0700) < 0 && errno != EEXIST)
		return ferr_internal(e, "gateway: cannot create %s: %s", path, strerror(errno));
	return 0;
}

int haproxy_gateway_start(struct gateway **ret, const struct haproxy_config *cfg, struct ferr *e)
{
	char real[PATH_MAX];
	struct hap_gw *g;
	struct ferr le = FERR_INIT;

	*ret = NULL;
	if (!cfg->data_dir || !*cfg->data_dir)
		return ferr_invalid(e, "gateway: no data directory given");
	if (!cfg->listen || gateway_check_addr(cfg->listen, NULL) < 0)
		return ferr_invalid(e, "gateway: listen address \"%s\" is not HOST:PORT "
				    "(e.g. 127.0.0.1:8080)", cfg->listen ? cfg->listen : "");
	if (cfg->slots > HAP_MAX_SLOTS)
		return ferr_invalid(e, "gateway: at most %u route slots", HAP_MAX_SLOTS);
	if (make_dir(cfg->data_dir, e) < 0)
		return -1;
	if (!realpath(cfg->data_dir, real))
		return ferr_internal(e, "gateway: %s: %s", cfg->data_dir, strerror(errno));
	/* the paths go into HAProxy CLI commands, which split on spaces */
	for (const char *p = real; *p; p++)
		if (*p <= ' ' || *p == '"' || *p == ';' || *p == '#' || *p == '\\' || *p == '\'')
			return ferr_invalid(e, "gateway: data directory \"%s\" must not contain "
					    "spaces, quotes, '#', ';' or '\\'", real);

	g = calloc(1, sizeof(*g));
	if (!g)
		abort();
	g->base.ops = &hap_ops;
	pthread_mutex_init(&g->lock, NULL);
	if (cfg->haproxy_bin)
		g->bin = strdup(cfg->haproxy_bin);
	else
		g->bin = strdup(access("/usr/sbin/haproxy", X_OK) == 0 ? "/usr/sbin/haproxy"
								       : "haproxy");
	g->listen = strdup(cfg->listen);
	g->dir = join(real, "gateway");
	if (!g->bin || !g->listen)
		abort();
	g->cfg = join(g->dir, "haproxy.cfg");
	g->sock = join(g->dir, "haproxy.sock");
	g->hosts = join(g->dir, "hosts.map");
	g->paths = join(g->dir, "paths.map");
	g->meta = join(g->dir, "meta.map");
	{
		struct strbuf pf = STRBUF_INIT;
		pidfile_path(&pf, real, PIDFILE_GATEWAY);
		g->pidfile = strbuf_detach(&pf, NULL);
	}
	g->log = join(g->dir, "haproxy.log");
	g->traffic_sock = join(g->dir, "traffic.sock");
	g->files = (struct hap_files){ g->sock, g->hosts, g->paths, g->meta, NULL };
	hap_state_init(&g->st, cfg->slots ? cfg->slots : HAP_DEFAULT_SLOTS);
	if (strlen(g->sock) >= sizeof(((struct sockaddr_un *)0)->sun_path)) {
		ferr_invalid(e, "gateway: %s is too long for a unix socket path; use a "
			     "shorter data directory", g->sock);
		goto fail;
	}
	if (make_dir(g->dir, e) < 0)
		goto fail;
	if (hap_traffic_sink()) {
		g->traffic = hap_traffic_start(g->traffic_sock, e);
		if (!g->traffic)
			goto fail;
		g->files.traffic = g->traffic_sock;
	}
	if (adopt(g) == 0) {
		if (g->traffic && !logs_traffic(g) && reload_adopted(g, &le) < 0) {
			pass(e, &le);
			goto fail;
		}
		*ret = &g->base;
		return 0;
	}
	/* not adoptable (or not there): make sure it is gone, start afresh */
	if (g->pid > 0) {
		g->own = 0;
		terminate(g);
	}
	g->pid = 0;
	if (launch(g, &le) < 0) {
		pass(e, &le);
		goto fail;
	}
	*ret = &g->base;
	return 0;
fail:
	hap_free(&g->base);
	return -1;
}
