/* events: domain events, published by the module where a thing happened and
 * delivered to whoever ferryd subscribed at start (notifications, and the
 * auto-deploy of a build that succeeded).
 *
 * An event names what happened and to which object, by id; a subscriber
 * reads what it needs about the object from the store. So a publisher
 * includes only this header, never its subscribers (ARCHITECTURE.md).
 *
 * Subscribers are called synchronously on the publisher's thread, after the
 * change is stored: they must be quick and must never block on the network
 * (notifications only queue a delivery row, a thread of their own sends it).
 */
#ifndef FERRY_CORE_EVENTS_H
#define FERRY_CORE_EVENTS_H

#include <jansson.h>
#include <stdint.h>

#include "lib/error.h"

enum event_type {
	EVENT_BUILD_SUCCEEDED,
	EVENT_BUILD_FAILED,
	EVENT_DEPLOYMENT_ACTIVE,
	EVENT_DEPLOYMENT_FAILED,
	EVENT_DEPLOYMENT_ROLLED_BACK,
	EVENT_APPROVAL_REQUESTED,
	EVENT_APPROVAL_DECIDED,
	EVENT_EXECUTION_FAILED,
	EVENT__COUNT
};

/* "build.succeeded", "deployment.rolled-back", ...; NULL if out of range. */
const char *event_name(enum event_type t);
/* The type named name, or -1. */
int event_parse(const char *name);

/* id: the build, deployment, approval request or execution the event is
 * about (the kind follows from the type). */
typedef void (*event_fn)(enum event_type type, int64_t id);

/* Adds a subscriber. Call at start, before any thread publishes. */
void event_subscribe(event_fn fn);

/* Calls every subscriber. */
void event_publish(enum event_type type, int64_t id);

/* --- changes other modules act on --- */

/* Changes a subscriber acts on, may answer and, before the fact, refuse.
 * Not notifications (ferry notify knows only the types above):
 *   DOMAIN_CONFIG_CHANGED      after a committed change of a component's
 *                              configuration; a subscriber that acts sets
 *                              answer to what it caused (config_changed)
 *   DOMAIN_COMPONENT_DELETING  before a component's rows go; a subscriber
 *                              that fails stops the delete (its error is
 *                              the delete's)
 * So config and component never include deployment: ferryd subscribes it. */
enum domain_event_type {
	DOMAIN_CONFIG_CHANGED,
	DOMAIN_COMPONENT_DELETING,
	DOMAIN__COUNT
};

struct domain_event {
	enum domain_event_type type;
	int64_t component_id;
	int64_t env_id;          /* DOMAIN_CONFIG_CHANGED: 0 for a component-wide change */
	const char *actor;       /* who: the user's name */
	json_t *answer;          /* NULL; a subscriber's answer (new reference), owned by
				    the publisher; a later subscriber leaves one set alone */
};

/* "configuration.changed", "component.deleting"; NULL if out of range. */
const char *domain_event_name(enum domain_event_type t);

/* Returns 0, or -1 with e set to refuse (before-the-fact types only). */
typedef int (*domain_event_fn)(struct domain_event *ev, struct ferr *e);

/* Adds / removes a subscriber. Call at start (and in tests), before or
 * after any thread publishes, never while one does. */
void domain_subscribe(domain_event_fn fn);
void domain_unsubscribe(domain_event_fn fn);

/* Calls every subscriber in the order they subscribed, stopping at the
 * first that fails. Returns 0, or that subscriber's -1 with e set. */
int domain_publish(struct domain_event *ev, struct ferr *e);

#endif
