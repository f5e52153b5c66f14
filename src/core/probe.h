/* probe: the network health probes of the rollout engine.
 *
 * A probe asks one replica, through its published port on the loopback,
 * whether it is healthy: an HTTP GET (healthy on a 200..399 answer) or a
 * TCP connect. Exec probes run inside the container and belong to the
 * runtime driver (runtime_exec_probe); core/rollout_replica.c combines them.
 *
 * Every probe writes a short human answer ("HTTP 200", "HTTP 503",
 * "connection refused", "timed out after 1000 ms") into the caller's buffer,
 * which the engine records in a deployment's rollout log when the answer
 * decides something. Probes never log, never block longer than their
 * timeout, and are safe from any thread.
 */
#ifndef FERRY_PROBE_H
#define FERRY_PROBE_H

#include <stddef.h>

/* Largest answer text a probe writes (with its NUL). */
#define PROBE_ANSWER_MAX 160

/* GETs path (starting with '/') from 127.0.0.1:port with "Host: host" (NULL:
 * "localhost"), within timeout_ms (> 0) for connect, send and the status
 * line together. Returns 1 if the status is 200..399, 0 otherwise (another
 * status, no answer, refused, timed out, not HTTP); answer (size bytes,
 * may be 0) says which. */
int probe_http(int port, const char *path, const char *host, int timeout_ms, char *answer,
	       size_t size);

/* Connects to 127.0.0.1:port within timeout_ms (> 0) and closes again.
 * Returns 1 if the connection was accepted, 0 otherwise, with answer. */
int probe_tcp(int port, int timeout_ms, char *answer, size_t size);

#endif
