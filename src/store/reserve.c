#include "store/reserve.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "lib/log.h"
#include "lib/banned.h"

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static char path[4096];
static char dir_path[4096];
static int held;

static int make(void)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0600), rc;

	if (fd < 0)
		return -1;
	rc = posix_fallocate(fd, 0, STORE_RESERVE_BYTES);
	close(fd);
	if (rc != 0) {
		unlink(path);
		return -1;
	}
	return 0;
}

void store_reserve_init(const char *dir)
{
	pthread_mutex_lock(&lock);
	snprintf(dir_path, sizeof(dir_path), "%s", dir);
	snprintf(path, sizeof(path), "%s/store.reserve", dir);
	held = make() == 0;
	if (!held)
		log_warnx("event=store_reserve_missing path=%s err=\"%s\"", path, strerror(errno));
	pthread_mutex_unlock(&lock);
}

int store_reserve_held(void)
{
	int h;

	pthread_mutex_lock(&lock);
	h = held;
	pthread_mutex_unlock(&lock);
	return h;
}

int store_reserve_restore(void)
{
	struct statvfs s;
	int done = 0;

	pthread_mutex_lock(&lock);
	if (!held && path[0] && statvfs(dir_path, &s) == 0 &&
	    (long long)s.f_bavail * (long long)s.f_frsize > 2 * STORE_RESERVE_BYTES && make() == 0) {
		held = done = 1;
		log_info("event=store_reserve_restored path=%s", path);
	}
	pthread_mutex_unlock(&lock);
	return done;
}

static int release(void)
{
	int was;

	pthread_mutex_lock(&lock);
	was = held;
	if (held) {
		unlink(path);
		held = 0;
	}
	pthread_mutex_unlock(&lock);
	if (was)
		log_warnx("event=store_reserve_released path=%s why=\"the disk is full\"", path);
	return was;
}

int store_step_essential(sqlite3_stmt *st)
{
	int rc = sqlite3_step(st);

	if ((rc & 0xff) == SQLITE_FULL && release()) {
		sqlite3_reset(st);
		rc = sqlite3_step(st);
	}
	sqlite3_reset(st);
	return rc;
}
