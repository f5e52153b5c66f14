/* runtime: dispatch to the driver's ops table. */
#include "runtime.h"

#include <assert.h>
#include <stdlib.h>

#include "lib/banned.h"

int runtime_ensure_network(struct runtime *rt, const char *project,
			   const char *environment, struct ferr *e)
{
	return rt->ops->ensure_network(rt, project, environment, e);
}

int runtime_remove_network(struct runtime *rt, const char *project,
			   const char *environment, struct ferr *e)
{
	return rt->ops->remove_network(rt, project, environment, e);
}

int runtime_start_replica(struct runtime *rt, const struct runtime_spec *spec,
			  struct runtime_replica *ret, struct ferr *e)
{
	assert(spec && ret);
	return rt->ops->start_replica(rt, spec, ret, e);
}

int runtime_restart_replica(struct runtime *rt, const char *id, int grace_s,
			    struct ferr *e)
{
	return rt->ops->restart_replica(rt, id, grace_s, e);
}

int runtime_stop_replica(struct runtime *rt, const char *id, int grace_s,
			 struct ferr *e)
{
	return rt->ops->stop_replica(rt, id, grace_s, e);
}

int runtime_inspect(struct runtime *rt, const char *id, struct runtime_replica *ret,
		    struct ferr *e)
{
	assert(ret);
	return rt->ops->inspect(rt, id, ret, e);
}

int runtime_list(struct runtime *rt, const struct runtime_filter *f,
		 struct runtime_replica_list *ret, struct ferr *e)
{
	assert(ret && !ret->items);
	return rt->ops->list(rt, f, ret, e);
}

int runtime_logs(struct runtime *rt, const char *id, int follow,
		 runtime_log_fn fn, void *arg, struct ferr *e)
{
	assert(fn);
	return rt->ops->logs(rt, id, follow, fn, arg, e);
}

int runtime_exec_probe(struct runtime *rt, const char *id,
		       const char *const *argv, int timeout_ms,
		       struct strbuf *out, struct ferr *e)
{
	return rt->ops->exec_probe(rt, id, argv, timeout_ms, out, e);
}

int runtime_wait(struct runtime *rt, const char *id, int timeout_ms,
		 struct ferr *e)
{
	return rt->ops->wait(rt, id, timeout_ms, e);
}

void runtime_free(struct runtime *rt)
{
	if (rt)
		rt->ops->free(rt);
}

void runtime_replica_list_release(struct runtime_replica_list *l)
{
	free(l->items);
	l->items = NULL;
	l->n = 0;
}

int runtime_replica_host_port(const struct runtime_replica *r, int container_port)
{
	for (int i = 0; i < r->nports; i++)
		if (r->ports[i].container_port == container_port)
			return r->ports[i].host_port;
	return -1;
}

int runtime_images(struct runtime *rt, struct runtime_image_list *ret, struct ferr *e)
{
	assert(ret && !ret->items);
	ret->n = 0;
	return rt->ops->images ? rt->ops->images(rt, ret, e) : 0;
}

int runtime_remove_image(struct runtime *rt, const char *id, struct ferr *e)
{
	return rt->ops->remove_image ? rt->ops->remove_image(rt, id, e) : 0;
}

void runtime_image_list_release(struct runtime_image_list *l)
{
	for (size_t i = 0; i < l->n; i++) {
		for (size_t j = 0; j < l->items[i].n_refs; j++)
			free(l->items[i].refs[j]);
		free(l->items[i].refs);
		free(l->items[i].id);
	}
	free(l->items);
	l->items = NULL;
	l->n = 0;
}

int runtime_check_helpers(struct runtime *rt, int repair, struct runtime_helper *ret, size_t max,
			  struct ferr *e)
{
	return rt->ops->check_helpers ? rt->ops->check_helpers(rt, repair, ret, max, e) : 0;
}
