/* The podman driver's pure parts: JSON parsing, names, argument vectors.
 * Kept apart from podman.c (which runs processes) so unit tests cover them
 * without podman. */
#include "podman-int.h"

#include <assert.h>
#include <errno.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "configdir.h"
#include "lib/banned.h"

void pm_argv_push(struct pm_argv *a, const char *s)
{
	if (a->n + 2 > a->alloc) {
		size_t na = a->alloc ? a->alloc * 2 : 16;
		char **nv = realloc(a->v, na * sizeof(*nv));
		if (!nv)
			abort();
		a->v = nv;
		a->alloc = na;
	}
	a->v[a->n] = strdup(s);
	if (!a->v[a->n])
		abort();
	a->v[++a->n] = NULL;
}

void pm_argv_pushf(struct pm_argv *a, const char *fmt, ...)
{
	struct strbuf sb = STRBUF_INIT;
	va_list ap;

	va_start(ap, fmt);
	strbuf_vaddf(&sb, fmt, ap);
	va_end(ap);
	pm_argv_push(a, sb.buf);
	strbuf_release(&sb);
}

void pm_argv_release(struct pm_argv *a)
{
	for (size_t i = 0; i < a->n; i++)
		free(a->v[i]);
	free(a->v);
	a->v = NULL;
	a->n = a->alloc = 0;
}

void pm_image_release(struct pm_image *im)
{
	pm_argv_release(&im->entrypoint);
	pm_argv_release(&im->cmd);
	free(im->user);
	im->user = NULL;
	free(im->layers);
	im->layers = NULL;
}

int runtime_check_name(const char *what, const char *s, struct ferr *e)
{
	size_t n = s ? strlen(s) : 0;

	if (n == 0 || n > RUNTIME_NAME_MAX)
		return ferr_invalid(e, "%s name must have 1 to %d characters", what,
				    RUNTIME_NAME_MAX);
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') ||
		      s[i] == '-'))
			return ferr_invalid(e, "%s name \"%s\": use lowercase letters, "
					    "digits and '-'", what, s);
	if (s[0] == '-' || s[n - 1] == '-')
		return ferr_invalid(e, "%s name \"%s\" must not start or end with '-'",
				    what, s);
	return 0;
}

static int json_strv(json_t *arr, struct pm_argv *out, const char *what,
		     struct ferr *e)
{
	size_t i;
	json_t *v;

	if (!arr || json_is_null(arr))
		return 0;
	if (!json_is_array(arr))
		return ferr_set(e, 502, "runtime", "podman image inspect: %s is not a list",
				what);
	json_array_foreach(arr, i, v) {
		if (!json_is_string(v))
			return ferr_set(e, 502, "runtime", "podman image inspect: %s[%zu] "
					"is not a string", what, i);
		pm_argv_push(out, json_string_value(v));
	}
	return 0;
}

int pm_parse_image(const char *json, struct pm_image *ret, struct ferr *e)
{
	json_error_t je;
	json_t *root = json_loads(json, 0, &je), *img, *cfg, *user;
	int rc = -1;

	if (!root) {
		return ferr_set(e, 502, "runtime", "podman image inspect: bad JSON at "
				"line %d: %s", je.line, je.text);
	}
	img = json_is_array(root) ? json_array_get(root, 0) : NULL;
	if (!json_is_object(img)) {
		ferr_set(e, 502, "runtime", "podman image inspect: no image in output");
		goto out;
	}
	cfg = json_object_get(img, "Config");
	if (cfg && !json_is_object(cfg)) {
		ferr_set(e, 502, "runtime", "podman image inspect: Config is not an object");
		goto out;
	}
	if (json_strv(json_object_get(cfg, "Entrypoint"), &ret->entrypoint,
		      "Entrypoint", e) < 0 ||
	    json_strv(json_object_get(cfg, "Cmd"), &ret->cmd, "Cmd", e) < 0)
		goto out;
	user = json_object_get(cfg, "User");
	ret->user = strdup(json_is_string(user) ? json_string_value(user) : "");
	if (!ret->user)
		abort();
	{
		json_t *gd = json_object_get(img, "GraphDriver");
		json_t *data = json_object_get(gd, "Data");
		const char *name = json_string_value(json_object_get(gd, "Name"));
		const char *upper = json_string_value(json_object_get(data, "UpperDir"));
		const char *lower = json_string_value(json_object_get(data, "LowerDir"));

		if (name && !strcmp(name, "overlay") && upper && *upper && !strchr(upper, ':')) {
			size_t n = strlen(upper) + (lower ? strlen(lower) + 1 : 0) + 1;
			ret->layers = malloc(n);
			if (!ret->layers)
				abort();
			snprintf(ret->layers, n, "%s%s%s", upper, lower ? ":" : "", lower ? lower : "");
		}
	}
	rc = 0;
out:
	if (rc < 0)
		pm_image_release(ret);
	json_decref(root);
	return rc;
}

static void copy_label(char *dst, size_t size, json_t *labels, const char *key)
{
	const char *v = json_string_value(json_object_get(labels, key));

	snprintf(dst, size, "%s", v ? v : "");
}

static long long label_num(json_t *labels, const char *key)
{
	const char *v = json_string_value(json_object_get(labels, key));
	char *end;
	long long n;

	if (!v || !*v)
		return -1;
	errno = 0;
	n = strtoll(v, &end, 10);
	return errno || *end ? -1 : n;
}

static enum runtime_state parse_state(const char *s)
{
	if (!s)
		return RUNTIME_UNKNOWN;
	if (!strcmp(s, "running"))
		return RUNTIME_RUNNING;
	if (!strcmp(s, "created") || !strcmp(s, "configured") ||
	    !strcmp(s, "initialized"))
		return RUNTIME_CREATED;
	if (!strcmp(s, "paused"))
		return RUNTIME_PAUSED;
	if (!strcmp(s, "stopping"))
		return RUNTIME_STOPPING;
	if (!strcmp(s, "exited") || !strcmp(s, "stopped"))
		return RUNTIME_EXITED;
	return RUNTIME_UNKNOWN;
}

const char *runtime_state_name(enum runtime_state s)
{
	switch (s) {
	case RUNTIME_CREATED:  return "created";
	case RUNTIME_RUNNING:  return "running";
	case RUNTIME_PAUSED:   return "paused";
	case RUNTIME_STOPPING: return "stopping";
	case RUNTIME_EXITED:   return "exited";
	case RUNTIME_UNKNOWN:  break;
	}
	return "unknown";
}

/* The labels ferry put on a container; 0 if they are not all there. */
static int fill_labels(struct runtime_replica *r, json_t *labels, const char *instance)
{
	const char *inst = json_string_value(json_object_get(labels, "ferry.instance"));

	if (!inst || strcmp(inst, instance))
		return 0;
	copy_label(r->project, sizeof(r->project), labels, "ferry.project");
	copy_label(r->environment, sizeof(r->environment), labels, "ferry.environment");
	copy_label(r->component, sizeof(r->component), labels, "ferry.component");
	r->deployment = label_num(labels, "ferry.deployment");
	r->replica = (int)label_num(labels, "ferry.replica");
	r->task = label_num(labels, "ferry.task") == 1;
	return r->project[0] && r->environment[0] && r->component[0] &&
	       r->deployment > 0 && r->replica >= 0;
}

static int matches(const struct runtime_replica *r, const struct runtime_filter *f)
{
	if (!f)
		return 1;
	return (!f->project || !strcmp(f->project, r->project)) &&
	       (!f->environment || !strcmp(f->environment, r->environment)) &&
	       (!f->component || !strcmp(f->component, r->component)) &&
	       (!f->deployment || f->deployment == r->deployment);
}

static int by_name(const void *a, const void *b)
{
	return strcmp(((const struct runtime_replica *)a)->name,
		      ((const struct runtime_replica *)b)->name);
}

int pm_parse_ps(const char *json, const char *instance, const struct runtime_filter *f,
		struct runtime_replica_list *ret, struct ferr *e)
{
	json_error_t je;
	json_t *root = json_loads(json, 0, &je), *c;
	size_t i;

	if (!root)
		return ferr_set(e, 502, "runtime", "podman ps: bad JSON at line %d: %s",
				je.line, je.text);
	if (!json_is_array(root)) {
		json_decref(root);
		return ferr_set(e, 502, "runtime", "podman ps: output is not a list");
	}
	ret->items = calloc(json_array_size(root) + 1, sizeof(*ret->items));
	if (!ret->items)
		abort();
	ret->n = 0;
	json_array_foreach(root, i, c) {
		struct runtime_replica *r = &ret->items[ret->n];
		json_t *ports = json_object_get(c, "Ports"), *p;
		const char *id = json_string_value(json_object_get(c, "Id"));
		const char *name = json_string_value(json_array_get(json_object_get(c, "Names"), 0));
		size_t j;

		memset(r, 0, sizeof(*r));
		if (!id || !name || !fill_labels(r, json_object_get(c, "Labels"), instance) ||
		    !matches(r, f))
			continue;
		snprintf(r->id, sizeof(r->id), "%s", id);
		snprintf(r->name, sizeof(r->name), "%s", name);
		r->state = parse_state(json_string_value(json_object_get(c, "State")));
		r->exit_code = (int)json_integer_value(json_object_get(c, "ExitCode"));
		r->restarts = -1;
		json_array_foreach(ports, j, p) {
			if (r->nports >= RUNTIME_MAX_PORTS)
				break;
			r->ports[r->nports].container_port =
				(int)json_integer_value(json_object_get(p, "container_port"));
			r->ports[r->nports].host_port =
				(int)json_integer_value(json_object_get(p, "host_port"));
			r->nports++;
		}
		ret->n++;
	}
	json_decref(root);
	qsort(ret->items, ret->n, sizeof(*ret->items), by_name);
	return 0;
}

int pm_parse_inspect(const char *json, const char *instance,
		     struct runtime_replica *ret, struct ferr *e)
{
	json_error_t je;
	json_t *root = json_loads(json, 0, &je), *c, *state, *ports, *cfg, *binds;
	const char *id, *name, *key;
	int rc = -1;

	memset(ret, 0, sizeof(*ret));
	if (!root)
		return ferr_set(e, 502, "runtime", "podman inspect: bad JSON at line %d: %s",
				je.line, je.text);
	c = json_is_array(root) ? json_array_get(root, 0) : NULL;
	id = json_string_value(json_object_get(c, "Id"));
	name = json_string_value(json_object_get(c, "Name"));
	cfg = json_object_get(c, "Config");
	if (!id || !name) {
		ferr_notfound(e, "no such replica");
		goto out;
	}
	if (!fill_labels(ret, json_object_get(cfg, "Labels"), instance)) {
		ferr_notfound(e, "container %s is not a replica of this ferry instance", name);
		goto out;
	}
	snprintf(ret->id, sizeof(ret->id), "%s", id);
	snprintf(ret->name, sizeof(ret->name), "%s", name);
	state = json_object_get(c, "State");
	ret->state = parse_state(json_string_value(json_object_get(state, "Status")));
	ret->exit_code = (int)json_integer_value(json_object_get(state, "ExitCode"));
	ret->restarts = (int)json_integer_value(json_object_get(c, "RestartCount"));
	ports = json_object_get(json_object_get(c, "NetworkSettings"), "Ports");
	json_object_foreach(ports, key, binds) {
		const char *hp = json_string_value(json_object_get(json_array_get(binds, 0),
								   "HostPort"));
		int cport = atoi(key);

		if (ret->nports >= RUNTIME_MAX_PORTS || cport <= 0 || !hp)
			continue;
		ret->ports[ret->nports].container_port = cport;
		ret->ports[ret->nports].host_port = atoi(hp);
		ret->nports++;
	}
	rc = 0;
out:
	json_decref(root);
	return rc;
}

int pm_parse_network(const char *json, int *ret_dns, int *ret_isolated,
		     struct ferr *e)
{
	json_error_t je;
	json_t *root = json_loads(json, 0, &je), *n;
	const char *iso;

	if (!root)
		return ferr_set(e, 502, "runtime", "podman network inspect: bad JSON at "
				"line %d: %s", je.line, je.text);
	n = json_is_array(root) ? json_array_get(root, 0) : NULL;
	if (!json_is_object(n)) {
		json_decref(root);
		return ferr_set(e, 502, "runtime", "podman network inspect: no network "
				"in output");
	}
	iso = json_string_value(json_object_get(json_object_get(n, "options"), "isolate"));
	*ret_dns = json_is_true(json_object_get(n, "dns_enabled"));
	*ret_isolated = iso && !strcmp(iso, "true");
	json_decref(root);
	return 0;
}

/* Looks name up in an /etc/passwd (fields=7, id at 2, gid at 3) or
 * /etc/group (id at 2) text. Returns 0 and the ids, or -1. */
static int db_lookup(const char *db, const char *name, long *ret_id, long *ret_gid)
{
	size_t nl = strlen(name);

	for (const char *line = db; line && *line;) {
		const char *end = strchrnul(line, '\n');
		if ((size_t)(end - line) > nl && !strncmp(line, name, nl) && line[nl] == ':') {
			/* name:x:id:gid:... */
			const char *f = memchr(line + nl + 1, ':', (size_t)(end - line - nl - 1));
			char *after;
			if (f) {
				*ret_id = strtol(f + 1, &after, 10);
				if (after != f + 1 && (*after == ':' || after == end)) {
					if (ret_gid)
						*ret_gid = *after == ':' ? strtol(after + 1, NULL, 10) : -1;
					return 0;
				}
			}
		}
		line = *end ? end + 1 : end;
	}
	return -1;
}

static int parse_id(const char *s, size_t len, long *ret)
{
	long v = 0;

	if (len == 0 || len > 9)
		return -1;
	for (size_t i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	*ret = v;
	return 0;
}

int pm_resolve_user(const char *user, const char *passwd, const char *group,
		    uid_t *ret_uid, gid_t *ret_gid, struct ferr *e)
{
	const char *colon = strchr(user, ':');
	size_t ulen = colon ? (size_t)(colon - user) : strlen(user);
	long uid = 0, gid = -1;
	char name[256];

	if (ulen == 0) {
		uid = 0;
		gid = 0;
	} else if (parse_id(user, ulen, &uid) < 0) {
		if (ulen >= sizeof(name))
			return ferr_invalid(e, "image user name is too long");
		memcpy(name, user, ulen);
		name[ulen] = '\0';
		if (!passwd || db_lookup(passwd, name, &uid, &gid) < 0)
			return ferr_invalid(e, "the image's user \"%s\" is not in its "
					    "/etc/passwd", name);
	} else if (!colon) {
		/* numeric uid with no group: the primary group, if the image says */
		long g = -1;
		char key[32];
		snprintf(key, sizeof(key), "%ld", uid);
		gid = uid;
		for (const char *line = passwd; line && *line;) {
			const char *end = strchrnul(line, '\n');
			const char *f = memchr(line, ':', (size_t)(end - line));
			if (f && (f = memchr(f + 1, ':', (size_t)(end - f - 1)))) {
				size_t kl = strlen(key);
				if (!strncmp(f + 1, key, kl) && f[1 + kl] == ':') {
					g = strtol(f + 2 + kl, NULL, 10);
					break;
				}
			}
			line = *end ? end + 1 : end;
		}
		if (g >= 0)
			gid = g;
	}
	if (colon) {
		const char *gs = colon + 1;
		if (parse_id(gs, strlen(gs), &gid) < 0 &&
		    (!group || db_lookup(group, gs, &gid, NULL) < 0))
			return ferr_invalid(e, "the image's group \"%s\" is not in its "
					    "/etc/group", gs);
	}
	if (gid < 0)
		gid = uid;
	*ret_uid = (uid_t)uid;
	*ret_gid = (gid_t)gid;
	return 0;
}

void pm_format_cpus(char *buf, size_t size, int millicores)
{
	snprintf(buf, size, "%d.%03d", millicores / 1000, millicores % 1000);
}

void pm_network_name(struct strbuf *out, const struct podman *p,
		     const char *project, const char *environment)
{
	strbuf_addf(out, "%s-%s-%s", p->prefix, project, environment);
}

void pm_replica_name(struct strbuf *out, const struct podman *p,
		     const struct runtime_spec *spec)
{
	strbuf_addf(out, "%s-%s-%s-%s-d%lld-r%d", p->prefix, spec->project,
		    spec->environment, spec->component, spec->deployment, spec->replica);
}

static int check_mount_path(const char *path, struct ferr *e)
{
	if (!path || path[0] != '/')
		return ferr_invalid(e, "file mount path \"%s\" must be absolute",
				    path ? path : "");
	if (strlen(path) > 1024 || strpbrk(path, ":,\n") || strstr(path, "/../") ||
	    strstr(path, "/./") || !strcmp(path, "/"))
		return ferr_invalid(e, "file mount path \"%s\": use a plain absolute "
				    "path without ':', ',', '.' or '..' parts", path);
	if (!strncmp(path, "/.ferry", 7) && (path[7] == '/' || !path[7]))
		return ferr_invalid(e, "file mount path \"%s\" is reserved for ferry", path);
	if (!strncmp(path, "/proc/", 6) || !strncmp(path, "/sys/", 5) ||
	    !strncmp(path, "/dev/", 5))
		return ferr_invalid(e, "file mount path \"%s\" is under a system "
				    "directory", path);
	return 0;
}

int pm_check_spec(const struct runtime_spec *spec, struct ferr *e)
{
	if (runtime_check_name("project", spec->project, e) < 0 ||
	    runtime_check_name("environment", spec->environment, e) < 0 ||
	    runtime_check_name("component", spec->component, e) < 0)
		return -1;
	if (spec->deployment <= 0 || spec->replica < 0 || spec->replica > 999)
		return ferr_invalid(e, "bad deployment id %lld or replica index %d",
				    spec->deployment, spec->replica);
	if (!spec->image || !*spec->image || spec->image[0] == '-' ||
	    strlen(spec->image) > 512 || strpbrk(spec->image, " \t\n"))
		return ferr_invalid(e, "bad image reference \"%s\"",
				    spec->image ? spec->image : "");
	if (spec->cpu_millicores < 0 || spec->cpu_millicores > 1000 * 1024)
		return ferr_invalid(e, "CPU limit of %d millicores is out of range",
				    spec->cpu_millicores);
	if (spec->memory_bytes && spec->memory_bytes < (6ll << 20))
		return ferr_invalid(e, "memory limit of %lld bytes is below the "
				    "minimum of 6 MiB", spec->memory_bytes);
	if (spec->memory_bytes < 0 || spec->nports < 0 || spec->nports > RUNTIME_MAX_PORTS)
		return ferr_invalid(e, "bad memory limit or port count");
	for (int i = 0; i < spec->nports; i++)
		if (spec->ports[i] < 1 || spec->ports[i] > 65535)
			return ferr_invalid(e, "port %d is not in 1-65535", spec->ports[i]);
	for (size_t i = 0; i < spec->nfiles; i++) {
		if (check_mount_path(spec->files[i].path, e) < 0)
			return -1;
		for (size_t j = 0; j < i; j++)
			if (!strcmp(spec->files[i].path, spec->files[j].path))
				return ferr_invalid(e, "file mount path \"%s\" is given twice",
						    spec->files[i].path);
	}
	for (size_t i = 0; spec->capabilities && spec->capabilities[i]; i++) {
		const char *c = spec->capabilities[i];

		if (!*c || strlen(c) > 32 || strspn(c, "ABCDEFGHIJKLMNOPQRSTUVWXYZ_") != strlen(c))
			return ferr_invalid(e, "bad capability name \"%s\"", c);
	}
	return 0;
}

void pm_run_argv(struct pm_argv *a, const struct podman *p,
		 const struct runtime_spec *spec, const struct pm_image *im,
		 const char *name, const char *net)
{
	char cpus[32];

	pm_argv_push(a, p->program);
	pm_argv_push(a, "run");
	pm_argv_push(a, "--detach");
	pm_argv_push(a, "--pull=never");
	pm_argv_pushf(a, "--name=%s", name);
	pm_argv_pushf(a, "--label=ferry.instance=%s", p->instance);
	pm_argv_pushf(a, "--label=ferry.project=%s", spec->project);
	pm_argv_pushf(a, "--label=ferry.environment=%s", spec->environment);
	pm_argv_pushf(a, "--label=ferry.component=%s", spec->component);
	pm_argv_pushf(a, "--label=ferry.deployment=%lld", spec->deployment);
	pm_argv_pushf(a, "--label=ferry.replica=%d", spec->replica);
	if (spec->task)
		pm_argv_push(a, "--label=ferry.task=1");
	pm_argv_pushf(a, "--network=%s", net);
	pm_argv_pushf(a, "--network-alias=%s", spec->component);
	pm_argv_pushf(a, "--hostname=%s", spec->component);
	if (spec->cpu_millicores > 0) {
		pm_format_cpus(cpus, sizeof(cpus), spec->cpu_millicores);
		pm_argv_pushf(a, "--cpus=%s", cpus);
	}
	if (spec->memory_bytes > 0) {
		pm_argv_pushf(a, "--memory=%lldb", spec->memory_bytes);
		/* no swap beyond the limit: the limit means what it says */
		pm_argv_pushf(a, "--memory-swap=%lldb", spec->memory_bytes);
	}
	if (spec->task)
		pm_argv_push(a, "--restart=no");
	else
		pm_argv_pushf(a, "--restart=on-failure:%d", p->restart_max);
	for (int i = 0; i < spec->nports; i++)
		pm_argv_pushf(a, "--publish=127.0.0.1::%d/tcp", spec->ports[i]);
	pm_argv_push(a, "--log-opt=max-size=10mb");
	/* No capability but the declared ones, no setuid or file-capability
	 * gain inside. podman's default seccomp profile stays on: ferry never
	 * passes seccomp=unconfined. --read-only keeps podman's tmpfs on /tmp,
	 * /var/tmp and /run (--read-only-tmpfs, on by default). */
	pm_argv_push(a, "--security-opt=no-new-privileges");
	pm_argv_push(a, "--cap-drop=all");
	for (size_t i = 0; spec->capabilities && spec->capabilities[i]; i++)
		pm_argv_pushf(a, "--cap-add=%s", spec->capabilities[i]);
	if (spec->read_only_root)
		pm_argv_push(a, "--read-only");
	pm_argv_pushf(a, "--volume=%s:/.ferry/init:ro", p->init_path);
	pm_argv_pushf(a, "--volume=%s/%s:/.ferry/config:ro", p->run_dir, name);
	for (size_t i = 0; i < spec->nfiles; i++) {
		struct strbuf src = STRBUF_INIT;
		configdir_file_path(&src, p->run_dir, name, i);
		pm_argv_pushf(a, "--volume=%s:%s:ro", src.buf, spec->files[i].path);
		strbuf_release(&src);
	}
	pm_argv_push(a, "--entrypoint=/.ferry/init");
	pm_argv_push(a, spec->image);
	pm_argv_push(a, "--");
	for (size_t i = 0; i < im->entrypoint.n; i++)
		pm_argv_push(a, im->entrypoint.v[i]);
	if (spec->args) {
		for (size_t i = 0; spec->args[i]; i++)
			pm_argv_push(a, spec->args[i]);
	} else {
		for (size_t i = 0; i < im->cmd.n; i++)
			pm_argv_push(a, im->cmd.v[i]);
	}
}

static char *dup_or_abort(const char *s)
{
	char *d = strdup(s);

	if (!d)
		abort();
	return d;
}

int pm_parse_images(const char *json, struct runtime_image_list *ret, struct ferr *e)
{
	json_error_t je;
	json_t *root = json_loads(json, 0, &je), *img;
	size_t i;

	if (!root || !json_is_array(root)) {
		json_decref(root);
		return ferr_set(e, 502, "runtime", "podman images: not a JSON array: %s", je.text);
	}
	ret->items = calloc(json_array_size(root) + 1, sizeof(*ret->items));
	if (!ret->items)
		abort();
	json_array_foreach(root, i, img) {
		json_t *digests = json_object_get(img, "RepoDigests"), *d;
		const char *id = json_string_value(json_object_get(img, "Id"));
		struct runtime_image *it;
		size_t j;

		if (!id || !json_is_array(digests) || !json_array_size(digests))
			continue;
		it = &ret->items[ret->n++];
		it->id = dup_or_abort(id);
		it->size = json_integer_value(json_object_get(img, "Size"));
		it->containers = (int)json_integer_value(json_object_get(img, "Containers"));
		it->refs = calloc(json_array_size(digests), sizeof(*it->refs));
		if (!it->refs)
			abort();
		json_array_foreach(digests, j, d)
			if (json_is_string(d))
				it->refs[it->n_refs++] = dup_or_abort(json_string_value(d));
	}
	json_decref(root);
	return 0;
}
