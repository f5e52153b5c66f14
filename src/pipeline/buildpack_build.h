/* buildpack_build: prepares a source buildpack build (buildpack.h): makes
 * sure its base images are in the registry (bpbase.h), builds or reuses its
 * dependency image, and hands back the application's Dockerfile.
 *
 * The dependency image is the cache of dependency installation. It is
 * built from a context holding only the dependency manifests, with
 * timestamp 0, and kept in the builds' local image store as
 *   localhost/ferry-deps/<project>/<component>:<key>
 * where key hashes the buildpack, the base image digest, the generated
 * Dockerfile and the manifests' contents. A rebuild whose lockfile did not
 * change finds it and reuses it: its layer is the very same layer (same
 * digest) in the new image, and nothing is downloaded again. When the key
 * changes the component's older dependency images are removed (one per
 * component is kept). Its RUN step runs in the build's sandbox, like the
 * application's.
 */
#ifndef FERRY_PIPELINE_BUILDPACK_BUILD_H
#define FERRY_PIPELINE_BUILDPACK_BUILD_H

#include "lib/error.h"
#include "lib/strbuf.h"
#include "pipeline/buildpack.h"
#include "pipeline/image.h"
#include "pipeline/registry.h"
#include "pipeline/sandbox.h"

struct buildpack_build {
	const struct buildpack *bp;  /* a source buildpack (not static) */
	const char *context_dir;
	const char *repo;            /* "project/component" */
	int port;                    /* what the service listens on (PORT) */
	long long timestamp;         /* the commit time */
	struct sandbox *sandbox;
};

/* Fills dockerfile with the application's Dockerfile (FROM the dependency
 * image). Progress, and whether the dependency image was reused, go to
 * w->log ("dependency image localhost/ferry-deps/...: reused (package.json,
 * package-lock.json unchanged)"). Returns 0, or -1 with e set. */
int buildpack_prepare(struct registry *r, const struct buildpack_build *b,
		      const struct image_watch *w, struct strbuf *dockerfile, struct ferr *e);

#endif
