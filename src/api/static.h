/* static: the web console's files, served by ferryd on the API listener.
 *
 * Every path outside /api/ and /healthz belongs to the console. A path whose
 * last segment has a dot is a file under the console's directory (only
 * [A-Za-z0-9._/-], no segment starting with a dot, no symlink at the end);
 * any other path is a page of the console and gets its index.html, which
 * routes in the browser. Files under /assets/ carry a content hash in their
 * names and are cached for a year; everything else is revalidated.
 */
#ifndef FERRY_API_STATIC_H
#define FERRY_API_STATIC_H

#include <microhttpd.h>

/* The directory to serve (copied), or NULL to serve no console. */
void console_set_dir(const char *dir);

/* 1 if url is the console's (a console is configured and url is not API). */
int console_wants(const char *url);

/* Answers a request for a console path; sets *ret_status. */
enum MHD_Result console_serve(struct MHD_Connection *c, const char *method, const char *url,
			      int *ret_status);

#endif
