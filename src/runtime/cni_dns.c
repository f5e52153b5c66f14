/* Stopping the dnsname helper of a removed network; see cni_dns.h. */
#include "cni_dns.h"

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

int cni_dns_stop(const char *network)
{
	char path[512], buf[4096], want[512];
	ssize_t n;
	long pid;
	char *end;
	int stopped = 0;

	if (strchr(network, '/') || !*network)
		return 0;
	snprintf(path, sizeof(path), DNSNAME_DIR "/%s/pidfile", network);
	if (read_small(path, buf, 32) > 0) {
		pid = strtol(buf, &end, 10);
		snprintf(path, sizeof(path), "/proc/%ld/cmdline", pid);
		snprintf(want, sizeof(want), DNSNAME_DIR "/%s/dnsmasq.conf", network);
		if (pid > 1 && (*end == '\n' || !*end) && (n = read_small(path, buf, sizeof(buf))) > 0) {
			/* cmdline is NUL-separated: look at every argument */
			for (ssize_t i = 0; i < n; i += (ssize_t)strlen(buf + i) + 1)
				if (strstr(buf + i, want) && !strncmp(buf, "/usr/sbin/dnsmasq", 17)) {
					stopped = kill((pid_t)pid, SIGTERM) == 0;
					break;
				}
		}
	}
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
