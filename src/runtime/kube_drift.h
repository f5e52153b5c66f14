/* kube_drift: whether an object in the cluster still holds what ferry
 * applies, for the reconciler's drift repair (core/rollout_kube.c).
 *
 * Pure: the object ferry renders (runtime/kube_render.h) and the object as
 * the API server returns it (kubectl get -o json) in, a verdict and where
 * they part out. No I/O.
 *
 * What is compared, by kind:
 *   every kind     metadata.labels and metadata.annotations: each one ferry
 *                  sets is there with ferry's value (others' labels, such as
 *                  the API server's kubernetes.io/metadata.name, are theirs)
 *   NetworkPolicy  spec, exactly: ferry renders all of it and the API server
 *                  defaults nothing in it, so anything added (a peer, a
 *                  rule, a selector's term) changes who gets in
 *   Service, Ingress, HTTPRoute
 *                  spec, as a cover: every field ferry sets has ferry's value
 *                  and every list ferry sets has as many items; fields ferry
 *                  leaves out are the API server's defaults (clusterIP, a
 *                  backendRef's weight) and not compared
 *   Secret         type and data, as a cover (the configuration Secret is
 *                  immutable; the pull Secret is not)
 *   Deployment, CronJob
 *                  metadata only: their spec is followed by its generation
 *                  (the reconciler compares it with the one ferry left)
 */
#ifndef FERRY_RUNTIME_KUBE_DRIFT_H
#define FERRY_RUNTIME_KUBE_DRIFT_H

#include <jansson.h>
#include <stddef.h>

/* Returns 0 when live holds what desired sets, 1 when not: then where
 * (size bytes) names the first place they part ("spec.ingress[0].from",
 * "metadata.labels.pod-security.kubernetes.io/enforce"), never a value. */
int kube_drift(const json_t *desired, const json_t *live, char *where, size_t size);

#endif
