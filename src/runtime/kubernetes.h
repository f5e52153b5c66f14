/* kubernetes: the runtime driver for a Kubernetes cluster.
 *
 * Kubernetes rolls out whole workloads itself (a Deployment's
 * RollingUpdate), so services do not go through the replica operations of
 * runtime.h: core applies the objects runtime/kube_render.h renders and
 * follows the rollout with the client this driver holds
 * (kubernetes_kubectl), reading the objects with runtime/kube_status.h.
 *
 * The replica operations of runtime.h are the runs of tasks: a replica is
 * one Job (labelled ferry.dev/execution-id), its id "e<execution id>",
 * its slot (replica) the execution id. list, inspect, logs (the Job's pod,
 * followed), wait (until the Job completes or fails: the container's exit
 * code), stop_replica (a running Job and its pods deleted; a finished one is left
 * to its ttlSecondsAfterFinished, a day) work on them;
 * start_replica does not (a Job needs the deployment's configuration
 * Secret and rendering: core applies it), nor do restart_replica and
 * exec_probe (the kubelet runs probes). ensure_network and remove_network
 * succeed without doing anything: a namespace comes with the objects and
 * goes with the project.
 */
#ifndef FERRY_RUNTIME_KUBERNETES_H
#define FERRY_RUNTIME_KUBERNETES_H

#include "lib/error.h"
#include "runtime/kubectl.h"
#include "runtime/runtime.h"

struct kubernetes_config {
	const char *kubectl;      /* NULL: "kubectl" from PATH */
	const char *kubeconfig;   /* NULL: KUBECONFIG, ~/.kube/config or in-cluster */
	const char *context;      /* NULL: the current context */
	const char *instance;     /* ferry.dev/instance of the objects (required) */
};

/* Makes the driver and checks that the cluster answers. Returns 0 with
 * *ret, or -1 with e set (502 naming what kubectl said). */
int kubernetes_runtime_new(struct runtime **ret, const struct kubernetes_config *cfg,
			   struct ferr *e);

/* The API client of a driver made by kubernetes_runtime_new (owned by it);
 * NULL for any other driver. */
struct kubectl *kubernetes_kubectl(struct runtime *rt);

/* The label selector of everything this driver's instance made, with
 * extra ("key=value,...", or NULL) appended, into out. */
void kubernetes_selector(struct runtime *rt, const char *extra, char *out, size_t size);

#endif
