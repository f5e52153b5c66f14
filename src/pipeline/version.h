/* version: the version orderings of the package ecosystems ferry scans.
 *
 * A vulnerability advisory says "affected from X, fixed in Y"; whether the
 * installed version V lies in between depends on the ecosystem's own rules,
 * which differ a lot: in Debian 1.0~rc1 < 1.0, in semver 1.0.0-rc.1 < 1.0.0
 * but 1.0.0+build == 1.0.0, in PEP 440 1.0.dev0 < 1.0a1 < 1.0 < 1.0.post1.
 *
 * Every comparison function is total: it never fails, whatever the input.
 * Strings that are not valid in the scheme still get a deterministic order
 * (documented per function), so that a malformed advisory or package entry
 * never crashes a scan; *_valid() says whether a string follows the scheme.
 * All return <0, 0 or >0 like strcmp. No allocation, thread-safe.
 */
#ifndef FERRY_PIPELINE_VERSION_H
#define FERRY_PIPELINE_VERSION_H

#include <stdbool.h>

enum version_scheme {
	VERSION_DPKG = 0,   /* Debian, Ubuntu: deb-version(7) */
	VERSION_APK,        /* Alpine: apk-tools' version ordering */
	VERSION_SEMVER,     /* npm, Go, crates.io: semver 2.0.0 precedence */
	VERSION_PEP440,     /* PyPI */
};

/* Debian's ordering, as dpkg --compare-versions: [epoch:]upstream[-revision].
 * Epoch numeric (missing = 0); upstream and revision compared by dpkg's
 * verrevcmp: alternating non-digit parts (where '~' sorts before
 * everything, even the end of the string, and letters sort before
 * non-letters) and digit parts compared as numbers. A missing revision
 * equals "0" (dpkg's own rule: "1.0" == "1.0-0"). */
int version_cmp_dpkg(const char *a, const char *b);
/* True when s parses as a Debian version: optional numeric epoch, upstream
 * starting with a digit, only [A-Za-z0-9.+~-:] characters. */
bool version_valid_dpkg(const char *s);

/* Semantic Versioning 2.0.0 precedence (semver.org §11). Lenient the way
 * the Go and npm ecosystems need: a leading 'v' is ignored (Go's
 * "v1.2.3"), missing minor/patch count as 0 ("1.2" == "1.2.0"), numbers of
 * any length compare numerically without overflow, build metadata
 * ("+incompatible", "+build.5") is ignored. Go pseudo-versions
 * (v0.0.0-20230101120000-abcdef123456) are ordinary pre-releases and sort
 * as Go's own tooling sorts them. */
int version_cmp_semver(const char *a, const char *b);
/* True for a strict semver 2.0.0 string, optionally with a leading 'v'. */
bool version_valid_semver(const char *s);

/* PEP 440 ordering ("Version specifiers", PyPA): epoch, release segments
 * (trailing zeros do not count: 1.0 == 1.0.0), pre-releases a/b/rc, post
 * releases, dev releases and local versions, after PEP 440's
 * normalisation (case, "alpha"/"beta"/"c"/"pre"/"preview"/"rev"/"r",
 * '-' '_' '.' separators, implicit numbers, "1.0-1" as a post release, a
 * leading 'v'). Strings that are not PEP 440 sort before every valid
 * version, among themselves by strcmp (as pip's LegacyVersion did). */
int version_cmp_pep440(const char *a, const char *b);
bool version_valid_pep440(const char *s);

/* Alpine's apk ordering: digit groups separated by '.', an optional
 * letter, suffixes _alpha _beta _pre _rc (before the release) and _cvs
 * _svn _git _hg _p (after it), each with an optional number, then -rN. */
int version_cmp_apk(const char *a, const char *b);

/* Dispatches on scheme. */
int version_cmp(enum version_scheme scheme, const char *a, const char *b);

#endif
