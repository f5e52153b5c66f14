/* ferry-build-runtime: the OCI runtime buildah runs every build step with
 * (buildah bud --runtime). It is runc with three additions, and refuses
 * what the build sandbox does not allow:
 *
 *   create  checks the container's config.json: it must have its own user
 *           (with a mapping that does not make uid 0 host root), PID, mount,
 *           IPC, UTS and network namespaces, none joined by path; puts the
 *           container under the build's cgroup (FERRY_SANDBOX_CGROUP) so that
 *           the build's limits, set there by ferryd, apply and their breaches
 *           stay countable after runc removes the container; and, when
 *           FERRY_SANDBOX_NETWORK=egress, gives the fresh network namespace
 *           outbound access through slirp4netns with host loopback disabled
 *           (and points resolv.conf at slirp's DNS forwarder).
 *   delete  also stops that container's slirp4netns.
 *   other   exec runc unchanged.
 *
 * buildah 1.28 running as root cannot attach a user-mode network to a RUN
 * container itself (only rootless buildah does), and cannot join a network
 * namespace a user namespace of ours owns; runc's create/start split is the
 * one moment the container's own namespaces exist and nothing runs in them.
 *
 * Environment: FERRY_SANDBOX_CGROUP (a cgroup path such as
 * "/ferry-build/b12"; required), FERRY_SANDBOX_NETWORK ("egress" or "none"),
 * FERRY_SANDBOX_STATE (directory for slirp4netns pid files; default
 * /run/ferry-build-runtime), FERRY_SANDBOX_RUNC (default "runc" in PATH).
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <jansson.h>

#include "lib/banned.h"

#define SLIRP_DNS "10.0.2.3"
#define READY_TIMEOUT_MS 10000

static const char *runc_path(void)
{
	const char *r = getenv("FERRY_SANDBOX_RUNC");
	return r && *r ? r : "runc";
}

static void die(const char *fmt, const char *arg)
{
	fprintf(stderr, "ferry-build-runtime: ");
	fprintf(stderr, fmt, arg ? arg : "");
	fputc('\n', stderr);
	exit(1);
}

static int valid_id(const char *id)
{
	if (!id || !*id || strlen(id) > 200)
		return 0;
	for (const char *p = id; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		      (*p >= '0' && *p <= '9') || *p == '-' || *p == '_' || *p == '.'))
			return 0;
	return id[0] != '.';
}

/* The runc options that take a value, so the command can be found. */
static int global_takes_value(const char *opt)
{
	static const char *const with_value[] = { "--root", "--log", "--log-format", "--criu",
						  "--rootless", NULL };
	if (strchr(opt, '='))
		return 0;
	for (const char *const *p = with_value; *p; p++)
		if (!strcmp(opt, *p))
			return 1;
	return 0;
}

static int run_runc(char **argv)
{
	pid_t pid = fork();
	int st;

	if (pid < 0)
		die("fork: %s", strerror(errno));
	if (pid == 0) {
		argv[0] = (char *)runc_path();
		execvp(argv[0], argv);
		fprintf(stderr, "ferry-build-runtime: cannot run %s: %s\n", argv[0], strerror(errno));
		_exit(127);
	}
	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR)
			die("waitpid: %s", strerror(errno));
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

static void state_path(char *out, size_t size, const char *id)
{
	const char *dir = getenv("FERRY_SANDBOX_STATE");
	int n;

	if (!dir || !*dir)
		dir = "/run/ferry-build-runtime";
	mkdir(dir, 0700);
	n = snprintf(out, size, "%s/%s.slirp", dir, id);
	if (n < 0 || (size_t)n >= size)
		die("state path for %s is too long", id);
}

/* The checks: each namespace of its own, uid 0 not host root. */
static void check_isolation(json_t *cfg)
{
	static const char *const need[] = { "user", "pid", "mount", "ipc", "uts", "network", NULL };
	json_t *linux_ = json_object_get(cfg, "linux");
	json_t *nss = json_object_get(linux_, "namespaces");
	json_t *maps = json_object_get(linux_, "uidMappings");
	json_t *gmaps = json_object_get(linux_, "gidMappings");
	size_t i;
	json_t *v;

	for (const char *const *n = need; *n; n++) {
		int found = 0;
		json_array_foreach(nss, i, v) {
			const char *type = json_string_value(json_object_get(v, "type"));
			if (type && !strcmp(type, *n)) {
				if (json_object_get(v, "path"))
					die("refusing to run a build step that joins an existing %s "
					    "namespace", *n);
				found = 1;
			}
		}
		if (!found)
			die("refusing to run a build step without its own %s namespace", *n);
	}
	if (json_array_size(maps) == 0 || json_array_size(gmaps) == 0)
		die("refusing to run a build step without a uid/gid mapping%s", NULL);
	json_array_foreach(maps, i, v)
		if (json_integer_value(json_object_get(v, "hostID")) == 0)
			die("refusing to run a build step whose uid mapping includes host root%s", NULL);
	json_array_foreach(gmaps, i, v)
		if (json_integer_value(json_object_get(v, "hostID")) == 0)
			die("refusing to run a build step whose gid mapping includes host root%s", NULL);
}

static void write_file(const char *path, const char *text)
{
	int fd = open(path, O_WRONLY | O_TRUNC | O_CLOEXEC);
	size_t len = strlen(text);

	if (fd < 0 || write(fd, text, len) != (ssize_t)len || close(fd) < 0)
		die("cannot write %s", path);
}

/* buildah mounts no resolv.conf into a container without a network (and
 * the host's may name a resolver on its own loopback, which the build cannot
 * reach): mount one naming slirp4netns's DNS forwarder, replacing any. */
static void point_dns_at_slirp(json_t *cfg, const char *bundle)
{
	json_t *mounts = json_object_get(cfg, "mounts"), *m;
	char path[PATH_MAX];
	size_t i;
	int fd;

	if (snprintf(path, sizeof(path), "%s/ferry-resolv.conf", bundle) >= (int)sizeof(path))
		die("bundle path %s is too long", bundle);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0 || close(fd) < 0)
		die("cannot create %s", path);
	write_file(path, "nameserver " SLIRP_DNS "\n");
	if (!json_is_array(mounts))
		json_object_set_new(cfg, "mounts", mounts = json_array());
	for (i = json_array_size(mounts); i-- > 0;) {
		const char *dst = json_string_value(json_object_get(json_array_get(mounts, i),
								    "destination"));
		if (dst && !strcmp(dst, "/etc/resolv.conf"))
			json_array_remove(mounts, i);
	}
	m = json_pack("{s:s, s:s, s:s, s:[s, s, s, s]}", "destination", "/etc/resolv.conf",
		      "type", "bind", "source", path, "options", "bind", "ro", "nosuid", "nodev");
	json_array_append_new(mounts, m);
}

static void save_config(const char *bundle, json_t *cfg)
{
	char path[PATH_MAX], tmp[PATH_MAX];

	if (snprintf(path, sizeof(path), "%s/config.json", bundle) >= (int)sizeof(path) ||
	    snprintf(tmp, sizeof(tmp), "%s/config.json.ferry", bundle) >= (int)sizeof(tmp))
		die("bundle path %s is too long", bundle);
	if (json_dump_file(cfg, tmp, JSON_COMPACT) < 0 || rename(tmp, path) < 0)
		die("cannot write %s", path);
}

static pid_t read_pid(const char *path)
{
	char buf[32] = "";
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n;
	long v;
	char *end;

	if (fd < 0)
		return -1;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return -1;
	buf[n] = '\0';
	v = strtol(buf, &end, 10);
	if (v <= 1 || (*end && *end != '\n'))
		return -1;
	return (pid_t)v;
}

/* The monitor: runs slirp4netns for the container whose init is pid and
 * ends it when that process ends (slirp4netns's --exit-fd), or when the
 * monitor itself is killed (delete). Never returns. */
static void monitor(pid_t pid, int ready_fd)
{
	char pidarg[24];
	int exitp[2], pfd = (int)syscall(SYS_pidfd_open, pid, 0);
	pid_t slirp;

	if (pfd < 0 || pipe2(exitp, O_CLOEXEC) < 0)
		_exit(127);
	snprintf(pidarg, sizeof(pidarg), "%d", (int)pid);
	slirp = fork();
	if (slirp < 0)
		_exit(127);
	if (slirp == 0) {
		if (dup2(ready_fd, 3) < 0 || dup2(exitp[0], 4) < 0)
			_exit(127);
		execlp("slirp4netns", "slirp4netns", "--configure", "--mtu=65520",
		       "--disable-host-loopback", "--enable-sandbox", "--enable-seccomp",
		       "--ready-fd=3", "--exit-fd=4", pidarg, "tap0", (char *)NULL);
		_exit(127);
	}
	close(ready_fd);
	close(exitp[0]);
	{
		struct pollfd p = { .fd = pfd, .events = POLLIN };
		while (poll(&p, 1, -1) < 0 && errno == EINTR)
			;
	}
	close(exitp[1]); /* slirp4netns sees EOF and exits */
	while (waitpid(slirp, NULL, 0) < 0 && errno == EINTR)
		;
	_exit(0);
}

/* Starts the monitor (its own session, stdio on /dev/null: it must not hold
 * buildah's pipes) and waits until slirp4netns has configured tap0. Returns
 * the monitor's pid, or -1. */
static pid_t start_slirp(pid_t pid)
{
	int ready[2];
	pid_t child;
	char c;

	if (pipe2(ready, O_CLOEXEC) < 0)
		die("pipe: %s", strerror(errno));
	child = fork();
	if (child < 0)
		die("fork: %s", strerror(errno));
	if (child == 0) {
		int null = open("/dev/null", O_RDWR | O_CLOEXEC);
		setsid();
		if (null >= 0) {
			dup2(null, 0);
			dup2(null, 1);
			dup2(null, 2);
		}
		close(ready[0]);
		if (dup2(ready[1], 3) < 0)
			_exit(127);
		/* Every other descriptor buildah handed to runc (the container's
		 * stdio pipes among them) must close when the container ends. */
		close_range(4, ~0U, 0);
		signal(SIGTERM, SIG_DFL);
		monitor(pid, 3);
	}
	close(ready[1]);
	{
		struct pollfd p = { .fd = ready[0], .events = POLLIN };
		int n;
		do
			n = poll(&p, 1, READY_TIMEOUT_MS);
		while (n < 0 && errno == EINTR);
		if (n <= 0 || read(ready[0], &c, 1) != 1) {
			kill(child, SIGKILL);
			waitpid(child, NULL, 0);
			close(ready[0]);
			return -1;
		}
	}
	close(ready[0]);
	return child;
}

static int cmd_create(int argc, char **argv)
{
	const char *bundle = NULL, *pidfile = NULL, *id = argv[argc - 1];
	const char *cg = getenv("FERRY_SANDBOX_CGROUP");
	const char *net = getenv("FERRY_SANDBOX_NETWORK");
	int egress = net && !strcmp(net, "egress");
	char path[PATH_MAX], cgpath[PATH_MAX];
	json_error_t jerr;
	json_t *cfg;
	pid_t pid = -1, slirp;
	int rc;

	for (int i = 1; i + 1 < argc; i++) {
		if (!strcmp(argv[i], "--bundle") || !strcmp(argv[i], "-b"))
			bundle = argv[++i];
		else if (!strcmp(argv[i], "--pid-file"))
			pidfile = argv[++i];
	}
	if (!bundle || !valid_id(id))
		die("create needs --bundle DIR and a container id%s", NULL);
	if (!cg || *cg != '/' || strstr(cg, ".."))
		die("FERRY_SANDBOX_CGROUP is not set: build steps run only inside ferryd's sandbox%s",
		    NULL);
	if (snprintf(path, sizeof(path), "%s/config.json", bundle) >= (int)sizeof(path) ||
	    snprintf(cgpath, sizeof(cgpath), "%s/%s", cg, id) >= (int)sizeof(cgpath))
		die("bundle or cgroup path too long%s", NULL);
	cfg = json_load_file(path, 0, &jerr);
	if (!cfg)
		die("cannot read %s", path);
	check_isolation(cfg);
	json_object_set_new(json_object_get(cfg, "linux"), "cgroupsPath", json_string(cgpath));
	if (egress)
		point_dns_at_slirp(cfg, bundle);
	save_config(bundle, cfg);
	json_decref(cfg);

	rc = run_runc(argv);
	if (rc != 0 || !egress)
		return rc;
	if (!pidfile || (pid = read_pid(pidfile)) < 0)
		die("runc create wrote no pid file%s", NULL);
	slirp = start_slirp(pid);
	if (slirp < 0) {
		char *del[] = { NULL, "delete", "--force", (char *)id, NULL };
		run_runc(del);
		die("slirp4netns did not set up the build's network (is slirp4netns installed?)%s",
		    NULL);
	}
	state_path(path, sizeof(path), id);
	{
		FILE *f = fopen(path, "we");
		if (!f || fprintf(f, "%d\n", (int)slirp) < 0 || fclose(f) != 0) {
			kill(slirp, SIGTERM);
			die("cannot write %s", path);
		}
	}
	return 0;
}

/* Stops the container's network monitor (and so its slirp4netns), if that
 * pid still is one (not a reused pid). */
static void stop_slirp(const char *id)
{
	char path[PATH_MAX], proc[64], comm[32] = "";
	pid_t pid;
	int fd;

	if (!valid_id(id))
		return;
	state_path(path, sizeof(path), id);
	pid = read_pid(path);
	unlink(path);
	if (pid < 0)
		return;
	snprintf(proc, sizeof(proc), "/proc/%d/comm", (int)pid);
	fd = open(proc, O_RDONLY | O_CLOEXEC);
	if (fd >= 0) {
		ssize_t n = read(fd, comm, sizeof(comm) - 1);
		close(fd);
		if (n > 0)
			comm[n] = '\0';
	}
	if (!strncmp(comm, "ferry-build-run", 15))
		kill(pid, SIGTERM);
}

/* The value of key in a cgroup file of "key value" lines, or 0. */
static long long cgroup_count(const char *path, const char *key)
{
	char buf[4096];
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n;
	size_t klen = strlen(key);

	if (fd < 0)
		return 0;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return 0;
	buf[n] = '\0';
	for (char *p = buf; *p;) {
		char *nl = strchrnul(p, '\n');
		if (!strncmp(p, key, klen) && p[klen] == ' ')
			return strtoll(p + klen + 1, NULL, 10);
		p = *nl ? nl + 1 : nl;
	}
	return 0;
}

/* Before runc removes the container's cgroup: how often it hit the build's
 * process limit and how many of its processes the memory limit killed,
 * appended to FERRY_SANDBOX_EVENTS for ferryd to name the limit. (Under
 * cgroup v1 these count in the container's own cgroup, not in the build's
 * where the limits are set.) */
static void record_events(const char *id)
{
	const char *cg = getenv("FERRY_SANDBOX_CGROUP"), *out = getenv("FERRY_SANDBOX_EVENTS");
	char pids[PATH_MAX], mem[PATH_MAX];
	long long pmax, oom;
	struct stat st;
	FILE *f;

	if (!cg || !out || !*out || !valid_id(id))
		return;
	if (stat("/sys/fs/cgroup/cgroup.controllers", &st) == 0) {
		snprintf(pids, sizeof(pids), "/sys/fs/cgroup%s/%s/pids.events", cg, id);
		snprintf(mem, sizeof(mem), "/sys/fs/cgroup%s/%s/memory.events", cg, id);
	} else {
		snprintf(pids, sizeof(pids), "/sys/fs/cgroup/pids%s/%s/pids.events", cg, id);
		snprintf(mem, sizeof(mem), "/sys/fs/cgroup/memory%s/%s/memory.oom_control", cg, id);
	}
	pmax = cgroup_count(pids, "max");
	oom = cgroup_count(mem, "oom_kill");
	if (!pmax && !oom)
		return;
	f = fopen(out, "ae");
	if (!f)
		return;
	fprintf(f, "pids_max %lld\noom_kill %lld\n", pmax, oom);
	fclose(f);
}

int main(int argc, char **argv)
{
	int cmd = 1;

	while (cmd < argc && argv[cmd][0] == '-') {
		if (global_takes_value(argv[cmd]))
			cmd++;
		cmd++;
	}
	if (cmd >= argc) {
		argv[0] = (char *)runc_path();
		execvp(argv[0], argv);
		die("cannot run runc: %s", strerror(errno));
	}
	if (!strcmp(argv[cmd], "create"))
		return cmd_create(argc, argv);
	if (!strcmp(argv[cmd], "run"))
		die("refusing \"runc run\": build steps go through create, where the sandbox is "
		    "checked%s", NULL);
	if (!strcmp(argv[cmd], "delete") && argc > cmd + 1) {
		record_events(argv[argc - 1]);
		stop_slirp(argv[argc - 1]);
	}
	argv[0] = (char *)runc_path();
	execvp(argv[0], argv);
	die("cannot run runc: %s", strerror(errno));
	return 1;
}
