/* registry_storage: what the managed registry's storage holds, read from
 * its files (distribution's filesystem driver layout, docker/registry/v2/
 * below the storage root), so ferry can say what garbage collection would
 * free without asking the registry for every manifest.
 *
 *   repositories/<repo>/_manifests/tags/<tag>/current/link   "sha256:<hex>"
 *   blobs/sha256/<2 hex>/<hex>/data                           manifests, configs, layers
 *
 * Read-only; safe while the registry runs (a file that vanishes meanwhile
 * is skipped).
 */
#ifndef FERRY_PIPELINE_REGISTRY_STORAGE_H
#define FERRY_PIPELINE_REGISTRY_STORAGE_H

#include <stddef.h>

#include "lib/error.h"

struct registry_manifest {
	const char *repo;      /* "project/component" */
	const char *digest;    /* "sha256:<hex>" */
};

/* The bytes (allocated blocks) of blobs below storage that garbage
 * collection with --delete-untagged frees once the manifests in drop are
 * deleted: blobs that no tagged manifest outside drop references (its own
 * blob, its config, its layers, and for an index its manifests). Also
 * counts garbage already there (untagged manifests, their blobs).
 * A missing storage dir is 0 bytes. Returns 0 and *ret_bytes, or -1 with
 * e set (an unreadable directory). */
int registry_storage_reclaimable(const char *storage, const struct registry_manifest *drop,
				 size_t n_drop, long long *ret_bytes, struct ferr *e);

/* Removes what distribution's garbage collection leaves of deleted images
 * in each repository: layer links (_layers/sha256/<hex>) and tag index
 * entries (_manifests/tags/<tag>/index/sha256/<hex>) whose blob is gone,
 * and manifest revisions (_manifests/revisions/sha256/<hex>) without a
 * link or whose blob is gone; then the empty directories below
 * repositories/ and blobs/ (a repository whose every image went, a blob
 * prefix directory garbage collection emptied). Without this every build
 * leaves some 30 KiB of directories behind for good. Call it only while the registry takes
 * no writes (registry_gc's read-only window): a push writes a blob before
 * its link. Returns how many entries and directories went (0 for a
 * missing storage). */
long registry_storage_sweep(const char *storage);

#endif
