/* The numbered schema migrations, applied in order by store_open(). */
#ifndef FERRY_MIGRATIONS_H
#define FERRY_MIGRATIONS_H

struct migration {
	int version;
	const char *name;
	const char *sql;
};

extern const struct migration store_migrations[];
extern const int store_migrations_count;

/* The newest schema version: the last migration's. */
static inline int store_migrations_latest(void)
{
	return store_migrations[store_migrations_count - 1].version;
}

#endif
