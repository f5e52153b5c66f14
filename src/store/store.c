#include "store.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "store/dbcopy.h"
#include "lib/log.h"
#include "lib/banned.h"
#include "migrations.h"

#define STMT_CACHE 96

struct conn {
	sqlite3 *db;
	/* The open of db_path failed on this thread: db is an empty in-memory
	 * database standing in (so sqlite3_changes() and the like stay safe),
	 * store_stmt gives NULL (binds and steps then fail with SQLITE_MISUSE)
	 * and store_error answers with why. Another open is tried at most once
	 * a second. */
	int failed;
	int64_t failed_at_ms;
	struct ferr why;
	struct {
		const char *sql;
		sqlite3_stmt *st;
	} cache[STMT_CACHE];
	struct conn *next;
};

static char *db_path;
static pthread_key_t conn_key;
static pthread_mutex_t conns_lock = PTHREAD_MUTEX_INITIALIZER;
static struct conn *conns; /* every open connection, closed by store_close */
static struct conn *idle;  /* connections of ended threads, ready for reuse */

int store_connections(int *ret_idle)
{
	int n = 0, i = 0;

	pthread_mutex_lock(&conns_lock);
	for (struct conn *c = conns; c; c = c->next)
		n++;
	for (struct conn *c = idle; c; c = c->next)
		i++;
	pthread_mutex_unlock(&conns_lock);
	if (ret_idle)
		*ret_idle = i;
	return n + i;
}

static void conn_close(struct conn *c)
{
	for (int i = 0; i < STMT_CACHE; i++)
		if (c->cache[i].st)
			sqlite3_finalize(c->cache[i].st);
	sqlite3_close(c->db);
	free(c);
}

/* Thread exit: keep the connection (and its prepared statements) for the
 * next thread rather than paying for a new open. */
static void conn_release(void *p)
{
	struct conn *c = p, **pp;

	if (!sqlite3_get_autocommit(c->db))
		sqlite3_exec(c->db, "ROLLBACK", NULL, NULL, NULL);
	pthread_mutex_lock(&conns_lock);
	for (pp = &conns; *pp; pp = &(*pp)->next)
		if (*pp == c) {
			*pp = c->next;
			break;
		}
	if (c->failed) {
		/* a stand-in is not worth keeping: the next thread opens afresh */
		pthread_mutex_unlock(&conns_lock);
		conn_close(c);
		return;
	}
	c->next = idle;
	idle = c;
	pthread_mutex_unlock(&conns_lock);
}

static int conn_open(sqlite3 **ret, struct ferr *e)
{
	sqlite3 *db = NULL;
	int rc = sqlite3_open_v2(db_path, &db,
				 SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE |
				 SQLITE_OPEN_NOMUTEX, NULL);
	if (rc != SQLITE_OK) {
		ferr_internal(e, "open %s: %s", db_path, db ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
		sqlite3_close(db);
		return -1;
	}
	sqlite3_busy_timeout(db, 10000);
	rc = sqlite3_exec(db,
			  "PRAGMA journal_mode=WAL;"
			  "PRAGMA synchronous=NORMAL;"
			  "PRAGMA foreign_keys=ON;", NULL, NULL, NULL);
	if (rc != SQLITE_OK) {
		ferr_internal(e, "configure %s: %s", db_path, sqlite3_errmsg(db));
		sqlite3_close(db);
		return -1;
	}
	*ret = db;
	return 0;
}

static void conn_register(struct conn *c)
{
	pthread_setspecific(conn_key, c);
	pthread_mutex_lock(&conns_lock);
	c->next = conns;
	conns = c;
	pthread_mutex_unlock(&conns_lock);
}

/* The open failed (e says why): the in-memory stand-in. Only running out
 * of memory is left to abort on. */
static void conn_fail(struct conn *c, const struct ferr *e)
{
	if (!c->db && sqlite3_open_v2(":memory:", &c->db, SQLITE_OPEN_READWRITE |
				      SQLITE_OPEN_NOMUTEX, NULL) != SQLITE_OK) {
		fprintf(stderr, "ferry: store: %s (and no memory left for a stand-in)\n", e->msg);
		abort();
	}
	if (!c->failed)
		log_warnx("event=store_open_failed err=\"%s\"", e->msg);
	c->failed = 1;
	c->failed_at_ms = store_now_ms();
	c->why = *e;
}

/* A thread whose open failed tries again, at most once a second. */
static void conn_retry(struct conn *c)
{
	struct ferr e = FERR_INIT;
	sqlite3 *db;

	if (store_now_ms() - c->failed_at_ms < 1000)
		return;
	if (conn_open(&db, &e) < 0) {
		conn_fail(c, &e);
		return;
	}
	for (int i = 0; i < STMT_CACHE; i++)
		if (c->cache[i].st) {
			sqlite3_finalize(c->cache[i].st);
			c->cache[i].st = NULL;
			c->cache[i].sql = NULL;
		}
	sqlite3_close(c->db);
	c->db = db;
	c->failed = 0;
	log_info("event=store_open_recovered");
}

sqlite3 *store_db(void)
{
	struct conn *c = pthread_getspecific(conn_key);
	struct ferr e = FERR_INIT;

	if (c) {
		if (c->failed)
			conn_retry(c);
		return c->db;
	}
	pthread_mutex_lock(&conns_lock);
	if ((c = idle))
		idle = c->next;
	pthread_mutex_unlock(&conns_lock);
	if (!c) {
		c = calloc(1, sizeof(*c));
		if (!c) {
			fprintf(stderr, "ferry: store: out of memory for a connection\n");
			abort();
		}
	}
	if (!c->db && conn_open(&c->db, &e) < 0)
		conn_fail(c, &e);
	conn_register(c);
	return c->db;
}

int store_db_failed(sqlite3 *db)
{
	struct conn *c = pthread_getspecific(conn_key);

	return c && c->failed && c->db == db;
}

int store_thread_ready(struct ferr *e)
{
	sqlite3 *db = store_db();

	return store_db_failed(db) ? store_error(e, "store") : 0;
}

sqlite3_stmt *store_stmt(const char *sql)
{
	struct conn *c;
	sqlite3_stmt *st;
	unsigned h;

	store_db();
	c = pthread_getspecific(conn_key);
	if (c->failed)
		return NULL;
	h = (unsigned)(((uintptr_t)sql >> 3) % STMT_CACHE);
	for (unsigned i = 0; i < STMT_CACHE; i++) {
		unsigned k = (h + i) % STMT_CACHE;
		if (c->cache[k].sql == sql) {
			st = c->cache[k].st;
			sqlite3_reset(st);
			sqlite3_clear_bindings(st);
			return st;
		}
		if (!c->cache[k].sql) {
			h = k;
			goto prepare;
		}
	}
	/* Cache full: evict the home slot. */
	sqlite3_finalize(c->cache[h].st);
	c->cache[h].sql = NULL;
prepare:
	if (sqlite3_prepare_v3(c->db, sql, -1, SQLITE_PREPARE_PERSISTENT, &st, NULL) != SQLITE_OK) {
		fprintf(stderr, "ferry: bad SQL: %s\n%s\n", sqlite3_errmsg(c->db), sql);
		abort();
	}
	c->cache[h].sql = sql;
	c->cache[h].st = st;
	return st;
}

int store_error(struct ferr *e, const char *what)
{
	sqlite3 *db = store_db();
	int rc = sqlite3_extended_errcode(db);

	if (store_db_failed(db)) {
		struct conn *c = pthread_getspecific(conn_key);
		return ferr_set(e, 503, "store_unavailable",
				"%s: this thread cannot open the store: %s", what, c->why.msg);
	}

	if (rc == SQLITE_CONSTRAINT_UNIQUE || rc == SQLITE_CONSTRAINT_PRIMARYKEY)
		return ferr_conflict(e, "%s: already exists", what);
	if (rc == SQLITE_BUSY || rc == SQLITE_LOCKED)
		return ferr_set(e, 503, "busy", "%s: the store is busy, try again", what);
	if ((rc & 0xff) == SQLITE_FULL || sqlite3_system_errno(db) == ENOSPC)
		return ferr_set(e, 507, "insufficient_storage",
				"%s: the disk of the store is full (%s): this change was not stored; free some "
				"space on the data dir's file system; ferry admin df shows what uses it",
				what, sqlite3_errmsg(db));
	return ferr_internal(e, "%s: %s", what, sqlite3_errmsg(db));
}

int store_run(sqlite3_stmt *st, const char *what, struct ferr *e)
{
	int rc = sqlite3_step(st);

	if (rc != SQLITE_DONE && rc != SQLITE_ROW) {
		store_error(e, what);
		sqlite3_reset(st);
		return -1;
	}
	sqlite3_reset(st);
	return 0;
}

int store_run_logged(sqlite3_stmt *st, const char *what)
{
	struct ferr e = FERR_INIT;

	if (store_run(st, what, &e) == 0)
		return 0;
	log_warnx("event=store_write_failed what=\"%s\" err=\"%s\"", what, e.msg);
	return -1;
}

int store_exec(const char *sql, struct ferr *e)
{
	sqlite3 *db = store_db();

	if (store_db_failed(db) || sqlite3_exec(db, sql, NULL, NULL, NULL) != SQLITE_OK)
		return store_error(e, "store");
	return 0;
}

int store_begin(struct ferr *e)
{
	return store_exec("BEGIN IMMEDIATE", e);
}

int store_commit(struct ferr *e)
{
	if (sqlite3_exec(store_db(), "COMMIT", NULL, NULL, NULL) != SQLITE_OK) {
		store_error(e, "commit");
		store_rollback();
		return -1;
	}
	return 0;
}

void store_rollback(void)
{
	sqlite3 *db = store_db();

	if (!sqlite3_get_autocommit(db))
		sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
}

int store_schema_version(void)
{
	sqlite3_stmt *st = store_stmt("PRAGMA user_version");
	int v = 0;

	if (sqlite3_step(st) == SQLITE_ROW)
		v = sqlite3_column_int(st, 0);
	sqlite3_reset(st);
	return v;
}

/* Before migrating a store that holds data: a copy of it as it was, in
 * DIR/backups/ferry-v<N>-<time>.db next to the database. */
static int backup_before_migrate(int have, struct ferr *e)
{
	char dir[4096], dest[4200], now[32];
	const char *slash = strrchr(db_path, '/');

	if (slash)
		snprintf(dir, sizeof(dir), "%.*s/backups", (int)(slash - db_path), db_path);
	else
		snprintf(dir, sizeof(dir), "backups");
	if (mkdir(dir, 0700) < 0 && errno != EEXIST)
		return ferr_internal(e, "create %s: %s", dir, strerror(errno));
	store_now(now);
	snprintf(dest, sizeof(dest), "%s/ferry-v%d-%s.db", dir, have, now);
	if (db_copy(store_db(), dest, e) < 0)
		return ferr_prefix(e, "the backup before migrating");
	log_info("event=store_backup reason=migration from=%d to=%d path=%s", have,
		 store_migrations_latest(), dest);
	return 0;
}

/* Brings the schema to the newest version: every pending migration in ONE
 * transaction (a failure leaves the store exactly as it was), after a
 * backup when the store already holds data. A store newer than this binary
 * is refused: its schema has changes this binary cannot know. */
static int migrate(struct ferr *e)
{
	int have = store_schema_version(), latest = store_migrations_latest();

	if (have > latest)
		return ferr_conflict(e, "the store %s has schema version %d, newer than this ferryd knows "
				     "(%d): it was used by a newer ferry; run that version (a downgrade "
				     "is not supported), or restore a backup made by this one", db_path,
				     have, latest);
	if (have == latest)
		return 0;
	if (have > 0 && backup_before_migrate(have, e) < 0)
		return -1;
	if (store_begin(e) < 0)
		return -1;
	for (int i = 0; i < store_migrations_count; i++) {
		const struct migration *m = &store_migrations[i];
		char pragma[64];

		if (m->version <= have)
			continue;
		snprintf(pragma, sizeof(pragma), "PRAGMA user_version=%d", m->version);
		if (store_exec(m->sql, e) < 0 || store_exec(pragma, e) < 0) {
			ferr_prefix(e, "migration %d (%s)", m->version, m->name);
			store_rollback();
			return -1;
		}
	}
	if (store_commit(e) < 0)
		return ferr_prefix(e, "migrating the store from version %d to %d", have, latest);
	if (have > 0)
		log_info("event=store_migrated from=%d to=%d", have, latest);
	return 0;
}

int store_open(const char *path, struct ferr *e)
{
	static int key_made;

	if (!key_made) {
		pthread_key_create(&conn_key, conn_release);
		key_made = 1;
	}
	free(db_path);
	db_path = strdup(path);
	if (!db_path)
		abort();
	/* Open on this thread now so a bad path is reported, not aborted on. */
	{
		struct conn *c = calloc(1, sizeof(*c));
		if (!c)
			abort();
		if (conn_open(&c->db, e) < 0) {
			free(c);
			return -1;
		}
		conn_register(c);
	}
	return migrate(e);
}

void store_close(void)
{
	struct conn *c;

	pthread_setspecific(conn_key, NULL);
	pthread_mutex_lock(&conns_lock);
	while ((c = conns)) {
		conns = c->next;
		conn_close(c);
	}
	while ((c = idle)) {
		idle = c->next;
		conn_close(c);
	}
	pthread_mutex_unlock(&conns_lock);
}

void store_now(char buf[32])
{
	time_t t = time(NULL);
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(buf, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

int64_t store_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}
