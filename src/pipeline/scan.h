/* scan: the build's scan step, between building the image and pushing it.
 *
 * One scan runs, in order:
 *   1. the Dockerfile rules (dockerfile_scan.h) on the Dockerfile built;
 *   2. secret detection (secrets.h) in the build context (the checkout);
 *   3. the built image's files, through a working container of the local
 *      image (buildah from + buildah mount, removed by id afterwards):
 *      secret detection in them, and the vulnerability matcher (vuln.h)
 *      on their installed packages and lockfiles;
 *   4. optionally an external scanner (trivy or grype) on the same root,
 *      its JSON findings merged into the same list.
 * Then the policy: an ignore file in the build context (.trivyignore and
 * .ferryignore, both read) suppresses the ids it lists; what is left is
 * counted by severity, and the build fails if a finding is at or above the
 * component's fail-on level (default CRITICAL; "never" only reports).
 *
 * Every finding has the same shape, whatever found it:
 *   {"id", "type": "dockerfile"|"secret"|"vulnerability", "severity":
 *    "CRITICAL"|"HIGH"|"MEDIUM"|"LOW"|"UNKNOWN", "title", "package",
 *    "installed_version", "fixed_version", "where", ...}
 * (package and versions are null where they do not apply).
 *
 * The report (a JSON object, stored with the build by core/build.c):
 *   {"passed": bool, "fail_on": "critical", "summary": {"CRITICAL": n, ...},
 *    "blocking": n, "reason": "..." or null, "findings": [...],
 *    "suppressed": [finding + "suppressed_by": FILE], "ignore_files": [...],
 *    "scanners": [{"name", "status", ...}], "duration_ms": n}
 */
#ifndef FERRY_PIPELINE_SCAN_H
#define FERRY_PIPELINE_SCAN_H

#include <jansson.h>
#include <stddef.h>
#include <time.h>

#include "lib/error.h"
#include "lib/strbuf.h"
#include "pipeline/image.h"
#include "pipeline/registry.h"

struct vulndb;
struct secret_rules;

/* Severity levels, ordered. SCAN_NEVER is only a fail-on level. */
enum scan_level { SCAN_UNKNOWN = 0, SCAN_LOW, SCAN_MEDIUM, SCAN_HIGH, SCAN_CRITICAL, SCAN_NEVER };

/* "CRITICAL" ... "UNKNOWN" (any case) to a level; -1 if not one of them. */
int scan_severity_level(const char *name);
/* The upper-case name of a level SCAN_UNKNOWN..SCAN_CRITICAL. */
const char *scan_severity_name(int level);
/* A fail-on setting, "critical", "high", "medium", "low" or "never" (any
 * case), to a level; -1 if it is none of them. */
int scan_fail_on_parse(const char *s);
/* The lower-case name of a fail-on level. */
const char *scan_fail_on_name(int level);

/* The ids an ignore file lists. */
struct scan_ignore {
	char **ids;          /* owned */
	char **files;        /* which file each id came from (owned) */
	size_t n;
	json_t *expired;     /* ids skipped because their exp: date passed */
};

#define SCAN_IGNORE_INIT { NULL, NULL, 0, NULL }

/* Adds the ids of one ignore file's text (Trivy's format: one id per line,
 * "#" starts a comment, blank lines skipped; an optional "exp:YYYY-MM-DD"
 * after the id ends the suppression after that day, judged at now) to ig,
 * recording file as their origin. */
void scan_ignore_add_text(struct scan_ignore *ig, const char *text, size_t len, const char *file,
			  time_t now);
/* Reads .trivyignore and .ferryignore from dir (either, both or neither;
 * at most 1 MiB each, symbolic links not followed) into ig. */
void scan_ignore_load(struct scan_ignore *ig, const char *dir, time_t now);
void scan_ignore_release(struct scan_ignore *ig);
/* The ignore file that suppresses finding f (by its id or one of its
 * "aliases"), or NULL. */
const char *scan_ignore_match(const struct scan_ignore *ig, json_t *f);

/* Applies the policy to findings (an array; the reference is taken):
 * suppresses ignored ids, counts the rest by severity and decides with
 * fail_on. scanners (taken; may be NULL) goes into the report as is.
 * Returns the new report. */
json_t *scan_report_make(json_t *findings, const struct scan_ignore *ig, int fail_on,
			 json_t *scanners);

/* "1 critical, 0 high, 2 medium, 0 low, 0 unknown; 1 suppressed" for a
 * report (appended to out). */
void scan_report_summary(json_t *report, struct strbuf *out);

/* External scanners' JSON output (trivy --format json, grype -o json)
 * turned into findings of the common shape appended to findings. Returns
 * the number appended, or -1 with e set if the text is not such output. */
int scan_parse_trivy(const char *text, size_t len, json_t *findings, struct ferr *e);
int scan_parse_grype(const char *text, size_t len, json_t *findings, struct ferr *e);
/* Appends to findings the entries of external not already there (the same
 * id or alias, package and installed version), each marked with
 * "source": source; an entry already there gets source added to its
 * "sources". Returns the number appended. */
int scan_merge(json_t *findings, json_t *external, const char *source);

/* Daemon-wide settings, fixed at start. */
struct scan_config {
	struct vulndb *vulndb;               /* NULL: no vulnerability matching */
	const char *vulndb_dir;              /* for messages */
	const struct secret_rules *rules;    /* NULL: no secret detection */
	const char *external;                /* "trivy", "grype" or NULL */
	int image_timeout_s;                 /* cap of the image's secret walk; 0: 120 */
};

/* One build's scan. */
struct scan_request {
	const char *context_dir;             /* the checkout (build context) */
	const char *dockerfile;              /* relative to context_dir; NULL with
						dockerfile_text */
	const char *dockerfile_text;         /* a generated Dockerfile (buildpacks) */
	const char *image;                   /* the local image's name; NULL: skip
						the image's files */
	struct registry *registry;           /* its containers environment */
	const char *image_id;                /* its id ("sha256:<hex>" or hex),
						and the store's graph root: the
						image is then mounted from its
						layers (pipeline/layer_mount.h),
						buildah only if that fails; NULL:
						buildah */
	const char *graph_root;
	const char *const *from_args;        /* extra `buildah from` flags (at
						most 8): the id mapping the image
						was built with, so that its layers
						are mounted as they are instead of
						copied and chowned; NULL: none */
	int fail_on;                         /* SCAN_LOW..SCAN_NEVER */
	const struct image_watch *w;         /* progress lines, cancel, deadline */
};

/* Runs the scan. Returns 0 if the policy passes, 1 if it fails (the
 * report's "reason" says why), in both cases with *ret_report set; or -1
 * with e set when the scan could not run (cancelled, timed out, the image
 * could not be mounted). Progress and findings go to rq->w->log. */
int scan_run(const struct scan_config *c, const struct scan_request *rq, json_t **ret_report,
	     struct ferr *e);

#endif
