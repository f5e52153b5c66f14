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

static const char *const domain_names[DOMAIN__COUNT] = {
	[DOMAIN_CONFIG_CHANGED] = "configuration.changed",
	[DOMAIN_COMPONENT_DELETING] = "component.deleting",
};

static domain_event_fn domain_subscribers[MAX_SUBSCRIBERS];
static size_t n_domain_subscribers;

const char *domain_event_name(enum domain_event_type t)
{
	return (int)t >= 0 && t < DOMAIN__COUNT ? domain_names[t] : NULL;
}

void domain_subscribe(domain_event_fn fn)
{
	assert(n_domain_subscribers < MAX_SUBSCRIBERS);
	domain_subscribers[n_domain_subscribers++] = fn;
}

void domain_unsubscribe(domain_event_fn fn)
{
	for (size_t i = 0; i < n_domain_subscribers; i++)
		if (domain_subscribers[i] == fn) {
			memmove(&domain_subscribers[i], &domain_subscribers[i + 1],
				(n_domain_subscribers - i - 1) * sizeof(domain_subscribers[0]));
			n_domain_subscribers--;
			return;
		}
}

int domain_publish(struct domain_event *ev, struct ferr *e)
{
	for (size_t i = 0; i < n_domain_subscribers; i++)
		if (domain_subscribers[i](ev, e) < 0)
			return -1;
	return 0;
}
