#include "core/repo_policy.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

#include "lib/banned.h"

static int allow_local;

void repo_policy_allow_local(int allow)
{
	allow_local = allow;
}

/* 1 for loopback, link-local and unspecified addresses. */
static int local_v4(const struct in_addr *a)
{
	uint32_t h = ntohl(a->s_addr);
	return (h >> 24) == 127 || (h >> 16) == 0xa9fe || h == 0;
}

static int local_v6(const struct in6_addr *a)
{
	if (IN6_IS_ADDR_LOOPBACK(a) || IN6_IS_ADDR_LINKLOCAL(a) || IN6_IS_ADDR_UNSPECIFIED(a))
		return 1;
	if (IN6_IS_ADDR_V4MAPPED(a)) {
		struct in_addr v4;
		memcpy(&v4, &a->s6_addr[12], 4);
		return local_v4(&v4);
	}
	return 0;
}

/* The host of scheme://[user@]host[:port]/..., into out. */
static int url_host(const char *url, char *out, size_t size)
{
	const char *p = strstr(url, "://"), *end, *at;
	size_t n;

	if (!p)
		return -1;
	p += 3;
	end = p + strcspn(p, "/?#");
	at = memchr(p, '@', (size_t)(end - p));
	if (at)
		p = at + 1;
	if (*p == '[') {
		const char *close = memchr(p, ']', (size_t)(end - p));
		if (!close)
			return -1;
		p++;
		end = close;
	} else {
		const char *colon = memchr(p, ':', (size_t)(end - p));
		if (colon)
			end = colon;
	}
	n = (size_t)(end - p);
	if (!n || n >= size)
		return -1;
	memcpy(out, p, n);
	out[n] = '\0';
	return 0;
}

/* 1 if host names a local address (literally, as *localhost, or by what it
 * resolves to now). A name that does not resolve is not local: fetching it
 * fails anyway. NEEDSWORK: a name may resolve elsewhere at fetch time (DNS
 * rebinding); the fetch does not check again. */
static int host_is_local(const char *host)
{
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM }, *res = NULL;
	struct in_addr a4;
	struct in6_addr a6;
	size_t n = strlen(host);
	int local = 0;

	if (inet_pton(AF_INET, host, &a4) == 1)
		return local_v4(&a4);
	if (inet_pton(AF_INET6, host, &a6) == 1)
		return local_v6(&a6);
	if (!strcasecmp(host, "localhost") ||
	    (n > 10 && !strcasecmp(host + n - 10, ".localhost")))
		return 1;
	if (getaddrinfo(host, NULL, &hints, &res) != 0)
		return 0;
	for (struct addrinfo *ai = res; ai && !local; ai = ai->ai_next) {
		if (ai->ai_family == AF_INET)
			local = local_v4(&((struct sockaddr_in *)ai->ai_addr)->sin_addr);
		else if (ai->ai_family == AF_INET6)
			local = local_v6(&((struct sockaddr_in6 *)ai->ai_addr)->sin6_addr);
	}
	freeaddrinfo(res);
	return local;
}

int repo_policy_check(const struct principal *who, const char *url, struct ferr *e)
{
	char host[256];

	if (allow_local || (who && who->role == ROLE_ADMIN))
		return 0;
	if (!strncmp(url, "file://", 7))
		return ferr_set(e, 403, "forbidden", "file:// repositories (a path on the server) "
				"are accepted only from an admin token, or when ferryd runs with "
				"--allow-local-repos");
	if (url_host(url, host, sizeof(host)) == 0 && host_is_local(host))
		return ferr_set(e, 403, "forbidden", "repository host \"%s\" is a loopback or "
				"link-local address of the server: accepted only from an admin token, "
				"or when ferryd runs with --allow-local-repos", host);
	return 0;
}

int repo_policy_url_local(const struct principal *who, const char *url)
{
	char host[256];

	if (allow_local || (who && who->role == ROLE_ADMIN))
		return 0;
	return url_host(url, host, sizeof(host)) == 0 && host_is_local(host);
}
