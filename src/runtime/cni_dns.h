/* cni_dns: the DNS helper CNI's dnsname plugin runs for a network.
 *
 * With podman's CNI backend every network with DNS gets a dnsmasq, bound
 * to the network's bridge by name (bind-dynamic), recorded in
 * /run/containers/cni/dnsname/<network>/pidfile. Removing the network does
 * not always stop it; a dnsmasq left behind then takes the address of the
 * next network that gets the same bridge name, whose containers all fail
 * to start ("dnsmasq: failed to create listening socket ... Address already
 * in use").
 */
#ifndef FERRY_RUNTIME_CNI_DNS_H
#define FERRY_RUNTIME_CNI_DNS_H

#include <sys/types.h>

/* After network was removed: stops its dnsmasq (SIGTERM, only if the pid
 * in its pidfile is still that network's dnsmasq) and removes its state
 * directory. Returns 1 if a helper was stopped, 0 if there was none. */
int cni_dns_stop(const char *network);

/* What cni_dns_check() found. */
enum cni_dns_state {
	CNI_DNS_NONE = 0,      /* the network has no helper state (no DNS yet) */
	CNI_DNS_UP = 1,        /* its dnsmasq runs */
	CNI_DNS_IDLE = 2,      /* no dnsmasq, and no container needs one */
	CNI_DNS_RESTARTED = 3, /* it had died; started again (repair) */
	CNI_DNS_DOWN = 4,      /* it died and could not be started (or !repair) */
};

/* Checks network's dnsmasq: alive when the pid in its pidfile is a dnsmasq
 * with that network's configuration. With repair, one that died while
 * containers are on the network (its hosts file lists them) is started
 * again exactly as the plugin starts it (dnsmasq -u root
 * --conf-file=.../dnsmasq.conf). Sets *ret_pid (0 if none). */
enum cni_dns_state cni_dns_check(const char *network, int repair, pid_t *ret_pid);

/* Calls fn with each network that has helper state and whose name starts
 * with prefix followed by '-'. Returns how many. */
int cni_dns_networks(const char *prefix, void (*fn)(const char *network, void *arg), void *arg);

#endif
