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

#endif
