/* connguard: the API's defences against hostile clients at the connection
 * level, around libmicrohttpd (thread per connection):
 *
 *   - at most per_ip connections from one client address and total in all:
 *     a connection beyond either is answered "503 Service Unavailable" with
 *     Retry-After and closed at once (over TLS: closed), instead of holding a
 *     thread or being reset;
 *   - a request must be read whole (headers and body) within
 *     request_timeout_s of its first byte being awaited, or its connection is
 *     closed (slow-header / slow-body clients); responses, including long
 *     NDJSON follows, are not limited by it;
 *   - idle keep-alive connections end after MHD's connection timeout
 *     (http.c sets it from idle_timeout_s).
 */
#ifndef FERRY_API_CONNGUARD_H
#define FERRY_API_CONNGUARD_H

#include <microhttpd.h>

#include "lib/error.h"

struct connguard_limits {
	unsigned per_ip;             /* 0: 64 */
	unsigned total;              /* 0: 512 */
	unsigned request_timeout_s;  /* 0: 30 */
	unsigned idle_timeout_s;     /* 0: 60 */
	int tls;                     /* 1: no plaintext 503 is possible */
};

/* Sets the limits and starts the thread that closes connections past their
 * request deadline. Returns 0 or -1 with e set. */
int connguard_start(const struct connguard_limits *l, struct ferr *e);
void connguard_stop(void);

/* The limits in force (defaults filled in). */
const struct connguard_limits *connguard_limits(void);

/* MHD_OPTION_NOTIFY_CONNECTION callback. */
void connguard_notify(void *cls, struct MHD_Connection *c, void **socket_context,
		      enum MHD_ConnectionNotificationCode code);

/* The request's headers are in: its body may still be arriving. */
void connguard_request_started(struct MHD_Connection *c);
/* The request is read whole: the response is not under the deadline. */
void connguard_request_read(struct MHD_Connection *c);
/* The request ended: the next one's deadline starts now. */
void connguard_request_done(struct MHD_Connection *c);

/* Connections open now (for tests and logs). */
unsigned connguard_open(void);

#endif
