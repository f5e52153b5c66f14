#include "pipeline/dockerfile_from.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "lib/banned.h"

#define MAX_STAGES 64

static const char *skip_blank(const char *p, const char *end)
{
	while (p < end && (*p == ' ' || *p == '\t'))
		p++;
	return p;
}

static const char *word_end(const char *p, const char *end)
{
	while (p < end && !isspace((unsigned char)*p))
		p++;
	return p;
}

int dockerfile_pin_from(const char *text, dockerfile_from_fn resolve, void *ctx,
			struct strbuf *out)
{
	char *stages[MAX_STAGES];
	size_t n_stages = 0;
	int replaced = 0;
	const char *line = text;

	while (*line) {
		const char *eol = strchrnul(line, '\n'), *end = eol;
		const char *p = skip_blank(line, end), *img, *img_end, *q;
		struct strbuf name = STRBUF_INIT, ref = STRBUF_INIT;
		int keep = 1;

		if (end > line && end[-1] == '\r')
			end--;
		if (end - p < 5 || strncasecmp(p, "FROM", 4) || !isspace((unsigned char)p[4]))
			goto copy;
		img = skip_blank(p + 4, end);
		while (img + 2 <= end && !strncmp(img, "--", 2))
			img = skip_blank(word_end(img, end), end);
		img_end = word_end(img, end);
		strbuf_add(&name, img, (size_t)(img_end - img));
		q = skip_blank(img_end, end);
		if (name.len && !strchr(name.buf, '$') && strcasecmp(name.buf, "scratch")) {
			int stage = 0;

			for (size_t i = 0; i < n_stages; i++)
				stage |= !strcasecmp(stages[i], name.buf);
			if (!stage) {
				int r = resolve(ctx, name.buf, &ref);

				if (r < 0) {
					strbuf_release(&name);
					strbuf_release(&ref);
					replaced = -1;
					goto done;
				}
				keep = r == 0;
			}
		}
		/* "AS stage": later FROMs may name it */
		if (end - q > 3 && !strncasecmp(q, "AS", 2) && isspace((unsigned char)q[2]) &&
		    n_stages < MAX_STAGES) {
			const char *s = skip_blank(q + 2, end);

			stages[n_stages] = strndup(s, (size_t)(word_end(s, end) - s));
			if (!stages[n_stages])
				abort();
			n_stages++;
		}
		if (!keep) {
			strbuf_add(out, line, (size_t)(img - line));
			strbuf_addstr(out, ref.buf);
			strbuf_add(out, img_end, (size_t)(eol - img_end));
			replaced++;
			strbuf_release(&name);
			strbuf_release(&ref);
			goto next;
		}
		strbuf_release(&name);
		strbuf_release(&ref);
copy:
		strbuf_add(out, line, (size_t)(eol - line));
next:
		if (!*eol)
			break;
		strbuf_addch(out, '\n');
		line = eol + 1;
	}
done:
	for (size_t i = 0; i < n_stages; i++)
		free(stages[i]);
	return replaced;
}
