/* transition: a status column as a typed state machine.
 *
 * Builds, deployments, executions and jobs each keep their status in one
 * TEXT column. Each module names its statuses with an enum and describes
 * which moves are allowed in a struct status_machine; its one transition
 * function writes the status with a single UPDATE whose WHERE names the
 * allowed previous states and runs it through status_update(), which
 * requires exactly one changed row. So a status read earlier by the caller
 * can never be overwritten by a move it did not allow: an undeploy, a
 * cancel or a run's end landing in between makes the later move fail with
 * 409 instead. Moves of many rows at once go through status_update_where,
 * whose WHERE names the allowed previous states the same way: no status
 * text is written outside a machine.
 */
#ifndef FERRY_STORE_TRANSITION_H
#define FERRY_STORE_TRANSITION_H

#include <sqlite3.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/error.h"

struct status_machine {
	const char *what;               /* "build", for messages */
	int count;                      /* statuses 0 .. count-1 */
	const char *const *names;       /* names[s]: the column's text */
	const unsigned *allowed_from;   /* allowed_from[to]: bit s set when s → to is allowed */
};

#define STATUS_BIT(s) (1u << (s))
#define STATUS_ANY (~0u)

/* The column text of status s; NULL out of range. */
const char *status_name(const struct status_machine *m, int s);
/* The status whose text is name, or -1 (also for NULL). */
int status_parse(const struct status_machine *m, const char *name);
/* 1 when from → to is allowed (0 out of range). */
int status_allowed(const struct status_machine *m, int from, int to);
/* 1 when name is a status that allows no move out of it (a final one). */
int status_final(const struct status_machine *m, const char *name);

/* The statuses `to` may be reached from, as ",queued,running," (the form
 * the UPDATE's instr() takes), narrowed to the bits of only (STATUS_ANY:
 * all of them; a caller that saw one status passes just its bit). size 256
 * is always enough. */
void status_from_list(const struct status_machine *m, int to, unsigned only, char *buf,
		      size_t size);

/* Moves row id to status to with update, a statement from store_stmt whose
 * parameters are ?1 the new status, ?2 the time (store_now), ?3 text (the
 * error or reason, may be NULL), ?4 id and ?5 the from list, and whose
 * WHERE is "id = ?4 AND instr(?5, ',' || status || ',') > 0"; other
 * parameters the caller binds first. current is "SELECT status FROM
 * <table> WHERE id = ?", read only when no row changed. essential: step
 * through store_step_essential (recorded even on a full disk). Returns 0
 * when exactly one row changed; else -1 with e set: 404 "<what> ID not
 * found", 409 "<what> ID is <status>: it cannot become <to>", or the
 * store's error. Both statements are reset. */
int status_update(const struct status_machine *m, int64_t id, unsigned only, int to,
		  const char *text, sqlite3_stmt *update, sqlite3_stmt *current, int essential,
		  struct ferr *e);

/* The multi-row form, for moves of every row a condition selects (the
 * other active deployments of an environment become superseded; an
 * undeploy ends all of a component's there). Moves to status to each row
 * that update's WHERE selects and whose status is one `to` may be reached
 * from (narrowed to the bits of only); rows in any other status are left
 * as they are, which is no error. update is a statement from store_stmt
 * whose parameters are ?1 the new status, ?2 the time (store_now), ?3 text
 * (may be NULL) and ?5 the from list, and whose WHERE holds
 * "instr(?5, ',' || status || ',') > 0"; ?4 and ?6 onwards are the
 * caller's selectors, bound first. essential: as in status_update. Returns
 * how many rows moved (>= 0), or -1 with e set (the store's error, or 500
 * when to is no status). The statement is reset. */
int status_update_where(const struct status_machine *m, unsigned only, int to, const char *text,
			sqlite3_stmt *update, int essential, struct ferr *e);

#endif
