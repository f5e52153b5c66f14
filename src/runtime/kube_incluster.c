/* kube_incluster: a kubeconfig for a pod's service account (see
 * kube_incluster.h). */
#include "kube_incluster.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/banned.h"

static int readable(const char *path, struct ferr *e)
{
	if (access(path, R_OK) == 0)
		return 0;
	return ferr_invalid(e, "in-cluster credentials: %s: %s (is the service account's token "
			    "mounted? automountServiceAccountToken must not be false for ferryd's pod)",
			    path, strerror(errno));
}

int kube_incluster_kubeconfig(const char *path, struct ferr *e)
{
	const char *host = getenv("KUBERNETES_SERVICE_HOST"), *port = getenv("KUBERNETES_SERVICE_PORT");
	const char *dir = getenv("FERRY_KUBE_SERVICEACCOUNT_DIR");
	char server[300], token[4096], ca[4096], nsfile[4096], ns[256] = "", tmp[4200];
	json_t *cfg, *ctx;
	FILE *f;
	int fd, rc;

	if (!host || !*host)
		return 0;
	if (!port || !*port || strspn(port, "0123456789") != strlen(port))
		return ferr_invalid(e, "in-cluster credentials: KUBERNETES_SERVICE_HOST is set but "
				    "KUBERNETES_SERVICE_PORT is %s", port && *port ? "not a port number" : "not");
	if (!dir || !*dir)
		dir = KUBE_SERVICEACCOUNT_DIR;
	snprintf(token, sizeof(token), "%s/token", dir);
	snprintf(ca, sizeof(ca), "%s/ca.crt", dir);
	snprintf(nsfile, sizeof(nsfile), "%s/namespace", dir);
	if (readable(token, e) < 0 || readable(ca, e) < 0)
		return -1;
	if ((f = fopen(nsfile, "re"))) {
		if (fgets(ns, sizeof(ns), f))
			ns[strcspn(ns, "\r\n")] = '\0';
		fclose(f);
	}
	/* an IPv6 address goes in brackets */
	snprintf(server, sizeof(server), strchr(host, ':') ? "https://[%s]:%s" : "https://%s:%s", host, port);
	ctx = json_pack("{s:s, s:s}", "cluster", "in-cluster", "user", "service-account");
	if (ns[0])
		json_object_set_new(ctx, "namespace", json_string(ns));
	cfg = json_pack("{s:s, s:s, s:s, s:[{s:s, s:{s:s, s:s}}], s:[{s:s, s:{s:s}}], s:[{s:s, s:o}]}",
			"apiVersion", "v1", "kind", "Config", "current-context", "in-cluster",
			"clusters", "name", "in-cluster", "cluster", "server", server, "certificate-authority", ca,
			"users", "name", "service-account", "user", "tokenFile", token,
			"contexts", "name", "in-cluster", "context", ctx);
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
	rc = fd >= 0 && json_dumpfd(cfg, fd, JSON_INDENT(1)) == 0 && fsync(fd) == 0 ? 0 : -1;
	if (fd >= 0 && close(fd) < 0)
		rc = -1;
	if (rc == 0 && rename(tmp, path) < 0)
		rc = -1;
	json_decref(cfg);
	if (rc < 0) {
		ferr_internal(e, "in-cluster credentials: cannot write %s: %s", path, strerror(errno));
		unlink(tmp);
		return -1;
	}
	return 1;
}
