/* Command-line words: positional arguments, --options and global settings. */
#include "cli/cli.h"

#include <string.h>

#include "lib/banned.h"

static struct opt globals[] = {
	{ "server", 1, NULL },
	{ "token", 1, NULL },
	{ "ca-file", 1, NULL },
	{ "json", 0, NULL },
	{ NULL, 0, NULL },
};

static struct opt *find(struct opt *opts, const char *name, size_t len)
{
	for (struct opt *o = opts; o && o->name; o++)
		if (strlen(o->name) == len && !strncmp(o->name, name, len))
			return o;
	return NULL;
}

const char *opt_get(struct opt *opts, const char *name)
{
	struct opt *o = find(opts, name, strlen(name));
	return o ? o->value : NULL;
}

int args_parse(int argc, char **argv, struct opt *opts, struct args *a, struct ferr *e)
{
	memset(a, 0, sizeof(*a));
	for (int i = 0; i < argc; i++) {
		const char *w = argv[i];
		const char *eq;
		struct opt *o;
		size_t len;

		if (!strcmp(w, "--")) {
			a->rest = argv + i + 1;
			a->nrest = argc - i - 1;
			break;
		}
		if (strncmp(w, "--", 2) || !w[2]) {
			if (a->npos == CLI_MAX_POS)
				return usage_error(e, "too many arguments at \"%s\"", w);
			a->pos[a->npos++] = w;
			continue;
		}
		w += 2;
		eq = strchr(w, '=');
		len = eq ? (size_t)(eq - w) : strlen(w);
		o = find(opts, w, len);
		if (!o)
			o = find(globals, w, len);
		if (!o)
			return usage_error(e, "unknown option --%.*s", (int)len, w);
		if (!o->has_value) {
			if (eq)
				return usage_error(e, "option --%s takes no value", o->name);
			o->value = "1";
		} else if (eq) {
			o->value = eq + 1;
		} else if (i + 1 < argc) {
			o->value = argv[++i];
		} else {
			return usage_error(e, "option --%s needs a value", o->name);
		}
	}
	if (globals[0].value)
		cli.server = globals[0].value;
	if (globals[1].value)
		cli.token = globals[1].value;
	if (globals[2].value)
		cli.ca_file = globals[2].value;
	if (globals[3].value)
		cli.json = 1;
	return 0;
}

json_t *args_split_commas(const char *list)
{
	json_t *arr = json_array();

	for (const char *p = list; ; ) {
		size_t len = strcspn(p, ",");
		json_array_append_new(arr, json_stringn(p, len));
		if (!p[len])
			break;
		p += len + 1;
	}
	return arr;
}
