/* apistats: counts of the API's requests by route and status, and their
 * time, since ferryd started (for /metrics). */
#ifndef FERRY_API_APISTATS_H
#define FERRY_API_APISTATS_H

#include "api/api.h"
#include "lib/strbuf.h"

/* One answered request: rt is the route it matched (NULL: none, or the
 * console's static files when console is 1). */
void apistats_count(const struct api_route *rt, int console, int status, double ms);

/* ferry_api_requests_total{method, route, status} and
 * ferry_api_request_duration_seconds{method, route} in the text format. */
void apistats_render(struct strbuf *out);

#endif
