#include "pipeline/yaml_tree.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#include "lib/xalloc.h"
#include "lib/banned.h"

struct loader {
	const char *name;
	struct ferr *e;
	struct ynode *root;
	struct ynode *stack[YTREE_MAX_DEPTH];
	size_t depth;
	size_t nodes;
	size_t documents;
};

void ynode_free(struct ynode *n)
{
	if (!n)
		return;
	for (size_t i = 0; i < n->n; i++)
		ynode_free(n->child[i]);
	free(n->child);
	free(n->str);
	free(n);
}

bool ynode_is_null(const struct ynode *n)
{
	if (!n)
		return true;
	if (n->kind != YNODE_SCALAR || !n->plain)
		return false;
	return n->len == 0 || !strcmp(n->str, "~") || !strcmp(n->str, "null") ||
	       !strcmp(n->str, "Null") || !strcmp(n->str, "NULL");
}

const struct ynode *ynode_map_get(const struct ynode *map, const char *key)
{
	if (!map || map->kind != YNODE_MAP)
		return NULL;
	for (size_t i = 0; i + 1 < map->n; i += 2)
		if (!strcmp(map->child[i]->str, key))
			return map->child[i + 1];
	return NULL;
}

const struct ynode *ynode_map_key_of(const struct ynode *map, const struct ynode *v)
{
	if (!map || map->kind != YNODE_MAP)
		return NULL;
	for (size_t i = 0; i + 1 < map->n; i += 2)
		if (map->child[i + 1] == v)
			return map->child[i];
	return NULL;
}

static int fail(struct loader *l, yaml_mark_t m, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int fail(struct loader *l, yaml_mark_t m, const char *fmt, ...)
{
	char msg[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return ferr_invalid(l->e, "%s:%zu:%zu: %s", l->name, m.line + 1,
			    m.column + 1, msg);
}

static struct ynode *node_new(enum ynode_kind kind, yaml_mark_t m)
{
	struct ynode *n = xcalloc(1, sizeof(*n));

	n->kind = kind;
	n->line = m.line + 1 > UINT32_MAX ? UINT32_MAX : (unsigned)(m.line + 1);
	n->col = m.column + 1 > UINT32_MAX ? UINT32_MAX : (unsigned)(m.column + 1);
	return n;
}

/* Hangs n below the innermost open collection (or makes it the root).
 * Takes ownership of n in every case. */
static int attach(struct loader *l, struct ynode *n, yaml_mark_t m)
{
	struct ynode *parent;

	if (++l->nodes > YTREE_MAX_NODES) {
		ynode_free(n);
		return fail(l, m, "the document has too many nodes (at most %d)",
			    YTREE_MAX_NODES);
	}
	if (l->depth == 0) {
		l->root = n;
		return 0;
	}
	parent = l->stack[l->depth - 1];
	if (parent->kind == YNODE_MAP && parent->n % 2 == 0) {
		/* n is a key */
		if (n->kind != YNODE_SCALAR) {
			ynode_free(n);
			return fail(l, m, "%s", "mapping keys must be plain strings");
		}
		for (size_t i = 0; i < parent->n; i += 2) {
			if (!strcmp(parent->child[i]->str, n->str)) {
				int r = fail(l, m, "duplicate key \"%.200s\"", n->str);

				ynode_free(n);
				return r;
			}
		}
	}
	if (parent->n / (parent->kind == YNODE_MAP ? 2 : 1) >= YTREE_MAX_CHILDREN) {
		ynode_free(n);
		return fail(l, m, "too many entries in one list or mapping (at most %d)",
			    YTREE_MAX_CHILDREN);
	}
	if (parent->n == parent->alloc) {
		size_t na = parent->alloc ? parent->alloc * 2 : 8;
		struct ynode **c = realloc(parent->child, na * sizeof(*c));

		if (!c)
			abort();
		parent->child = c;
		parent->alloc = na;
	}
	parent->child[parent->n++] = n;
	return 0;
}

static int on_event(struct loader *l, const yaml_event_t *ev)
{
	struct ynode *n;

	switch (ev->type) {
	case YAML_DOCUMENT_START_EVENT:
		if (++l->documents > 1)
			return fail(l, ev->start_mark, "%s",
				    "only one YAML document is allowed in this file");
		return 0;
	case YAML_ALIAS_EVENT:
		return fail(l, ev->start_mark,
			    "aliases (*%.100s) are not supported here: write the value out",
			    (const char *)ev->data.alias.anchor);
	case YAML_SCALAR_EVENT:
		if (strlen((const char *)ev->data.scalar.value) != ev->data.scalar.length)
			return fail(l, ev->start_mark, "%s",
				    "a string holds a NUL character");
		n = node_new(YNODE_SCALAR, ev->start_mark);
		n->str = strdup((const char *)ev->data.scalar.value);
		if (!n->str)
			abort();
		n->len = ev->data.scalar.length;
		n->plain = ev->data.scalar.style == YAML_PLAIN_SCALAR_STYLE;
		return attach(l, n, ev->start_mark);
	case YAML_SEQUENCE_START_EVENT:
	case YAML_MAPPING_START_EVENT:
		if (l->depth >= YTREE_MAX_DEPTH)
			return fail(l, ev->start_mark,
				    "the document is nested too deeply (at most %d levels)",
				    YTREE_MAX_DEPTH);
		n = node_new(ev->type == YAML_SEQUENCE_START_EVENT ? YNODE_SEQ : YNODE_MAP,
			     ev->start_mark);
		if (attach(l, n, ev->start_mark) < 0)
			return -1;
		l->stack[l->depth++] = n;
		return 0;
	case YAML_SEQUENCE_END_EVENT:
	case YAML_MAPPING_END_EVENT:
		if (l->depth > 0)
			l->depth--;
		return 0;
	default:
		return 0;
	}
}

int ytree_parse(struct ynode **ret_root, const char *buf, size_t len,
		const char *name, struct ferr *e)
{
	struct loader l = { .name = name, .e = e };
	yaml_parser_t parser;
	yaml_event_t ev;
	int done = 0, r = 0;

	*ret_root = NULL;
	if (!yaml_parser_initialize(&parser))
		return ferr_internal(e, "%s: cannot initialise the YAML parser", name);
	yaml_parser_set_input_string(&parser, (const unsigned char *)buf, len);
	while (!done) {
		if (!yaml_parser_parse(&parser, &ev)) {
			yaml_mark_t m = parser.problem_mark;

			if (parser.context)
				r = ferr_invalid(e, "%s:%zu:%zu: YAML syntax error: %s (%s at line %zu column %zu)",
						 name, m.line + 1, m.column + 1,
						 parser.problem ? parser.problem : "unknown problem",
						 parser.context, parser.context_mark.line + 1,
						 parser.context_mark.column + 1);
			else
				r = ferr_invalid(e, "%s:%zu:%zu: YAML syntax error: %s", name,
						 m.line + 1, m.column + 1,
						 parser.problem ? parser.problem : "unknown problem");
			break;
		}
		done = ev.type == YAML_STREAM_END_EVENT;
		r = on_event(&l, &ev);
		yaml_event_delete(&ev);
		if (r < 0)
			break;
	}
	yaml_parser_delete(&parser);
	/* Whatever was attached is reachable from the root. */
	if (r < 0) {
		ynode_free(l.root);
		return -1;
	}
	if (ynode_is_null(l.root)) {
		ynode_free(l.root);
		l.root = NULL;
	}
	*ret_root = l.root;
	return 0;
}
