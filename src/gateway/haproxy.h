/* haproxy: the HAProxy gateway driver's constructor. Only ferryd (which
 * builds the drivers and hands them to the rollout engine) and the
 * driver's own tests include this; everything else uses gateway/gateway.h.
 */
#ifndef FERRY_GATEWAY_HAPROXY_H
#define FERRY_GATEWAY_HAPROXY_H

#include "gateway/gateway.h"
#include "lib/error.h"

struct haproxy_config {
	const char *data_dir;    /* absolute or relative; files go under
				    DATA/gateway/ (created 0700). No spaces. */
	const char *listen;      /* "127.0.0.1:8080" */
	unsigned slots;          /* routes before the pool must grow; 0: 256 */
	const char *haproxy_bin; /* NULL: /usr/sbin/haproxy, else "haproxy" in
				    PATH */
};

/* Starts the HAProxy gateway: writes DATA/gateway/haproxy.cfg and its map
 * files, then starts `haproxy -W -db` (master-worker, foreground, in its own
 * process group) with its admin socket at DATA/gateway/haproxy.sock, and
 * waits until the socket answers; its pid goes to lib/pidfile's
 * PIDFILE_GATEWAY. If a HAProxy started by an earlier ferryd on the same
 * data dir is still running, it is adopted instead, with its routes and
 * servers, so traffic is not interrupted; call gateway_sync() afterwards to
 * converge it to the store's desired state.
 * On success *ret owns the gateway (gateway_free()). Fails when haproxy
 * cannot be run or does not come up (e.g. the port is taken: the message
 * carries haproxy's own words, also in DATA/gateway/haproxy.log). */
int haproxy_gateway_start(struct gateway **ret, const struct haproxy_config *cfg, struct ferr *e);

#endif
