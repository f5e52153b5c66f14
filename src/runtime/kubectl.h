/* kubectl: ferry's client of the Kubernetes API, through kubectl.
 *
 * kubectl is Kubernetes' official client: it reads any kubeconfig (client
 * certificates, tokens, exec credential plugins such as cloud providers'
 * login helpers, OIDC), in-cluster service-account credentials when run in
 * a pod, contexts and proxies, and speaks server-side apply. Doing that with
 * libcurl would re-implement a part of client-go that every cluster
 * provider extends. Each call is one kubectl process (lib/spawn, no shell);
 * objects go to it on stdin, never through a file, so Secret values never
 * touch a disk.
 */
#ifndef FERRY_RUNTIME_KUBECTL_H
#define FERRY_RUNTIME_KUBECTL_H

#include <jansson.h>

#include "lib/error.h"

struct kubectl_config {
	const char *kubectl;      /* NULL: "kubectl" from PATH */
	const char *kubeconfig;   /* NULL: kubectl's default (KUBECONFIG, ~/.kube/config,
				     in-cluster) */
	const char *context;      /* NULL: the kubeconfig's current context */
};

struct kubectl;

/* Borrows cfg's strings (they must outlive the client). Runs nothing.
 * Returns 0 with *ret, or -1 with e set. */
int kubectl_new(struct kubectl **ret, const struct kubectl_config *cfg, struct ferr *e);
void kubectl_free(struct kubectl *k);

/* Checks that the cluster answers (kubectl version). Returns 0 or -1 with
 * e naming what kubectl said. */
int kubectl_check(struct kubectl *k, struct ferr *e);

/* Server-side apply of objs (a JSON array) with field manager "ferry",
 * taking over fields others changed (--force-conflicts: ferry's desired
 * state wins, that is drift repair). dry_run: the API server validates and
 * admits everything, nothing is stored. Returns 0, or -1 with e holding
 * kubectl's error (422 for what the API server refused). */
int kubectl_apply(struct kubectl *k, const json_t *objs, int dry_run, struct ferr *e);

/* GETs what (e.g. "deployment/web", "pods") in namespace ns (NULL: a
 * cluster-scoped object, or a list from all namespaces) with label
 * selector (NULL: none) into *ret (a new reference).
 * Returns 0, 1 when the object does not exist (*ret NULL), or -1. */
int kubectl_get(struct kubectl *k, const char *ns, const char *what, const char *selector,
		json_t **ret, struct ferr *e);

/* Watches what (e.g. "deployment/web": kubectl get --watch) in ns: calls
 * fn with the object as it is now, then after every change (each a
 * borrowed reference), until fn returns non-zero (then 0 is returned) or
 * timeout_ms pass (then 1), about once a second with obj NULL while
 * nothing changes. -1 with e set when kubectl fails (404: no such object). */
typedef int (*kubectl_watch_fn)(json_t *obj, void *arg);
int kubectl_watch(struct kubectl *k, const char *ns, const char *what, int timeout_ms,
		  kubectl_watch_fn fn, void *arg, struct ferr *e);

/* Deletes what in ns: one object ("job/x"), or the kinds what names
 * ("deployments,services") matching selector; dependents (a Job's pods)
 * go in the background. Nothing there is a success. */
int kubectl_delete(struct kubectl *k, const char *ns, const char *what, const char *selector,
		   struct ferr *e);

/* Streams the output of what (e.g. "job/x", or "deployment/web") in ns,
 * all containers, line by line into fn (NULL line: a tick, about once a
 * second), following it when follow until the pod ends or fn returns
 * non-zero. Returns 0, or -1 with e set. */
typedef int (*kubectl_line_fn)(const char *line, size_t len, void *arg);
int kubectl_logs_stream(struct kubectl *k, const char *ns, const char *what, const char *selector,
			int follow, kubectl_line_fn fn, void *arg, struct ferr *e);

/* How many kubectl calls (each one or more API requests) this client made. */
long kubectl_calls(const struct kubectl *k);

#endif
