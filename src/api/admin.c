/* Administration: POST /api/v1/admin/backup streams a backup (core/backup.h)
 * of the running installation; GET /api/v1/admin/df says what uses the disk
 * (core/diskuse.h); POST /api/v1/admin/prune frees it now
 * (core/housekeeping.h). */
#include "api/handlers.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/backup.h"
#include "core/diskuse.h"
#include "core/housekeeping.h"
#include "core/json.h"
#include "lib/log.h"
#include "lib/banned.h"

#ifndef FERRY_VERSION
#define FERRY_VERSION "unknown"
#endif

/* One backup at a time: each holds a full copy of the store on disk. */
static pthread_mutex_t backup_lock = PTHREAD_MUTEX_INITIALIZER;

struct backup_stream {
	int fd;
	char dir[PATH_MAX];	/* staging directory, removed once fd is open */
};

static long backup_read(void *state, char *buf, size_t max)
{
	struct backup_stream *s = state;
	ssize_t n;

	do
		n = read(s->fd, buf, max);
	while (n < 0 && errno == EINTR);
	return n > 0 ? (long)n : -1;
}

static void backup_done(void *state)
{
	struct backup_stream *s = state;

	close(s->fd);
	free(s);
}

int h_admin_backup(struct api_req *r, json_t **ret, struct ferr *e)
{
	static const char *const keys[] = { "include_registry", "master_key_passphrase", NULL };
	struct backup_options o = { .ferry_version = FERRY_VERSION };
	char file[PATH_MAX];
	struct backup_stream *s;
	struct stat st;
	int rc;

	(void)ret;
	if (auth_require_admin(r->who, e) < 0 || json_only_keys(r->body, keys, e) < 0 ||
	    json_get_bool(r->body, "include_registry", &o.include_registry, e) < 0 ||
	    json_get_string(r->body, "master_key_passphrase", &o.passphrase, e) < 0)
		return -1;
	s = calloc(1, sizeof(*s));
	if (!s)
		return ferr_internal(e, "out of memory");
	snprintf(r->audit_object, sizeof(r->audit_object), "backup%s%s",
		 o.include_registry ? " with registry" : "", o.passphrase ? " with master key" : "");
	pthread_mutex_lock(&backup_lock);
	rc = backup_create(&o, s->dir, sizeof(s->dir), file, sizeof(file), e);
	pthread_mutex_unlock(&backup_lock);
	if (rc < 0) {
		free(s);
		return -1;
	}
	s->fd = open(file, O_RDONLY | O_CLOEXEC);
	if (s->fd < 0 || fstat(s->fd, &st) < 0) {
		ferr_internal(e, "open %s: %s", file, strerror(errno));
		if (s->fd >= 0)
			close(s->fd);
		backup_discard(s->dir);
		free(s);
		return -1;
	}
	/* The open descriptor keeps the archive readable: the staging copy
	 * (a full copy of the store) goes now, not when the client is done. */
	backup_discard(s->dir);
	log_info("event=backup_made bytes=%lld registry=%d master_key=%d", (long long)st.st_size,
		 o.include_registry, o.passphrase != NULL);
	r->stream.read = backup_read;
	r->stream.done = backup_done;
	r->stream.state = s;
	r->stream.content_type = "application/x-tar";
	return 0;
}

int h_admin_df(struct api_req *r, json_t **ret, struct ferr *e)
{
	return diskuse_report(r->who, ret, e);
}

int h_admin_prune(struct api_req *r, json_t **ret, struct ferr *e)
{
	static const char *const keys[] = { "registry_gc", NULL };
	int gc = 0;

	if (auth_require_admin(r->who, e) < 0 || json_only_keys(r->body, keys, e) < 0 ||
	    json_get_bool(r->body, "registry_gc", &gc, e) < 0)
		return -1;
	snprintf(r->audit_object, sizeof(r->audit_object), "disk%s", gc ? " with registry gc" : "");
	return housekeeping_run(gc, ret, e);
}
