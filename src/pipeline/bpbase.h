/* bpbase: the base images of the source buildpacks (ferry/node,
 * ferry/python, ferry/golang, ferry/maven, ferry/java), made on this
 * machine from Debian's packages.
 *
 * No public image registry is reachable, so each base is bootstrapped with
 * mmdebstrap (variant minbase, a fixed package list per image, from Debian
 * bookworm and its security updates) with SOURCE_DATE_EPOCH=0, imported
 * with `buildah from scratch` + `buildah add` + `buildah commit --timestamp
 * 0`, and kept as an OCI layout in a cache directory shared by every ferryd
 * on the machine (default /var/cache/ferry-buildpacks, one directory per
 * image and recipe). Making one takes from half a minute to a few minutes;
 * from then on putting it into a registry is a `skopeo copy` of the cached
 * layout (seconds), and every registry gets the very same digest. The image
 * is pushed as ferry/<name>:<tag>, the tag naming the suite and the recipe
 * (bookworm-<recipe hash>), so a changed package list is a new tag.
 *
 * The package set is fixed; the package versions are what the mirror had
 * when the cache entry was made. Delete the cache entry (or give a snapshot
 * mirror with bpbase_configure) to make it again.
 */
#ifndef FERRY_PIPELINE_BPBASE_H
#define FERRY_PIPELINE_BPBASE_H

#include "lib/error.h"
#include "pipeline/image.h"
#include "pipeline/registry.h"

#define BPBASE_CACHE_DIR "/var/cache/ferry-buildpacks"

struct bpbase {
	const char *name;      /* "node": pushed as ferry/node */
	const char *packages;  /* Debian packages, comma-separated */
	const char *env_path;  /* PATH of the image */
	const char *purpose;   /* one line for docs and logs */
};

/* The recipe called name, or NULL. */
const struct bpbase *bpbase_find(const char *name);

/* Server-wide settings; both may be NULL (the defaults: BPBASE_CACHE_DIR,
 * deb.debian.org). Call before builds start. */
void bpbase_configure(const char *cache_dir, const char *mirror);

/* The settings in force (NULL: the defaults). */
const char *bpbase_cache_dir(void);
const char *bpbase_mirror(void);

/* The tag b is pushed under ("bookworm-" + 12 hex of the recipe's hash)
 * into tag (at least 32 bytes). */
void bpbase_tag(const struct bpbase *b, char *tag, size_t size);

/* Makes sure ferry/<b->name>:<tag> is in r: nothing to do when r has it;
 * otherwise it is copied from the cache, after making the cache entry when
 * there is none (mmdebstrap; needs root). Several ferryds may call this at
 * once: making an entry is serialised by a lock file in the cache.
 * Progress goes to w->log. Returns 0 and the manifest digest in
 * ret_digest, or -1 with e set (mmdebstrap missing or failing, the mirror
 * unreachable, the push failing; the tool's last line in the message). */
int bpbase_ensure(struct registry *r, const struct bpbase *b, const struct image_watch *w,
		  char ret_digest[72], struct ferr *e);

#endif
