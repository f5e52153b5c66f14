/* dockerfile_scan: rules checked on a Dockerfile's text before it is built.
 *
 * The rules (ids are what a .trivyignore / .ferryignore line names):
 *
 *   FERRY-DF-001  CRITICAL  the final stage runs as root: no USER, or USER
 *                           root / 0 (Choreo fails such builds, so the
 *                           default policy does too)
 *   FERRY-DF-002  MEDIUM    ADD from a remote URL (no checksum, not
 *                           repeatable): use curl with a checksum, or COPY
 *   FERRY-DF-003  HIGH      a secret-looking ENV or ARG with a literal value
 *                           (PASSWORD, TOKEN, SECRET, API_KEY ...): it stays
 *                           in the image's history and config
 *   FERRY-DF-004  MEDIUM    a base image pinned to nothing or to "latest"
 *                           (ferry's own ferry/... images, earlier stages
 *                           and scratch are exempt)
 *   FERRY-DF-005  HIGH      sudo in RUN
 *
 * Each finding is a JSON object in the shape every scanner of the report
 * uses: {"id", "type": "dockerfile", "severity", "title", "package": null,
 * "installed_version": null, "fixed_version": null, "where": "FILE:LINE",
 * "file", "line"}. Lines count from 1 and name the physical line on which
 * the instruction starts (continuation lines with a trailing backslash
 * belong to it).
 */
#ifndef FERRY_PIPELINE_DOCKERFILE_SCAN_H
#define FERRY_PIPELINE_DOCKERFILE_SCAN_H

#include <jansson.h>
#include <stddef.h>

#include "lib/error.h"

#define DOCKERFILE_SCAN_MAX (1u << 20)

/* Checks the Dockerfile text (len bytes; need not be NUL-terminated) and
 * appends its findings to the JSON array findings. file is the name the
 * findings give ("Dockerfile", "services/api/Dockerfile"). Returns the
 * number of findings appended, or -1 with e set: text larger than
 * DOCKERFILE_SCAN_MAX, or without any FROM instruction. */
int dockerfile_scan(const char *text, size_t len, const char *file, json_t *findings,
		    struct ferr *e);

#endif
