/* rollout_config: what ferryd gives the rollout engine at start, podman's
 * (core/rollout.h) or Kubernetes' (core/rollout_kube.h). Types only. */
#ifndef FERRY_ROLLOUT_CONFIG_H
#define FERRY_ROLLOUT_CONFIG_H

#include "lib/error.h"

struct rollout_config {
	const char *data_dir;
	const char *gateway_listen;   /* "127.0.0.1:8080" */
	/* env for podman (CONTAINERS_CONF ...); NULL: containers_env_wait's */
	const char *const *containers_env;
	/* With containers_env NULL: waits (without blocking: 0 ms) for the
	 * build infrastructure and returns its env, or NULL with e set while
	 * it is not up. ferryd passes one over infra_wait and
	 * registry_env, so the engine never includes the build module. */
	const char *const *(*containers_env_wait)(struct ferr *e);
	const char *init_binary;      /* ferry-init, bind-mounted as PID 1 */
	/* "podman" (NULL) or "kubernetes": then core/rollout_kube.h's engine
	 * runs instead, with these (each NULL: kubectl's default) */
	const char *runtime;
	const char *kubectl;
	const char *kubeconfig;
	const char *kube_context;
};

#endif
