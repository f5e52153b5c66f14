/* envfile: the deployment's environment variables, as ferry-init reads them.
 *
 * The runtime driver writes the file `env` in the configuration directory
 * (default /.ferry/config, kept on a host tmpfs and bind-mounted read-only).
 * Its format is a sequence of records, each `KEY=VALUE` followed by one NUL
 * byte. VALUE is any byte string without NUL (newlines and '=' are fine);
 * KEY matches [A-Za-z_][A-Za-z0-9_]*. An empty file means no variables.
 * Nothing in this module ever copies a value into an error message: values
 * may be secrets.
 *
 * The plaintext lives in one buffer owned by struct init_env; the environment
 * vector built from it points into that buffer, so init_env_release() wipes
 * every value with one explicit_bzero().
 */
#ifndef FERRY_INIT_ENVFILE_H
#define FERRY_INIT_ENVFILE_H

#include <stddef.h>

struct ferr;

/* Upper bound on the size of the env file. Linux allows at most 2 MiB of
 * argument + environment strings per exec anyway (a quarter of an 8 MiB
 * stack), so a bigger file could never be passed on; 4 MiB leaves room for a
 * raised stack limit without letting a broken file eat the container's
 * memory. */
#define INIT_ENV_MAX_BYTES (4u * 1024u * 1024u)

/* Longest record (KEY=VALUE plus its NUL) the kernel passes through exec:
 * MAX_ARG_STRLEN, 32 pages. A longer value must be a file mount. */
#define INIT_ENV_MAX_RECORD_BYTES (32u * 4096u)

/* Name of the file inside the configuration directory. */
#define INIT_ENV_FILE "env"

struct init_env {
	char *buf;      /* the records, NUL-terminated each; owned, wiped on release */
	size_t len;     /* bytes used in buf */
	size_t cap;     /* bytes allocated for buf (wiped in full) */
	char **vars;    /* nvars pointers to the records in buf, then NULL; owned */
	char **by_key;  /* the same nvars pointers sorted by key; owned */
	size_t nvars;
};

#define INIT_ENV_INIT { NULL, 0, 0, NULL, NULL, 0 }

/* Returns 1 if key[0..len) is a valid environment variable name for ferry
 * ([A-Za-z_][A-Za-z0-9_]*, non-empty), else 0. */
int init_env_key_valid(const char *key, size_t len);

/* Parses len bytes at buf as env records and takes ownership of buf (a
 * malloc()ed block of cap >= len bytes) in every case: on failure it is
 * wiped and freed. env must be INIT_ENV_INIT. Rejects a record without '=',
 * an empty record, an invalid key, a duplicate key, a record longer than
 * INIT_ENV_MAX_RECORD_BYTES and a last record without its terminating NUL;
 * the message names the record by number and byte offset (and by key once
 * the key is known to be valid), never by value. Returns 0, or -1 with e
 * filled (status 400, or 413 for a record too long). */
int init_env_parse(struct init_env *env, char *buf, size_t len, size_t cap,
		   struct ferr *e);

/* Reads and parses DIR/env (DIR is the configuration directory). The file
 * must be a regular file (symlinks are refused) of at most
 * INIT_ENV_MAX_BYTES. env must be INIT_ENV_INIT. Returns 0, or -1 with e
 * filled: 404 when the directory or file does not exist, 413 when too big,
 * 400 when malformed, 500 on an I/O error. */
int init_env_load(struct init_env *env, const char *dir, struct ferr *e);

/* Builds the environment for the program: every entry of inherited (a
 * NULL-terminated KEY=VALUE vector such as environ; may be NULL) whose key
 * env does not define, in order, followed by env's records in file order.
 * Inherited entries without '=' are dropped. Returns a malloc()ed
 * NULL-terminated vector whose strings are NOT copied: they point into
 * inherited and into env->buf, so the vector is valid only while both are.
 * Free the vector itself with free(). Returns NULL only if out of memory. */
char **init_env_merge(const struct init_env *env, char *const *inherited);

/* Wipes the plaintext (explicit_bzero) and frees everything; env is left as
 * INIT_ENV_INIT. Accepts an already released env. */
void init_env_release(struct init_env *env);

#endif
