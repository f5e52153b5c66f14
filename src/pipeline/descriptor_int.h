/* descriptor_int.h: what the descriptor's modules share (not for callers;
 * they use descriptor.h).
 *
 * One reader (struct dp and its getters, descriptor_reader.c) walks the
 * YAML tree of every format; the formats (descriptor_ferry.c,
 * descriptor_choreo.c, descriptor_legacy.c) differ only in which sections
 * they read, which keys they know and the per-format rules in struct
 * dp_rules. Value rules (names, paths, references) are in
 * descriptor_rules.c and are used by the JSON reader too.
 */
#ifndef FERRY_PIPELINE_DESCRIPTOR_INT_H
#define FERRY_PIPELINE_DESCRIPTOR_INT_H

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lib/strbuf.h"
#include "pipeline/descriptor.h"
#include "pipeline/yaml_tree.h"

/* Bounds on what one descriptor may declare. Generous for real
 * components, small enough that a hostile file cannot make a build slow. */
#define MAX_ENDPOINTS     64
#define MAX_CONNECTIONS   64
#define MAX_ENV           256
#define MAX_FILES         64
#define MAX_EXEC_ARGS     64
#define MAX_NAME          253
#define MAX_TEXT          256
#define MAX_PATH          1024
#define MAX_MOUNT_PATH    4096
#define MAX_ARG           4096
#define MEMORY_MIN        (6LL << 20) /* podman refuses less than 6 MB */
#define MEMORY_MAX        (1LL << 40)

#define N_ELEMS(a) (sizeof(a) / sizeof((a)[0]))

extern const char *const descriptor_endpoint_types[6];
extern const char *const descriptor_visibilities[3];
extern const char *const descriptor_config_types[6];
extern const char *const descriptor_file_types[2];
extern const enum config_type descriptor_file_config_types[2];
extern const char *const descriptor_probe_kinds[4];
extern const char *const descriptor_connection_kinds[4];
extern const char *const descriptor_format_names[5];

static inline char *dsc_strdup(const char *s)
{
	char *r = strdup(s);

	if (!r)
		abort();
	return r;
}

static inline void *dsc_calloc(size_t n, size_t size)
{
	void *p = calloc(n ? n : 1, size);

	if (!p)
		abort();
	return p;
}

/* ---- value rules (descriptor_rules.c) ---- */

bool rule_dns_label(const char *s);
/* Choreo's endpoint names in component.yaml: ^[a-z][a-z0-9_-]*$, at most 50. */
bool rule_endpoint_name(const char *s);
bool rule_env_name(const char *s);
/* File configuration names: letters, digits, '.', '_', '-'. */
bool rule_simple_name(const char *s);
/* Choreo's connection names: letters and digits with single '_', '-', '.'
 * or spaces between them, 3 to 50 characters, surrounding blanks allowed. */
bool rule_connection_name(const char *s);
bool rule_has_control(const char *s);
/* An URL path: "/", "/api/v1". No spaces, query or fragment. */
bool rule_url_path(const char *s);
/* Choreo's base paths and contexts: ^/[a-zA-Z0-9/_-]*$. */
bool rule_choreo_path(const char *s);
/* Absolute, no empty, "." or ".." parts, not "/" itself. */
bool rule_mount_path(const char *s);
bool rule_timezone(const char *s);
bool rule_uuid(const char *s);
/* Drops empty and "." parts, resolves ".." lexically. A new string, or
 * NULL when the path is absolute, escapes the context, names the context
 * itself or is too long. */
char *rule_context_path(const char *s);
/* Lower-cases and turns every run of other characters into one '-', at
 * most 63 characters. NULL when nothing usable is left. */
char *rule_dns_label_from(const char *s);
/* Integers as YAML writes them in decimal: optional '-', 1..18 digits. */
bool rule_parse_int(const char *s, long long *out);
bool rule_parse_cpu(const char *s, int64_t *out);
bool rule_parse_memory(const char *s, int64_t *out);
/* Parses a resourceRef (connectionReferences) into c->kind and its parts.
 * Returns 0, or -1 with *why naming the form that was expected. */
int rule_resource_ref(struct descriptor_connection *c, const char *ref, const char **why);
/* The same for a legacy serviceReferences name (choreo:///…, thirdparty:…,
 * database:…). */
int rule_service_ref(struct descriptor_connection *c, const char *ref, const char **why);
int rule_enum_index(const char *const names[], size_t n, const char *s);
void rule_join_names(char *buf, size_t size, const char *const names[], size_t n);

/* ---- the YAML reader (descriptor_reader.c) ---- */

struct dp_rules {
	bool strict;               /* unknown keys are errors (ferry's format) */
	long long port_min, port_max;
	bool choreo_names;         /* endpoint names follow Choreo's rule (else
	                              ferry's: the same rule) */
	bool project_only_types;   /* GRPC, TCP, UDP only Project (component.yaml) */
	bool base_path_required;   /* REST, GraphQL need a base path (ferry) */
	bool flat_forms;           /* ferry's flat port/basePath and env forms */
	bool config_form;          /* valueFrom.configForm is known (1.2, ferry) */
	bool connection_refs;      /* dependencies.connectionReferences (1.1+) */
	bool configurations;       /* configurations (1.1+) */
};

struct dp {
	const char *file;
	enum descriptor_format fmt;
	struct dp_rules rules;
	const char *context;    /* build context to check schema files, or NULL */
	struct ferr *e;
	struct strbuf path;     /* field path of the current object */
	struct descriptor *d;
	size_t dropped_warnings;
};

int dp_fail(struct dp *p, const struct ynode *at, const char *key, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
void dp_warn(struct dp *p, const struct ynode *at, const char *key, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
const char *dp_describe(const struct ynode *n, char *buf, size_t size);
size_t dp_push_key(struct dp *p, const char *key);
size_t dp_push_index(struct dp *p, size_t i);
void dp_pop(struct dp *p, size_t old);
/* The value under key, or NULL when absent or written as null. */
const struct ynode *dp_get(const struct ynode *map, const char *key);
/* Keys not in allowed (NULL-terminated): errors when strict, else warnings
 * ("unknown field, ignored"). */
int dp_check_keys(struct dp *p, const struct ynode *map, const char *const allowed[]);
int dp_want_kind(struct dp *p, const struct ynode *v, const char *key, enum ynode_kind kind);
int dp_get_str(struct dp *p, const struct ynode *map, const char *key, bool required,
	       size_t max, char **out);
int dp_get_int(struct dp *p, const struct ynode *map, const char *key, bool required,
	       long long min, long long max, long long def, int *out);
int dp_get_bool(struct dp *p, const struct ynode *map, const char *key, bool def, bool *out);
int dp_node_enum(struct dp *p, const struct ynode *v, const char *key,
		 const char *const names[], size_t n, int *out);
int dp_get_enum(struct dp *p, const struct ynode *map, const char *key,
		const char *const names[], size_t n, int def, int *out);
int dp_get_list(struct dp *p, const struct ynode *map, const char *key, size_t max,
		const struct ynode **out);
int dp_get_map(struct dp *p, const struct ynode *map, const char *key,
	       const struct ynode **out);
/* A path inside the build context (normalised into *out), checked to name
 * a regular file there when p->context is set and must_exist. */
int dp_context_file(struct dp *p, const struct ynode *map, const char *key,
		    bool must_exist, char **out);
int dp_url_path(struct dp *p, const struct ynode *map, const char *key, char **out);
/* Choreo's number-typed version: "1.1", 1.1 and "1.10" are all 1.1.
 * Sets *out to the value times ten when it is one of tenths[] (e.g. 10, 11,
 * 12), else fails with the list. */
int dp_schema_version(struct dp *p, const struct ynode *root, const char *key,
		      const int tenths[], size_t n, int *out);

/* ---- sections (descriptor_sections.c) ---- */

int dp_endpoints(struct dp *p, const struct ynode *parent, const char *key, bool legacy);
int dp_dependencies(struct dp *p, const struct ynode *root);
/* Legacy serviceReferences under parent (dependencies or spec.outbound). */
int dp_service_references(struct dp *p, const struct ynode *parent);
int dp_configurations(struct dp *p, const struct ynode *root);

/* ---- formats ---- */

int dp_parse_ferry(struct dp *p, const struct ynode *root);
int dp_parse_choreo(struct dp *p, const struct ynode *root);
int dp_parse_component_config(struct dp *p, const struct ynode *root);
int dp_parse_endpoints_yaml(struct dp *p, const struct ynode *root);

/* ---- descriptor.c ---- */

/* Parses with schema files checked in context (NULL: shape only). */
int descriptor_parse_in_context(struct descriptor **ret, const char *buf, size_t len,
				const char *file, enum descriptor_format fmt,
				const char *context, struct ferr *e);

#endif
