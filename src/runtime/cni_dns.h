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

/* After network was removed: stops its dnsmasq (SIGTERM, only if the pid
 * in its pidfile is still that network's dnsmasq) and removes its state
 * directory. Returns 1 if a helper was stopped, 0 if there was none. */
int cni_dns_stop(const char *network);

#endif
