/* image_prune: the runtime host's local images of ferry's deployments are
 * bounded. An image (pulled by digest from ferry's registry) stays while
 * some deployment that uses it is pending, rolling out or active, is among
 * the last keep deployments of its component and environment (kept for
 * rollback), or has an execution pending or running; the others are
 * removed from the runtime's store (never forced: one a container still
 * uses stays). Only images with a reference in ferry's registry count;
 * one that also has references elsewhere (the same content pulled from
 * another registry) is "shared" and stays: it is not ferry's alone.
 */
#ifndef FERRY_CORE_IMAGE_PRUNE_H
#define FERRY_CORE_IMAGE_PRUNE_H

#include <jansson.h>

#include "lib/error.h"

#define IMAGE_PRUNE_KEEP_DEFAULT 5

struct runtime;

/* With apply 0 only counts. Returns {"count", "bytes", "reclaimable_count",
 * "reclaimable_bytes", "removed_count", "removed_bytes", "in_use", "shared",
 * "keep_per_environment"} (new
 * reference), or NULL with e set. rt NULL (nothing deployed yet): zeros. */
json_t *image_prune(struct runtime *rt, int keep, int apply, struct ferr *e);

#endif
