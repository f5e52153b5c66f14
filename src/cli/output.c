/* Output for people (aligned tables) and for scripts (--json). */
#include "cli/cli.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/banned.h"

#define MAX_COLS 12
#define MAX_CELL 200

void print_json(json_t *j)
{
	char *s = json_dumps(j ? j : json_null(), JSON_INDENT(2) | JSON_ENCODE_ANY);

	puts(s);
	free(s);
}

void value_text(json_t *v, char *out, size_t size)
{
	if (!v || json_is_null(v))
		snprintf(out, size, "-");
	else if (json_is_string(v))
		snprintf(out, size, "%s", json_string_value(v));
	else if (json_is_true(v))
		snprintf(out, size, "yes");
	else if (json_is_false(v))
		snprintf(out, size, "no");
	else if (json_is_integer(v))
		snprintf(out, size, "%lld", (long long)json_integer_value(v));
	else {
		char *s = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
		snprintf(out, size, "%s", s);
		free(s);
	}
}

static json_t *lookup(json_t *obj, const char *key)
{
	char part[64];
	const char *dot;

	while ((dot = strchr(key, '.'))) {
		snprintf(part, sizeof(part), "%.*s", (int)(dot - key), key);
		obj = json_object_get(obj, part);
		key = dot + 1;
	}
	return json_object_get(obj, key);
}

void print_table(json_t *rows, const struct column *cols)
{
	size_t widths[MAX_COLS] = { 0 }, ncols = 0, i;
	char cell[MAX_CELL];
	json_t *row;

	while (cols[ncols].header && ncols < MAX_COLS) {
		widths[ncols] = strlen(cols[ncols].header);
		ncols++;
	}
	json_array_foreach(rows, i, row)
		for (size_t c = 0; c < ncols; c++) {
			value_text(lookup(row, cols[c].key), cell, sizeof(cell));
			if (strlen(cell) > widths[c])
				widths[c] = strlen(cell);
		}
	for (size_t c = 0; c < ncols; c++)
		printf("%-*s%s", c + 1 < ncols ? (int)widths[c] : 0, cols[c].header,
		       c + 1 < ncols ? "  " : "\n");
	json_array_foreach(rows, i, row)
		for (size_t c = 0; c < ncols; c++) {
			value_text(lookup(row, cols[c].key), cell, sizeof(cell));
			printf("%-*s%s", c + 1 < ncols ? (int)widths[c] : 0, cell,
			       c + 1 < ncols ? "  " : "\n");
		}
}

void print_result(json_t *j, void (*human)(json_t *))
{
	if (cli.json)
		print_json(j);
	else
		human(j);
}

int api_call_print(const char *method, const char *path, json_t *body, void (*human)(json_t *),
		   struct ferr *e)
{
	json_t *ret = NULL;
	int rc = api_call(method, path, body, &ret, e);

	json_decref(body);
	if (rc < 0)
		return -1;
	print_result(ret, human);
	json_decref(ret);
	return 0;
}
