/* promtext: writing the Prometheus text exposition format (version 0.0.4).
 *
 *   prom_family(out, "ferry_builds", "gauge", "builds in the store by status");
 *   prom_sample(out, "ferry_builds", "status", "failed", NULL, 3);
 *
 * Label values are escaped (\\, \" and \n); names are the caller's
 * literals and must match [a-zA-Z_:][a-zA-Z0-9_:]*. */
#ifndef FERRY_LIB_PROMTEXT_H
#define FERRY_LIB_PROMTEXT_H

#include "lib/strbuf.h"

/* "# HELP name help" and "# TYPE name type". */
void prom_family(struct strbuf *out, const char *name, const char *type, const char *help);

/* One sample line: name{labels} value. Labels are given as key, value
 * pairs ending with a NULL key (none: just NULL). */
void prom_sample(struct strbuf *out, const char *name, double value, ...) __attribute__((sentinel));

#endif
