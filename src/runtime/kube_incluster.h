/* kube_incluster: the credentials of a pod's service account, for kubectl.
 *
 * When ferryd runs as a pod (serviceAccountName: ferry), the kubelet gives
 * it KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT and mounts the
 * account's token, the cluster's CA and the namespace at
 * /var/run/secrets/kubernetes.io/serviceaccount. kube_incluster_kubeconfig
 * writes a kubeconfig that points kubectl at them: the API server's
 * address, the CA file and the token *file* (tokenFile: kubectl reads it
 * again as the kubelet rotates it; the token itself is never copied).
 *
 * FERRY_KUBE_SERVICEACCOUNT_DIR, for tests only, replaces that directory.
 */
#ifndef FERRY_RUNTIME_KUBE_INCLUSTER_H
#define FERRY_RUNTIME_KUBE_INCLUSTER_H

#include <stddef.h>

#include "lib/error.h"

#define KUBE_SERVICEACCOUNT_DIR "/var/run/secrets/kubernetes.io/serviceaccount"

/* Writes the kubeconfig (mode 0600) to path when the environment says
 * ferryd runs in a pod: returns 1. 0 when it does not (no
 * KUBERNETES_SERVICE_HOST): nothing written. -1 with e naming what is
 * missing (the port, the token or CA file). */
int kube_incluster_kubeconfig(const char *path, struct ferr *e);

#endif
