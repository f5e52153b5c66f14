/* endpoints: a build's endpoints as stored in builds.endpoints.
 *
 * For each endpoint of a descriptor: name, display name, port, base path,
 * type, visibilities, and, when it names one, its API specification read
 * from the build's checkout (JSON or YAML, at most ENDPOINTS_SCHEMA_MAX
 * bytes, an OpenAPI, Swagger or AsyncAPI document at the top level) with
 * its format and version. Knows nothing of builds or the store.
 */
#ifndef FERRY_PIPELINE_ENDPOINTS_H
#define FERRY_PIPELINE_ENDPOINTS_H

#include <jansson.h>

#include "lib/error.h"
#include "pipeline/descriptor.h"

#define ENDPOINTS_SCHEMA_MAX (1u << 20)

/* Told one line per endpoint ("endpoint api: openapi 3.0.3 from
 * openapi.yaml", "endpoint api: no API specification"). */
typedef void endpoints_note_fn(void *ctx, const char *line);

/* The endpoints of d as a JSON array (new reference), API specifications
 * read below context (the checkout; descriptor_open_in_context, so nothing
 * outside it). note may be NULL. Returns NULL with e set when a
 * specification is missing, too large or not one (400, naming the file). */
json_t *endpoints_json(const struct descriptor *d, const char *context, endpoints_note_fn *note,
		       void *ctx, struct ferr *e);

/* One API specification below context: {"path", "format" ("openapi" or
 * "asyncapi"), "version", "document"}, or NULL with e set. */
json_t *endpoints_schema_load(const char *context, const char *rel, struct ferr *e);

#endif
