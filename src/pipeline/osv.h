/* osv: advisories in the Open Source Vulnerability format, loaded into an
 * index that answers "which advisories name package P in ecosystem E, and
 * does version V fall in them" without touching JSON again.
 *
 * Format: https://ossf.github.io/osv-schema/. What is read:
 *   id, aliases[], summary (else the first line of details), withdrawn
 *   (withdrawn records are dropped), modified (of two records with the same
 *   id the newer wins), affected[].package.{ecosystem,name},
 *   affected[].ranges[] of type ECOSYSTEM or SEMVER (GIT is ignored) with
 *   introduced / fixed / last_affected / limit events, affected[].versions[].
 * Ecosystems: Debian, Ubuntu, Alpine (each optionally with a release,
 * "Debian:12", "Alpine:v3.18", "Ubuntu:22.04:LTS"; "Ubuntu:Pro:..." is
 * skipped: its fixes need a subscription), npm, PyPI, Go, crates.io. Others
 * are counted as loaded but never match.
 *
 * Severity, first found wins:
 *   1. affected[].ecosystem_specific.severity, affected[].database_specific.severity
 *   2. database_specific.severity (GitHub: CRITICAL, HIGH, MODERATE, LOW)
 *   3. severity[] of type CVSS_V3: the CVSS 3.x base score of the vector
 *      (highest if several), type Ubuntu: its word
 *   4. affected[].ecosystem_specific.urgency (Debian's tracker: high,
 *      medium, low, unimportant)
 *   5. UNKNOWN
 * Words: critical; high, important; medium, moderate; low, negligible,
 * unimportant. Scores: >= 9.0 CRITICAL, >= 7.0 HIGH, >= 4.0 MEDIUM, > 0 LOW.
 */
#ifndef FERRY_PIPELINE_OSV_H
#define FERRY_PIPELINE_OSV_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "lib/error.h"
#include "pipeline/version.h"

/* Largest single JSON document read (a file or a zip member). */
#define OSV_MAX_DOC_SIZE (32u * 1024 * 1024)

enum osv_severity {
	OSV_SEV_UNKNOWN = 0,
	OSV_SEV_LOW,
	OSV_SEV_MEDIUM,
	OSV_SEV_HIGH,
	OSV_SEV_CRITICAL,
};

/* "UNKNOWN", "LOW", ... "CRITICAL". */
const char *osv_severity_name(enum osv_severity s);
/* Parses a severity word (case-insensitive, see above); UNKNOWN if none. */
enum osv_severity osv_severity_from_word(const char *w);
/* The bucket of a CVSS base score. */
enum osv_severity osv_severity_from_score(double score);
/* CVSS 3.0/3.1 base score of a vector "CVSS:3.1/AV:N/AC:L/...", computed
 * with the specification's formula and Roundup. -1 if the vector is not a
 * complete CVSS 3.x base vector. */
double osv_cvss3_base_score(const char *vector);

enum osv_event_kind {
	OSV_INTRODUCED = 0,
	OSV_FIXED,
	OSV_LAST_AFFECTED,
	OSV_LIMIT,
};

struct osv_event {
	enum osv_event_kind kind;
	const char *version;   /* "0" for introduced means "from the start" */
};

struct osv_range {
	enum version_scheme scheme;
	struct osv_event *ev;  /* sorted by version at load (introduced "0" first) */
	size_t nev;
};

struct osv_record {
	const char *id;
	const char **aliases;
	size_t naliases;
	const char *title;
	const char *modified;       /* may be "" */
	enum osv_severity severity; /* record-level */
	bool superseded;            /* a newer record with this id was loaded */
};

struct osv_affected {
	const char *family;    /* "Debian", "npm" ... (static string) */
	const char *release;   /* "12", "v3.18", "22.04"; NULL = any */
	const char *name;      /* PyPI names normalised (PEP 503) */
	enum version_scheme scheme;
	struct osv_range *ranges;
	size_t nranges;
	const char **versions;
	size_t nversions;
	enum osv_severity severity; /* this entry's, or the record's */
	const struct osv_record *rec;
};

struct osv_index;

/* A new empty index. Never fails (allocation failure aborts). */
struct osv_index *osv_index_new(void);
void osv_index_free(struct osv_index *ix);

/* Adds one parsed OSV record. Returns 1 when indexed, 0 when skipped
 * (withdrawn, no supported ecosystem, an older duplicate), -1 with e set
 * when it is not an OSV record (no string id, affected not an array...).
 * Lookups are valid only after osv_index_finish(). */
int osv_index_add_json(struct osv_index *ix, json_t *rec, struct ferr *e);
/* Parses buf as JSON (one record, or an array of records) and adds it.
 * where names it in errors. Returns the number indexed or -1. */
int osv_index_add_buffer(struct osv_index *ix, const char *buf, size_t len,
                         const char *where, struct ferr *e);
/* Adds every record of a zip archive (osv.dev's all.zip exports: stored or
 * deflated members, zip64 too); members not ending in .json are skipped,
 * invalid members counted as invalid. Returns records indexed or -1 when
 * the file is not a readable zip. */
int osv_index_add_zip(struct osv_index *ix, const char *path, struct ferr *e);
/* Loads dir: *.json and *.zip in it and in its direct subdirectories (one
 * level: DIR/Debian/all.zip, DIR/npm/GHSA-....json). Files that fail are
 * counted (osv_index_invalid) and skipped. A missing dir gives an empty
 * index. Returns -1 only when dir exists but cannot be read. Calls
 * osv_index_finish. */
int osv_index_load_dir(struct osv_index *ix, const char *dir, struct ferr *e);
/* Sorts the index for lookups. Idempotent. */
void osv_index_finish(struct osv_index *ix);

/* Records indexed (not counting withdrawn, superseded or unsupported ones). */
size_t osv_index_count(const struct osv_index *ix);
/* Files or zip members that could not be read as OSV; the first one's
 * message goes to msg (if msgsz). */
size_t osv_index_invalid(const struct osv_index *ix, char *msg, size_t msgsz);

/* The affected entries for family (e.g. "Debian") and package name (PyPI
 * names are normalised here). *ret points into the index; valid until it
 * is freed. Returns how many. */
size_t osv_index_lookup(const struct osv_index *ix, const char *family, const char *name,
                        const struct osv_affected **ret);

/* True when version is affected by a: listed in versions[] or inside one
 * of its ranges, compared with a's ecosystem ordering. *ret_fixed (may be
 * NULL) gets the first fixed version above it in that range, or NULL. */
bool osv_affected_match(const struct osv_affected *a, const char *version, const char **ret_fixed);

/* Maps an OSV ecosystem string to its family (static string) and release
 * (pointer into eco, or NULL). Returns false for unsupported ecosystems. */
bool osv_ecosystem_parse(const char *eco, const char **ret_family, const char **ret_release,
                         size_t *ret_release_len);

#endif
