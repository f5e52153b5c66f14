/* libFuzzer target: the FROM rewriter (pipeline/dockerfile_from) reads a
 * repository's Dockerfile, untrusted input. Checks, besides ASan/UBSan:
 * every image handed to the resolver is one non-empty word; the count
 * returned is the number of images replaced; and a Dockerfile in which
 * nothing was replaced comes out byte for byte as it went in. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lib/strbuf.h"
#include "pipeline/dockerfile_from.h"

#include "lib/banned.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct ctx {
	int calls, replaced;
};

static int resolve(void *arg, const char *image, struct strbuf *ref)
{
	struct ctx *c = arg;

	if (!*image || strpbrk(image, " \t\r\n"))
		abort();
	c->calls++;
	if (c->calls % 3 == 0)
		return 0; /* keep this one */
	c->replaced++;
	strbuf_addf(ref, "127.0.0.1:5000/%s@sha256:%064d", image, 0);
	return 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct strbuf text = STRBUF_INIT, out = STRBUF_INIT;
	struct ctx c = { 0, 0 };
	int n;

	/* the caller reads the Dockerfile into a NUL-terminated buffer (an
	 * embedded NUL ends the text, as it does there) */
	strbuf_add(&text, data, size);
	n = dockerfile_pin_from(text.buf, resolve, &c, &out);
	if (n != c.replaced)
		abort();
	if (n == 0 && strcmp(out.buf, text.buf))
		abort();
	strbuf_release(&text);
	strbuf_release(&out);
	return 0;
}
