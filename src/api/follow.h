/* follow: streaming a growing log as NDJSON until its source ends.
 *
 * Used by every "--follow": job logs, build logs, rollout logs. The source
 * gives, on each poll, the lines written after the last one seen (JSON
 * objects with an integer "id") and, once it has ended, a final object
 * ({"status": ...}) that closes the stream. A poll must read the ended
 * state BEFORE the lines, so no line written before the end is missed.
 */
#ifndef FERRY_API_FOLLOW_H
#define FERRY_API_FOLLOW_H

#include <jansson.h>
#include <stdint.h>

#include "api/api.h"

struct follow_ops {
	/* Sets *ret_lines (new array) and, if the source ended, *ret_end (new
	 * object; else NULL). Returns 0, or -1 to end the stream. */
	int (*poll)(void *ctx, int64_t after, json_t **ret_lines, json_t **ret_end, struct ferr *e);
	void (*free_ctx)(void *ctx);   /* may be NULL */
};

/* Makes r's answer a stream of the source's lines after `after`. ctx is
 * owned by the stream from here on (freed with ops->free_ctx). */
void api_follow(struct api_req *r, const struct follow_ops *ops, void *ctx, int64_t after);

#endif
