/* yamlout: JSON values written as YAML, with libyaml's emitter.
 *
 * For people and for tools that take YAML (kubectl, GitOps): `ferry
 * manifests` prints Kubernetes objects this way. Object keys keep their
 * order; strings that YAML would read as something else (true, 1.0, null,
 * "", "0400") are quoted by the emitter's own rules because every scalar
 * from a JSON string is written with an explicit plain-or-quoted choice:
 * strings that are not plain-safe are single-quoted.
 */
#ifndef FERRY_YAMLOUT_H
#define FERRY_YAMLOUT_H

#include <jansson.h>

#include "lib/error.h"
#include "lib/strbuf.h"

/* Appends each element of docs (a JSON array) to out as one YAML document
 * ("---" before each). Returns 0, or -1 with e set (the emitter failed). */
int yaml_out_documents(struct strbuf *out, const json_t *docs, struct ferr *e);

#endif
