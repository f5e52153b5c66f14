#include "lib/promtext.h"

#include <stdarg.h>
#include <stdio.h>

#include "lib/banned.h"

void prom_family(struct strbuf *out, const char *name, const char *type, const char *help)
{
	strbuf_addf(out, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static void add_escaped(struct strbuf *out, const char *v)
{
	for (; *v; v++) {
		if (*v == '\\' || *v == '"')
			strbuf_addf(out, "\\%c", *v);
		else if (*v == '\n')
			strbuf_addf(out, "\\n");
		else
			strbuf_add(out, v, 1);
	}
}

void prom_sample(struct strbuf *out, const char *name, double value, ...)
{
	const char *key;
	va_list ap;
	int n = 0;

	strbuf_addf(out, "%s", name);
	va_start(ap, value);
	while ((key = va_arg(ap, const char *))) {
		const char *v = va_arg(ap, const char *);
		strbuf_addf(out, "%s%s=\"", n++ ? "," : "{", key);
		add_escaped(out, v ? v : "");
		strbuf_addf(out, "\"");
	}
	va_end(ap);
	if (n)
		strbuf_addf(out, "}");
	if (value > -1e15 && value < 1e15 && (double)(long long)value == value)
		strbuf_addf(out, " %.0f\n", value);
	else
		strbuf_addf(out, " %.6g\n", value);
}
