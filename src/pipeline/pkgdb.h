/* pkgdb: the packages installed in an unpacked image root.
 *
 * Reads what a vulnerability matcher needs to know about an image: every
 * installed OS package and every application dependency pinned in a
 * lockfile, each with the ecosystem whose advisories apply to it and the
 * file it was found in.
 *
 *   var/lib/dpkg/status, var/lib/dpkg/status.d/<file>   Debian, Ubuntu
 *                      (status.d as distroless images write it)
 *   lib/apk/db/installed                           Alpine
 *   package-lock.json (v1, v2, v3), also node_modules/.package-lock.json
 *   requirements.txt  (only "name==version" pins)  PyPI
 *   go.sum                                          Go
 *   Cargo.lock                                      crates.io
 *
 * Lockfiles are found anywhere under the root except proc, sys and dev.
 * The image is untrusted input: nothing outside the root is ever read
 * (symbolic links are not followed), every file has a size cap, the walk
 * has a file count and depth cap, and malformed files are skipped, not
 * fatal (the parsers return errors to say why; the walk ignores them).
 */
#ifndef FERRY_PIPELINE_PKGDB_H
#define FERRY_PIPELINE_PKGDB_H

#include <stddef.h>

#include "lib/error.h"

/* Largest file parsed (a Debian status with 5,000 packages is ~10 MiB). */
#define PKGDB_MAX_FILE_SIZE (64u * 1024 * 1024)
/* Walk limits for lockfile discovery. */
#define PKGDB_MAX_DEPTH 24
#define PKGDB_MAX_ENTRIES 2000000

/* Ecosystem families, named as OSV names them (without a release). */
#define PKG_ECO_DEBIAN "Debian"
#define PKG_ECO_UBUNTU "Ubuntu"
#define PKG_ECO_ALPINE "Alpine"
#define PKG_ECO_NPM    "npm"
#define PKG_ECO_PYPI   "PyPI"
#define PKG_ECO_GO     "Go"
#define PKG_ECO_CRATES "crates.io"

struct pkg {
	char *name;            /* binary package / module name */
	char *source;          /* source package (dpkg Source:, apk origin:);
	                          equals name when the file names none */
	char *version;         /* installed version of name */
	char *source_version;  /* version of source (dpkg "Source: x (v)");
	                          equals version otherwise */
	const char *ecosystem; /* one of PKG_ECO_* (static) */
	char *where;           /* file it was read from, relative to the root */
};

struct pkglist {
	struct pkg *v;
	size_t n, alloc;
	/* From etc/os-release (or usr/lib/os-release): "debian", "12"; NULL
	 * when unknown. Used to pick "Debian:12" advisories. */
	char *os_id;
	char *os_version;
};

#define PKGLIST_INIT { NULL, 0, 0, NULL, NULL }

/* Frees the contents; l is left as PKGLIST_INIT. */
void pkglist_release(struct pkglist *l);
/* Appends one package (copies every string). source/source_version may be
 * NULL (= name/version). Returns 1, or 0 without adding when name or
 * version is empty (as C strings: a NUL inside an image file's field). */
int pkglist_add(struct pkglist *l, const char *ecosystem, const char *name,
                 const char *version, const char *source, const char *source_version,
                 const char *where);

/* Reads every package database and lockfile under rootfs into *l (which
 * must be initialised; packages are appended). Returns -1 with e set only
 * when rootfs itself cannot be opened; unreadable or malformed files
 * inside are skipped. */
int pkgdb_read_rootfs(struct pkglist *l, const char *rootfs, struct ferr *e);

/* The parsers, on a buffer (need not be NUL-terminated). Each appends the
 * packages it finds to l with `where` as their file, and returns the number
 * appended, or -1 with e set when the buffer is not that format at all (a
 * parser skips single bad entries rather than failing). eco is the
 * ecosystem to record (PKG_ECO_DEBIAN or PKG_ECO_UBUNTU for dpkg). */
int pkgdb_parse_dpkg_status(struct pkglist *l, const char *buf, size_t len,
                            const char *eco, const char *where, struct ferr *e);
int pkgdb_parse_apk_installed(struct pkglist *l, const char *buf, size_t len,
                              const char *where, struct ferr *e);
int pkgdb_parse_package_lock(struct pkglist *l, const char *buf, size_t len,
                             const char *where, struct ferr *e);
int pkgdb_parse_requirements(struct pkglist *l, const char *buf, size_t len,
                             const char *where, struct ferr *e);
int pkgdb_parse_go_sum(struct pkglist *l, const char *buf, size_t len,
                       const char *where, struct ferr *e);
int pkgdb_parse_cargo_lock(struct pkglist *l, const char *buf, size_t len,
                           const char *where, struct ferr *e);

/* PyPI's name normalisation (PEP 503): lower case, runs of "-_." as one
 * '-'. Writes into out (size outsz, truncates safely). */
void pkgdb_pypi_normalize(char *out, size_t outsz, const char *name);

#endif
