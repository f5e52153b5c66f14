#include "pipeline/layer_mount.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <unistd.h>

#include "lib/strbuf.h"
#include "lib/banned.h"

#define IMAGES_MAX (64u << 20)  /* images.json of a big store */
#define OPTIONS_MAX 4000        /* mount data is one page */

static int read_file(const char *path, size_t cap, struct strbuf *out)
{
	char buf[8192];
	ssize_t n;
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);

	if (fd < 0)
		return -1;
	while ((n = read(fd, buf, sizeof(buf))) > 0) {
		if (out->len + (size_t)n > cap) {
			close(fd);
			errno = EFBIG;
			return -1;
		}
		strbuf_add(out, buf, (size_t)n);
	}
	close(fd);
	return n < 0 ? -1 : 0;
}

static int hex_id(const char *s)
{
	return s && strlen(s) == 64 && strspn(s, "0123456789abcdef") == 64;
}

/* The image's top layer id from overlay-images/images.json. */
static int top_layer(const char *graph_root, const char *image_id, char layer[65], struct ferr *e)
{
	struct strbuf path = STRBUF_INIT, text = STRBUF_INIT;
	json_t *root = NULL, *img;
	size_t i;
	int rc = -1;

	strbuf_addf(&path, "%s/overlay-images/images.json", graph_root);
	if (read_file(path.buf, IMAGES_MAX, &text) < 0) {
		ferr_internal(e, "cannot read %s: %s", path.buf, strerror(errno));
		goto out;
	}
	root = json_loadb(text.buf, text.len, 0, NULL);
	json_array_foreach(root, i, img) {
		const char *id = json_string_value(json_object_get(img, "id"));
		const char *top = json_string_value(json_object_get(img, "layer"));
		if (id && !strcmp(id, image_id)) {
			if (!hex_id(top)) {
				ferr_internal(e, "image %.12s has no layer of its own", image_id);
				goto out;
			}
			memcpy(layer, top, 65);
			rc = 0;
			goto out;
		}
	}
	ferr_internal(e, "image %.12s is not in %s", image_id, path.buf);
out:
	json_decref(root);
	strbuf_release(&path);
	strbuf_release(&text);
	return rc;
}

/* "l/ABC:l/DEF" (overlay/<layer>/lower): the short links of the lower
 * layers, top first. Appends ":<graph_root>/overlay/l/ABC" for each. */
static int add_lowers(struct strbuf *opts, const char *graph_root, const char *lower)
{
	const char *p = lower;

	while (*p && *p != '\n') {
		size_t n = strcspn(p, ":\n");
		if (n < 3 || strncmp(p, "l/", 2) || strspn(p + 2, "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789") != n - 2)
			return -1;
		strbuf_addf(opts, ":%s/overlay/%.*s", graph_root, (int)n, p);
		p += n;
		if (*p == ':')
			p++;
	}
	return 0;
}

int layer_mount(const char *graph_root, const char *image_id, const char *target,
		struct ferr *e)
{
	struct strbuf opts = STRBUF_INIT, path = STRBUF_INIT, lower = STRBUF_INIT;
	char layer[65];
	int rc = -1;

	if (!hex_id(image_id))
		return ferr_invalid(e, "image id \"%.80s\" is not 64 hex digits", image_id);
	/* ',' and ':' separate mount options and layers */
	if (strpbrk(graph_root, ",:") || graph_root[0] != '/')
		return ferr_invalid(e, "the store %s cannot be named in mount options", graph_root);
	if (top_layer(graph_root, image_id, layer, e) < 0)
		return -1;
	strbuf_addf(&path, "%s/overlay/%s/lower", graph_root, layer);
	if (read_file(path.buf, OPTIONS_MAX, &lower) < 0) {
		if (errno != ENOENT) {
			ferr_internal(e, "cannot read %s: %s", path.buf, strerror(errno));
			goto out;
		}
		/* one layer: its diff, bound read-only */
		strbuf_reset(&path);
		strbuf_addf(&path, "%s/overlay/%s/diff", graph_root, layer);
		if (mount(path.buf, target, NULL, MS_BIND, NULL) < 0) {
			ferr_internal(e, "cannot bind %s: %s", path.buf, strerror(errno));
			goto out;
		}
		if (mount(NULL, target, NULL, MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID | MS_NODEV,
			  NULL) < 0) {
			ferr_internal(e, "cannot make %s read-only: %s", target, strerror(errno));
			umount2(target, MNT_DETACH);
			goto out;
		}
		rc = 0;
		goto out;
	}
	strbuf_addf(&opts, "lowerdir=%s/overlay/%s/diff", graph_root, layer);
	if (add_lowers(&opts, graph_root, lower.buf) < 0) {
		ferr_internal(e, "unexpected lower layers in %s/overlay/%s/lower", graph_root, layer);
		goto out;
	}
	if (opts.len > OPTIONS_MAX) {
		ferr_internal(e, "too many layers for one overlay mount");
		goto out;
	}
	if (mount("overlay", target, "overlay", MS_RDONLY | MS_NOSUID | MS_NODEV, opts.buf) < 0) {
		ferr_internal(e, "overlay mount of image %.12s failed: %s", image_id, strerror(errno));
		goto out;
	}
	rc = 0;
out:
	strbuf_release(&opts);
	strbuf_release(&path);
	strbuf_release(&lower);
	return rc;
}

void layer_unmount(const char *target)
{
	if (umount2(target, MNT_DETACH) < 0 && errno == EINVAL)
		return; /* not mounted */
}

int layer_unmount_stale(const char *dir)
{
	struct strbuf info = STRBUF_INIT;
	size_t dl = strlen(dir);
	int n = 0;

	if (read_file("/proc/self/mountinfo", 16u << 20, &info) < 0) {
		strbuf_release(&info);
		return 0;
	}
	for (char *line = info.buf; line && *line;) {
		char *end = strchr(line, '\n'), *f = line, mp[4096];
		size_t len;

		if (end)
			*end = '\0';
		/* id parent maj:min root mountpoint ...: the fifth field */
		for (int k = 0; k < 4 && f; k++) {
			f = strchr(f, ' ');
			if (f)
				f++;
		}
		len = f ? strcspn(f, " ") : 0;
		/* no octal escape (a space in the path): not one of ours */
		if (f && len < sizeof(mp) && !memchr(f, '\\', len)) {
			memcpy(mp, f, len);
			mp[len] = '\0';
			if (!strncmp(mp, dir, dl) && mp[dl] == '/' && !strchr(mp + dl + 1, '/') &&
			    len > dl + 6 && !strcmp(mp + len - 5, "-root")) {
				if (umount2(mp, MNT_DETACH) == 0) {
					rmdir(mp);
					n++;
				}
			}
		}
		line = end ? end + 1 : NULL;
	}
	strbuf_release(&info);
	return n;
}
