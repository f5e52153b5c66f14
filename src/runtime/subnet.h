/* subnet: a free /24 for a new container network.
 *
 * podman picks a new network's subnet among those no other podman network
 * has, but not among addresses still held by the host: a bridge that a
 * removed network left behind (down, with its address) and the DNS helper
 * still bound to it (CNI's dnsname dnsmasq) make the next network on that
 * subnet fail at its first container ("dnsmasq: failed to create listening
 * socket ... Address already in use"). ferry therefore names the subnet
 * itself, one that no host interface uses in any state.
 */
#ifndef FERRY_RUNTIME_SUBNET_H
#define FERRY_RUNTIME_SUBNET_H

#include <stddef.h>

#include "lib/error.h"

/* Writes into out ("10.89.N.0/24") the first /24 of 10.89.0.0/16 at or
 * after index *cursor (0..255) that no interface address of the host falls
 * in, and advances *cursor past it (so a caller that finds it taken by
 * another network tries the next). Returns 0, or -1 with e set when none
 * is left. */
int subnet_next_free(int *cursor, char *out, size_t size, struct ferr *e);

#endif
