/* vuln: known vulnerabilities of the packages in a built image.
 *
 * A vulndb is the OSV advisory directory (ferryd --vuln-db DIR, default
 * DATA/vulndb/) loaded once into an index (osv.h). vuln_scan_rootfs reads
 * the packages of an unpacked image (pkgdb.h) and matches each against
 * the advisories of its ecosystem with that ecosystem's version ordering
 * (version.h). docs/vulnerabilities.md says how to fill the directory.
 *
 * Threads: every function may be called from any thread. A scan holds a
 * reference to the index it started with, so a refresh that swaps in a new
 * index never disturbs scans in flight; the old index is freed when its
 * last scan ends.
 */
#ifndef FERRY_PIPELINE_VULN_H
#define FERRY_PIPELINE_VULN_H

#include <jansson.h>
#include <stddef.h>

#include "lib/error.h"

struct vulndb;

/* Loads every OSV record (*.json, also inside one level of per-ecosystem
 * subdirectories, and *.zip exports such as osv.dev's all.zip) from dir.
 * Loads once; vulndb_refresh() reloads only if the directory changed
 * (mtime/inode/size snapshot), swapping atomically so scans in flight keep
 * the old index. Missing dir = empty db (created later, it is picked up by
 * the next refresh). Files that are not OSV are skipped and counted
 * (vulndb_invalid). Returns 0, or -1 with e set when dir exists but cannot
 * be read. *ret is freed with vulndb_free. dir is copied. */
int  vulndb_open(struct vulndb **ret, const char *dir, struct ferr *e);
/* Cheap when nothing changed: one stat per file of the directory tree.
 * When something changed, loads a new index while scans go on with the
 * old one, then swaps. Concurrent refreshes are serialised. Returns 1 when
 * it reloaded, 0 when nothing changed, -1 with e set when the directory
 * could not be read (the old index stays in use). */
int  vulndb_refresh(struct vulndb *db, struct ferr *e);
/* Frees db (NULL is fine). No scan may still be running on it. */
void vulndb_free(struct vulndb *db);
/* Advisories indexed now (not counting withdrawn, superseded, or ones that
 * name only unsupported ecosystems). */
size_t vulndb_count(const struct vulndb *db);
/* Files or zip members skipped at the last (re)load because they are not
 * OSV JSON; the first one's message in msg (if msgsz). */
size_t vulndb_invalid(const struct vulndb *db, char *msg, size_t msgsz);
/* The directory given to vulndb_open. */
const char *vulndb_dir(const struct vulndb *db);

/* Scans an unpacked image root (a directory): reads its packages and
 * lockfiles, matches them against db. *ret is a new JSON array of
 * findings, each
 *   {"id","aliases":[],"package","ecosystem","installed_version",
 *    "fixed_version" (or null),"severity":"CRITICAL|HIGH|MEDIUM|LOW|UNKNOWN",
 *    "title","where"}
 * plus "source" (the source package an OS advisory names, when it differs
 * from package). "where" is the file the package was found in, relative to
 * rootfs (e.g. "var/lib/dpkg/status"). Sorted by severity (worst first),
 * then package, then id; one finding per (id, package, version, where).
 * Thread-safe with concurrent refresh. Returns 0, or -1 with e set when
 * rootfs cannot be opened. */
int  vuln_scan_rootfs(struct vulndb *db, const char *rootfs, json_t **ret, struct ferr *e);

/* Counts of a findings array by severity, as an object
 * {"CRITICAL":n,"HIGH":n,"MEDIUM":n,"LOW":n,"UNKNOWN":n}. New reference. */
json_t *vuln_summary(json_t *findings);

#endif
