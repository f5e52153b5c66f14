/* backup: a whole ferry installation in one tar file, and back.
 *
 * A backup (format 1) is a tar archive of one directory, ferry-backup/:
 *   manifest.json       format, ferry and schema versions, time, master key
 *                       id, every file with its size and SHA-256, and the
 *                       registry's repositories and blobs (listed always)
 *   ferry.db            the store, copied online (SQLite backup API): every
 *                       project, component, configuration value (sealed by
 *                       the vault: its data keys are in the store, wrapped
 *                       by the master key), deployment, execution, token
 *   master.key.sealed   only when asked: the master key sealed with a
 *                       passphrase (vault/keyexport.h)
 *   registry/storage/   only when asked: the managed registry's storage
 * Build mirrors, caches and logs of running containers are not in it: they
 * are made again. See docs/backup.md.
 */
#ifndef FERRY_CORE_BACKUP_H
#define FERRY_CORE_BACKUP_H

#include <jansson.h>
#include <stddef.h>

#include "lib/error.h"

struct backup_options {
	const char *ferry_version;
	const char *passphrase;  /* non-NULL: include the sealed master key */
	int include_registry;
};

/* Writes a backup of the running installation (core.data_dir, the open
 * store and vault) into a new private directory under DATA/tmp; its path
 * goes to ret_dir and the archive's to ret_file. The caller opens the file
 * and then removes the directory with backup_discard (the open descriptor
 * still reads the archive). Returns 0, or -1
 * with e set (nothing left behind). */
int backup_create(const struct backup_options *o, char *ret_dir, size_t dir_size, char *ret_file,
		  size_t file_size, struct ferr *e);

/* Removes a directory backup_create made. */
void backup_discard(const char *dir);

/* Restores archive into data_dir, which must not exist or be empty; no
 * daemon may run on it. Checks the manifest's format and every checksum,
 * refuses a store newer than this binary, opens the sealed master key with
 * passphrase (NULL: the backup must have none, or the key comes from
 * elsewhere at start: allow_no_key). On success returns 0 with *ret a
 * summary (new reference); on failure -1 with e set and data_dir as it was
 * (removed if this call created it). */
int backup_restore(const char *archive, const char *data_dir, const char *passphrase, int allow_no_key,
		   json_t **ret, struct ferr *e);

#endif
