/* openapi: the API's OpenAPI 3 description.
 *
 * The hand-written part is src/api/openapi.json (summaries, request bodies,
 * query parameters, response schemas), embedded at build time. The served
 * document adds what the route table already says, so it cannot disagree
 * with it: path parameters (from components.parameters by name), the
 * bearer-token requirement (none for public routes), the audit action
 * (x-ferry-audit) and the error responses.
 */
#ifndef FERRY_API_OPENAPI_H
#define FERRY_API_OPENAPI_H

#include <jansson.h>

#include "api/api.h"
#include "lib/strbuf.h"

/* The embedded openapi.json, parsed. New reference, or NULL with e set. */
json_t *openapi_source(struct ferr *e);

/* Compares the description doc (as openapi_source returns it) with the route
 * table routes (terminated by a NULL method). Appends one line per problem
 * to problems, each saying what to add or remove and where; returns how
 * many problems there are (0: every route is described and every described
 * operation is a route). */
int openapi_check(const json_t *doc, const struct api_route *routes, struct strbuf *problems);

/* The document served at /api/v1/openapi.json: the source with the route
 * table's facts added. New reference, or NULL with e set. */
json_t *openapi_document(const struct api_route *routes, struct ferr *e);

/* "/api/v1/builds/{id}/log" → "/api/v1/builds/{}/log" into out (size n). */
void openapi_route_pattern(const char *path, char *out, size_t n);

#endif
