/* configdir: a replica's configuration on a tmpfs, as ferry-init reads it.
 *
 * Layout (contract with ferry-init, docs/ferry-init.md):
 *   <run dir>/<replica name>/          0700, owner: the container's user
 *   <run dir>/<replica name>/env       0400, NUL-terminated KEY=VALUE records
 *   <run dir>/<replica name>/files/<i> 0400, one per file-mount configuration
 * The directory is bind-mounted read-only at /.ferry/config, each files/<i>
 * at its absolute path. Plaintext never lands on a disk: the run dir is
 * checked to be a tmpfs (statfs) before anything is written, and files are
 * overwritten with zeros before they are unlinked.
 *
 * Internal to src/runtime (drivers share it); not part of the runtime API.
 */
#ifndef FERRY_RUNTIME_CONFIGDIR_H
#define FERRY_RUNTIME_CONFIGDIR_H

#include <sys/types.h>

#include "runtime.h"

/* 1 if path is on a tmpfs (or ramfs), 0 if not, -1 with e set on error. */
int configdir_on_tmpfs(const char *path, struct ferr *e);

/* Prepares the run directory and returns it in *ret (malloc'd, caller frees).
 * With run_dir: that directory, created 0700 if missing, must be on a tmpfs.
 * Else as root: data_dir/run, on which a tmpfs (mode 0700, nosuid, nodev,
 * noexec) is mounted unless one already is. Else /dev/shm/ferry-<uid>-<tag>.
 * Returns 0 or -1 with e set (not a tmpfs, cannot mount, I/O). */
int configdir_prepare_root(char **ret, const char *data_dir, const char *run_dir,
			   const char *tag, struct ferr *e);

/* 0 if key is an environment variable name ([A-Za-z_][A-Za-z0-9_]*, 1-255
 * bytes), else -1 with e set naming the key. */
int configdir_check_env_key(const char *key, size_t len, struct ferr *e);

/* Serializes env ("KEY=VALUE" strings, NULL-terminated, may be NULL) into
 * out as NUL-terminated records. Fails (400) on a bad key or when the total
 * exceeds RUNTIME_ENV_MAX. Never puts a value into e. */
int configdir_env_serialize(struct strbuf *out, const char *const *env,
			    struct ferr *e);

/* Creates <root>/<name> with env and files as laid out above, owned by
 * uid:gid (when the caller may chown; else left to the caller). Fails (409)
 * if the directory exists. On failure nothing is left behind. */
int configdir_write(const char *root, const char *name, const char *const *env,
		    const struct runtime_file *files, size_t nfiles,
		    uid_t uid, gid_t gid, struct ferr *e);

/* Host path of files/<i> of <root>/<name> into out. */
void configdir_file_path(struct strbuf *out, const char *root, const char *name,
			 size_t i);

/* Overwrites every regular file of <root>/<name> (and files/) with zeros,
 * then removes them and the directories. Succeeds if it does not exist. */
int configdir_remove(const char *root, const char *name, struct ferr *e);

#endif
