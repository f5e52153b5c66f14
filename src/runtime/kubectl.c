/* kubectl: the Kubernetes API through kubectl (see kubectl.h). */
#include "kubectl.h"

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lib/spawn.h"
#include "lib/strbuf.h"
#include "lib/clock.h"
#include "lib/banned.h"

#define OUT_CAP (32u << 20)
#define ERR_CAP (64u << 10)
#define CALL_MS 60000
#define MAX_ARGS 24

struct kubectl {
	const char *kubectl, *kubeconfig, *context;
	atomic_long calls;
};

int kubectl_new(struct kubectl **ret, const struct kubectl_config *cfg, struct ferr *e)
{
	struct kubectl *k = calloc(1, sizeof(*k));

	(void)e;
	if (!k)
		abort();
	k->kubectl = cfg->kubectl ? cfg->kubectl : "kubectl";
	k->kubeconfig = cfg->kubeconfig;
	k->context = cfg->context;
	*ret = k;
	return 0;
}

void kubectl_free(struct kubectl *k)
{
	if (!k)
		return;
	free(k);
}

long kubectl_calls(const struct kubectl *k)
{
	return atomic_load(&k->calls);
}

struct argv {
	const char *v[MAX_ARGS + 1];
	int n;
	char timeout[40];
};

static void add_arg(struct argv *a, const char *s)
{
	if (a->n < MAX_ARGS)
		a->v[a->n++] = s;
	a->v[a->n] = NULL;
}

/* kubectl and its connection flags; request_timeout "0" for a watch or a
 * followed log, which outlive any one request's timeout. */
static void argv_base_t(struct argv *a, const struct kubectl *k, const char *request_timeout)
{
	a->n = 0;
	add_arg(a, k->kubectl);
	if (k->kubeconfig) {
		add_arg(a, "--kubeconfig");
		add_arg(a, k->kubeconfig);
	}
	if (k->context) {
		add_arg(a, "--context");
		add_arg(a, k->context);
	}
	snprintf(a->timeout, sizeof(a->timeout), "--request-timeout=%s", request_timeout);
	add_arg(a, a->timeout);
}

static void argv_base(struct argv *a, const struct kubectl *k)
{
	argv_base_t(a, k, "30s");
}

/* kubectl's own message: its last "error: ..." or "Error from server ..."
 * line, else the last line. */
static void last_error(char *out, size_t size, const struct strbuf *err)
{
	const char *s = err->buf, *best = NULL;
	size_t blen = 0;

	for (const char *p = s; *p;) {
		size_t n = strcspn(p, "\n");
		if (n && (!strncmp(p, "error", 5) || !strncmp(p, "Error", 5) || !best)) {
			best = p;
			blen = n;
		}
		p += n;
		if (*p)
			p++;
	}
	snprintf(out, size, "%.*s", (int)(blen > 700 ? 700 : blen), best ? best : "no output");
}

static int call(struct kubectl *k, const struct argv *a, const char *in, size_t in_len,
		struct strbuf *out, struct strbuf *err, struct ferr *e)
{
	struct spawn_io io = { .argv = a->v, .in = in, .in_len = in_len, .out = out,
			       .out_cap = OUT_CAP, .err = err, .err_cap = ERR_CAP,
			       .timeout_ms = CALL_MS };

	atomic_fetch_add(&k->calls, 1);
	return spawn_pipe(&io, e);
}

static int fail(struct ferr *e, const char *what, const struct strbuf *err)
{
	char msg[720];

	last_error(msg, sizeof(msg), err);
	if (strstr(err->buf, "is invalid") || strstr(err->buf, "forbidden") || strstr(err->buf, "violate"))
		return ferr_set(e, 422, "kubernetes", "%s: %s", what, msg);
	return ferr_set(e, 502, "kubernetes", "%s: %s", what, msg);
}

/* Runs a, its stdout line by line into fn. Returns kubectl's exit status,
 * 0 when fn stopped it (killed), or -1 with e set. */
static int stream(struct kubectl *k, const struct argv *a, int timeout_ms, kubectl_line_fn fn,
		  void *arg, struct strbuf *err, struct ferr *e)
{
	struct spawn_io io = { .argv = a->v, .err = err, .err_cap = ERR_CAP, .timeout_ms = timeout_ms,
			       .on_line = fn, .arg = arg };
	int st;

	atomic_fetch_add(&k->calls, 1);
	st = spawn_pipe(&io, e);
	return st == 137 ? 0 : st;
}

int kubectl_check(struct kubectl *k, struct ferr *e)
{
	struct strbuf out = STRBUF_INIT, err = STRBUF_INIT;
	struct argv a;
	int st;

	argv_base(&a, k);
	add_arg(&a, "version");
	add_arg(&a, "-o");
	add_arg(&a, "json");
	st = call(k, &a, NULL, 0, &out, &err, e);
	if (st > 0 || (st == 0 && !strstr(out.buf, "serverVersion")))
		fail(e, "the Kubernetes API does not answer", &err);
	strbuf_release(&out);
	strbuf_release(&err);
	return st == 0 && !ferr_isset(e) ? 0 : -1;
}

int kubectl_apply(struct kubectl *k, const json_t *objs, int dry_run, struct ferr *e)
{
	struct strbuf out = STRBUF_INIT, err = STRBUF_INIT;
	json_t *list = json_pack("{s:s, s:s, s:O}", "apiVersion", "v1", "kind", "List", "items", objs);
	char *text = json_dumps(list, JSON_COMPACT);
	struct argv a;
	int st, rc = 0;

	json_decref(list);
	argv_base(&a, k);
	add_arg(&a, "apply");
	add_arg(&a, "--server-side");
	add_arg(&a, "--field-manager=ferry");
	add_arg(&a, "--force-conflicts");
	if (dry_run)
		add_arg(&a, "--dry-run=server");
	add_arg(&a, "-f");
	add_arg(&a, "-");
	st = call(k, &a, text, strlen(text), &out, &err, e);
	/* the text holds the configuration Secret's values */
	explicit_bzero(text, strlen(text));
	free(text);
	if (st < 0)
		rc = -1;
	else if (st > 0)
		rc = fail(e, dry_run ? "server-side dry run" : "server-side apply", &err);
	strbuf_release(&out);
	strbuf_release(&err);
	return rc;
}

int kubectl_get(struct kubectl *k, const char *ns, const char *what, const char *selector,
		json_t **ret, struct ferr *e)
{
	struct strbuf out = STRBUF_INIT, err = STRBUF_INIT;
	struct argv a;
	json_error_t je;
	int st, rc = 0;

	*ret = NULL;
	argv_base(&a, k);
	add_arg(&a, "get");
	add_arg(&a, what);
	if (ns) {
		add_arg(&a, "-n");
		add_arg(&a, ns);
	} else if (!strchr(what, '/')) {
		add_arg(&a, "--all-namespaces");
	}
	if (selector) {
		add_arg(&a, "-l");
		add_arg(&a, selector);
	}
	add_arg(&a, "-o");
	add_arg(&a, "json");
	st = call(k, &a, NULL, 0, &out, &err, e);
	if (st < 0)
		rc = -1;
	else if (st > 0 && strstr(err.buf, "NotFound"))
		rc = 1;
	else if (st > 0)
		rc = fail(e, what, &err);
	else if (!(*ret = json_loadb(out.buf, out.len, 0, &je)))
		rc = ferr_set(e, 502, "kubernetes", "kubectl get %s: not JSON: %s", what, je.text);
	strbuf_release(&out);
	strbuf_release(&err);
	return rc;
}



/* kubectl prints each watched object as indented JSON whose closing brace
 * is the only character on its line: objects are cut there. */
struct watch_ctx {
	struct strbuf doc;
	kubectl_watch_fn fn;
	void *arg;
	long long deadline;
	int timed_out, bad, stopped;
};

static int on_watch_line(const char *line, size_t len, void *arg)
{
	struct watch_ctx *w = arg;
	json_t *obj;
	int stop;

	if (w->deadline && mono_ms() >= w->deadline) {
		w->timed_out = 1;
		return 1;
	}
	if (!line)
		return (w->stopped = w->fn(NULL, w->arg) != 0);
	strbuf_add(&w->doc, line, len);
	strbuf_addch(&w->doc, '\n');
	if (len != 1 || line[0] != '}')
		return w->doc.len > OUT_CAP ? (w->bad = 1) : 0;
	obj = json_loadb(w->doc.buf, w->doc.len, 0, NULL);
	strbuf_reset(&w->doc);
	if (!obj) {
		w->bad = 1;
		return 1;
	}
	stop = w->fn(obj, w->arg);
	json_decref(obj);
	w->stopped = stop != 0;
	return stop;
}

int kubectl_watch(struct kubectl *k, const char *ns, const char *what, int timeout_ms,
		  kubectl_watch_fn fn, void *arg, struct ferr *e)
{
	struct watch_ctx w = { .doc = STRBUF_INIT, .fn = fn, .arg = arg,
			       .deadline = timeout_ms > 0 ? mono_ms() + timeout_ms : 0 };
	struct strbuf err = STRBUF_INIT;
	struct argv a;
	int st, rc = 0;

	argv_base_t(&a, k, "0");
	add_arg(&a, "get");
	add_arg(&a, what);
	add_arg(&a, "-n");
	add_arg(&a, ns);
	add_arg(&a, "--watch");
	add_arg(&a, "-o");
	add_arg(&a, "json");
	st = stream(k, &a, 0, on_watch_line, &w, &err, e);
	if (st < 0)
		rc = -1;
	else if (w.bad)
		rc = ferr_set(e, 502, "kubernetes", "kubectl get --watch %s: output that is not JSON", what);
	else if (w.stopped)
		rc = 0;   /* fn had what it waited for (kubectl killed: not a failure) */
	else if (w.timed_out)
		rc = 1;
	else if (st > 0 && strstr(err.buf, "NotFound"))
		rc = ferr_notfound(e, "%s not found in namespace %s", what, ns);
	else if (st > 0)
		rc = fail(e, "watch", &err);
	else
		/* the server ended the watch (its own timeout): the caller looks again */
		rc = 1;
	strbuf_release(&w.doc);
	strbuf_release(&err);
	return rc;
}

int kubectl_delete(struct kubectl *k, const char *ns, const char *what, const char *selector,
		   struct ferr *e)
{
	struct strbuf err = STRBUF_INIT;
	struct argv a;
	int st, rc = 0;

	argv_base(&a, k);
	add_arg(&a, "delete");
	add_arg(&a, what);
	add_arg(&a, "-n");
	add_arg(&a, ns);
	if (selector) {
		add_arg(&a, "-l");
		add_arg(&a, selector);
	}
	add_arg(&a, "--ignore-not-found");
	add_arg(&a, "--wait=false");
	add_arg(&a, "--cascade=background");
	st = call(k, &a, NULL, 0, NULL, &err, e);
	if (st < 0)
		rc = -1;
	else if (st > 0)
		rc = fail(e, "delete", &err);
	strbuf_release(&err);
	return rc;
}

int kubectl_logs_stream(struct kubectl *k, const char *ns, const char *what, const char *selector,
			int follow, kubectl_line_fn fn, void *arg, struct ferr *e)
{
	struct strbuf err = STRBUF_INIT;
	struct argv a;
	int st, rc = 0;

	argv_base_t(&a, k, follow ? "0" : "30s");
	add_arg(&a, "logs");
	if (what)
		add_arg(&a, what);
	add_arg(&a, "-n");
	add_arg(&a, ns);
	if (selector) {
		add_arg(&a, "-l");
		add_arg(&a, selector);
		add_arg(&a, "--prefix");
		add_arg(&a, "--max-log-requests=20");
	}
	add_arg(&a, "--all-containers");
	add_arg(&a, "--tail=-1");
	if (follow)
		add_arg(&a, "--follow");
	st = stream(k, &a, follow ? 0 : CALL_MS, fn, arg, &err, e);
	if (st < 0)
		rc = -1;
	else if (st > 0)
		rc = fail(e, "logs", &err);
	strbuf_release(&err);
	return rc;
}
