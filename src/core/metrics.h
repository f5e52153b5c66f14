/* metrics: ferryd's own numbers for /metrics, from the store (builds,
 * rollouts, executions, the job queue, notifications) and from the
 * gateway's request feed (core/traffic.h), in the Prometheus text format. */
#ifndef FERRY_CORE_METRICS_H
#define FERRY_CORE_METRICS_H

#include "lib/strbuf.h"

/* Appends every family to out. Store errors leave a family out (and say
 * so in ferry_metrics_errors). */
void metrics_render(struct strbuf *out);

#endif
