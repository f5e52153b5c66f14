/* rollout_config: what ferryd gives the rollout engine at start, podman's
 * (core/rollout.h) or Kubernetes' (core/rollout_kube.h). Types only.
 *
 * ferryd builds the drivers and hands them in: core never constructs one
 * and names none but through runtime/runtime.h and gateway/gateway.h.
 * Both come up lazily, from the engine's thread, through the openers
 * below: the runtime once something is (or was) deployed and the build
 * infrastructure podman runs with is up, the gateway on its first need. */
#ifndef FERRY_ROLLOUT_CONFIG_H
#define FERRY_ROLLOUT_CONFIG_H

#include "lib/error.h"

struct gateway;
struct runtime;

struct rollout_config {
	const char *data_dir;
	const char *gateway_listen;   /* "127.0.0.1:8080" */
	/* Opens the runtime driver for the engine's instance (label
	 * ferry.instance, prefix of container and network names; a string
	 * that lives as long as the engine). Must not block: while the driver
	 * cannot be made yet (the build infrastructure is not up, the cluster
	 * does not answer) it returns -1 with e set, the reason the engine
	 * reports, and is called again on the next pass. On 0 *ret belongs
	 * to the engine (freed at rollout_stop). */
	int (*runtime_open)(const char *instance, struct runtime **ret, struct ferr *e);
	/* Opens the gateway: started, or adopted when a gateway of an earlier
	 * ferryd on this data dir still runs. Called on the gateway's first
	 * need, never twice at once, again after a failure. Returns it (ferryd
	 * keeps owning it, and keeps it running: it outlives rollout_stop) or
	 * NULL with e set. podman engine only. */
	struct gateway *(*gateway_open)(struct ferr *e);
	/* 1 when a gateway an earlier ferryd started on this data dir may
	 * still run: the first pass then opens (adopts) it and syncs it,
	 * though nothing is deployed. NULL: never. */
	int (*gateway_left_running)(void);
	/* "podman" (NULL) or "kubernetes": then core/rollout_kube.h's engine
	 * runs instead, its driver from runtime_open too */
	const char *runtime;
	/* Kubernetes: the kubeconfig and context the driver uses (NULL:
	 * kubectl's default), for the engine's start line in the log */
	const char *kubeconfig;
	const char *kube_context;
};

#endif
