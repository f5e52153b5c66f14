/* registry_prune: the managed registry's storage stays bounded.
 *
 * A component's image (a manifest in ferry's registry, recorded by a build)
 * stays while some deployment using it is pending, rolling out or active,
 * is among the last keep_deployments deployments of its component and
 * environment (the same N as the runtime host's images, core/image_prune.h,
 * so a rollback target is always pullable), has an execution pending or
 * running, or belongs to one of the component's newest keep_builds
 * successful builds (deployable without a rebuild), or to a build still
 * running. The others are deleted from the registry (a manifest DELETE;
 * only ferryd does that) and their builds forget the image (builds.image
 * NULL: deploying one is refused with a message saying to build again);
 * the registry's garbage collection then frees the blobs.
 *
 * Only the managed registry: an external registry's retention is its
 * operator's (nothing is deleted there, apart from the older image of a
 * rebuilt commit, core/build.c).
 */
#ifndef FERRY_CORE_REGISTRY_PRUNE_H
#define FERRY_CORE_REGISTRY_PRUNE_H

#include <jansson.h>

#include "lib/error.h"

#define REGISTRY_PRUNE_KEEP_BUILDS_DEFAULT 5

/* With apply 0 only counts. Returns (new reference) {"manifests": the
 * components' images in the registry, "reclaimable_manifests": those the
 * next prune deletes, "reclaimable_bytes": what the GC after it frees
 * (blobs no kept image shares, and garbage already there), "deleted_manifests",
 * "keep_builds"}, or NULL with e set. An external registry, or none yet:
 * zeros (reclaimable_bytes 0). A manifest whose delete fails stays (its
 * builds keep their image) and is tried again next time; the first such
 * error is logged, the others counted in "delete_failures". */
json_t *registry_prune(int keep_deployments, int keep_builds, int apply, struct ferr *e);

#endif
