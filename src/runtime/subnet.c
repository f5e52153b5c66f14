/* A free /24 for a new network; see subnet.h. */
#include "subnet.h"

#include <arpa/inet.h>
#include <errno.h>
#include <ifaddrs.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "lib/banned.h"

#define POOL 0x0a590000u /* 10.89.0.0/16: podman's own pool for bridges */

/* 1 if any interface address of the host lies in 10.89.n.0/24. */
static int held(const struct ifaddrs *list, unsigned n)
{
	for (const struct ifaddrs *i = list; i; i = i->ifa_next) {
		uint32_t a;
		if (!i->ifa_addr || i->ifa_addr->sa_family != AF_INET)
			continue;
		a = ntohl(((const struct sockaddr_in *)i->ifa_addr)->sin_addr.s_addr);
		if ((a & 0xffffff00u) == (POOL | (n << 8)))
			return 1;
	}
	return 0;
}

int subnet_next_free(int *cursor, char *out, size_t size, struct ferr *e)
{
	struct ifaddrs *list = NULL;

	if (getifaddrs(&list) < 0)
		return ferr_internal(e, "listing the host's addresses: %s", strerror(errno));
	for (; *cursor < 256; (*cursor)++) {
		if (held(list, (unsigned)*cursor))
			continue;
		snprintf(out, size, "10.89.%d.0/24", *cursor);
		(*cursor)++;
		freeifaddrs(list);
		return 0;
	}
	freeifaddrs(list);
	return ferr_set(e, 503, "runtime", "no free /24 left in 10.89.0.0/16 for a new network: remove "
			"unused podman networks and leftover bridges");
}
