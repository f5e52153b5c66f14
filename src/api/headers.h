/* headers: the safety headers every answer carries. */
#ifndef FERRY_API_HEADERS_H
#define FERRY_API_HEADERS_H

struct MHD_Response;

/* API answers (JSON, NDJSON streams, errors): never cached, never framed,
 * never sniffed, and no content of their own may run. */
void api_add_safe_headers(struct MHD_Response *resp);

/* The console's pages and files: a Content-Security-Policy that allows
 * scripts, styles and connections from this origin only (no inline script,
 * no eval), and no framing. cache is the Cache-Control value. */
void api_add_console_headers(struct MHD_Response *resp, const char *cache);

#endif
