/* Unit tests of pipeline/pkgdb: each package database and lockfile
 * parser on a sample (tests/unit/pipeline/data/vuln/), then the walk of a
 * whole image root built in a temporary directory (symbolic links not
 * followed, proc skipped, duplicates merged). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/strbuf.h"
#include "pipeline/pkgdb.h"

#include "lib/spawn.h"
#include "testfs.h"
#include "lib/banned.h"

#ifndef DATA_DIR
#error "DATA_DIR must name tests/unit/pipeline/data/vuln"
#endif

/* The package named name in l, or NULL. */
static const struct pkg *find(const struct pkglist *l, const char *name)
{
	for (size_t i = 0; i < l->n; i++)
		if (!strcmp(l->v[i].name, name))
			return &l->v[i];
	return NULL;
}

static void expect(const struct pkglist *l, const char *eco, const char *name, const char *ver,
                   const char *src, const char *srcver)
{
	const struct pkg *p = find(l, name);

	if (!p)
		fail_msg("package %s not found", name);
	assert_string_equal(p->ecosystem, eco);
	assert_string_equal(p->version, ver);
	assert_string_equal(p->source, src);
	assert_string_equal(p->source_version, srcver);
}

typedef int (*parser)(struct pkglist *, const char *, size_t, const char *, struct ferr *);

static void parse_file(struct pkglist *l, parser fn, const char *name, int want)
{
	struct ferr e = FERR_INIT;
	size_t len;
	char *buf = testfs_read(DATA_DIR, name, &len);
	int n = fn(l, buf, len, name, &e);

	if (n != want)
		fail_msg("%s: %d packages, want %d (%s)", name, n, want, e.msg);
	free(buf);
}

static void test_dpkg_status(void **state)
{
	struct pkglist l = PKGLIST_INIT;
	struct ferr e = FERR_INIT;
	size_t len;
	char *buf = testfs_read(DATA_DIR, "dpkg-status", &len);
	(void)state;

	/* removed-pkg (config-files) and no-version are not installed */
	assert_int_equal(pkgdb_parse_dpkg_status(&l, buf, len, PKG_ECO_DEBIAN,
	                                         "var/lib/dpkg/status", &e), 4);
	expect(&l, "Debian", "libc6", "2.36-9+deb12u3", "glibc", "2.36-9+deb12u3");
	expect(&l, "Debian", "openssl", "3.0.11-1~deb12u2", "openssl", "3.0.11-1~deb12u2");
	expect(&l, "Debian", "libssl3", "3.0.11-1~deb12u2", "openssl", "3.0.11-1~deb12u2");
	/* binNMU: the source has its own version */
	expect(&l, "Debian", "zlib1g", "1:1.2.13.dfsg-1+b1", "zlib", "1:1.2.13.dfsg-1");
	assert_null(find(&l, "removed-pkg"));
	assert_null(find(&l, "not-a-field-this-is-description-text"));
	assert_string_equal(l.v[0].where, "var/lib/dpkg/status");
	free(buf);
	pkglist_release(&l);
}

static int dpkg_debian(struct pkglist *l, const char *b, size_t n, const char *w, struct ferr *e)
{
	return pkgdb_parse_dpkg_status(l, b, n, PKG_ECO_DEBIAN, w, e);
}

static void test_dpkg_status_d(void **state)
{
	struct pkglist l = PKGLIST_INIT;
	struct ferr e = FERR_INIT;
	(void)state;

	/* distroless status.d: no Status field, CRLF line ends */
	parse_file(&l, dpkg_debian, "status.d-base-files", 1);
	expect(&l, "Debian", "base-files", "12.4+deb12u5", "base-files", "12.4+deb12u5");
	assert_int_equal(pkgdb_parse_dpkg_status(&l, "hello\nworld\n", 12, "Debian", "x", &e), -1);
	assert_non_null(strstr(e.msg, "not a dpkg status file"));
	pkglist_release(&l);
}

static void test_apk(void **state)
{
	struct pkglist l = PKGLIST_INIT;
	(void)state;

	parse_file(&l, pkgdb_parse_apk_installed, "apk-installed", 3);
	expect(&l, "Alpine", "musl", "1.2.4-r1", "musl", "1.2.4-r1");
	expect(&l, "Alpine", "libcrypto3", "3.1.2-r0", "openssl", "3.1.2-r0");
	expect(&l, "Alpine", "busybox", "1.36.1-r2", "busybox", "1.36.1-r2");
	pkglist_release(&l);
}

static void test_package_lock(void **state)
{
	struct pkglist l = PKGLIST_INIT;
	struct ferr e = FERR_INIT;
	(void)state;

	/* v1: nested dependencies; the git dependency is skipped */
	parse_file(&l, pkgdb_parse_package_lock, "package-lock-v1.json", 3);
	expect(&l, "npm", "lodash", "4.17.20", "lodash", "4.17.20");
	expect(&l, "npm", "qs", "6.7.0", "qs", "6.7.0");
	assert_null(find(&l, "mylib"));
	pkglist_release(&l);

	/* v3: paths; scoped names, nested node_modules, aliases; links and
	 * workspace folders skipped */
	parse_file(&l, pkgdb_parse_package_lock, "package-lock-v3.json", 4);
	expect(&l, "npm", "@babel/core", "7.22.0", "@babel/core", "7.22.0");
	expect(&l, "npm", "qs", "6.7.0", "qs", "6.7.0");
	expect(&l, "npm", "real-name", "2.0.0", "real-name", "2.0.0");
	assert_null(find(&l, "app"));
	assert_null(find(&l, "linked"));
	pkglist_release(&l);

	assert_int_equal(pkgdb_parse_package_lock(&l, "[1,2", 4, "package-lock.json", &e), -1);
	assert_non_null(strstr(e.msg, "package-lock.json"));
}

static void test_requirements(void **state)
{
	struct pkglist l = PKGLIST_INIT;
	char norm[64];
	(void)state;

	parse_file(&l, pkgdb_parse_requirements, "requirements.txt", 4);
	expect(&l, "PyPI", "Django", "3.2.0", "Django", "3.2.0");
	expect(&l, "PyPI", "requests", "2.25.1", "requests", "2.25.1");
	expect(&l, "PyPI", "Jinja2", "3.1.2", "Jinja2", "3.1.2");
	expect(&l, "PyPI", "PyYAML", "5.3.1", "PyYAML", "5.3.1");
	assert_null(find(&l, "numpy"));       /* a range, not a pin */
	assert_null(find(&l, "setuptools"));  /* ==69.* is a range too */
	pkglist_release(&l);

	pkgdb_pypi_normalize(norm, sizeof(norm), "Foo.Bar__baz-QUX");
	assert_string_equal(norm, "foo-bar-baz-qux");
	pkgdb_pypi_normalize(norm, 4, "abcdef");
	assert_string_equal(norm, "abc");
}

static void test_go_sum(void **state)
{
	struct pkglist l = PKGLIST_INIT;
	struct ferr e = FERR_INIT;
	(void)state;

	/* /go.mod-only lines are not code in the build */
	parse_file(&l, pkgdb_parse_go_sum, "go.sum", 2);
	expect(&l, "Go", "github.com/gin-gonic/gin", "v1.9.0", "github.com/gin-gonic/gin", "v1.9.0");
	expect(&l, "Go", "golang.org/x/net", "v0.8.0", "golang.org/x/net", "v0.8.0");
	pkglist_release(&l);
	assert_int_equal(pkgdb_parse_go_sum(&l, "garbage\n", 8, "go.sum", &e), -1);
}

static void test_cargo_lock(void **state)
{
	struct pkglist l = PKGLIST_INIT;
	(void)state;

	/* only crates from a registry: not the workspace, not git checkouts */
	parse_file(&l, pkgdb_parse_cargo_lock, "Cargo.lock", 1);
	expect(&l, "crates.io", "smallvec", "1.6.0", "smallvec", "1.6.0");
	pkglist_release(&l);
}

/* ------------------------------------------------------------ rootfs */

/* Removes the mkdtemp directory this test created (no shell). */
static void rm_rf(const char *path)
{
	const char *argv[] = { "rm", "-rf", "--", path, NULL };
	struct ferr e = FERR_INIT;

	assert_int_equal(spawn_capture(argv, NULL, NULL, NULL, 0, 60000, &e), 0);
}

static void test_rootfs(void **state)
{
	char root[] = "/tmp/ferry-pkgdb-XXXXXX", outside[] = "/tmp/ferry-pkgdb-out-XXXXXX";
	char link[1100];
	struct pkglist l = PKGLIST_INIT;
	struct ferr e = FERR_INIT;
	const struct pkg *p;
	(void)state;

	assert_non_null(mkdtemp(root));
	assert_non_null(mkdtemp(outside));
	testfs_put(root, "etc/os-release", "PRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\n"
		   "ID=debian\nVERSION_ID=\"12\"\n");
	testfs_copy(root, "var/lib/dpkg/status", DATA_DIR, "dpkg-status");
	testfs_copy(root, "var/lib/dpkg/status.d/base-files", DATA_DIR, "status.d-base-files");
	testfs_put(root, "var/lib/dpkg/status.d/base-files.md5sums", "abc  /etc/x\n");
	testfs_copy(root, "lib/apk/db/installed", DATA_DIR, "apk-installed");
	testfs_copy(root, "app/package-lock.json", DATA_DIR, "package-lock-v1.json");
	testfs_copy(root, "app/node_modules/.package-lock.json", DATA_DIR, "package-lock-v3.json");
	testfs_copy(root, "srv/py/requirements.txt", DATA_DIR, "requirements.txt");
	testfs_copy(root, "go/src/x/go.sum", DATA_DIR, "go.sum");
	testfs_copy(root, "rust/Cargo.lock", DATA_DIR, "Cargo.lock");
	testfs_copy(root, "proc/1/root/requirements.txt", DATA_DIR, "requirements.txt");
	/* a link out of the image must not be followed */
	testfs_copy(outside, "requirements.txt", DATA_DIR, "requirements.txt");
	snprintf(link, sizeof(link), "%s/escape", root);
	assert_int_equal(symlink(outside, link), 0);

	assert_int_equal(pkgdb_read_rootfs(&l, root, &e), 0);
	assert_string_equal(l.os_id, "debian");
	assert_string_equal(l.os_version, "12");
	/* 4 dpkg + 1 status.d + 3 apk + 3 (v1) + 4 (v3) + 4 + 2 + 1 */
	assert_int_equal(l.n, 22);
	p = find(&l, "base-files");
	assert_non_null(p);
	assert_string_equal(p->where, "var/lib/dpkg/status.d/base-files");
	p = find(&l, "Django");
	assert_non_null(p);
	assert_string_equal(p->where, "srv/py/requirements.txt");
	p = find(&l, "smallvec");
	assert_string_equal(p->where, "rust/Cargo.lock");
	for (size_t i = 0; i < l.n; i++) {
		assert_null(strstr(l.v[i].where, "escape"));
		assert_null(strstr(l.v[i].where, "proc/"));
	}
	pkglist_release(&l);

	assert_int_equal(pkgdb_read_rootfs(&l, "/nonexistent/ferry-root", &e), -1);
	assert_int_equal(e.status, 404);
	rm_rf(root);
	rm_rf(outside);
}

/* Ubuntu's os-release picks the Ubuntu ecosystem for dpkg packages. */
static void test_rootfs_ubuntu(void **state)
{
	char root[] = "/tmp/ferry-pkgdb-XXXXXX";
	struct pkglist l = PKGLIST_INIT;
	struct ferr e = FERR_INIT;
	(void)state;

	assert_non_null(mkdtemp(root));
	testfs_put(root, "usr/lib/os-release", "ID=ubuntu\nVERSION_ID='22.04'\n");
	testfs_copy(root, "var/lib/dpkg/status", DATA_DIR, "status.d-base-files");
	assert_int_equal(pkgdb_read_rootfs(&l, root, &e), 0);
	assert_int_equal(l.n, 1);
	assert_string_equal(l.v[0].ecosystem, "Ubuntu");
	assert_string_equal(l.os_version, "22.04");
	pkglist_release(&l);
	rm_rf(root);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_dpkg_status),
		cmocka_unit_test(test_dpkg_status_d),
		cmocka_unit_test(test_apk),
		cmocka_unit_test(test_package_lock),
		cmocka_unit_test(test_requirements),
		cmocka_unit_test(test_go_sum),
		cmocka_unit_test(test_cargo_lock),
		cmocka_unit_test(test_rootfs),
		cmocka_unit_test(test_rootfs_ubuntu),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
