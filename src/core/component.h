/* component: the deployable units of a project. */
#ifndef FERRY_COMPONENT_H
#define FERRY_COMPONENT_H

#include <jansson.h>
#include <stdint.h>

#include "core/auth.h"
#include "core/lookup.h"
#include "lib/error.h"

struct component_spec {
	const char *name;
	const char *type;        /* service (default), web-app, scheduled-task, manual-task */
	const char *repo;        /* https, http, git, ssh or file URL */
	const char *branch;      /* default main */
	const char *path;        /* build context inside the repo; default "" (root) */
	const char *dockerfile;  /* default Dockerfile (relative to path) unless buildpack */
	const char *buildpack;   /* "static" */
	int auto_build;
	int auto_deploy;
	const char *schedule;    /* cron; scheduled-task only, and required there */
	const char *timezone;    /* IANA zone for schedule; default UTC */
	int64_t poll_interval;   /* seconds between polls of the branch; 0: off */
	int64_t timeout;         /* tasks: seconds a run may take (0: 3600), then killed */
	const char *concurrency; /* tasks: forbid (default), allow or replace */
	const char *scan_fail_on; /* the scan fails the build at this severity or
				     above: critical (default), high, medium,
				     low, or never (only report) */
};

/* The URL webhook deliveries are sent to is this base plus
 * /api/v1/hooks/<key>. Set once at start. */
void component_set_public_url(const char *base);

/* Validates and creates a component (developers and admins). *ret is the
 * component with webhook_url and, only here, webhook_secret. */
int component_create(const struct principal *who, const char *project,
		     const struct component_spec *spec, json_t **ret, struct ferr *e);
int component_list(const struct principal *who, const char *project, json_t **ret,
		   struct ferr *e);
int component_show(const struct principal *who, const char *project, const char *name,
		   json_t **ret, struct ferr *e);
int component_delete(const struct principal *who, const char *project, const char *name,
		     struct ferr *e);

/* A change of some settings of a component. Every member is optional: a
 * NULL pointer or a clear set_ flag leaves that setting as it is, so
 * { 0 } changes nothing. */
struct component_update {
	const char *name;         /* only the current name is accepted: names never change */
	const char *type;         /* only the current type is accepted: types never change */
	const char *repo;
	const char *branch;
	const char *path;         /* "" is the repository root */
	const char *dockerfile;   /* setting it clears the buildpack */
	const char *buildpack;    /* setting it clears the Dockerfile */
	int set_auto_build, auto_build;
	int set_auto_deploy, auto_deploy;
	const char *schedule;     /* scheduled-task only */
	const char *timezone;     /* scheduled-task only */
	int set_poll_interval;
	int64_t poll_interval;
	int set_timeout;          /* task components only */
	int64_t timeout;          /* 0: back to the default (3600) */
	const char *concurrency;  /* task components only */
	const char *scan_fail_on;
};

/* Changes the settings u names on project/name (developers and admins;
 * viewers get 403, a token scoped to another project 404). The component
 * that results is checked with the same rules as component_create, and
 * every column and table touched is written in one transaction: on any
 * error nothing changes. A new repo or branch forgets the poller's
 * last-seen head (the next poll starts afresh); a new schedule or time
 * zone runs from now on (no missed run is made up under the new one).
 * Refused: an empty change, a different name or type, and a repository on
 * another host while the component has git credentials (they would be sent
 * there). *ret is the component as component_show gives it plus "changed",
 * the array of the settings whose value changed (new reference). */
int component_update(const struct principal *who, const char *project, const char *name,
		     const struct component_update *u, json_t **ret, struct ferr *e);

/* Decrypts the component's webhook secret (64 hex digits) into ret. */
int component_webhook_secret(int64_t component_id, char ret[65], struct ferr *e);

/* Checks a repository URL: scheme https, http, git, ssh or file. */
int component_check_repo(const char *url, struct ferr *e);

#endif
