/* libFuzzer target for the component descriptor parser.
 *
 * The first byte picks the format, the rest is the file. Besides "does not
 * crash, leak or overflow" (run it under ASan/UBSan), it checks the one
 * property callers depend on: whatever the parser accepts, the JSON form
 * reads back (descriptor_from_json) to the very same JSON.
 *
 *   CC=clang meson setup build-fuzz -Dfuzz=true -Db_sanitize=address,undefined
 *   ninja -C build-fuzz tests/fuzz/fuzz_descriptor
 *   ./build-fuzz/tests/fuzz/fuzz_descriptor -max_len=4096 tests/unit/pipeline/data
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "pipeline/descriptor.h"

#include "lib/banned.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const enum descriptor_format fmts[] = {
		DESCRIPTOR_FERRY, DESCRIPTOR_CHOREO, DESCRIPTOR_CHOREO_COMPONENT_CONFIG,
		DESCRIPTOR_CHOREO_ENDPOINTS,
	};
	enum descriptor_format fmt;
	struct descriptor *d = NULL, *back = NULL;
	struct ferr e = FERR_INIT;
	json_t *j1, *j2;

	if (size == 0)
		return 0;
	fmt = fmts[data[0] % (sizeof(fmts) / sizeof(fmts[0]))];
	if (descriptor_parse(&d, (const char *)data + 1, size - 1, "fuzz.yaml", fmt, &e) < 0) {
		if (!e.msg[0])
			abort(); /* every failure must say why */
		return 0;
	}
	j1 = descriptor_to_json(d);
	if (descriptor_from_json(&back, j1, &e) < 0) {
		fprintf(stderr, "accepted descriptor does not read back: %s\n", e.msg);
		abort();
	}
	j2 = descriptor_to_json(back);
	if (!json_equal(j1, j2))
		abort();
	json_decref(j1);
	json_decref(j2);
	descriptor_free(back);
	descriptor_free(d);
	return 0;
}
