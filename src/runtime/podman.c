/* The podman driver: runs the podman CLI (lib/spawn, never a shell). */
#include "podman-int.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "configdir.h"
#include "layerfile.h"
#include "cni_dns.h"
#include "subnet.h"
#include "lib/beneath.h"
#include "lib/clock.h"
#include "lib/log.h"
#include "lib/spawn.h"
#include "lib/xalloc.h"
#include "lib/banned.h"

#define OUT_CAP (4u << 20)     /* podman's JSON output */
#define ERR_CAP (16u << 10)    /* podman's complaints */
#define CALL_MS (60 * 1000)    /* an ordinary podman call */
#define PULL_MS (10 * 60 * 1000)
#define LOG_LINE_MAX (16u << 10)
#define PROBE_OUT_CAP (64u << 10)


static struct podman *to_podman(struct runtime *rt)
{
	return (struct podman *)rt;
}

/* The value remembered under key in memo[n] (a copy), or NULL. */
static char *memo_get(struct podman *p, struct pm_memo *memo, size_t n, const char *key)
{
	char *v = NULL;

	pthread_mutex_lock(&p->lock);
	for (size_t i = 0; i < n; i++)
		if (memo[i].key && !strcmp(memo[i].key, key)) {
			v = xstrdup(memo[i].value);
			break;
		}
	pthread_mutex_unlock(&p->lock);
	return v;
}

static void memo_put(struct podman *p, struct pm_memo *memo, size_t n, size_t *next,
		     const char *key, const char *value)
{
	struct pm_memo *m;

	pthread_mutex_lock(&p->lock);
	for (size_t i = 0; i < n; i++)
		if (memo[i].key && !strcmp(memo[i].key, key))
			goto out;
	m = &memo[(*next)++ % n];
	free(m->key);
	free(m->value);
	m->key = xstrdup(key);
	m->value = xstrdup(value);
out:
	pthread_mutex_unlock(&p->lock);
}

/* Forgets key in memo[n], or everything with key NULL. */
static void memo_forget(struct podman *p, struct pm_memo *memo, size_t n, const char *key)
{
	pthread_mutex_lock(&p->lock);
	for (size_t i = 0; i < n; i++)
		if (memo[i].key && (!key || !strcmp(memo[i].key, key))) {
			free(memo[i].key);
			free(memo[i].value);
			memo[i].key = memo[i].value = NULL;
		}
	pthread_mutex_unlock(&p->lock);
}

#define NMEMO(a) (sizeof(a) / sizeof((a)[0]))

/* Drops the remembered `podman ps` answer: the replicas change. */
static void ps_forget(struct podman *p)
{
	pthread_mutex_lock(&p->lock);
	free(p->ps_json);
	p->ps_json = NULL;
	p->ps_gen++;
	pthread_mutex_unlock(&p->lock);
}

/* Runs argv with the driver's environment, stdout into out and stderr into
 * err (each capped; either may be NULL). Returns the exit status, or -1 with
 * e set when it could not run or timed out (code "timeout"). */
static int pm_call(struct podman *p, const char *const *argv, struct strbuf *out,
		   struct strbuf *err, int timeout_ms, struct ferr *e)
{
	struct spawn_io io = { .argv = argv, .env = (const char *const *)p->env,
			       .out = out, .out_cap = OUT_CAP, .err = err, .err_cap = ERR_CAP,
			       .timeout_ms = timeout_ms };
	struct ferr pe = FERR_INIT;
	long long t0 = mono_ms();
	int status = spawn_pipe(&io, &pe);

	/* what each podman call costs: the rollout's latency is mostly these */
	log_debug("event=podman_call cmd=\"%s %s\" status=%d ms=%lld", argv[1],
		  argv[2] && argv[2][0] != '-' ? argv[2] : "", status, mono_ms() - t0);
	if (status < 0 && !strcmp(pe.code, "timeout"))
		return ferr_set(e, 504, "timeout", "podman %s timed out after %d s", argv[1],
				timeout_ms / 1000);
	if (status < 0)
		ferr_set(e, pe.status, pe.code, "%s", pe.msg);
	return status;
}

static void rtrim(struct strbuf *sb)
{
	while (sb->len && (sb->buf[sb->len - 1] == '\n' || sb->buf[sb->len - 1] == ' ' ||
			   sb->buf[sb->len - 1] == '\r'))
		strbuf_setlen(sb, sb->len - 1);
}

/* An error for a podman call that exited with status, quoting podman's last
 * stderr line (podman prints "Error: ..."). */
static int pm_fail(struct ferr *e, const char *what, int status, struct strbuf *err)
{
	const char *msg;

	rtrim(err);
	msg = strrchr(err->buf, '\n');
	msg = msg ? msg + 1 : err->buf;
	if (!strncmp(msg, "Error: ", 7))
		msg += 7;
	return ferr_set(e, 502, "runtime", "%s: podman exited with %d: %s", what, status,
			*msg ? msg : "(no message)");
}

/* Runs a podman call that must succeed; out may be NULL. */
static int pm_do(struct podman *p, const char *const *argv, struct strbuf *out,
		 int timeout_ms, const char *what, struct ferr *e)
{
	struct strbuf err = STRBUF_INIT;
	int st = pm_call(p, argv, out, &err, timeout_ms, e);

	if (st > 0)
		pm_fail(e, what, st, &err);
	strbuf_release(&err);
	return st == 0 ? 0 : -1;
}

/* `podman <kind> exists NAME`: 1 yes, 0 no, -1 error. */
static int pm_exists(struct podman *p, const char *kind, const char *name, struct ferr *e)
{
	const char *argv[] = { p->program, kind, "exists", name, NULL };
	struct strbuf err = STRBUF_INIT;
	int st = pm_call(p, argv, NULL, &err, CALL_MS, e);

	if (st > 1)
		pm_fail(e, kind, st, &err);
	strbuf_release(&err);
	return st < 0 || st > 1 ? -1 : st == 0;
}

/* Checks that the existing network net has what ferry relies on. */
static int pm_verify_network(struct podman *p, const char *net, struct ferr *e)
{
	const char *argv[] = { p->program, "network", "inspect", "--format=json", net, NULL };
	struct strbuf out = STRBUF_INIT;
	int dns = 0, iso = 0, rc = -1;

	if (pm_do(p, argv, &out, CALL_MS, "inspect network", e) < 0 ||
	    pm_parse_network(out.buf, &dns, &iso, e) < 0)
		goto out;
	if (!iso)
		ferr_conflict(e, "it exists without the isolate option, so other "
			      "environments could reach it: remove it (podman network rm "
			      "%s) and let ferry create it", net);
	else if (!dns)
		ferr_set(e, 500, "runtime", "it has no DNS, so replicas cannot reach "
			 "their neighbours by name: install the DNS plugin of podman's "
			 "network backend (CNI: golang-github-containernetworking-plugin-"
			 "dnsname; netavark: aardvark-dns), then remove the network "
			 "(podman network rm %s) and let ferry create it again", net);
	else
		rc = 0;
out:
	strbuf_release(&out);
	return rc;
}

static int pm_ensure_network(struct runtime *rt, const char *project,
			     const char *environment, struct ferr *e)
{
	struct podman *p = to_podman(rt);
	struct strbuf net = STRBUF_INIT, l1 = STRBUF_INIT, l2 = STRBUF_INIT,
		      l3 = STRBUF_INIT, err = STRBUF_INIT;
	int rc = -1, st, ex;

	if (runtime_check_name("project", project, e) < 0 ||
	    runtime_check_name("environment", environment, e) < 0)
		return -1;
	pm_network_name(&net, p, project, environment);
	{
		char *seen = memo_get(p, p->nets, NMEMO(p->nets), net.buf);
		if (seen) {
			free(seen);
			rc = 0;
			goto out;
		}
	}
	ex = pm_exists(p, "network", net.buf, e);
	if (ex < 0)
		goto out;
	if (ex == 0) {
		strbuf_addf(&l1, "--label=ferry.instance=%s", p->instance);
		strbuf_addf(&l2, "--label=ferry.project=%s", project);
		strbuf_addf(&l3, "--label=ferry.environment=%s", environment);
		/* isolate=true: the firewall drops traffic from other bridges
		 * (CNI: ingressPolicy same-bridge; netavark: isolate), so no
		 * other environment can reach this one. DNS stays on so that
		 * replicas find their neighbours by component name. */
		char subnet[32], sub_opt[48];
		int cursor = 0, tries = 0;
		const char *argv[] = { p->program, "network", "create", "--opt=isolate=true", sub_opt,
				       l1.buf, l2.buf, l3.buf, net.buf, NULL };
		/* A subnet no host interface holds (runtime/subnet.h); one that
		 * another network has is refused by podman: try the next. */
		do {
			if (subnet_next_free(&cursor, subnet, sizeof(subnet), e) < 0)
				goto out;
			snprintf(sub_opt, sizeof(sub_opt), "--subnet=%s", subnet);
			strbuf_reset(&err);
			st = pm_call(p, argv, NULL, &err, CALL_MS, e);
			if (st < 0)
				goto out;
		} while (st > 0 && strstr(err.buf, "already used") && ++tries < 64);
		/* st > 0 may be a lost race with another creator: then it exists */
		if (st > 0 && pm_exists(p, "network", net.buf, NULL) != 1) {
			pm_fail(e, "create network", st, &err);
			goto out;
		}
	}
	rc = pm_verify_network(p, net.buf, e);
	if (rc == 0)
		memo_put(p, p->nets, NMEMO(p->nets), &p->next_net, net.buf, "");
out:
	if (rc < 0)
		ferr_prefix(e, "network %s", net.buf);
	strbuf_release(&net);
	strbuf_release(&l1);
	strbuf_release(&l2);
	strbuf_release(&l3);
	strbuf_release(&err);
	return rc;
}

static int pm_remove_network(struct runtime *rt, const char *project,
			     const char *environment, struct ferr *e)
{
	struct podman *p = to_podman(rt);
	struct strbuf net = STRBUF_INIT, err = STRBUF_INIT;
	int rc = -1, ex, st;

	if (runtime_check_name("project", project, e) < 0 ||
	    runtime_check_name("environment", environment, e) < 0)
		return -1;
	pm_network_name(&net, p, project, environment);
	memo_forget(p, p->nets, NMEMO(p->nets), net.buf);
	ex = pm_exists(p, "network", net.buf, e);
	if (ex <= 0) {
		rc = ex;
		goto out;
	}
	{
		const char *argv[] = { p->program, "network", "rm", net.buf, NULL };
		st = pm_call(p, argv, NULL, &err, CALL_MS, e);
	}
	if (st == 0) {
		rc = 0;
		cni_dns_stop(net.buf);
	} else if (st > 0 && (strstr(err.buf, "being used") || strstr(err.buf, "in use") ||
			     strstr(err.buf, "associated containers")))
		ferr_conflict(e, "network %s still has replicas attached: stop them first",
			      net.buf);
	else if (st > 0)
		pm_fail(e, "remove network", st, &err);
out:
	strbuf_release(&net);
	strbuf_release(&err);
	return rc;
}

static int pm_inspect_image(struct podman *p, const char *image, struct pm_image *ret,
			    struct ferr *e)
{
	const char *argv[] = { p->program, "image", "inspect", "--format=json", image, NULL };
	const char *pull[] = { p->program, "pull", "--quiet", image, NULL };
	struct strbuf out = STRBUF_INIT, err = STRBUF_INIT;
	char *known = memo_get(p, p->images, NMEMO(p->images), image);
	int st, rc = -1;

	if (known) {
		rc = pm_parse_image(known, ret, e);
		free(known);
		goto out;
	}
	if (strstr(image, "@sha256:")) {
		/* A digest not seen yet is most often one just built and pushed:
		 * pull first, sparing the inspect that would fail. A pull that
		 * fails (the registry down) falls back to what is local. */
		struct ferr pe = FERR_INIT;
		if (pm_do(p, pull, NULL, PULL_MS, "pull image", &pe) == 0) {
			if (pm_do(p, argv, &out, CALL_MS, "inspect image", e) < 0)
				goto out;
			goto parse;
		}
	}
	st = pm_call(p, argv, &out, &err, CALL_MS, e);
	if (st < 0)
		goto out;
	if (st > 0) {
		if (pm_do(p, pull, NULL, PULL_MS, "pull image", e) < 0)
			goto out;
		strbuf_reset(&out);
		if (pm_do(p, argv, &out, CALL_MS, "inspect image", e) < 0)
			goto out;
	}
parse:
	rc = pm_parse_image(out.buf, ret, e);
	/* a digest names the same config for ever; a tag may move */
	if (rc == 0 && strstr(image, "@sha256:"))
		memo_put(p, p->images, NMEMO(p->images), &p->next_image, image, out.buf);
out:
	if (rc < 0)
		ferr_prefix(e, "image %s", image);
	strbuf_release(&out);
	strbuf_release(&err);
	return rc;
}

/* Reads at most cap bytes of mnt/rel, refusing a symlink as last part. */
static char *read_image_file(const char *mnt, const char *rel, size_t cap)
{
	struct strbuf sb = STRBUF_INIT;
	/* inside the image's root: an absolute link there is not the host's */
	int fd = open_beneath_path(mnt, rel, O_RDONLY | O_NOFOLLOW, 0);

	if (fd < 0)
		return NULL;
	strbuf_read_fd(&sb, fd, cap); /* a prefix is enough */
	close(fd);
	return strbuf_detach(&sb, NULL);
}

static int owner_cached(struct podman *p, const char *image, uid_t *uid, gid_t *gid)
{
	int found = 0;

	pthread_mutex_lock(&p->lock);
	for (size_t i = 0; i < sizeof(p->owners) / sizeof(p->owners[0]); i++)
		if (p->owners[i].image && !strcmp(p->owners[i].image, image)) {
			*uid = p->owners[i].uid;
			*gid = p->owners[i].gid;
			found = 1;
			break;
		}
	pthread_mutex_unlock(&p->lock);
	return found;
}

static void owner_remember(struct podman *p, const char *image, uid_t uid, gid_t gid)
{
	struct pm_owner *o;

	if (!strstr(image, "@sha256:"))
		return; /* a tag may move: only digests are immutable */
	pthread_mutex_lock(&p->lock);
	o = &p->owners[p->next_owner++ % (sizeof(p->owners) / sizeof(p->owners[0]))];
	free(o->image);
	o->image = xstrdup(image);
	o->uid = uid;
	o->gid = gid;
	pthread_mutex_unlock(&p->lock);
}

/* The image's /etc/passwd and /etc/group read from its layers: 0, or -1
 * when the layers cannot tell (then the image is mounted). */
static int owner_files_from_layers(const char *layers, char **passwd, char **group)
{
	if (layerfile_read(layers, "etc/passwd", 1u << 20, passwd) < 0)
		return -1;
	if (layerfile_read(layers, "etc/group", 1u << 20, group) < 0) {
		free(*passwd);
		*passwd = NULL;
		return -1;
	}
	return 0;
}

/* uid:gid the image's USER runs as, for owning its configuration files.
 * layers (may be NULL) spares mounting the image. */
static int pm_image_owner(struct podman *p, const char *image, const char *user,
			  const char *layers, uid_t *uid, gid_t *gid, struct ferr *e)
{
	const char *mnt[] = { p->program, "image", "mount", image, NULL };
	const char *umnt[] = { p->program, "image", "unmount", image, NULL };
	struct strbuf dir = STRBUF_INIT;
	char *passwd = NULL, *group = NULL;
	int rc;

	if (!*user || !strcmp(user, "root") || !strcmp(user, "0"))
		return pm_resolve_user("", NULL, NULL, uid, gid, e);
	if (owner_cached(p, image, uid, gid))
		return 0;
	if (layers && owner_files_from_layers(layers, &passwd, &group) == 0) {
		rc = pm_resolve_user(user, passwd, group, uid, gid, e);
		if (rc == 0)
			owner_remember(p, image, *uid, *gid);
		free(passwd);
		free(group);
		return rc;
	}
	if (pm_do(p, mnt, &dir, CALL_MS, "mount image", e) < 0)
		return ferr_prefix(e, "looking up the image's user \"%s\"", user);
	rtrim(&dir);
	passwd = read_image_file(dir.buf, "etc/passwd", 1u << 20);
	group = read_image_file(dir.buf, "etc/group", 1u << 20);
	rc = pm_resolve_user(user, passwd, group, uid, gid, e);
	pm_do(p, umnt, NULL, CALL_MS, "unmount image", NULL);
	if (rc == 0)
		owner_remember(p, image, *uid, *gid);
	free(passwd);
	free(group);
	strbuf_release(&dir);
	return rc;
}

static int pm_inspect(struct runtime *rt, const char *id, struct runtime_replica *ret,
		      struct ferr *e)
{
	struct podman *p = to_podman(rt);
	const char *argv[] = { p->program, "container", "inspect", "--format=json", id, NULL };
	struct strbuf out = STRBUF_INIT, err = STRBUF_INIT;
	int st, rc = -1;

	if (!id || !*id || id[0] == '-')
		return ferr_invalid(e, "bad replica id \"%s\"", id ? id : "");
	st = pm_call(p, argv, &out, &err, CALL_MS, e);
	if (st > 0) {
		if (strstr(err.buf, "no such"))
			ferr_notfound(e, "no replica %s", id);
		else
			pm_fail(e, "inspect replica", st, &err);
	} else if (st == 0) {
		rc = pm_parse_inspect(out.buf, p->instance, ret, e);
	}
	strbuf_release(&out);
	strbuf_release(&err);
	return rc;
}

/* Removes container name (if there) and its configuration; for cleanup. */
static void pm_discard(struct podman *p, const char *name)
{
	const char *argv[] = { p->program, "rm", "--force", "--time=0", name, NULL };

	pm_call(p, argv, NULL, NULL, CALL_MS, NULL);
	configdir_remove(p->run_dir, name, NULL);
}

/* Writes the replica's configuration directory. Its exclusive creation is
 * what makes a start the only one for that name: an existing directory
 * belongs to a live replica (409), or, when podman has no container of
 * that name, to a start that crashed half-way (removed, written again). */
static int pm_write_config(struct podman *p, const struct runtime_spec *spec,
			   const char *name, uid_t uid, gid_t gid, struct ferr *e)
{
	struct ferr we = FERR_INIT;
	int ex;

	if (configdir_write(p->run_dir, name, spec->env, spec->files, spec->nfiles,
			    uid, gid, &we) == 0)
		return 0;
	if (we.status != 409) {
		if (e && !ferr_isset(e))
			*e = we;
		return -1;
	}
	ex = pm_exists(p, "container", name, e);
	if (ex < 0)
		return -1;
	if (ex > 0)
		return ferr_conflict(e, "it already exists: stop it first");
	if (configdir_remove(p->run_dir, name, e) < 0)
		return -1;
	return configdir_write(p->run_dir, name, spec->env, spec->files, spec->nfiles,
			       uid, gid, e);
}

/* One start; *ret_stale is set when it failed because the network or the
 * image is gone (what the driver remembered of them is then wrong). */
static int pm_start_once(struct runtime *rt, const struct runtime_spec *spec,
			 struct runtime_replica *ret, int *ret_stale, struct ferr *e)
{
	struct podman *p = to_podman(rt);
	struct strbuf name = STRBUF_INIT, net = STRBUF_INIT, out = STRBUF_INIT,
		      err = STRBUF_INIT;
	struct pm_image im = PM_IMAGE_INIT;
	struct pm_argv argv = PM_ARGV_INIT;
	uid_t uid;
	gid_t gid;
	int rc = -1, st;

	if (pm_check_spec(spec, e) < 0)
		return -1;
	pm_replica_name(&name, p, spec);
	pm_network_name(&net, p, spec->project, spec->environment);
	if (pm_inspect_image(p, spec->image, &im, e) < 0)
		goto out;
	if (!im.entrypoint.n && !im.cmd.n && !spec->args) {
		ferr_invalid(e, "image %s has neither an entrypoint nor a command: "
			     "nothing to run", spec->image);
		goto out;
	}
	if (pm_image_owner(p, spec->image, im.user, im.layers, &uid, &gid, e) < 0 ||
	    pm_write_config(p, spec, name.buf, uid, gid, e) < 0)
		goto out;
	/* From here the configuration directory is ours to remove on failure.
	 * Each podman call costs ~50-100 ms, so the usual path runs only
	 * image inspect, run and inspect; causes of failure are looked for
	 * after it. */
	pm_run_argv(&argv, p, spec, &im, name.buf, net.buf);
	st = pm_call(p, (const char *const *)argv.v, &out, &err, PULL_MS, e);
	if (st != 0) {
		/* "the container name ... is already in use by ..."; not any
		 * "already in use" (a helper's "Address already in use") */
		if (st > 0 && strstr(err.buf, "container name") && strstr(err.buf, "already in use")) {
			/* someone else's container of that name: not ours to remove */
			configdir_remove(p->run_dir, name.buf, NULL);
			ferr_conflict(e, "it already exists: stop it first");
			goto out;
		}
		pm_discard(p, name.buf);
		if (st > 0 && pm_exists(p, "network", net.buf, NULL) == 0) {
			*ret_stale = 1;
			ferr_conflict(e, "network %s does not exist: ensure_network first",
				      net.buf);
		} else if (st > 0) {
			/* run has --pull=never: an image removed since it was inspected */
			if (strstr(err.buf, "image not known") || strstr(err.buf, "no such image"))
				*ret_stale = 1;
			pm_fail(e, "start replica", st, &err);
		}
		goto out;
	}
	rtrim(&out);
	if (pm_inspect(rt, out.buf, ret, e) < 0) {
		pm_discard(p, name.buf);
		goto out;
	}
	rc = 0;
out:
	if (rc < 0)
		ferr_prefix(e, "replica %s", name.buf);
	pm_argv_release(&argv);
	pm_image_release(&im);
	strbuf_release(&name);
	strbuf_release(&net);
	strbuf_release(&out);
	strbuf_release(&err);
	return rc;
}

static int pm_start_replica(struct runtime *rt, const struct runtime_spec *spec,
			    struct runtime_replica *ret, struct ferr *e)
{
	struct podman *p = to_podman(rt);
	struct strbuf net = STRBUF_INIT;
	char *had_net, *had_image;
	int stale = 0, rc;

	pm_network_name(&net, p, spec->project, spec->environment);
	had_net = memo_get(p, p->nets, NMEMO(p->nets), net.buf);
	had_image = memo_get(p, p->images, NMEMO(p->images), spec->image);
	ps_forget(p);
	rc = pm_start_once(rt, spec, ret, &stale, e);
	ps_forget(p);
	if (rc == 0 || !stale || (!had_net && !had_image))
		goto out;
	/* The network or the image that ensure_network or an earlier start
	 * found went away behind ferry's back (podman network rm, podman
	 * rmi): forget them, make that network again and start once more,
	 * asking podman everything. A network never ensured stays refused. */
	memo_forget(p, p->nets, NMEMO(p->nets), net.buf);
	memo_forget(p, p->images, NMEMO(p->images), spec->image);
	ferr_clear(e);
	rc = -1;
	if (had_net && pm_ensure_network(rt, spec->project, spec->environment, e) < 0)
		goto out;
	stale = 0;
	rc = pm_start_once(rt, spec, ret, &stale, e);
	ps_forget(p);
out:
	free(had_net);
	free(had_image);
	strbuf_release(&net);
	return rc;
}

static int pm_restart_replica_do(struct runtime *rt, const char *id, int grace_s,
			      struct ferr *e)
{
	struct podman *p = to_podman(rt);
	struct runtime_replica r;
	struct strbuf t = STRBUF_INIT;
	int rc;

	if (grace_s < 0)
		grace_s = 0;
	if (pm_inspect(rt, id, &r, e) < 0)
		return -1;
	/* The bind mounts come from the tmpfs: after a host reboot they are
	 * gone and podman would fail with a bare "no such file". */
	strbuf_addf(&t, "%s/%s/env", p->run_dir, r.name);
	if (access(t.buf, F_OK) < 0) {
		strbuf_release(&t);
		return ferr_conflict(e, "replica %s: its configuration is gone (was the "
				     "host restarted?): stop it and start a new replica",
				     r.name);
	}
	strbuf_reset(&t);
	strbuf_addf(&t, "--time=%d", grace_s);
	{
		const char *argv[] = { p->program, "restart", t.buf, r.id, NULL };
		rc = pm_do(p, argv, NULL, grace_s * 1000 + CALL_MS, "restart replica", e);
	}
	strbuf_release(&t);
	return rc;
}

/* A name this driver would give a replica (so its configuration may be
 * removed when the container is already gone). */
static int is_our_name(const struct podman *p, const char *s)
{
	size_t n = strlen(p->prefix);

	return !strncmp(s, p->prefix, n) && s[n] == '-' && !strchr(s, '/') &&
	       strlen(s) < 256;
}

static int pm_stop_replica_do(struct runtime *rt, const char *id, int grace_s,
			   struct ferr *e)
{
	struct podman *p = to_podman(rt);
	struct runtime_replica r;
	struct ferr ie = FERR_INIT;
	struct strbuf t = STRBUF_INIT;
	int rc = -1;

	if (grace_s < 0)
		grace_s = 0;
	if (pm_inspect(rt, id, &r, &ie) < 0) {
		if (ie.status != 404) {
			if (e && !ferr_isset(e))
				*e = ie;
			return -1;
		}
		/* already gone: make sure its configuration is too */
		return is_our_name(p, id) ? configdir_remove(p->run_dir, id, e) : 0;
	}
	strbuf_addf(&t, "--time=%d", grace_s);
	{
		/* podman stop sends the image's stop signal (SIGTERM unless the
		 * image says otherwise) to ferry-init, which forwards it; SIGKILL
		 * after grace_s. */
		const char *stop[] = { p->program, "stop", t.buf, r.id, NULL };
		const char *rm[] = { p->program, "rm", "--force", "--time=0", r.id, NULL };
		struct strbuf err = STRBUF_INIT;
		int st = pm_call(p, stop, NULL, &err, grace_s * 1000 + CALL_MS, e);

		if (st < 0 || (st > 0 && !strstr(err.buf, "no such"))) {
			if (st > 0)
				pm_fail(e, "stop replica", st, &err);
			strbuf_release(&err);
			goto out;
		}
		strbuf_reset(&err);
		st = pm_call(p, rm, NULL, &err, CALL_MS, e);
		if (st < 0 || (st > 0 && !strstr(err.buf, "no such"))) {
			if (st > 0)
				pm_fail(e, "remove replica", st, &err);
			strbuf_release(&err);
			goto out;
		}
		strbuf_release(&err);
	}
	rc = configdir_remove(p->run_dir, r.name, e);
out:
	if (rc < 0)
		ferr_prefix(e, "replica %s", r.name);
	strbuf_release(&t);
	return rc;
}

static int pm_list(struct runtime *rt, const struct runtime_filter *f,
		   struct runtime_replica_list *ret, struct ferr *e)
{
	struct podman *p = to_podman(rt);
	struct strbuf l = STRBUF_INIT, out = STRBUF_INIT;
	int rc = -1;

	unsigned long gen;

	pthread_mutex_lock(&p->lock);
	if (p->ps_json && mono_ms() - p->ps_at < PS_FRESH_MS)
		strbuf_addstr(&out, p->ps_json);
	gen = p->ps_gen;
	pthread_mutex_unlock(&p->lock);
	if (out.len) {
		rc = pm_parse_ps(out.buf, p->instance, f, ret, e);
		goto out;
	}
	strbuf_addf(&l, "--filter=label=ferry.instance=%s", p->instance);
	{
		const char *argv[] = { p->program, "ps", "--all", "--format=json",
				       l.buf, NULL };
		long long at = mono_ms();
		if (pm_do(p, argv, &out, CALL_MS, "list replicas", e) < 0)
			goto out;
		pthread_mutex_lock(&p->lock);
		if (gen == p->ps_gen) {
			free(p->ps_json);
			p->ps_json = xstrdup(out.buf);
			p->ps_at = at;
		}
		pthread_mutex_unlock(&p->lock);
	}
	rc = pm_parse_ps(out.buf, p->instance, f, ret, e);
out:
	strbuf_release(&l);
	strbuf_release(&out);
	return rc;
}

/* Hands complete lines of sb to fn (splitting over-long ones); keeps the
 * incomplete tail. Returns fn's non-zero answer, or 0. */
static int emit_lines(struct strbuf *sb, int final, runtime_log_fn fn, void *arg)
{
	size_t start = 0;
	int stop = 0;

	while (!stop && start < sb->len) {
		char *nl = memchr(sb->buf + start, '\n', sb->len - start);
		size_t len = nl ? (size_t)(nl - (sb->buf + start)) : sb->len - start;

		if (!nl && len < LOG_LINE_MAX && !final)
			break;
		if (len > LOG_LINE_MAX) {
			len = LOG_LINE_MAX;
			nl = NULL;
		}
		stop = fn(sb->buf + start, len, arg);
		start += len + (nl ? 1 : 0);
	}
	memmove(sb->buf, sb->buf + start, sb->len - start);
	strbuf_setlen(sb, sb->len - start);
	return stop;
}

static int pm_logs(struct runtime *rt, const char *id, int follow, runtime_log_fn fn,
		   void *arg, struct ferr *e)
{
	struct podman *p = to_podman(rt);
	struct runtime_replica r;
	struct spawn s = SPAWN_INIT;
	struct strbuf pending = STRBUF_INIT;
	const char *argv[5] = { p->program, "logs", NULL, NULL, NULL };
	int pfd[2], stop = 0, rc = 0;
	char buf[8192];

	if (pm_inspect(rt, id, &r, e) < 0)
		return -1;
	if (follow) {
		argv[2] = "--follow";
		argv[3] = r.id;
	} else {
		argv[2] = r.id;
	}
	if (pipe2(pfd, O_CLOEXEC) < 0)
		return ferr_internal(e, "pipe: %s", strerror(errno));
	s.argv = argv;
	s.env = (const char *const *)p->env;
	s.out_fd = pfd[1];
	s.err_fd = -2;
	if (spawn_start(&s, e) < 0) {
		close(pfd[0]);
		close(pfd[1]);
		return -1;
	}
	close(pfd[1]);
	while (!stop) {
		struct pollfd pf = { .fd = pfd[0], .events = POLLIN };
		int pr = poll(&pf, 1, 1000);
		ssize_t n;

		if (pr < 0 && errno == EINTR)
			continue;
		if (pr < 0) {
			rc = ferr_internal(e, "poll: %s", strerror(errno));
			break;
		}
		if (pr == 0) {
			stop = fn(NULL, 0, arg);
			continue;
		}
		n = read(pfd[0], buf, sizeof(buf));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		strbuf_add(&pending, buf, (size_t)n);
		stop = emit_lines(&pending, 0, fn, arg);
	}
	if (!stop && pending.len)
		emit_lines(&pending, 1, fn, arg);
	if (stop)
		spawn_kill(&s, SIGTERM);
	close(pfd[0]);
	spawn_wait(&s);
	strbuf_release(&pending);
	return rc;
}

static int pm_exec_probe(struct runtime *rt, const char *id, const char *const *argv,
			 int timeout_ms, struct strbuf *out, struct ferr *e)
{
	struct podman *p = to_podman(rt);
	struct pm_argv a = PM_ARGV_INIT;
	struct strbuf err = STRBUF_INIT, o = STRBUF_INIT;
	int st;

	if (!argv || !argv[0])
		return ferr_invalid(e, "exec probe: no command");
	if (timeout_ms <= 0)
		return ferr_invalid(e, "exec probe: a timeout is required");
	pm_argv_push(&a, p->program);
	pm_argv_push(&a, "exec");
	pm_argv_push(&a, id);
	for (size_t i = 0; argv[i]; i++)
		pm_argv_push(&a, argv[i]);
	st = pm_call(p, (const char *const *)a.v, &o, &err, timeout_ms, e);
	/* 125: podman itself failed (no such container, not running) */
	if (st == 125) {
		pm_fail(e, "exec probe", st, &err);
		st = -1;
	} else if (st >= 0 && out) {
		strbuf_add(out, o.buf, o.len > PROBE_OUT_CAP ? PROBE_OUT_CAP : o.len);
		if (err.len && out->len < PROBE_OUT_CAP)
			strbuf_add(out, err.buf, err.len > PROBE_OUT_CAP - out->len ?
				   PROBE_OUT_CAP - out->len : err.len);
	}
	pm_argv_release(&a);
	strbuf_release(&err);
	strbuf_release(&o);
	return st;
}

static int pm_wait_do(struct runtime *rt, const char *id, int timeout_ms, struct ferr *e)
{
	struct podman *p = to_podman(rt);
	struct runtime_replica r;
	struct strbuf out = STRBUF_INIT;
	char *end;
	long code;
	int rc = -1;

	if (pm_inspect(rt, id, &r, e) < 0)
		return -1;
	{
		const char *argv[] = { p->program, "wait", r.id, NULL };
		if (pm_do(p, argv, &out, timeout_ms, "wait for replica", e) < 0)
			goto out;
	}
	rtrim(&out);
	errno = 0;
	code = strtol(out.buf, &end, 10);
	if (errno || end == out.buf || *end || code < 0 || code > 255) {
		ferr_set(e, 502, "runtime", "podman wait: unexpected answer \"%.40s\"",
			 out.buf);
		goto out;
	}
	rc = (int)code;
out:
	strbuf_release(&out);
	return rc;
}

/* Stop, restart and wait change the replicas (a wait's end is a task's
 * exit): the remembered `podman ps` answer goes before and after. */
static int pm_stop_replica(struct runtime *rt, const char *id, int grace_s, struct ferr *e)
{
	int rc;

	ps_forget(to_podman(rt));
	rc = pm_stop_replica_do(rt, id, grace_s, e);
	ps_forget(to_podman(rt));
	return rc;
}

static int pm_restart_replica(struct runtime *rt, const char *id, int grace_s, struct ferr *e)
{
	int rc;

	ps_forget(to_podman(rt));
	rc = pm_restart_replica_do(rt, id, grace_s, e);
	ps_forget(to_podman(rt));
	return rc;
}

static int pm_wait(struct runtime *rt, const char *id, int timeout_ms, struct ferr *e)
{
	int rc = pm_wait_do(rt, id, timeout_ms, e);

	ps_forget(to_podman(rt));
	return rc;
}

static void pm_free(struct runtime *rt)
{
	struct podman *p = to_podman(rt);

	for (size_t i = 0; p->env && p->env[i]; i++)
		free(p->env[i]);
	free(p->env);
	free(p->run_dir);
	free(p->instance);
	free(p->prefix);
	free(p->init_path);
	free(p->program);
	for (size_t i = 0; i < sizeof(p->owners) / sizeof(p->owners[0]); i++)
		free(p->owners[i].image);
	memo_forget(p, p->images, NMEMO(p->images), NULL);
	memo_forget(p, p->nets, NMEMO(p->nets), NULL);
	free(p->ps_json);
	pthread_mutex_destroy(&p->lock);
	free(p);
}

static int pm_images(struct runtime *rt, struct runtime_image_list *ret, struct ferr *e)
{
	struct podman *p = to_podman(rt);
	const char *argv[] = { p->program, "images", "--format", "json", NULL };
	struct strbuf out = STRBUF_INIT, err = STRBUF_INIT;
	int rc, st;

	/* an image removed while podman lists them (housekeeping's rmi, a
	 * build's clean-up) fails the whole listing: list again, after a
	 * pause (housekeeping removes several in a row) */
	for (int attempt = 1;; attempt++) {
		struct timespec pause = { 0, 300 * 1000000L };
		strbuf_reset(&out);
		strbuf_reset(&err);
		st = pm_call(p, argv, &out, &err, CALL_MS, e);
		if (st <= 0 || attempt == 10 || !strstr(err.buf, "image not known"))
			break;
		nanosleep(&pause, NULL);
	}
	if (st > 0)
		pm_fail(e, "list images", st, &err);
	rc = st == 0 ? pm_parse_images(out.buf, ret, e) : -1;
	strbuf_release(&out);
	strbuf_release(&err);
	return rc;
}

/* Never forced: an image a container uses stays. */
static int pm_remove_image(struct runtime *rt, const char *id, struct ferr *e)
{
	struct podman *p = to_podman(rt);
	const char *argv[] = { p->program, "rmi", id, NULL };
	struct strbuf err = STRBUF_INIT;
	int st;

	/* by id: which remembered reference it was is not known */
	memo_forget(p, p->images, NMEMO(p->images), NULL);
	st = pm_call(p, argv, NULL, &err, CALL_MS, e);

	if (st == 2 || (st > 0 && strstr(err.buf, "image is in use"))) {
		st = 1;
	} else if (st == 1 || (st > 0 && strstr(err.buf, "image not known"))) {
		/* podman rmi: 1 = no such image, 2 = in use */
		st = 0;
	} else if (st > 0) {
		pm_fail(e, "remove image", st, &err);
		st = -1;
	}
	strbuf_release(&err);
	return st;
}

struct helper_walk {
	struct runtime_helper *out;
	size_t n, max;
	int repair;
};

static void check_network_dns(const char *network, void *arg)
{
	static const enum runtime_helper_state map[] = {
		[CNI_DNS_UP] = RUNTIME_HELPER_UP, [CNI_DNS_IDLE] = RUNTIME_HELPER_IDLE,
		[CNI_DNS_RESTARTED] = RUNTIME_HELPER_RESTARTED, [CNI_DNS_DOWN] = RUNTIME_HELPER_DOWN,
	};
	struct helper_walk *w = arg;
	pid_t pid;
	enum cni_dns_state st;

	if (w->n == w->max)
		return;
	st = cni_dns_check(network, w->repair, &pid);
	if (st == CNI_DNS_NONE)
		return;
	snprintf(w->out[w->n].name, sizeof(w->out[w->n].name), "dns %s", network);
	w->out[w->n].state = map[st];
	w->out[w->n].pid = (int)pid;
	w->n++;
}

/* The dnsname plugin's dnsmasq of each of this instance's networks. */
static int pm_check_helpers(struct runtime *rt, int repair, struct runtime_helper *ret, size_t max,
			    struct ferr *e)
{
	struct helper_walk w = { ret, 0, max, repair };

	(void)e;
	cni_dns_networks(to_podman(rt)->prefix, check_network_dns, &w);
	return (int)w.n;
}

static const struct runtime_ops podman_ops = {
	.name = "podman",
	.ensure_network = pm_ensure_network,
	.remove_network = pm_remove_network,
	.start_replica = pm_start_replica,
	.restart_replica = pm_restart_replica,
	.stop_replica = pm_stop_replica,
	.inspect = pm_inspect,
	.list = pm_list,
	.logs = pm_logs,
	.exec_probe = pm_exec_probe,
	.wait = pm_wait,
	.images = pm_images,
	.remove_image = pm_remove_image,
	.check_helpers = pm_check_helpers,
	.free = pm_free,
};

static int check_tag(const char *what, const char *s, struct ferr *e)
{
	if (strlen(s) > 32)
		return ferr_invalid(e, "runtime %s \"%s\" is longer than 32", what, s);
	return runtime_check_name(what, s, e);
}

int podman_runtime_new(struct runtime **ret, const struct podman_config *cfg,
		       struct ferr *e)
{
	struct podman *p;
	const char *instance = cfg->instance ? cfg->instance : "ferry";
	const char *prefix = cfg->prefix ? cfg->prefix : instance;
	struct stat st;
	size_t n = 0;

	*ret = NULL;
	if (check_tag("instance", instance, e) < 0 || check_tag("prefix", prefix, e) < 0)
		return -1;
	if (!cfg->init_path || cfg->init_path[0] != '/' || strchr(cfg->init_path, ':') ||
	    strchr(cfg->init_path, ','))
		return ferr_invalid(e, "runtime: the ferry-init path must be absolute "
				    "(without ':' or ',')");
	if (stat(cfg->init_path, &st) < 0 || !S_ISREG(st.st_mode) || !(st.st_mode & 0111))
		return ferr_invalid(e, "runtime: ferry-init %s is not an executable file",
				    cfg->init_path);
	if (cfg->restart_max < 0)
		return ferr_invalid(e, "runtime: restart_max must be >= 0");
	p = calloc(1, sizeof(*p));
	if (!p)
		abort();
	p->rt.ops = &podman_ops;
	pthread_mutex_init(&p->lock, NULL);
	if (configdir_prepare_root(&p->run_dir, cfg->data_dir, cfg->run_dir, instance, e) < 0) {
		pthread_mutex_destroy(&p->lock);
		free(p);
		return -1;
	}
	p->instance = xstrdup(instance);
	p->prefix = xstrdup(prefix);
	p->init_path = xstrdup(cfg->init_path);
	p->program = xstrdup(cfg->podman ? cfg->podman : "podman");
	p->restart_max = cfg->restart_max ? cfg->restart_max : 3;
	while (cfg->env && cfg->env[n])
		n++;
	p->env = calloc(n + 1, sizeof(*p->env));
	if (!p->env)
		abort();
	for (size_t i = 0; i < n; i++)
		p->env[i] = xstrdup(cfg->env[i]);
	*ret = &p->rt;
	return 0;
}

const char *podman_runtime_run_dir(const struct runtime *rt)
{
	return ((const struct podman *)rt)->run_dir;
}
