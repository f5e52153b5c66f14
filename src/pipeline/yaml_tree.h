/* yaml_tree: a small, bounded YAML document tree built from libyaml events.
 *
 * Configuration files read from a user's repository are untrusted input.
 * libyaml's own document loader has no bounds and resolves aliases, which
 * lets a few bytes describe an exponentially large tree ("billion laughs").
 * This loader keeps what a configuration file needs, scalars, sequences and
 * mappings, each with the line and column where it starts, and refuses:
 *   - aliases (anchors are allowed and ignored),
 *   - more than one document in the stream,
 *   - nesting deeper than YTREE_MAX_DEPTH,
 *   - more than YTREE_MAX_NODES nodes, or more than YTREE_MAX_CHILDREN
 *     entries in one sequence or mapping,
 *   - mapping keys that are not scalars, and duplicate keys,
 *   - scalars holding a NUL character.
 * Tags are ignored: every scalar is kept as the text written.
 */
#ifndef FERRY_PIPELINE_YAML_TREE_H
#define FERRY_PIPELINE_YAML_TREE_H

#include <stdbool.h>
#include <stddef.h>

#include "lib/error.h"

#define YTREE_MAX_DEPTH    32
#define YTREE_MAX_NODES    20000
#define YTREE_MAX_CHILDREN 1024

enum ynode_kind { YNODE_SCALAR, YNODE_SEQ, YNODE_MAP };

struct ynode {
	enum ynode_kind kind;
	unsigned line;          /* 1-based */
	unsigned col;           /* 1-based */
	/* YNODE_SCALAR: the text (NUL-terminated, no NUL inside) and whether
	 * it was written plain (unquoted, not a block scalar). */
	char *str;
	size_t len;
	bool plain;
	/* YNODE_SEQ: n items in child[0..n-1].
	 * YNODE_MAP: n/2 pairs, key child[2i] (always a scalar), value child[2i+1]. */
	struct ynode **child;
	size_t n;
	size_t alloc;
};

/* Parses buf (len bytes, UTF-8/16 as libyaml detects) into a tree.
 * name is used only in error messages ("name:line:col: ...").
 * On success returns 0 and sets *ret_root to the document's root node, or
 * to NULL when the stream holds no document or only an empty one; the
 * caller frees it with ynode_free(). On failure returns -1, *ret_root is
 * NULL and e holds one message with the file, line and column. */
int ytree_parse(struct ynode **ret_root, const char *buf, size_t len,
		const char *name, struct ferr *e);

/* Frees n and everything below it. Accepts NULL. */
void ynode_free(struct ynode *n);

/* True for an empty plain scalar, "~", "null", "Null" or "NULL" (YAML's
 * null), and for NULL itself. */
bool ynode_is_null(const struct ynode *n);

/* The value stored under key in map, or NULL if map is not a mapping or
 * has no such key. The returned node is owned by map. */
const struct ynode *ynode_map_get(const struct ynode *map, const char *key);

/* The key node of the pair whose value is v in map, or NULL. Used to point
 * error messages at the key rather than at its value. */
const struct ynode *ynode_map_key_of(const struct ynode *map, const struct ynode *v);

#endif
