/* Unit tests of pipeline/vuln: a whole scan of image roots built in a
 * temporary directory against the test database (data/vuln/osvdb), the
 * exact findings it reports, the fixed version passing, Alpine releases,
 * and refresh: picked up only when the directory changed, while other
 * threads keep scanning (run under ASan to see the swap is safe). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/spawn.h"
#include "lib/strbuf.h"
#include "pipeline/vuln.h"

#include "testfs.h"
#include "lib/banned.h"

#ifndef DATA_DIR
#error "DATA_DIR must name tests/unit/pipeline/data/vuln"
#endif

/* Runs a tool without a shell (copies and removes the mkdtemp directories
 * this test made). */
static void run(const char *const *argv)
{
	struct ferr e = FERR_INIT;

	assert_int_equal(spawn_capture(argv, NULL, NULL, NULL, 0, 60000, &e), 0);
}

static void rm_rf(const char *path)
{
	const char *argv[] = { "rm", "-rf", "--", path, NULL };

	run(argv);
}

/* The finding for id and package, or NULL. */
static json_t *find(json_t *arr, const char *id, const char *pkg, const char *where)
{
	json_t *it;
	size_t k;

	json_array_foreach(arr, k, it)
		if (!strcmp(json_string_value(json_object_get(it, "id")), id) &&
		    !strcmp(json_string_value(json_object_get(it, "package")), pkg) &&
		    (!where || !strcmp(json_string_value(json_object_get(it, "where")), where)))
			return it;
	return NULL;
}

static void expect(json_t *arr, const char *id, const char *pkg, const char *where,
                   const char *sev, const char *installed, const char *fixed)
{
	json_t *f = find(arr, id, pkg, where);
	json_t *fx;

	if (!f) {
		char *dump = json_dumps(arr, JSON_INDENT(1));
		fail_msg("no finding %s for %s in %s:\n%s", id, pkg, where ? where : "*", dump);
	}
	assert_string_equal(json_string_value(json_object_get(f, "severity")), sev);
	assert_string_equal(json_string_value(json_object_get(f, "installed_version")), installed);
	fx = json_object_get(f, "fixed_version");
	if (fixed)
		assert_string_equal(json_string_value(fx), fixed);
	else
		assert_true(json_is_null(fx));
	assert_true(json_is_array(json_object_get(f, "aliases")));
	assert_non_null(json_string_value(json_object_get(f, "title")));
	assert_non_null(json_string_value(json_object_get(f, "ecosystem")));
}

static char *debian_root(void)
{
	char *root = strdup("/tmp/ferry-vuln-XXXXXX");

	assert_non_null(mkdtemp(root));
	testfs_put(root, "etc/os-release", "ID=debian\nVERSION_ID=\"12\"\n");
	testfs_copy(root, "var/lib/dpkg/status", DATA_DIR, "dpkg-status");
	testfs_copy(root, "app/package-lock.json", DATA_DIR, "package-lock-v1.json");
	testfs_copy(root, "app/node_modules/.package-lock.json", DATA_DIR, "package-lock-v3.json");
	testfs_copy(root, "srv/requirements.txt", DATA_DIR, "requirements.txt");
	testfs_copy(root, "go/go.sum", DATA_DIR, "go.sum");
	testfs_copy(root, "rust/Cargo.lock", DATA_DIR, "Cargo.lock");
	return root;
}

static void test_scan_debian(void **state)
{
	struct vulndb *db;
	struct ferr e = FERR_INIT;
	json_t *arr, *sum;
	char *root = debian_root();
	(void)state;

	assert_int_equal(vulndb_open(&db, DATA_DIR "/osvdb", &e), 0);
	assert_int_equal(vulndb_count(db), 11);
	assert_int_equal(vuln_scan_rootfs(db, root, &arr, &e), 0);

	/* OS packages match on the source package (openssl builds libssl3) */
	expect(arr, "DSA-5585-1", "openssl", "var/lib/dpkg/status", "CRITICAL", "3.0.11-1~deb12u2",
	       "3.0.13-1~deb12u1");
	expect(arr, "DSA-5585-1", "libssl3", "var/lib/dpkg/status", "CRITICAL", "3.0.11-1~deb12u2",
	       "3.0.13-1~deb12u1");
	assert_string_equal(json_string_value(json_object_get(
		find(arr, "DSA-5585-1", "libssl3", NULL), "source")), "openssl");
	/* binNMU: the source version is compared; no fix; urgency unimportant */
	expect(arr, "DEBIAN-CVE-2023-45853", "zlib1g", "var/lib/dpkg/status", "LOW",
	       "1:1.2.13.dfsg-1+b1", NULL);
	/* libc6 2.36-9+deb12u3 is the fixed version; DLA-3000-1 is for Debian 11;
	 * the withdrawn record does not count */
	assert_null(find(arr, "DEBIAN-CVE-2023-4911", "libc6", NULL));
	assert_null(find(arr, "DLA-3000-1", "libc6", NULL));
	assert_null(find(arr, "DEBIAN-CVE-2099-0001", "zlib1g", NULL));
	/* lockfiles, each where it was found */
	expect(arr, "GHSA-35jh-r3h4-6jhm", "lodash", "app/package-lock.json", "HIGH", "4.17.20", "4.17.21");
	expect(arr, "GHSA-35jh-r3h4-6jhm", "lodash", "app/node_modules/.package-lock.json", "HIGH",
	       "4.17.20", "4.17.21");
	expect(arr, "PYSEC-2021-98", "Django", "srv/requirements.txt", "MEDIUM", "3.2.0", "3.2.1");
	expect(arr, "PYSEC-2020-96", "PyYAML", "srv/requirements.txt", "CRITICAL", "5.3.1", NULL);
	expect(arr, "GO-2023-2102", "golang.org/x/net", "go/go.sum", "UNKNOWN", "v0.8.0", "0.17.0");
	expect(arr, "GO-2099-0001", "github.com/gin-gonic/gin", "go/go.sum", "UNKNOWN", "v1.9.0", NULL);
	expect(arr, "RUSTSEC-2021-0003", "smallvec", "rust/Cargo.lock", "CRITICAL", "1.6.0", "1.6.1");
	assert_int_equal(json_array_size(arr), 10);
	/* worst first */
	assert_string_equal(json_string_value(json_object_get(json_array_get(arr, 0), "severity")),
	                    "CRITICAL");

	sum = vuln_summary(arr);
	assert_int_equal(json_integer_value(json_object_get(sum, "CRITICAL")), 4);
	assert_int_equal(json_integer_value(json_object_get(sum, "HIGH")), 2);
	assert_int_equal(json_integer_value(json_object_get(sum, "MEDIUM")), 1);
	assert_int_equal(json_integer_value(json_object_get(sum, "LOW")), 1);
	assert_int_equal(json_integer_value(json_object_get(sum, "UNKNOWN")), 2);
	json_decref(sum);
	json_decref(arr);

	/* the same image with the fixed openssl: that finding is gone */
	testfs_put(root, "var/lib/dpkg/status", "Package: openssl\nStatus: install ok installed\n"
		   "Version: 3.0.13-1~deb12u1\n");
	assert_int_equal(vuln_scan_rootfs(db, root, &arr, &e), 0);
	assert_null(find(arr, "DSA-5585-1", "openssl", NULL));
	json_decref(arr);

	assert_int_equal(vuln_scan_rootfs(db, "/nonexistent/root", &arr, &e), -1);
	assert_null(arr);
	assert_non_null(strstr(e.msg, "/nonexistent/root"));
	vulndb_free(db);
	rm_rf(root);
	free(root);
}

static void test_scan_alpine(void **state)
{
	struct vulndb *db;
	struct ferr e = FERR_INIT;
	json_t *arr;
	char root[] = "/tmp/ferry-vuln-XXXXXX";
	(void)state;

	assert_non_null(mkdtemp(root));
	testfs_put(root, "etc/os-release", "ID=alpine\nVERSION_ID=3.18.4\n");
	testfs_copy(root, "lib/apk/db/installed", DATA_DIR, "apk-installed");
	assert_int_equal(vulndb_open(&db, DATA_DIR "/osvdb", &e), 0);
	assert_int_equal(vuln_scan_rootfs(db, root, &arr, &e), 0);
	expect(arr, "ALPINE-CVE-2023-5363", "libcrypto3", "lib/apk/db/installed", "UNKNOWN",
	       "3.1.2-r0", "3.1.4-r0");
	assert_int_equal(json_array_size(arr), 1);
	json_decref(arr);

	/* Alpine 3.19: the v3.18 advisory does not apply */
	testfs_put(root, "etc/os-release", "ID=alpine\nVERSION_ID=3.19.0\n");
	assert_int_equal(vuln_scan_rootfs(db, root, &arr, &e), 0);
	assert_int_equal(json_array_size(arr), 0);
	json_decref(arr);
	vulndb_free(db);
	rm_rf(root);
}

static void test_missing_dir(void **state)
{
	struct vulndb *db;
	struct ferr e = FERR_INIT;
	json_t *arr;
	char *root = debian_root();
	(void)state;

	assert_int_equal(vulndb_open(&db, "/nonexistent/ferry-vulndb", &e), 0);
	assert_int_equal(vulndb_count(db), 0);
	assert_int_equal(vulndb_refresh(db, &e), 0);
	assert_int_equal(vuln_scan_rootfs(db, root, &arr, &e), 0);
	assert_int_equal(json_array_size(arr), 0);
	json_decref(arr);
	vulndb_free(db);
	rm_rf(root);
	free(root);
}

struct scanner {
	struct vulndb *db;
	const char *root;
	volatile int stop;
	int scans, errors;
};

static void *scan_loop(void *arg)
{
	struct scanner *s = arg;

	while (!s->stop) {
		struct ferr e = FERR_INIT;
		json_t *arr;

		if (vuln_scan_rootfs(s->db, s->root, &arr, &e) < 0 || json_array_size(arr) < 10)
			s->errors++;
		json_decref(arr);
		s->scans++;
	}
	return NULL;
}

static void test_refresh(void **state)
{
	char dir[] = "/tmp/ferry-vulndb-XXXXXX", path[1100];
	struct vulndb *db;
	struct ferr e = FERR_INIT;
	struct scanner s[2];
	pthread_t th[2];
	char *root = debian_root();
	(void)state;

	assert_non_null(mkdtemp(dir));
	{
		const char *argv[] = { "cp", "-r", "--", DATA_DIR "/osvdb/.", dir, NULL };
		run(argv);
	}
	assert_int_equal(vulndb_open(&db, dir, &e), 0);
	assert_int_equal(vulndb_count(db), 11);
	assert_string_equal(vulndb_dir(db), dir);
	assert_int_equal(vulndb_refresh(db, &e), 0);   /* nothing changed */

	for (int i = 0; i < 2; i++) {
		s[i] = (struct scanner){ db, root, 0, 0, 0 };
		assert_int_equal(pthread_create(&th[i], NULL, scan_loop, &s[i]), 0);
	}
	/* a new record in a new ecosystem directory */
	snprintf(path, sizeof(path), "%s/crates.io/RUSTSEC-2099-0001.json", dir);
	testfs_put(dir, "crates.io/RUSTSEC-2099-0001.json",
		   "{\"id\":\"RUSTSEC-2099-0001\",\"affected\":[{\"package\":{\"ecosystem\":\"crates.io\","
		   "\"name\":\"smallvec\"},\"versions\":[\"1.6.0\"]}]}");
	assert_int_equal(vulndb_refresh(db, &e), 1);
	assert_int_equal(vulndb_count(db), 12);
	assert_int_equal(vulndb_refresh(db, &e), 0);
	/* the same file rewritten (same size, new mtime) is a change too */
	usleep(20000);
	testfs_put(dir, "crates.io/RUSTSEC-2099-0001.json",
		   "{\"id\":\"RUSTSEC-2099-0001\",\"affected\":[{\"package\":{\"ecosystem\":\"crates.io\","
		   "\"name\":\"smallvec\"},\"versions\":[\"1.6.1\"]}]}");
	assert_int_equal(vulndb_refresh(db, &e), 1);
	/* removed again */
	assert_int_equal(unlink(path), 0);
	assert_int_equal(vulndb_refresh(db, &e), 1);
	assert_int_equal(vulndb_count(db), 11);
	for (int i = 0; i < 2; i++) {
		s[i].stop = 1;
		pthread_join(th[i], NULL);
		assert_int_equal(s[i].errors, 0);
	}
	vulndb_free(db);
	rm_rf(dir);
	rm_rf(root);
	free(root);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_scan_debian),
		cmocka_unit_test(test_scan_alpine),
		cmocka_unit_test(test_missing_dir),
		cmocka_unit_test(test_refresh),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
