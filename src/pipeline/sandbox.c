#include "pipeline/sandbox.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "lib/strbuf.h"

#include "lib/clock.h"
#include "lib/banned.h"

#define CGROOT "/sys/fs/cgroup"
#define CGPARENT "ferry-build"
#define POLL_EVERY_MS 1000
#define ID_RANGE 65536

static struct sandbox_config cfg;
static int cgroup_v2;
static long id_start = -1, gid_start = -1;
static char uid_map[48], gid_map[48], fsize[64];

/* The first range of name in an /etc/subuid-style file with at least
 * ID_RANGE ids, or -1. */
static long sub_range(const char *file, const char *name)
{
	FILE *f = fopen(file, "re");
	char line[256];
	size_t n = strlen(name);
	long found = -1;

	if (!f)
		return -1;
	while (found < 0 && fgets(line, sizeof(line), f)) {
		char *end;
		long start, count;
		if (strncmp(line, name, n) || line[n] != ':')
			continue;
		start = strtol(line + n + 1, &end, 10);
		if (*end != ':' || start <= 0)
			continue;
		count = strtol(end + 1, &end, 10);
		if (count >= ID_RANGE)
			found = start;
	}
	fclose(f);
	return found;
}

static int write_text(const char *path, const char *text)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	size_t len = strlen(text);
	ssize_t n;

	if (fd < 0)
		return -1;
	n = write(fd, text, len);
	close(fd);
	return n == (ssize_t)len ? 0 : -1;
}

/* The directories a build's cgroup lives in: one per v1 controller that
 * holds a limit, or the one of the unified hierarchy. */
static const char *const v1_limited[] = { "memory", "pids", "cpu", NULL };

static void cg_dir(struct strbuf *sb, const char *controller, const char *rel)
{
	strbuf_reset(sb);
	if (cgroup_v2 || !controller)
		strbuf_addf(sb, "%s%s", CGROOT, rel);
	else
		strbuf_addf(sb, "%s/%s%s", CGROOT, controller, rel);
}

/* mkdir with mode 0755 whatever ferryd's umask: runc mounts the build's
 * cgroup directories into the step, whose root (an unprivileged uid on the
 * host) must be able to look them up. */
static int mkdir_cg(const char *path)
{
	if (mkdir(path, 0755) < 0 && errno != EEXIST)
		return -1;
	return chmod(path, 0755);
}

static void sweep_stale(void);

int sandbox_setup(const struct sandbox_config *c, struct ferr *e)
{
	struct stat st;
	struct strbuf p = STRBUF_INIT;
	int ret = -1;

	cfg = *c;
	if (!cfg.memory)
		cfg.memory = SANDBOX_DEFAULT_MEMORY;
	if (!cfg.pids)
		cfg.pids = SANDBOX_DEFAULT_PIDS;
	if (!cfg.disk)
		cfg.disk = SANDBOX_DEFAULT_DISK;
	if (!cfg.runtime || access(cfg.runtime, X_OK) < 0)
		return ferr_invalid(e, "build sandbox: the build runtime %s is not an executable "
				    "(it is built with ferry, next to ferryd)",
				    cfg.runtime ? cfg.runtime : "ferry-build-runtime");
	if (!cfg.state_dir || (mkdir(cfg.state_dir, 0700) < 0 && errno != EEXIST))
		return ferr_internal(e, "build sandbox: cannot create %s: %s",
				     cfg.state_dir ? cfg.state_dir : "(none)", strerror(errno));
	/* kept for the daemon's life; absolute, as the runtime runs elsewhere */
	cfg.runtime = realpath(c->runtime, NULL);
	cfg.state_dir = realpath(c->state_dir, NULL);
	if (!cfg.runtime || !cfg.state_dir)
		return ferr_internal(e, "build sandbox: cannot resolve %s: %s", c->state_dir,
				     strerror(errno));
	id_start = sub_range("/etc/subuid", SANDBOX_ACCOUNT);
	gid_start = sub_range("/etc/subgid", SANDBOX_ACCOUNT);
	if (id_start < 0 || gid_start < 0)
		return ferr_invalid(e, "build sandbox: the %s account has no subordinate uid/gid "
				    "range of %d ids in /etc/subuid and /etc/subgid; run "
				    "scripts/install-deps (it creates the account)", SANDBOX_ACCOUNT,
				    ID_RANGE);
	snprintf(uid_map, sizeof(uid_map), "0:%ld:%d", id_start, ID_RANGE);
	snprintf(fsize, sizeof(fsize), "fsize=%lld:%lld", cfg.disk, cfg.disk);
	snprintf(gid_map, sizeof(gid_map), "0:%ld:%d", gid_start, ID_RANGE);
	cgroup_v2 = stat(CGROOT "/cgroup.controllers", &st) == 0;
	if (cgroup_v2) {
		/* Limits need the controllers enabled down to our subtree. */
		write_text(CGROOT "/cgroup.subtree_control", "+memory +pids +cpu");
		cg_dir(&p, NULL, "/" CGPARENT);
		if (mkdir_cg(p.buf) < 0) {
			ferr_internal(e, "build sandbox: cannot create the cgroup %s: %s", p.buf,
				      strerror(errno));
			goto out;
		}
		strbuf_addstr(&p, "/cgroup.subtree_control");
		if (write_text(p.buf, "+memory +pids +cpu") < 0) {
			ferr_internal(e, "build sandbox: cannot enable the memory, pids and cpu "
				      "controllers in %s: %s", p.buf, strerror(errno));
			goto out;
		}
	} else {
		for (const char *const *ctl = v1_limited; *ctl; ctl++) {
			cg_dir(&p, *ctl, "/" CGPARENT);
			if (mkdir_cg(p.buf) < 0) {
				ferr_internal(e, "build sandbox: cannot create the cgroup %s: %s "
					      "(the build limits need the %s controller)", p.buf,
					      strerror(errno), *ctl);
				goto out;
			}
		}
	}
	sweep_stale();
	ret = 0;
out:
	strbuf_release(&p);
	return ret;
}

int sandbox_egress_allowed(void)
{
	return !cfg.no_egress;
}

const struct sandbox_config *sandbox_settings(void)
{
	return &cfg;
}

static char *env_entry(const char *k, const char *v)
{
	struct strbuf sb = STRBUF_INIT;
	strbuf_addf(&sb, "%s=%s", k, v);
	return strbuf_detach(&sb, NULL);
}

static int set_limit(const char *controller, const char *rel, const char *file,
		     const char *value, struct ferr *e)
{
	struct strbuf p = STRBUF_INIT;
	int ret = 0;

	cg_dir(&p, controller, rel);
	strbuf_addf(&p, "/%s", file);
	if (write_text(p.buf, value) < 0)
		ret = ferr_internal(e, "build sandbox: cannot set %s to %s: %s", p.buf, value,
				    strerror(errno));
	strbuf_release(&p);
	return ret;
}

static int apply_limits(const struct sandbox *sb, struct ferr *e)
{
	char v[64];

	snprintf(v, sizeof(v), "%lld", cfg.memory);
	if (set_limit("memory", sb->cgroup, cgroup_v2 ? "memory.max" : "memory.limit_in_bytes",
		      v, e) < 0)
		return -1;
	if (cgroup_v2)
		set_limit("memory", sb->cgroup, "memory.swap.max", "0", NULL);
	snprintf(v, sizeof(v), "%ld", cfg.pids);
	if (set_limit("pids", sb->cgroup, "pids.max", v, e) < 0)
		return -1;
	if (cfg.cpus > 0) {
		long quota = (long)(cfg.cpus * 100000);
		if (cgroup_v2) {
			snprintf(v, sizeof(v), "%ld 100000", quota);
			return set_limit("cpu", sb->cgroup, "cpu.max", v, e);
		}
		if (set_limit("cpu", sb->cgroup, "cpu.cfs_period_us", "100000", e) < 0)
			return -1;
		snprintf(v, sizeof(v), "%ld", quota);
		return set_limit("cpu", sb->cgroup, "cpu.cfs_quota_us", v, e);
	}
	return 0;
}

int sandbox_open(struct sandbox *sb, const char *key, int egress, struct ferr *e)
{
	struct strbuf p = STRBUF_INIT, rel = STRBUF_INIT;
	int ret = -1;

	*sb = (struct sandbox)SANDBOX_INIT;
	if (id_start < 0)
		return ferr_internal(e, "build sandbox: not set up (sandbox_setup)");
	if (!key || !*key || strlen(key) >= sizeof(sb->key) || strspn(key,
	    "abcdefghijklmnopqrstuvwxyz0123456789-") != strlen(key))
		return ferr_invalid(e, "build sandbox: bad key \"%s\"", key ? key : "");
	memcpy(sb->key, key, strlen(key) + 1);
	strbuf_addf(&rel, "/" CGPARENT "/%s", key);
	sb->cgroup = strbuf_detach(&rel, NULL);
	sb->opened = 1;
	for (const char *const *ctl = v1_limited; *ctl; ctl++) {
		cg_dir(&p, *ctl, sb->cgroup);
		if (mkdir_cg(p.buf) < 0) {
			ferr_internal(e, "build sandbox: cannot create the cgroup %s: %s", p.buf,
				      strerror(errno));
			goto out;
		}
		if (cgroup_v2) {
			/* the runtime puts each step in a child cgroup */
			strbuf_addstr(&p, "/cgroup.subtree_control");
			write_text(p.buf, "+memory +pids +cpu");
			break;
		}
	}
	if (apply_limits(sb, e) < 0)
		goto out;
	strbuf_reset(&p);
	strbuf_addf(&p, "%s/%s.events", cfg.state_dir, key);
	unlink(p.buf);
	sb->events_path = strbuf_detach(&p, NULL);
	sb->egress = egress && !cfg.no_egress;
	sb->env[0] = env_entry("FERRY_SANDBOX_CGROUP", sb->cgroup);
	sb->env[1] = env_entry("FERRY_SANDBOX_NETWORK", sb->egress ? "egress" : "none");
	sb->env[2] = env_entry("FERRY_SANDBOX_STATE", cfg.state_dir);
	sb->env[3] = env_entry("FERRY_SANDBOX_EVENTS", sb->events_path);
	sb->env[4] = NULL;
	sb->next_poll_ms = mono_ms() + POLL_EVERY_MS;
	ret = 0;
out:
	strbuf_release(&p);
	if (ret < 0)
		sandbox_close(sb);
	return ret;
}

void sandbox_userns_args(const char **argv, size_t *argc)
{
	argv[(*argc)++] = "--userns-uid-map";
	argv[(*argc)++] = uid_map;
	argv[(*argc)++] = "--userns-gid-map";
	argv[(*argc)++] = gid_map;
}

void sandbox_buildah_args(const struct sandbox *sb, const char **argv, size_t *argc)
{
	(void)sb;
	argv[(*argc)++] = "--isolation";
	argv[(*argc)++] = "oci";
	argv[(*argc)++] = "--runtime";
	argv[(*argc)++] = cfg.runtime;
	sandbox_userns_args(argv, argc);
	/* A fresh network namespace per step; the runtime attaches the
	 * user-mode network to it when the build has egress. */
	argv[(*argc)++] = "--network";
	argv[(*argc)++] = "none";
	/* No single file beyond the disk limit, at once (EFBIG); the total
	 * is watched by sandbox_poll. */
	argv[(*argc)++] = "--ulimit";
	argv[(*argc)++] = fsize;
}

const char *const *sandbox_env(const struct sandbox *sb)
{
	return (const char *const *)sb->env;
}

/* ---- the disk limit ------------------------------------------------ */

static __thread long long du_total, du_cap;

static int du_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)path;
	(void)flag;
	(void)ftw;
	du_total += (long long)st->st_blocks * 512;
	return du_total > du_cap; /* stop early: over the limit is enough */
}

/* The upper (written) directory of the overlay mounted at / for pid. */
static int upper_dir(pid_t pid, struct strbuf *out)
{
	char path[64], line[8192];
	FILE *f;
	int found = -1;

	snprintf(path, sizeof(path), "/proc/%d/mountinfo", (int)pid);
	f = fopen(path, "re");
	if (!f)
		return -1;
	while (found < 0 && fgets(line, sizeof(line), f)) {
		/* id parent maj:min root mountpoint ... - fstype source options */
		char *fields[5], *p = line, *sep, *up;
		int i;
		for (i = 0; i < 5 && p; i++) {
			fields[i] = p;
			p = strchr(p, ' ');
			if (p)
				*p++ = '\0';
		}
		if (i < 5 || !p || strcmp(fields[4], "/"))
			continue;
		sep = strstr(p, " - ");
		if (!sep || strncmp(sep + 3, "overlay ", 8))
			continue;
		up = strstr(sep, "upperdir=");
		if (!up)
			continue;
		up += 9;
		strbuf_reset(out);
		strbuf_add(out, up, strcspn(up, ",\n "));
		found = 0;
	}
	fclose(f);
	return found;
}

/* The first process of a cgroup directory, or -1. */
static pid_t first_proc(const char *dir)
{
	char path[PATH_MAX], buf[32];
	int fd, n;

	if (snprintf(path, sizeof(path), "%s/cgroup.procs", dir) >= (int)sizeof(path))
		return -1;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	n = (int)read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return -1;
	buf[n] = '\0';
	return (pid_t)strtol(buf, NULL, 10);
}

int sandbox_poll(struct sandbox *sb, struct ferr *e)
{
	struct strbuf dir = STRBUF_INIT, child = STRBUF_INIT, upper = STRBUF_INIT;
	struct dirent *de;
	long long used = 0;
	DIR *d;
	int ret = 0;

	if (!sb || !sb->opened || mono_ms() < sb->next_poll_ms)
		return 0;
	sb->next_poll_ms = mono_ms() + POLL_EVERY_MS;
	cg_dir(&dir, "pids", sb->cgroup);
	d = opendir(dir.buf);
	if (!d)
		goto out;
	/* Each running step has a child cgroup; its root file system's upper
	 * layer is what the step wrote. */
	while ((de = readdir(d))) {
		pid_t pid;
		if (de->d_type != DT_DIR || de->d_name[0] == '.')
			continue;
		strbuf_reset(&child);
		strbuf_addf(&child, "%s/%s", dir.buf, de->d_name);
		pid = first_proc(child.buf);
		if (pid <= 0 || upper_dir(pid, &upper) < 0)
			continue;
		du_total = 0;
		du_cap = cfg.disk;
		nftw(upper.buf, du_one, 32, FTW_PHYS | FTW_MOUNT);
		used += du_total;
	}
	closedir(d);
	sb->disk_used = used;
	if (used > cfg.disk)
		ret = ferr_set(e, 422, "limit", "the build wrote more than its disk limit of %lld MiB "
			       "(ferryd --build-disk); it was stopped", cfg.disk >> 20);
out:
	strbuf_release(&dir);
	strbuf_release(&child);
	strbuf_release(&upper);
	return ret;
}

/* ---- naming a breached limit ---------------------------------------- */

static long long count_in(const char *path, const char *key)
{
	FILE *f = fopen(path, "re");
	char line[256];
	size_t n = strlen(key);
	long long total = 0;

	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, key, n) && line[n] == ' ')
			total += strtoll(line + n + 1, NULL, 10);
	fclose(f);
	return total;
}

int sandbox_explain(struct sandbox *sb, const char *tail, struct ferr *e)
{
	struct strbuf p = STRBUF_INIT;
	long long pids_hit, oom;

	if (!sb || !sb->opened)
		return 0;
	pids_hit = count_in(sb->events_path, "pids_max");
	oom = count_in(sb->events_path, "oom_kill");
	cg_dir(&p, "pids", sb->cgroup);
	strbuf_addstr(&p, "/pids.events");
	pids_hit += count_in(p.buf, "max");
	cg_dir(&p, "memory", sb->cgroup);
	strbuf_addstr(&p, cgroup_v2 ? "/memory.events" : "/memory.oom_control");
	oom += count_in(p.buf, "oom_kill");
	strbuf_release(&p);
	if (oom) {
		ferr_set(e, 422, "limit", "the build ran out of memory: its memory limit of %lld MiB "
			 "(ferryd --build-memory) killed %lld process%s", cfg.memory >> 20, oom,
			 oom == 1 ? "" : "es");
		return 1;
	}
	/* EFBIG: only the per-file limit (RLIMIT_FSIZE) gives it here */
	if (tail && strstr(tail, "File too large")) {
		ferr_set(e, 422, "limit", "the build wrote a file larger than its disk limit of %lld "
			 "MiB (ferryd --build-disk)", cfg.disk >> 20);
		return 1;
	}
	if (pids_hit) {
		ferr_set(e, 422, "limit", "the build reached its process limit of %ld "
			 "(ferryd --build-pids): %lld fork%s refused", cfg.pids, pids_hit,
			 pids_hit == 1 ? " was" : "s were");
		return 1;
	}
	return 0;
}

/* ---- closing --------------------------------------------------------- */

/* SIGKILLs every process listed in dir's cgroup.procs; returns how many. */
static int kill_procs(const char *dir)
{
	char path[PATH_MAX], line[32];
	FILE *f;
	int n = 0;

	if (snprintf(path, sizeof(path), "%s/cgroup.procs", dir) >= (int)sizeof(path))
		return 0;
	f = fopen(path, "re");
	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f)) {
		pid_t pid = (pid_t)strtol(line, NULL, 10);
		if (pid > 1 && kill(pid, SIGKILL) == 0)
			n++;
	}
	fclose(f);
	return n;
}

/* Kills and removes the children of dir, then dir. */
static void remove_tree(const char *dir)
{
	struct strbuf child = STRBUF_INIT;
	DIR *d;

	for (int round = 0; round < 50; round++) {
		int alive = kill_procs(dir);
		struct dirent *de;
		d = opendir(dir);
		if (!d)
			break;
		while ((de = readdir(d))) {
			if (de->d_type != DT_DIR || de->d_name[0] == '.')
				continue;
			strbuf_reset(&child);
			strbuf_addf(&child, "%s/%s", dir, de->d_name);
			alive += kill_procs(child.buf);
			rmdir(child.buf);
		}
		closedir(d);
		if (rmdir(dir) == 0 || errno == ENOENT)
			break;
		if (!alive) {
			struct timespec ts = { 0, 20 * 1000000L };
			nanosleep(&ts, NULL);
		}
	}
	strbuf_release(&child);
}

/* Removes the cgroups (and kills the processes) of one build key, in every
 * hierarchy. */
static void remove_key(const char *rel)
{
	struct strbuf p = STRBUF_INIT;

	if (cgroup_v2) {
		cg_dir(&p, NULL, rel);
		remove_tree(p.buf);
	} else {
		/* runc creates the build's directory in every v1 hierarchy */
		DIR *d = opendir(CGROOT);
		struct dirent *de;
		while (d && (de = readdir(d))) {
			if (de->d_type != DT_DIR || de->d_name[0] == '.')
				continue;
			strbuf_reset(&p);
			strbuf_addf(&p, "%s/%s%s", CGROOT, de->d_name, rel);
			if (access(p.buf, F_OK) == 0)
				remove_tree(p.buf);
		}
		if (d)
			closedir(d);
	}
	strbuf_release(&p);
}

/* 1 if pid is a running ferryd. */
static int ferryd_alive(long pid)
{
	char path[64], comm[32] = "";
	int fd;
	ssize_t n;

	snprintf(path, sizeof(path), "/proc/%ld/comm", pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	n = read(fd, comm, sizeof(comm) - 1);
	close(fd);
	return n >= 6 && !strncmp(comm, "ferryd", 6);
}

/* Builds of a ferryd that was killed (-9, a crash) left their cgroups, and
 * maybe processes in them: end those. Keys are "p<ferryd pid>-...". */
static void sweep_stale(void)
{
	struct strbuf dir = STRBUF_INIT, rel = STRBUF_INIT;
	struct dirent *de;
	DIR *d;

	cg_dir(&dir, "pids", "/" CGPARENT);
	d = opendir(dir.buf);
	while (d && (de = readdir(d))) {
		char *end;
		long pid;
		if (de->d_type != DT_DIR || de->d_name[0] != 'p')
			continue;
		pid = strtol(de->d_name + 1, &end, 10);
		if (*end != '-' || pid <= 0 || pid == (long)getpid() || ferryd_alive(pid))
			continue;
		strbuf_reset(&rel);
		strbuf_addf(&rel, "/" CGPARENT "/%s", de->d_name);
		remove_key(rel.buf);
	}
	if (d)
		closedir(d);
	strbuf_release(&dir);
	strbuf_release(&rel);
}

void sandbox_close(struct sandbox *sb)
{
	if (!sb)
		return;
	if (sb->opened && sb->cgroup)
		remove_key(sb->cgroup);
	if (sb->events_path)
		unlink(sb->events_path);
	free(sb->cgroup);
	free(sb->events_path);
	for (size_t i = 0; i < sizeof(sb->env) / sizeof(sb->env[0]); i++)
		free(sb->env[i]);
	*sb = (struct sandbox)SANDBOX_INIT;
}

int sandbox_parse_size(const char *s, long long *ret_bytes)
{
	char *end;
	long long v;
	int shift = 0;

	if (!s || !*s || *s == '-')
		return -1;
	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno || end == s)
		return -1;
	switch (*end) {
	case '\0': break;
	case 'k': case 'K': shift = 10; break;
	case 'm': case 'M': shift = 20; break;
	case 'g': case 'G': shift = 30; break;
	case 't': case 'T': shift = 40; break;
	default: return -1;
	}
	if (*end && end[1] && !((end[1] == 'i' || end[1] == 'B') && (!end[2] || (end[1] == 'i' &&
	    end[2] == 'B' && !end[3]))))
		return -1;
	if (v > (LLONG_MAX >> shift))
		return -1;
	*ret_bytes = v << shift;
	return 0;
}
