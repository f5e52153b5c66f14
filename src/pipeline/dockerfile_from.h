/* dockerfile_from: the FROM lines of a Dockerfile, rewritten.
 *
 * A base image named by a short name (FROM python:3.12-slim) is resolved by
 * ferry itself, through its registry and then its base-image caches, and
 * the Dockerfile given to buildah names the exact image it found
 * (HOST/python@sha256:...): buildah's own short-name resolution would
 * consult the machine's registries.conf.d aliases (Debian's shortnames.conf
 * sends "python" to docker.io) and could pick another image than the one
 * recorded with the build.
 */
#ifndef FERRY_PIPELINE_DOCKERFILE_FROM_H
#define FERRY_PIPELINE_DOCKERFILE_FROM_H

#include "lib/strbuf.h"

/* Returns 1 and appends the reference to use to ref when image (as
 * written after FROM) should be replaced, 0 to keep it, -1 to stop. */
typedef int (*dockerfile_from_fn)(void *ctx, const char *image, struct strbuf *ref);

/* Copies text to out with the image of each FROM instruction passed
 * through resolve, except those naming an earlier stage ("FROM build"
 * after "FROM x AS build"), "scratch", or holding a build argument ('$').
 * Options (--platform=...) and "AS name" are kept. Returns the number of
 * images replaced, or -1 when resolve returned -1. */
int dockerfile_pin_from(const char *text, dockerfile_from_fn resolve, void *ctx,
			struct strbuf *out);

#endif
