/* Stopping the dnsname helper of a removed network; see cni_dns.h. */
#include "cni_dns.h"

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <unistd.h>

#include "lib/spawn.h"
#include "lib/banned.h"

#define DNSNAME_DIR "/run/containers/cni/dnsname"

static ssize_t read_small(const char *path, char *buf, size_t size)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -1;
	n = read(fd, buf, size - 1);
	close(fd);
	if (n >= 0)
		buf[n] = '\0';
	return n;
}

/* The pid of network's running dnsmasq, or 0. */
static pid_t helper_pid(const char *network)
{
	char path[512], buf[4096], want[512];
	ssize_t n;
	long pid;
	char *end;

	snprintf(path, sizeof(path), DNSNAME_DIR "/%s/pidfile", network);
	if (read_small(path, buf, 32) <= 0)
		return 0;
	pid = strtol(buf, &end, 10);
	if (pid <= 1 || (*end != '\n' && *end))
		return 0;
	snprintf(path, sizeof(path), "/proc/%ld/cmdline", pid);
	snprintf(want, sizeof(want), DNSNAME_DIR "/%s/dnsmasq.conf", network);
	if ((n = read_small(path, buf, sizeof(buf))) <= 0 || strncmp(buf, "/usr/sbin/dnsmasq", 17))
		return 0;
	/* cmdline is NUL-separated: look at every argument */
	for (ssize_t i = 0; i < n; i += (ssize_t)strlen(buf + i) + 1)
		if (strstr(buf + i, want))
			return (pid_t)pid;
	return 0;
}

static int valid_network(const char *network)
{
	return *network && !strchr(network, '/') && strcmp(network, ".") && strcmp(network, "..");
}

enum cni_dns_state cni_dns_check(const char *network, int repair, pid_t *ret_pid)
{
	char conf[512], hosts[512], arg[600], buf[64];
	struct ferr e = FERR_INIT;
	struct spawn s = SPAWN_INIT;
	const char *argv[] = { "/usr/sbin/dnsmasq", "-u", "root", arg, NULL };

	*ret_pid = 0;
	if (!valid_network(network))
		return CNI_DNS_NONE;
	snprintf(conf, sizeof(conf), DNSNAME_DIR "/%s/dnsmasq.conf", network);
	if (access(conf, R_OK) < 0)
		return CNI_DNS_NONE;
	*ret_pid = helper_pid(network);
	if (*ret_pid)
		return CNI_DNS_UP;
	snprintf(hosts, sizeof(hosts), DNSNAME_DIR "/%s/addnhosts", network);
	if (read_small(hosts, buf, sizeof(buf)) <= 0)
		return CNI_DNS_IDLE;
	if (!repair)
		return CNI_DNS_DOWN;
	snprintf(arg, sizeof(arg), "--conf-file=%s", conf);
	s.argv = argv;
	/* dnsmasq forks into the background; its parent exits at once */
	if (spawn_start(&s, &e) < 0 || spawn_wait(&s) != 0)
		return CNI_DNS_DOWN;
	for (int i = 0; i < 20 && !(*ret_pid = helper_pid(network)); i++)
		usleep(50 * 1000);
	return *ret_pid ? CNI_DNS_RESTARTED : CNI_DNS_DOWN;
}

int cni_dns_networks(const char *prefix, void (*fn)(const char *network, void *arg), void *arg)
{
	size_t pl = strlen(prefix);
	struct dirent *de;
	DIR *d = opendir(DNSNAME_DIR);
	int n = 0;

	while (d && (de = readdir(d))) {
		if (strncmp(de->d_name, prefix, pl) || de->d_name[pl] != '-' || !valid_network(de->d_name))
			continue;
		fn(de->d_name, arg);
		n++;
	}
	if (d)
		closedir(d);
	return n;
}

int cni_dns_stop(const char *network)
{
	char path[512];
	pid_t pid;
	int stopped = 0;

	if (!valid_network(network))
		return 0;
	pid = helper_pid(network);
	if (pid)
		stopped = kill(pid, SIGTERM) == 0;
	snprintf(path, sizeof(path), DNSNAME_DIR "/%s", network);
	if (access(path, F_OK) == 0) {
		const char *argv[] = { "rm", "-rf", "--one-file-system", "--", path, NULL };
		struct strbuf out = STRBUF_INIT;
		struct ferr e = FERR_INIT;
		spawn_capture(argv, NULL, NULL, &out, 4096, 10000, &e);
		strbuf_release(&out);
	}
	return stopped;
}
