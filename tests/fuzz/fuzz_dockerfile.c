/* libFuzzer target: the Dockerfile rules take a repository's Dockerfile,
 * which is untrusted input. Every finding must be a well-formed object
 * with a line inside the text. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <jansson.h>

#include "pipeline/dockerfile_scan.h"
#include "lib/banned.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ferr e = FERR_INIT;
	json_t *findings = json_array(), *f;
	size_t lines = 1, i;
	int n;

	for (size_t k = 0; k < size; k++)
		lines += data[k] == '\n';
	n = dockerfile_scan((const char *)data, size, "Dockerfile", findings, &e);
	if (n >= 0 && (size_t)n != json_array_size(findings))
		abort();
	json_array_foreach(findings, i, f) {
		json_int_t line = json_integer_value(json_object_get(f, "line"));
		if (!json_is_object(f) || !json_string_value(json_object_get(f, "severity")) ||
		    line < 1 || (size_t)line > lines)
			abort();
	}
	json_decref(findings);
	return 0;
}
