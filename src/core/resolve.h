/* resolve: the values a build's descriptor asks for in one environment.
 *
 * For each environment variable the descriptor declares with a source other
 * than the configuration form:
 *   value: x            the literal, an environment-independent default
 *                       (a configured value of the same key wins);
 *   connectionRef       to another component of the same project: its
 *                       endpoint's URL in this environment, as the key
 *                       ServiceURL ("http://backend:8080/api"; components
 *                       reach each other by name on their environment's
 *                       own network, so development's frontend reaches
 *                       development's backend and nothing else); to any
 *                       other resource: the key of the ferry connection of
 *                       that name in this environment;
 *   configGroupRef      the key of the project's configuration group in
 *                       this environment.
 * The deployment's snapshot records what was resolved, so a deployment
 * keeps the values it was created with.
 */
#ifndef FERRY_RESOLVE_H
#define FERRY_RESOLVE_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "core/config.h"
#include "lib/error.h"

/* Resolves descriptor (as descriptor_to_json gives it) for component_id
 * in env_id. Returns 0 with *ret (n values, env variables; may be NULL
 * when n is 0; release with config_values_free), or -1 with e naming what
 * is missing: a dependency not deployed in the environment (409), a
 * connection or group without the key there (409), a component connection
 * in another project (400). */
int resolve_descriptor_values(int64_t component_id, int64_t env_id, const json_t *descriptor,
			      struct config_value **ret, size_t *ret_n, struct ferr *e);

#endif
