/* libFuzzer target for the package database parsers of pipeline/pkgdb.
 *
 * The first byte picks the parser (dpkg status, apk installed, the
 * lockfiles), the rest is the file as an image would hold it. Besides "does
 * not crash, leak or overflow" (run under ASan/UBSan) it checks what the
 * matcher relies on: every package has a name, a version and a source, and
 * every failure says why.
 *
 *   CC=clang meson setup build-fuzz -Dfuzz=true -Db_sanitize=address,undefined
 *   ninja -C build-fuzz tests/fuzz/fuzz_dpkg_status
 *   ./build-fuzz/tests/fuzz/fuzz_dpkg_status -max_len=65536 tests/unit/pipeline/data/vuln
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "pipeline/pkgdb.h"

#include "lib/banned.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int dpkg(struct pkglist *l, const char *b, size_t n, const char *w, struct ferr *e)
{
	return pkgdb_parse_dpkg_status(l, b, n, PKG_ECO_DEBIAN, w, e);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	typedef int (*parser)(struct pkglist *, const char *, size_t, const char *, struct ferr *);
	static const parser parsers[] = {
		dpkg, dpkg, dpkg, dpkg,   /* the dpkg parser gets most of the time */
		pkgdb_parse_apk_installed, pkgdb_parse_package_lock, pkgdb_parse_requirements,
		pkgdb_parse_go_sum, pkgdb_parse_cargo_lock,
	};
	struct pkglist l = PKGLIST_INIT;
	struct ferr e = FERR_INIT;
	int n;

	if (size == 0)
		return 0;
	n = parsers[data[0] % (sizeof(parsers) / sizeof(parsers[0]))](
		&l, (const char *)data + 1, size - 1, "fuzz", &e);
	if (n < 0 && !e.msg[0])
		abort();   /* every failure must say why */
	if (n >= 0 && (size_t)n != l.n)
		abort();
	for (size_t i = 0; i < l.n; i++)
		if (!l.v[i].name[0] || !l.v[i].version[0] || !l.v[i].source[0] ||
		    !l.v[i].source_version[0])
			abort();
	pkglist_release(&l);
	return 0;
}
