/* baseimage: the ferry/busybox base image, made on this machine.
 *
 * There is no public registry to pull a base image from, so ferryd puts one
 * into its registry at first start: Debian's busybox-static binary as
 * /bin/busybox, every applet it lists as a symlink beside it in /bin (sh,
 * httpd, nc, wget ...), /usr/bin/env, a minimal /etc/passwd and /etc/group
 * (root, and nobody/nogroup 65534 for unprivileged servers), /tmp (1777).
 * The image is built repeatably: a staging tree with fixed modes and mtime 0,
 * `buildah from scratch` + `buildah add` + `buildah config` +
 * `buildah commit --timestamp 0`, so the same busybox binary always gives
 * the same digest. It is pushed as ferry/busybox:latest and
 * ferry/busybox:<busybox version>.
 */
#ifndef FERRY_PIPELINE_BASEIMAGE_H
#define FERRY_PIPELINE_BASEIMAGE_H

#include "lib/error.h"
#include "lib/strbuf.h"
#include "pipeline/image.h"
#include "pipeline/registry.h"

#define BASEIMAGE_BUSYBOX_REPO "ferry/busybox"
#define BASEIMAGE_BUSYBOX_PATH "/bin/busybox"

struct baseimage_opts {
	const char *busybox;      /* the static busybox binary; NULL: /bin/busybox */
	const char *state_dir;    /* persistent dir for the stamp file and the
				     staging tree (e.g. DATA/baseimage); required */
	int force;                /* 1: build and push even if the stamp matches */
};

/* Makes sure ferry/busybox is in r. If the stamp in state_dir says this very
 * busybox binary (size, mtime, inode) was already pushed with digest D and
 * the registry's ferry/busybox:latest still is D, nothing is done. Otherwise
 * the image is built and pushed, and the stamp rewritten. The digest of
 * ferry/busybox:latest is put in ret_digest. Tool output goes to w->log
 * (w may be NULL). Returns 1 if it built and pushed, 0 if it was already
 * there, -1 with e set (busybox not static or missing: install Debian's
 * busybox-static; buildah or the registry failed). */
int baseimage_ensure_busybox(struct registry *r, const struct baseimage_opts *o,
			     const struct image_watch *w, char ret_digest[72], struct ferr *e);

/* `buildah from scratch`: the new working container's id into ctr.
 * Returns 0, or -1 with e set (ctr left empty). */
int baseimage_scratch(struct registry *r, const struct image_watch *w, struct strbuf *ctr,
		      struct ferr *e);

/* Removes the working container ctr and the local image name image
 * (either may be NULL), ignoring failures: clean-up after an error. */
void baseimage_discard(struct registry *r, const char *ctr, const char *image);

/* Removes path and everything below it (symlinks removed, never
 * followed); a missing path is fine. Returns 0, or -1 with e set (e may be
 * NULL). */
int baseimage_remove_tree(const char *path, struct ferr *e);

#endif
