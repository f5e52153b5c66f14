/* buildpack: how a repository without a Dockerfile becomes an image.
 *
 * A buildpack is chosen by name (the component's --buildpack) or detected
 * from the files at the root of the build context, in this order:
 *
 *   node    package.json (with package-lock.json or npm-shrinkwrap.json)
 *   python  requirements.txt or pyproject.toml
 *   go      go.mod
 *   java    pom.xml (Maven)
 *   static  index.html (the files as they are, busybox httpd)
 *
 * Each source buildpack generates two Dockerfiles:
 *   - the dependency image: FROM its Debian-made base (bpbase.h), only the
 *     dependency manifests copied in (package.json + lockfile,
 *     requirements.txt, go.mod + go.sum, pom.xml) and the ecosystem's
 *     install command run (npm ci, pip install, go mod download, mvn
 *     dependency:go-offline), against the public registries (npm, PyPI, the
 *     Go module proxy, Maven Central);
 *   - the application image: FROM the dependency image, the whole context
 *     copied (and compiled for go and java, in a build stage whose result
 *     is copied onto a runtime base), a non-root user (10001), PORT and the
 *     start command.
 * buildpack_build.h builds the first once per dependency set and reuses it.
 *
 * The start command is, in order: a Procfile's `web:` line (run by
 * /bin/sh -c), else the ecosystem's convention: `npm start` when
 * package.json has a start script, else `node <main>` (package.json's main,
 * or server.js, index.js, app.js); `python app.py` (or main.py, or
 * `python -m PKG` for a PKG/__main__.py); the Go module's main package (the
 * root, or the only one under cmd/); `java -jar` the project's jar.
 */
#ifndef FERRY_PIPELINE_BUILDPACK_H
#define FERRY_PIPELINE_BUILDPACK_H

#include <stddef.h>

#include "lib/error.h"
#include "lib/strbuf.h"

/* The uid:gid every buildpack image runs as. */
#define BUILDPACK_USER "10001:10001"

struct buildpack {
	const char *name;          /* "node" */
	const char *build_base;    /* bpbase name of the dependency/build image;
	                              NULL for static */
	const char *run_base;      /* bpbase name of the runtime image, NULL: the
	                              build image itself, "busybox": ferry/busybox */
	const char *detect;        /* what detection looks for, for messages */
};

/* The buildpack called name, or NULL. */
const struct buildpack *buildpack_find(const char *name);

/* "static, node, python, go, java": for messages. */
const char *buildpack_names(void);

/* The buildpack the files at the root of dir call for, or NULL. */
const struct buildpack *buildpack_detect(const char *dir);

/* What a build of dir with bp needs. */
struct buildpack_plan {
	const struct buildpack *bp;
	char *deps_files[3];       /* manifests copied into the dependency image,
	                              relative to dir; NULL-terminated */
	struct strbuf start;       /* the CMD as a JSON array */
	struct strbuf start_from;  /* where the start command came from */
	char *main_pkg;            /* go: "./cmd/x" or "." */
	int port;
};

#define BUILDPACK_PLAN_INIT { NULL, { NULL }, STRBUF_INIT, STRBUF_INIT, NULL, 0 }

/* Looks at dir for bp (not static): the manifests, the start command.
 * Returns 0, or -1 with e set (422 "build_failed") saying what is missing
 * ("the node buildpack needs package-lock.json: run npm install"). */
int buildpack_plan(const struct buildpack *bp, const char *dir, int port,
		   struct buildpack_plan *p, struct ferr *e);

/* The dependency image's Dockerfile, FROM ferry/<build_base>:<base_tag>. */
void buildpack_deps_dockerfile(const struct buildpack_plan *p, const char *base_tag,
			       struct strbuf *out);

/* The application's Dockerfile, FROM deps_image (a local image name);
 * run_tag is the runtime base's tag (unused when the build image runs);
 * timestamp the commit time (java's jar entries). */
void buildpack_app_dockerfile(const struct buildpack_plan *p, const char *deps_image,
			      const char *run_tag, long long timestamp, struct strbuf *out);

/* Reads the regular file rel below dir (never through a symlink; at most
 * 1 MiB) into out. Returns 0, or -1 with errno set. */
int buildpack_read_file(const char *dir, const char *rel, struct strbuf *out);

void buildpack_plan_release(struct buildpack_plan *p);

#endif
