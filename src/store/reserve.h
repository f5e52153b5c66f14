/* reserve: disk space held back for the store's essential writes.
 *
 * On a full disk SQLite cannot write, so a build or job that failed
 * because the disk filled up could never be recorded as failed: it would
 * stay "running". ferryd therefore keeps a reserve file (DATA/store.reserve,
 * allocated, 8 MiB). A write that must not be lost (a build's or job's end)
 * goes through store_step_essential(): on SQLITE_FULL the reserve is given
 * up and the write tried again. store_reserve_restore() makes the reserve
 * again once there is room (the housekeeping thread calls it).
 */
#ifndef FERRY_STORE_RESERVE_H
#define FERRY_STORE_RESERVE_H

#include <sqlite3.h>

#define STORE_RESERVE_BYTES (8LL << 20)

/* Creates the reserve in dir if it is missing (best effort). */
void store_reserve_init(const char *dir);

/* 1 while the reserve is held. */
int store_reserve_held(void);

/* Makes the reserve again if it was given up and the disk has room for it
 * and as much again. Returns 1 if it did. */
int store_reserve_restore(void);

/* sqlite3_step(st); on SQLITE_FULL gives up the reserve (logged) and
 * steps again. Returns the last sqlite3_step result; st is reset. */
int store_step_essential(sqlite3_stmt *st);

#endif
