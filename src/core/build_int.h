/* What the files of the build module share beyond core/build.h: build.c
 * (the build job, which writes the step log) and build_query.c (which
 * reads it).
 */
#ifndef FERRY_BUILD_INT_H
#define FERRY_BUILD_INT_H

#include "store/eventlog.h"

/* The build's step log: table build_logs, one row per line, tagged with
 * the step (store/eventlog.h). */
extern const struct eventlog build_log;

#endif
