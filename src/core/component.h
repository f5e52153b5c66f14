/* component: the deployable units of a project. */
#ifndef FERRY_COMPONENT_H
#define FERRY_COMPONENT_H

#include <jansson.h>
#include <stdint.h>

#include "core/auth.h"
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

/* Component id by project and name as who may see it (404 otherwise). */
int component_lookup(const struct principal *who, const char *project, const char *name,
		     int64_t *ret_project_id, int64_t *ret_id, struct ferr *e);

/* Decrypts the component's webhook secret (64 hex digits) into ret. */
int component_webhook_secret(int64_t component_id, char ret[65], struct ferr *e);

/* Checks a repository URL: scheme https, http, git, ssh or file. */
int component_check_repo(const char *url, struct ferr *e);

#endif
