/* secrets: finding committed credentials in a file tree.
 *
 * The rules live in a JSON data file (data/secret-rules.json in the source
 * tree, installed as DATADIR/ferry/secret-rules.json; ferryd
 * --secret-rules FILE overrides), so they can be changed without a rebuild:
 *
 *   {"version": 1,
 *    "allow_paths": [globs of files never reported, such as testdata dirs],
 *    "rules": [{"id": "github-pat", "title": "...", "severity": "CRITICAL",
 *               "regex": "POSIX ERE", "case_insensitive": false,
 *               "keywords": ["ghp_"],      a line must hold one (case-blind)
 *                                          before the regex runs
 *               "group": 1,                the capture group that is the
 *                                          secret (0: the whole match)
 *               "min_entropy": 3.2,        Shannon bits per character the
 *                                          secret must reach (0: any)
 *               "allow": ["EXAMPLE"]}]}    ERE: a secret matching one is a
 *                                          documented placeholder
 *
 * A repository adds its own allow-list in .ferry/secrets-allow (one glob
 * per line, "#" comments). A line containing "ferry:allow-secret" is never
 * reported. Globs: "*" and "?" stay within a path segment, "**" crosses
 * them; a glob without "/" matches the file's base name anywhere.
 *
 * A finding never holds the secret: only a redacted prefix of it.
 */
#ifndef FERRY_PIPELINE_SECRETS_H
#define FERRY_PIPELINE_SECRETS_H

#include <jansson.h>
#include <stddef.h>

#include "lib/error.h"

struct secret_rules;

/* Parses a rule set from JSON text (len bytes); name is used in error
 * messages. Returns 0 and *ret (free with secret_rules_free), or -1 with e
 * set naming the rule and field that are wrong (bad regex, unknown
 * severity, missing id). */
int secret_rules_parse(struct secret_rules **ret, const char *text, size_t len, const char *name,
		       struct ferr *e);
/* secret_rules_parse of a file (at most 4 MiB). */
int secret_rules_load(struct secret_rules **ret, const char *path, struct ferr *e);
void secret_rules_free(struct secret_rules *r);
size_t secret_rules_count(const struct secret_rules *r);

/* How a tree is walked. Zeroes mean the defaults below. */
struct secret_scan_opts {
	const char *where_prefix;       /* put before relative paths in "where" and
					   "file": "" for a source tree, "/" for an
					   image root */
	const char *const *allow_globs; /* extra allow globs (NULL-terminated; may
					   be NULL), e.g. from .ferry/secrets-allow */
	const char *const *skip_dirs;   /* top-level directories not entered
					   ("proc", "sys"); NULL-terminated */
	size_t max_file_size;           /* larger files are skipped; 1 MiB */
	size_t max_files;               /* files read at most; 100000 */
	size_t max_bytes;               /* bytes read at most; 512 MiB */
	long long deadline_ms;          /* CLOCK_MONOTONIC; 0: none */
};

struct secret_scan_stats {
	size_t files_scanned;
	size_t files_skipped;   /* too large, binary, unreadable or allow-listed */
	size_t bytes_scanned;
	int incomplete;         /* a limit or the deadline stopped the walk */
};

/* Scans one buffer (a file's contents) as path and appends findings to the
 * JSON array findings. Returns the number appended. Does not check
 * allow-lists of paths (secrets_scan_tree does). */
int secrets_scan_buffer(const struct secret_rules *r, const char *path, const char *buf,
			size_t len, json_t *findings);

/* Walks root (never following symbolic links, never entering .git) and
 * scans every regular text file under the limits of o, appending findings
 * to findings and filling *st. Binary files (a NUL byte in the first 8 KiB)
 * are skipped. Returns 0, or -1 with e set if root cannot be opened. */
int secrets_scan_tree(const struct secret_rules *r, const char *root,
		      const struct secret_scan_opts *o, json_t *findings,
		      struct secret_scan_stats *st, struct ferr *e);

/* 1 if path (relative, "/"-separated) matches the allow glob. */
int secrets_glob_match(const char *glob, const char *path);

/* 1 if the path is allow-listed by r's allow_paths or by extra (may be
 * NULL). */
int secrets_path_allowed(const struct secret_rules *r, const char *const *extra, const char *path);

/* Reads an allow file (one glob per line, "#" comments, blank lines
 * skipped) into a new NULL-terminated array (free with
 * secrets_globs_free). A missing file gives an empty array. */
char **secrets_allow_file_read(const char *path);
void secrets_globs_free(char **globs);

/* The redacted form of a secret: its first characters (at most 4, fewer
 * for short secrets) then "…" and its length, e.g. "ghp_…(40 chars)".
 * Writes at most size bytes to out (NUL-terminated). */
void secrets_redact(const char *secret, size_t len, char *out, size_t size);

/* Shannon entropy of s in bits per character. */
double secrets_entropy(const char *s, size_t len);

#endif
