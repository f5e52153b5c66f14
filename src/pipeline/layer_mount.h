/* layer_mount: a built image's file system mounted read-only straight from
 * the layers of containers/storage's overlay driver, for the scan.
 *
 * `buildah from` + `buildah mount` + `buildah rm` cost three buildah
 * processes (about 50 ms each idle, several times that on a loaded
 * machine) for each build. The image's layers are already on disk: the
 * image's top layer (overlay-images/images.json), its diff directory and
 * the lower ones it names (overlay/<layer>/lower) stack into one read-only
 * overlay mount, no upper directory, nothing written. Whatever this does
 * not recognise (another driver, an odd name, too many layers for the
 * mount options) is refused, and the caller mounts with buildah instead.
 */
#ifndef FERRY_PIPELINE_LAYER_MOUNT_H
#define FERRY_PIPELINE_LAYER_MOUNT_H

#include "lib/error.h"

/* Mounts image image_id (hex) of the store at graph_root on target (an
 * empty directory), read-only, nosuid, nodev. Returns 0, or -1 with e set
 * (nothing left mounted). */
int layer_mount(const char *graph_root, const char *image_id, const char *target,
		struct ferr *e);

/* Unmounts target (lazily, should a reader still hold it). */
void layer_unmount(const char *target);

/* Unmounts and removes every mount point directly in dir whose name ends
 * in "-root" (a scan's, left by a ferryd that was killed). Returns how
 * many. */
int layer_unmount_stale(const char *dir);

#endif
