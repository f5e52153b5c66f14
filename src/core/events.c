#include "core/events.h"

#include <assert.h>
#include <stddef.h>
#include <string.h>

#include "lib/banned.h"

#define MAX_SUBSCRIBERS 4

static const char *const names[EVENT__COUNT] = {
	[EVENT_BUILD_SUCCEEDED] = "build.succeeded",
	[EVENT_BUILD_FAILED] = "build.failed",
	[EVENT_DEPLOYMENT_ACTIVE] = "deployment.active",
	[EVENT_DEPLOYMENT_FAILED] = "deployment.failed",
	[EVENT_DEPLOYMENT_ROLLED_BACK] = "deployment.rolled-back",
	[EVENT_APPROVAL_REQUESTED] = "approval.requested",
	[EVENT_APPROVAL_DECIDED] = "approval.decided",
	[EVENT_EXECUTION_FAILED] = "execution.failed",
};

static event_fn subscribers[MAX_SUBSCRIBERS];
static size_t n_subscribers;

const char *event_name(enum event_type t)
{
	return (int)t >= 0 && t < EVENT__COUNT ? names[t] : NULL;
}

int event_parse(const char *name)
{
	for (int i = 0; i < EVENT__COUNT; i++)
		if (!strcmp(names[i], name))
			return i;
	return -1;
}

void event_subscribe(event_fn fn)
{
	/* the table is sized for ferryd's own wiring */
	assert(n_subscribers < MAX_SUBSCRIBERS);
	subscribers[n_subscribers++] = fn;
}

void event_publish(enum event_type type, int64_t id)
{
	for (size_t i = 0; i < n_subscribers; i++)
		subscribers[i](type, id);
}
