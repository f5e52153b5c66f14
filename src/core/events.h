/* events: domain events, published by the module where a thing happened and
 * delivered to whoever ferryd subscribed at start (notifications today).
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

#include <stdint.h>

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

#endif
