/* kube_status: what the Kubernetes API's objects say about a rollout or a
 * run, read the way the official clients read them.
 *
 * Pure: objects in (as the API returns them: kubectl get -o json), facts
 * out. No I/O. The rules follow kubectl rollout status
 * (k8s.io/kubectl/pkg/polymorphichelpers/rollout_status.go) and the Job
 * controller's conditions.
 */
#ifndef FERRY_RUNTIME_KUBE_STATUS_H
#define FERRY_RUNTIME_KUBE_STATUS_H

#include <jansson.h>
#include <stddef.h>

enum kube_rollout {
	KUBE_ROLLOUT_PROGRESSING = 0,
	KUBE_ROLLOUT_DONE,       /* the newest template is everything that runs, all available */
	KUBE_ROLLOUT_FAILED,     /* the Deployment reports ProgressDeadlineExceeded */
};

/* A Deployment's rollout: observedGeneration has caught up with generation,
 * updatedReplicas == replicas == availableReplicas and no old replica is
 * left; or failed by its Progressing condition. why (size bytes) says
 * where it stands ("1 of 2 updated, 0 available", or the condition's
 * message). */
enum kube_rollout kube_rollout_state(const json_t *deployment, char *why, size_t size);

/* The reasons a component's pods (a PodList or a List of pods) are not
 * ready, one clause per pod that is not, into out (size bytes): the Ready
 * condition's message, a waiting container's reason and message, a
 * terminated one's exit code and reason, restarts. "" when all are ready. */
void kube_pod_reasons(const json_t *pods, char *out, size_t size);

enum kube_job {
	KUBE_JOB_PENDING = 0,    /* no pod has started yet */
	KUBE_JOB_RUNNING,
	KUBE_JOB_SUCCEEDED,
	KUBE_JOB_FAILED,
};

/* A Job's state from its status (conditions Complete / Failed, active). */
enum kube_job kube_job_state(const json_t *job);

/* The exit code of the first container of the newest terminated pod of
 * pods (a PodList), or -1 when none has terminated. */
int kube_pods_exit_code(const json_t *pods);

/* The label value key of obj (metadata.labels), or NULL. */
const char *kube_label(const json_t *obj, const char *key);

#endif
